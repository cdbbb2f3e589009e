/**
 * What `--debug` tells a user working out what happened (docs/behaviour.md#global-flags): the config file read, the
 * backend and where it keeps items, where the vault passphrase came from, and the region and endpoint of STS calls;
 * never a secret.
 */
import { equal, match, ok } from "node:assert/strict";
import { makeSandbox, runCli } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { findUserKey, keyctl, keyctlMissing, plantUserKey } from "./support/keyctl.ts";
import { passphraseKeyDescription } from "../src/vault/keyctl_passphrase.ts";

const ACCOUNT = "111111111111";

Deno.test("--debug names the config file, the backend, the passphrase's source and STS's region and endpoint", async () => {
  const fake = await startFakeAws();
  fake.addUser({ userName: "dev", accessKeyId: "AKIADEVEXAMPLE000001", secretAccessKey: "dev/secret-value" });
  fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/base` });
  const sb = await makeSandbox({
    config: `[profile dev]\n[profile base]\nsource_profile = dev\nrole_arn = arn:aws:iam::${ACCOUNT}:role/base\n` +
      "region = eu-west-1\n",
  });
  try {
    const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
    const keys = { AWS_ACCESS_KEY_ID: "AKIADEVEXAMPLE000001", AWS_SECRET_ACCESS_KEY: "dev/secret-value" };
    equal((await runCli(["add", "--env", "dev"], { env: { ...env, ...keys } })).code, 0);
    const r = await runCli(["--debug", "export", "--format=json", "--no-session", "base"], { env });
    equal(r.code, 0, r.stderr);
    match(r.stderr, new RegExp(`Loaded config file ${sb.configPath}\\n`));
    match(r.stderr, /Using the file backend in ".*\/\.awsvault\/keys\/"\n/);
    match(r.stderr, /Vault passphrase for ".*" from AWS_VAULT_FILE_PASSPHRASE\n/);
    match(r.stderr, new RegExp(`profile base: STS calls go to region eu-west-1, endpoint ${fake.url}\\n`));
    const secret = JSON.parse(r.stdout).SecretAccessKey as string;
    for (const s of ["dev/secret-value", "test-pass", secret, JSON.parse(r.stdout).SessionToken]) {
      ok(!r.stderr.includes(s), `a secret in the debug log: ${s.slice(0, 4)}…`);
    }
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test({
  name: "--debug says when the vault passphrase came from the kernel keyring, or was asked for at the prompt",
  ignore: Deno.build.os !== "linux" || (await keyctlMissing()) !== undefined,
  async fn() {
    const sb = await makeSandbox({ config: "[profile dev]\n" });
    const description = await passphraseKeyDescription(sb.vaultDir);
    try {
      const keys = { AWS_ACCESS_KEY_ID: "AKIADEVEXAMPLE000002", AWS_SECRET_ACCESS_KEY: "dev/secret-value" };
      equal((await runCli(["add", "--env", "dev"], { env: { ...sb.env, ...keys } })).code, 0);
      const { AWS_VAULT_FILE_PASSPHRASE: passphrase, ...env } = sb.env;
      const asked = await runCli(["--debug", "export", "--no-session", "dev"], { env, stdin: `${passphrase}\n` });
      equal(asked.code, 0, asked.stderr);
      match(asked.stderr, /Vault passphrase for ".*" asked at the terminal\n/);
      await plantUserKey(description, passphrase);
      const recalled = await runCli(["--debug", "export", "--no-session", "dev"], { env });
      equal(recalled.code, 0, recalled.stderr);
      match(recalled.stderr, /Vault passphrase for ".*" from the kernel keyring\n/);
      ok(!recalled.stderr.includes(passphrase), "the passphrase in the debug log");
    } finally {
      const id = await findUserKey(description);
      if (id !== undefined) await keyctl(["invalidate", String(id)]);
      await sb.cleanup();
    }
  },
});
