/**
 * `exec --ec2-server` end to end, inside a network namespace (169.254.169.254 exists only there): aws-vault starts
 * its EC2 metadata server and the `proxy` process, and the real AWS CLI, run as the child with no keys in its
 * environment, gets credentials from 169.254.169.254 through IMDSv2 and calls the fake AWS (reached over a veth).
 */
import { equal, match, ok } from "node:assert/strict";
import { cliCommand, makeSandbox, runCli } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { addVeth, createNetns, netnsUnavailable } from "./support/netns.ts";

const unavailable = await netnsUnavailable();
const aws = await findAwsCli();
if (unavailable) console.log(`netns_exec_ec2_test: skipped: ${unavailable}`);

Deno.test({
  name: "exec --ec2-server: the AWS CLI gets role credentials from 169.254.169.254 (IMDSv2) in a namespace",
  ignore: unavailable !== undefined || aws === undefined,
  async fn() {
    const ns = await createNetns("ec2");
    const veth = await addVeth(ns);
    const fake = await startFakeAws({ hostname: veth.hostAddress });
    fake.addUser({ userName: "dev", accessKeyId: "AKIAEC2EXAMPLE000001", secretAccessKey: "ec2/secret" });
    fake.addRole({ arn: "arn:aws:iam::111111111111:role/app" });
    const sb = await makeSandbox({
      config: "[profile dev]\n[profile app]\nsource_profile = dev\nregion = eu-west-1\n" +
        "role_arn = arn:aws:iam::111111111111:role/app\n",
    });
    try {
      const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_PAGER: "" };
      const added = await runCli(["add", "--env", "dev"], {
        env: { ...env, AWS_ACCESS_KEY_ID: "AKIAEC2EXAMPLE000001", AWS_SECRET_ACCESS_KEY: "ec2/secret" },
      });
      equal(added.code, 0, added.stderr);

      const script = [
        'test -z "$AWS_ACCESS_KEY_ID$AWS_CONTAINER_CREDENTIALS_FULL_URI" || exit 90',
        `${aws} sts get-caller-identity --endpoint-url ${fake.url} --region us-east-1 --output text --query Arn`,
        // IMDSv1 (no token) is refused by default.
        "curl -s -o /dev/null -w '%{http_code}\\n' http://169.254.169.254/latest/meta-data/instance-id/",
        "exit 3",
      ].join("\n");
      const r = await ns.run([...cliCommand(), "exec", "--ec2-server", "app", "--", "sh", "-c", script], {
        env: { ...env, HOME: sb.home },
        timeoutMs: 60_000,
      });
      equal(r.code, 3, r.stderr);
      const [arn, v1] = r.stdout.trim().split("\n");
      match(arn, /^arn:aws:sts::111111111111:assumed-role\/app\//);
      equal(v1, "401");
      equal(fake.callsTo("AssumeRole").length, 1);
      // The proxy was stopped and took its alias with it.
      ok(!(await ns.addresses()).includes("169.254.169.254"), await ns.addresses());
    } finally {
      await ns.close();
      await fake.close();
      await sb.cleanup();
    }
  },
});
