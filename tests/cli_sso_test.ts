/**
 * IAM Identity Center through the real entry point: five concurrent `export` processes share one browser login (the
 * cross-process lock), and the AWS CLI consumes the SSO role through `credential_process`. The "browser" is a
 * stand-in `xdg-open` on PATH that follows the authorize redirect back to aws-vault's loopback listener, as a
 * person clicking "Allow" would.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { cliCommand, makeSandbox, runCli, runProgram } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { ssoFake } from "./support/fake_aws/sso.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { callerIdentityArgs } from "./support/clients.ts";

const START_URL = "https://corp.awsapps.com/start";
const CONFIG = `[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin
region = eu-west-1

[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1
`;

async function browserStandIn(dir: string): Promise<string> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/xdg-open`,
    `#!/bin/sh\necho "$1" >> "${dir}/opened.txt"\nexec curl -s -L -o /dev/null "$1"\n`,
  );
  await Deno.chmod(`${bin}/xdg-open`, 0o755);
  return bin;
}

Deno.test("SSO: five concurrent export processes open one browser login; the AWS CLI uses the role via credential_process", async () => {
  const fake = await startFakeAws();
  ssoFake(fake).assign("123456789012", "Admin");
  const aws = await findAwsCli();
  const vaultCmd = [...cliCommand(), "export", "--format=json", "sso"].join(" ");
  const sb = await makeSandbox({ config: `${CONFIG}\n[profile via]\ncredential_process = ${vaultCmd}\n` });
  try {
    const bin = await browserStandIn(sb.home);
    const env = { ...sb.env, PATH: `${bin}:${sb.env.PATH}`, AWS_ENDPOINT_URL: fake.url, AWS_PAGER: "" };
    // Separate processes: the login is serialised across processes, which is what this shows.
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => runProgram(["export", "--format=json", "sso"], { env })),
    );
    for (const r of runs) equal(r.code, 0, r.stderr);
    for (const r of runs) match(JSON.parse(r.stdout).AccessKeyId, /^ASIA/);
    equal((await Deno.readTextFile(`${sb.home}/opened.txt`)).trim().split("\n").length, 1, "one browser tab");
    equal(fake.callsTo("CreateToken").length, 1, "one login");
    // Role credentials themselves are not serialised across processes (each may fetch its own), but a later run
    // reuses the cached ones.
    const roleCalls = fake.callsTo("GetRoleCredentials").length;
    equal((await runCli(["export", "sso"], { env })).code, 0);
    equal(fake.callsTo("GetRoleCredentials").length, roleCalls, "the next run reuses the cached role credentials");
    match((await runCli(["list", "--sessions"], { env })).stdout, /^oidc:corp\nsso\.GetRoleCredentials:/);

    if (aws) {
      const cli = await new Deno.Command(aws, {
        args: callerIdentityArgs(fake.url, { output: "text" }),
        env: { ...env, AWS_CONFIG_FILE: sb.configPath, AWS_PROFILE: "via" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
      match(new TextDecoder().decode(cli.stdout), /123456789012/);
      deepStrictEqual(fake.callsTo("CreateToken").length, 1, "credential_process reused the login too");
    }
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("exec --profile-env: AWS_PROFILE instead of keys, and the SSO token synced to the AWS CLI's cache", async () => {
  const fake = await startFakeAws();
  ssoFake(fake).assign("123456789012", "Admin");
  const sb = await makeSandbox({ config: CONFIG });
  try {
    const bin = await browserStandIn(sb.home);
    const env = { ...sb.env, PATH: `${bin}:${sb.env.PATH}`, AWS_ENDPOINT_URL: fake.url };
    const script = 'echo "$AWS_PROFILE ${AWS_ACCESS_KEY_ID:-nokeys}"; cat "$HOME"/.aws/sso/cache/*.json';
    const r = await runProgram(["exec", "--profile-env", "sso", "--", "sh", "-c", script], { env });
    equal(r.code, 0, r.stderr);
    const [line, json] = r.stdout.split("\n");
    equal(line, "sso nokeys");
    const cached = JSON.parse(json);
    deepStrictEqual(Object.keys(cached).sort(), ["accessToken", "expiresAt", "refreshToken"]);
    match(cached.expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The AWS CLI names the file after the sso-session (sha1 hex); it is private to the user.
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode("corp"))).toHex();
    const info = await Deno.stat(`${sb.home}/.aws/sso/cache/${digest}.json`);
    equal(info.mode! & 0o777, 0o600);
    equal((await Deno.stat(`${sb.home}/.aws/sso/cache`)).mode! & 0o777, 0o700);
    equal(fake.callsTo("CreateToken").length, 1);

    const bad = await runProgram(["exec", "--profile-env", "--ecs-server", "sso", "--", "true"], { env });
    equal(bad.code, 1);
    match(bad.stderr, /Can't use --profile-env with --ecs-server/);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});
