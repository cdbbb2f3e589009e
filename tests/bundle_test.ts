/**
 * The shipped artifact: builds dist/aws-vault.js with the real build script and drives it end to end.
 */
import { equal, match, ok } from "node:assert/strict";
import { makeSandbox, runCli } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test("the bundle builds and runs add, list, remove end to end", async () => {
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}scripts/build.ts`, "bundle"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(build.code, 0, new TextDecoder().decode(build.stderr));
  const text = await Deno.readTextFile(`${root}dist/aws-vault.js`);
  ok(!/from\s+["']\.\.?\//.test(text), "the bundle has no relative imports left");

  const fake = await startFakeAws();
  fake.addUser({ userName: "u", accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x/y+z" });
  fake.addRole({ arn: "arn:aws:iam::111111111111:role/r" });
  const sb = await makeSandbox({
    config: "[profile base]\nregion = eu-west-1\n[profile role]\nsource_profile = base\n" +
      "role_arn = arn:aws:iam::111111111111:role/r\n",
  });
  try {
    const env = {
      ...sb.env,
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "x/y+z",
      AWS_ENDPOINT_URL: fake.url,
    };
    const added = await runCli(["add", "--env", "base"], { env, bundle: true });
    equal(added.code, 0, added.stderr);
    const list = await runCli(["list"], { env, bundle: true });
    match(list.stdout, /\nbase {21}base {21}-/);
    const version = await runCli(["--version"], { env, bundle: true });
    match(version.stdout, /^\d+\.\d+\.\d+/);
    // The AWS SDK is embedded in the bundle and loaded on first use: a real STS round trip through it.
    const exported = await runCli(["export", "--format=json", "role"], { env, bundle: true });
    equal(exported.code, 0, exported.stderr);
    match(JSON.parse(exported.stdout).AccessKeyId, /^ASIA/);
    equal(fake.callsTo("GetSessionToken").length, 0, "a role without MFA is assumed from the long-term key");
    equal(fake.callsTo("AssumeRole").length, 1);
    const removed = await runCli(["remove", "-f", "base"], { env, bundle: true });
    equal(removed.stdout, "Deleted credentials.\n");
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});
