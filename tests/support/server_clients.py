"""boto3 client for the credential-server tests.

Resolves credentials the way any boto3 program does (here: the container or the instance-metadata provider, chosen
by the environment the test gives), calls STS GetCallerIdentity at the fake endpoint given as argv[1], and prints
{"method": <credential provider>, "arn": <caller ARN>} as JSON.
"""

import json
import sys

import boto3


def main() -> int:
    endpoint = sys.argv[1]
    session = boto3.Session(region_name="us-east-1")
    credentials = session.get_credentials()
    if credentials is None:
        print("boto3 found no credentials", file=sys.stderr)
        return 2
    sts = session.client("sts", endpoint_url=endpoint)
    arn = sts.get_caller_identity()["Arn"]
    print(json.dumps({"method": credentials.method, "arn": arn}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
