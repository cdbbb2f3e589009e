/**
 * The "tried as a new user would": keys added, a config with an MFA user and two chained roles, then
 * `exec`, `export` and `credential_process` each hand working credentials to the real AWS CLI, which calls the fake
 * AWS endpoint (signatures verified) with them.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { envFromRecord } from "../src/core/env.ts";
import { cliCommand, makeSandbox, runCli, runOnTerminal, runProgram, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { callerIdentityArgs as cliArgs } from "./support/clients.ts";

const ACCOUNT = "111111111111";
const MFA = `arn:aws:iam::${ACCOUNT}:mfa/jonsmith`;
const USER = {
  userName: "jonsmith",
  accessKeyId: "AKIAJONSMITHEXAMPLE1",
  secretAccessKey: "jonsmith-secret-key/abc+def",
  mfaSerial: MFA,
  mfaSecret: "JBSWY3DPEHPK3PXP",
};
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

function config(extra = ""): string {
  return `[profile jonsmith]
region = eu-west-1
mfa_serial = ${MFA}

[profile foo-readonly]
source_profile = jonsmith
role_arn = ${role("readonly")}

[profile foo-admin]
source_profile = jonsmith
role_arn = ${role("admin")}
mfa_serial = ${MFA}

[profile bar-role1]
source_profile = jonsmith
role_arn = ${role("role1")}
mfa_serial = ${MFA}

[profile bar-role2]
source_profile = bar-role1
role_arn = ${role("role2")}
${extra}`;
}

async function setup(extraConfig = ""): Promise<{ fake: FakeAws; sb: Sandbox; env: Record<string, string> }> {
  const fake = await startFakeAws();
  fake.addUser(USER);
  fake.addRole({ arn: role("readonly") });
  fake.addRole({ arn: role("admin"), requireMfa: true });
  fake.addRole({ arn: role("role1"), requireMfa: true });
  fake.addRole({ arn: role("role2") });
  const sb = await makeSandbox({ config: config(extraConfig) });
  // AWS_PAGER: the AWS CLI v2 pipes output through a pager when it is on a terminal.
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_PAGER: "" };
  const added = await runCli(["add", "--env", "jonsmith"], {
    env: { ...env, AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey },
  });
  equal(added.code, 0, added.stderr);
  return { fake, sb, env };
}

/** The AWS CLI's view of who it is, given the environment aws-vault prepared. */
function callerIdentityArgs(aws: string, fake: FakeAws): string[] {
  return [aws, ...cliArgs(fake.url)];
}

const aws = await findAwsCli();

Deno.test({
  name: "exec: the AWS CLI runs as the chained role after one MFA prompt on the terminal",
  ignore: aws === undefined,
  async fn() {
    const { fake, sb, env } = await setup();
    try {
      const r = await runOnTerminal(["exec", "bar-role2", "--", ...callerIdentityArgs(aws!, fake)], {
        env,
        answers: [[`Enter MFA code for ${MFA}: `, `${fake.totp(MFA)}\r`]],
      });
      equal(r.code, 0, r.output);
      match(r.output, new RegExp(`"Arn": "arn:aws:sts::${ACCOUNT}:assumed-role/role2/`));
      ok(!r.output.includes(fake.totp(MFA)), "the MFA code is not echoed");
      // GetSessionToken with MFA primed the chain; role1 then role2 without a second prompt.
      deepStrictEqual(fake.calls.filter((c) => c.service === "sts").map((c) => c.action), [
        "GetSessionToken",
        "AssumeRole",
        "AssumeRole",
        "GetCallerIdentity",
      ]);
      equal(fake.callsTo("GetSessionToken")[0].params.SerialNumber, MFA);

      // Second run: every session comes from the vault cache; no prompt, no STS call (the credentials the first run
      // proved with the AWS CLI are the ones handed out again).
      fake.clearCalls();
      const again = await runProgram(["exec", "bar-role2", "--", "sh", "-c", 'echo "$AWS_ACCESS_KEY_ID"'], { env });
      equal(again.code, 0, again.stderr);
      match(again.stdout, /^ASIA\w+\n$/);
      deepStrictEqual(fake.calls.map((c) => c.action), []);
      const sessions = (await runCli(["list", "--sessions"], { env })).stdout;
      match(sessions, /sts\.GetSessionToken:/);
    } finally {
      await fake.close();
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "export --format=json is a working credential_process; mfa_process supplies the code",
  ignore: aws === undefined,
  async fn() {
    const codeFile = await Deno.makeTempFile();
    const vaultCmd = [...cliCommand(), "export", "--format=json", "foo-admin"].join(" ");
    const { fake, sb, env } = await setup(`
[profile via-vault]
credential_process = ${vaultCmd}
`);
    try {
      // mfa_process is inherited from the source profile (ByteNess behaviour): set it on jonsmith.
      await Deno.writeTextFile(
        sb.configPath,
        (await Deno.readTextFile(sb.configPath)).replace(
          "[profile jonsmith]\n",
          `[profile jonsmith]\nmfa_process = cat ${codeFile}\n`,
        ),
      );
      await Deno.writeTextFile(codeFile, fake.totp(MFA) + "\n");
      const exported = await runCli(["export", "--format=json", "foo-admin"], { env });
      equal(exported.code, 0, exported.stderr);
      const json = JSON.parse(exported.stdout);
      deepStrictEqual(Object.keys(json), ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]);
      equal(json.Version, 1);
      match(json.AccessKeyId, /^ASIA/);

      const cli = await new Deno.Command(aws!, {
        args: callerIdentityArgs(aws!, fake).slice(1),
        env: { ...env, AWS_CONFIG_FILE: sb.configPath, AWS_PROFILE: "via-vault" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(cli.stdout);
      equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
      match(text, new RegExp(`assumed-role/admin/`));
    } finally {
      await fake.close();
      await sb.cleanup();
      await Deno.remove(codeFile);
    }
  },
});

Deno.test("export formats, --no-session, exit codes and the nested-session refusal", async () => {
  const { fake, sb, env } = await setup();
  try {
    const plain = await runCli(["export", "--no-session", "jonsmith"], { env });
    equal(plain.code, 0, plain.stderr);
    equal(
      plain.stdout,
      `AWS_ACCESS_KEY_ID=${USER.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${USER.secretAccessKey}\n` +
        "AWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\n",
    );
    deepStrictEqual(fake.calls, [], "--no-session without a role makes no call");

    // The region is the target profile's (or --region), not its source profile's, as in aws-vault.
    // The vault passphrase given to aws-vault does not reach the command (aws-vault would pass it on).
    const script =
      'echo "$AWS_VAULT ${AWS_REGION:-none} ${AWS_SESSION_TOKEN:+token}${AWS_VAULT_FILE_PASSPHRASE+ pass}"; exit 3';
    ok(env.AWS_VAULT_FILE_PASSPHRASE, "the sandbox gives aws-vault a passphrase");
    const ro = await runProgram(["exec", "foo-readonly", "--", "sh", "-c", script], { env });
    equal(ro.code, 3, ro.stderr);
    equal(ro.stdout, "foo-readonly none token\n");
    const withRegion = await runProgram(["exec", "--region", "ap-south-1", "foo-readonly", "--", "sh", "-c", script], {
      env,
    });
    equal(withRegion.stdout, "foo-readonly ap-south-1 token\n");
    // A different region is a different cached session; the same one is reused.
    equal(fake.callsTo("AssumeRole").length, 2);
    await runProgram(["exec", "foo-readonly", "--", "true"], { env });
    equal(fake.callsTo("AssumeRole").length, 2);

    const nested = await runCli(["export", "foo-readonly"], { env: { ...env, AWS_VAULT: "x" } });
    equal(nested.code, 1);
    equal(
      nested.stderr,
      "aws-vault: error: export: running in an existing aws-vault subshell; 'exit' from the subshell or unset AWS_VAULT to force\n",
    );
    const unknown = await runCli(["export", "foo-admn"], { env });
    match(unknown.stderr, /profile "foo-admn" not found in .* did you mean "foo-admin"/);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("failures name the profile, the STS call and AWS's message; nothing secret is printed", async () => {
  const { fake, sb, env } = await setup();
  try {
    const r = await runCli(["export", "--mfa-token", "000000", "foo-admin"], { env });
    equal(r.code, 1);
    match(r.stderr, /^aws-vault: error: export: profile jonsmith: sts:GetSessionToken failed: AccessDenied: /);
    ok(!r.stderr.includes(USER.secretAccessKey) && !r.stderr.includes(USER.accessKeyId));
    fake.addRole({ arn: role("locked"), externalId: "right" });
    await Deno.writeTextFile(
      sb.configPath,
      `${config()}\n[profile locked]\nsource_profile = jonsmith\nrole_arn = ${role("locked")}\nexternal_id = wrong\n`,
    );
    const denied = await runCli(["export", "--no-session", "locked"], { env });
    match(denied.stderr, /profile locked: sts:AssumeRole failed: AccessDenied: .*not authorized/);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("exec without a command starts $SHELL with the subshell notice; exec --json is export --format=json", async () => {
  const { fake, sb, env } = await setup();
  try {
    const r = await runOnTerminal(["exec", "foo-readonly"], {
      env: { ...env, SHELL: "/bin/sh" },
      // The terminal buffers what is typed until the shell reads it.
      answers: [["the subshell\r\n", 'echo "in $AWS_VAULT"; exit 5\r']],
    });
    equal(r.code, 5, r.output);
    ok(r.output.includes("Starting subshell /bin/sh, use `exit` to exit the subshell"), r.output);
    ok(r.output.includes("in foo-readonly"), r.output);

    const quiet = await runOnTerminal(["exec", "foo-readonly"], {
      env: { ...env, SHELL: "/bin/sh", AWS_VAULT_DISABLE_HELP_MESSAGE: "1" },
      answers: [["", "exit 0\r"]],
    });
    ok(!quiet.output.includes("Starting subshell"), quiet.output);

    const json = await runCli(["exec", "--json", "foo-readonly"], { env });
    equal(json.code, 0, json.stderr);
    deepStrictEqual(Object.keys(JSON.parse(json.stdout)), [
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
    ]);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("--duration and AWS_VAULT_DURATION reach STS; --no-cache neither reads nor writes sessions", async () => {
  const { fake, sb, env } = await setup();
  try {
    fake.addRole({ arn: role("long"), maxSessionDuration: 43200 });
    await Deno.writeTextFile(
      sb.configPath,
      `${config()}\n[profile long]\nsource_profile = jonsmith\nrole_arn = ${role("long")}\n`,
    );
    equal((await runCli(["export", "--duration", "2h", "long"], { env })).code, 0);
    equal((await runCli(["export", "long"], { env: { ...env, AWS_VAULT_DURATION: "90m" } })).code, 0);
    deepStrictEqual(fake.callsTo("AssumeRole").map((c) => c.params.DurationSeconds), ["7200", "5400"]);

    const items = async () => (await Array.fromAsync(Deno.readDir(sb.vaultDir))).map((e) => e.name).sort();
    const before = await items();
    const nc = await runCli(["export", "--no-cache", "long"], { env });
    equal(nc.code, 0, nc.stderr);
    equal(fake.callsTo("AssumeRole").length, 3, "--no-cache does not reuse the cached session");
    deepStrictEqual(await items(), before, "--no-cache stores nothing");
    equal((await runCli(["export", "long"], { env: { ...env, AWS_VAULT_NO_CACHE: "1" } })).code, 0);
    equal(fake.callsTo("AssumeRole").length, 4);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("an MFA code needed with no terminal is a clear error, never a read of someone else's stdin", async () => {
  const { fake, sb, env } = await setup();
  try {
    const r = await runCli(["export", "foo-admin"], { env, stdin: "123456\n" });
    equal(r.code, 1);
    equal(
      r.stderr,
      `aws-vault: error: export: no terminal to ask for the MFA code for ${MFA} (use --mfa-token or mfa_process when there ` +
        "is no terminal)\n",
    );
    equal(fake.callsTo("GetSessionToken").length, 0);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test({
  name: "the AWS CLI sees the user itself under --no-session and under a GetSessionToken session",
  ignore: aws === undefined,
  async fn() {
    const { fake, sb, env } = await setup();
    try {
      const userArn = `"Arn": "arn:aws:iam::${ACCOUNT}:user/jonsmith"`;
      const plain = await runProgram(["exec", "--no-session", "jonsmith", "--", ...callerIdentityArgs(aws!, fake)], {
        env,
      });
      equal(plain.code, 0, plain.stderr);
      ok(plain.stdout.includes(userArn), plain.stdout);
      const session = await runProgram(
        ["exec", "--mfa-token", fake.totp(MFA), "jonsmith", "--", ...callerIdentityArgs(aws!, fake)],
        { env },
      );
      equal(session.code, 0, session.stderr);
      ok(session.stdout.includes(userArn), session.stdout);
      deepStrictEqual(fake.calls.map((c) => `${c.action}:${c.accessKeyId?.slice(0, 4)}`), [
        "GetCallerIdentity:AKIA",
        "GetSessionToken:AKIA",
        "GetCallerIdentity:ASIA",
      ]);
    } finally {
      await fake.close();
      await sb.cleanup();
    }
  },
});

Deno.test("faults: endpoint down, a duration AWS rejects, an expired cached session, throttling", async () => {
  const { fake, sb, env } = await setup();
  try {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = listener.addr.port;
    listener.close();
    const down = await runCli(["export", "--no-session", "foo-readonly"], {
      env: { ...env, AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}` },
    });
    equal(down.code, 1);
    ok(
      down.stderr.startsWith(
        `aws-vault: error: export: profile foo-readonly: sts:AssumeRole failed: could not reach http://127.0.0.1:${closedPort}:`,
      ),
      down.stderr,
    );
    match(down.stderr, /Connection refused/);

    await Deno.writeTextFile(
      sb.configPath,
      config() + "\n[profile too-long]\nsource_profile = jonsmith\n" +
        `role_arn = ${role("readonly")}\nduration_seconds = 43200\n`,
    );
    const tooLong = await runCli(["export", "too-long"], { env });
    equal(tooLong.code, 1);
    match(tooLong.stderr, /profile too-long: sts:AssumeRole failed: ValidationError: .*DurationSeconds exceeds/);

    // A session whose expiry has passed is never used: a new one is made and the old one removed.
    const { SessionKeyring } = await import("../src/vault/session_keyring.ts");
    const { FileKeyring } = await import("../src/vault/file.ts");
    const vault = new FileKeyring({ dir: sb.vaultDir, env: envFromRecord(env) });
    const expired = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await new SessionKeyring(vault, { now: () => new Date(Date.now() - 7_200_000) }).set(
      { type: "sts.GetSessionToken", profileName: "jonsmith", mfaSerial: MFA },
      {
        accessKeyId: "ASIAEXPIRED",
        secretAccessKey: "x",
        sessionToken: "y",
        expiration: new Date(Date.now() - 60_000),
      },
    );
    fake.clearCalls();
    fake.injectFault({ action: "GetSessionToken", kind: "throttle" });
    const fresh = await runCli(["export", "--format=json", "--mfa-token", fake.totp(MFA), "jonsmith"], { env });
    equal(fresh.code, 0, fresh.stderr);
    ok(!fresh.stdout.includes("ASIAEXPIRED"));
    deepStrictEqual(fake.calls.map((c) => `${c.action}:${c.status}`), ["GetSessionToken:400", "GetSessionToken:200"]);
    const names = (await Array.fromAsync(Deno.readDir(sb.vaultDir))).map((e) => e.name);
    ok(!names.some((n) => n.endsWith(`,${expired.getTime() / 1000}`)), `expired session removed: ${names}`);
    ok(names.some((n) => n.startsWith("sts.GetSessionToken,")), "the new session is cached");
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});
