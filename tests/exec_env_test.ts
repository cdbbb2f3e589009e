/**
 * The child environment of `exec` (docs/behaviour.md#child-environment) and the `export` formats
 * (docs/behaviour.md#export), byte for byte.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { buildChildEnv, withoutSecrets } from "../src/os/child_env.ts";
import { formatCredentials } from "../src/cli/credentials_output.ts";
import { formatRfc3339 } from "../src/core/time.ts";

const session = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "secret/+=",
  sessionToken: "token==",
  expiration: new Date("2026-05-25T01:02:03.456Z"),
};

Deno.test("child env: unset list removed, AWS_VAULT and region set, credentials injected", () => {
  const parent = {
    PATH: "/bin",
    AWS_ACCESS_KEY_ID: "old",
    AWS_SECRET_ACCESS_KEY: "old",
    AWS_SESSION_TOKEN: "old",
    AWS_SECURITY_TOKEN: "old",
    AWS_CREDENTIAL_FILE: "x",
    AWS_DEFAULT_PROFILE: "x",
    AWS_PROFILE: "x",
    AWS_SDK_LOAD_CONFIG: "1",
    AWS_CONFIG_FILE: "/keep/me",
    AWS_SHARED_CREDENTIALS_FILE: "/keep/me/too",
  };
  deepStrictEqual(
    buildChildEnv(parent, { profile: "work", region: "eu-west-1", credentials: session }),
    {
      PATH: "/bin",
      AWS_CONFIG_FILE: "/keep/me",
      AWS_SHARED_CREDENTIALS_FILE: "/keep/me/too",
      AWS_VAULT: "work",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret/+=",
      AWS_SESSION_TOKEN: "token==",
      AWS_CREDENTIAL_EXPIRATION: "2026-05-25T01:02:03Z",
    },
  );
});

Deno.test("child env: long-term keys get no token and no expiration; endpoint passed on; no region, none set", () => {
  const env = buildChildEnv({}, {
    profile: "p",
    endpointUrl: "http://127.0.0.1:1",
    credentials: { accessKeyId: "AKIA", secretAccessKey: "s" },
  });
  deepStrictEqual(env, {
    AWS_VAULT: "p",
    AWS_ENDPOINT_URL: "http://127.0.0.1:1",
    AWS_ACCESS_KEY_ID: "AKIA",
    AWS_SECRET_ACCESS_KEY: "s",
  });
});

Deno.test("export formats: env, export-env, json (credential_process v1), ini", () => {
  equal(formatRfc3339(session.expiration), "2026-05-25T01:02:03Z");
  equal(
    formatCredentials(session, { format: "env", profile: "p", region: "us-east-1" }),
    "AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=secret/+=\nAWS_SESSION_TOKEN=token==\n" +
      "AWS_CREDENTIAL_EXPIRATION=2026-05-25T01:02:03Z\nAWS_REGION=us-east-1\nAWS_DEFAULT_REGION=us-east-1\n",
  );
  equal(
    formatCredentials(session, { format: "export-env", profile: "p" }),
    "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=secret/+=\nexport AWS_SESSION_TOKEN=token==\n" +
      "export AWS_CREDENTIAL_EXPIRATION=2026-05-25T01:02:03Z\n",
  );
  equal(
    formatCredentials(session, { format: "json", profile: "p" }),
    '{\n  "Version": 1,\n  "AccessKeyId": "ASIAEXAMPLE",\n  "SecretAccessKey": "secret/+=",\n' +
      '  "SessionToken": "token==",\n  "Expiration": "2026-05-25T01:02:03Z"\n}\n',
  );
  equal(
    formatCredentials({ accessKeyId: "AKIA", secretAccessKey: "s" }, { format: "json", profile: "p" }),
    '{\n  "Version": 1,\n  "AccessKeyId": "AKIA",\n  "SecretAccessKey": "s"\n}\n',
  );
  equal(
    formatCredentials(session, { format: "ini", profile: "work", region: "eu-west-1" }),
    "[work]\naws_access_key_id=ASIAEXAMPLE\naws_secret_access_key=secret/+=\naws_session_token=token==\n" +
      "aws_credential_expiration=2026-05-25T01:02:03Z\nregion=eu-west-1\n",
  );
});

Deno.test("child env: the vault passphrase never reaches the command or a helper process", () => {
  const parent = { PATH: "/bin", AWS_VAULT_FILE_PASSPHRASE: "hunter2", AWS_ACCESS_KEY_ID: "AKIA", KEEP: "1" };
  const child = buildChildEnv(parent, { profile: "p", credentials: session });
  equal(child.AWS_VAULT_FILE_PASSPHRASE, undefined);
  equal(child.KEEP, "1");
  deepStrictEqual(withoutSecrets(parent), { PATH: "/bin", KEEP: "1" });
  equal(parent.AWS_VAULT_FILE_PASSPHRASE, "hunter2", "the parent's own environment is not changed");
});
