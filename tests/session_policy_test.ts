/**
 * Session policies (docs/behaviour.md#session-policies): `--policy FILE`, `--policy-arn ARN` (repeatable) and the
 * profile keys `session_policy_file` / `session_policy_arns` reach the chain's last STS call (the outermost AssumeRole,
 * AssumeRoleWithWebIdentity, or GetFederationToken for an IAM user's own keys), are checked before any call or MFA
 * prompt, keep narrowed and full sessions apart in the cache, and narrow what the ECS server hands out. The fake AWS
 * checks the parameters as AWS does and holds the issued session to its policy.
 */
import { deepStrictEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { makeSandbox, runCli, runProgram, type Sandbox } from "./support/cli.ts";
import type { FakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { ACCOUNT, DEV_KEYS, type MfaSource, startMfaRoleFake, writeMfaRoleConfig } from "./support/mfa_role.ts";
import { APP_GLOBAL_FLAGS, appSpec } from "../src/app.ts";
import { parseCommandLine, readFlags } from "../src/cli/parser.ts";
import { completeWords } from "../src/cli/completion.ts";
import { commandHelp } from "../src/cli/help.ts";
import { exportSpec } from "../src/cli/commands/specs.ts";
import { envFromRecord } from "../src/core/env.ts";

const PLAIN_KEYS = { AWS_ACCESS_KEY_ID: "AKIAPLAINEXAMPLE0001", AWS_SECRET_ACCESS_KEY: "plain/secret" };
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const NARROW = `arn:aws:iam::${ACCOUNT}:policy/Narrow`;
/** A pretty-printed policy, and what is sent for it: compact JSON. */
const S3_POLICY = `{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": ["s3:GetObject", "sts:GetCallerIdentity"], "Resource": "*" }
  ]
}
`;
const S3_POLICY_SENT = JSON.stringify(JSON.parse(S3_POLICY));

interface World {
  readonly fake: FakeAws;
  readonly sb: Sandbox;
  readonly env: Record<string, string>;
  readonly mfa: MfaSource;
  /** A file in the sandbox with `text`. */
  file(name: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A fake AWS with `dev` (MFA) and `plain` (no MFA), their keys stored; profiles: `guarded` (MFA role of dev), `ro`
 * and `ro2` (a role and a role chained from it, from plain's keys), `alias` (plain's keys under another name),
 * `keyed` (profile keys), `web` (web identity), `sso`, `cp` (credential_process).
 */
async function world(): Promise<World> {
  const fake = await startMfaRoleFake();
  fake.addUser({ userName: "plain", ...keysOf(PLAIN_KEYS) });
  for (const name of ["ro", "ro2", "web"]) fake.addRole({ arn: role(name) });
  const sb = await makeSandbox();
  const file = async (name: string, text: string) => {
    const path = `${sb.home}/${name}`;
    await Deno.writeTextFile(path, text);
    return path;
  };
  await file("s3.json", S3_POLICY);
  await file("token", "header.eyJzdWIiOiJjaSJ9.signature");
  const mfa = await writeMfaRoleConfig(
    sb.home,
    fake,
    `[profile plain]\nregion = eu-west-1\n` +
      `[profile ro]\nsource_profile = plain\nrole_arn = ${role("ro")}\n` +
      `[profile ro2]\nsource_profile = ro\nrole_arn = ${role("ro2")}\n` +
      `[profile alias]\nsource_profile = plain\n` +
      `[profile keyed]\nsource_profile = plain\nrole_arn = ${role("ro")}\n` +
      `session_policy_file = s3.json\nsession_policy_arns = ${READ_ONLY}, ${NARROW}\n` +
      `[profile web]\nrole_arn = ${role("web")}\nweb_identity_token_file = ${sb.home}/token\n` +
      `[profile sso]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n` +
      `sso_account_id = ${ACCOUNT}\nsso_role_name = Dev\n` +
      `[profile cp]\ncredential_process = false\n`,
  );
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_PAGER: "" };
  for (const [name, keys] of [["dev", DEV_KEYS], ["plain", PLAIN_KEYS]] as const) {
    const added = await runCli(["add", "--env", "--no-add-config", name], { env: { ...env, ...keys } });
    equal(added.code, 0, added.stderr);
  }
  return {
    fake,
    sb,
    env,
    mfa,
    file,
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}

function keysOf(keys: typeof PLAIN_KEYS) {
  return { accessKeyId: keys.AWS_ACCESS_KEY_ID, secretAccessKey: keys.AWS_SECRET_ACCESS_KEY };
}

/** `export --format=json` of `profile` with `flags`; the parsed credentials, or the failure. */
async function exported(w: World, profile: string, flags: string[] = []) {
  const r = await runCli(["export", "--format=json", ...flags, profile], { env: w.env });
  return { ...r, keys: r.code === 0 ? JSON.parse(r.stdout) as { AccessKeyId: string } : undefined };
}

/** The session-policy parameters of a recorded call. */
function policyParams(params: Readonly<Record<string, string>>) {
  const arns = Object.keys(params).filter((k) => /^PolicyArns\.member\.\d+\.arn$/.test(k)).sort().map((k) => params[k]);
  return { policy: params.Policy, arns };
}

async function withWorld(fn: (w: World) => Promise<void>): Promise<void> {
  const w = await world();
  try {
    await fn(w);
  } finally {
    await w.cleanup();
  }
}

Deno.test("--policy and repeated --policy-arn reach AssumeRole; the session is held to them", () =>
  withWorld(async (w) => {
    const r = await exported(w, "ro", [
      "--policy",
      `${w.sb.home}/s3.json`,
      "--policy-arn",
      NARROW,
      "--policy-arn",
      READ_ONLY,
    ]);
    equal(r.code, 0, r.stderr);
    const [call] = w.fake.callsTo("AssumeRole");
    // Compact JSON (whitespace is not sent), ARNs deduplicated and sorted.
    deepStrictEqual(policyParams(call.params), { policy: S3_POLICY_SENT, arns: [NARROW, READ_ONLY] });
    deepStrictEqual(w.fake.sessionPolicyOf(r.keys!.AccessKeyId), {
      policy: S3_POLICY_SENT,
      policyArns: [NARROW, READ_ONLY],
    });
    equal(w.fake.callsTo("GetFederationToken").length, 0);
  }));

Deno.test("a role chain: only the outermost AssumeRole carries the policy", () =>
  withWorld(async (w) => {
    const r = await exported(w, "ro2", ["--policy-arn", READ_ONLY]);
    equal(r.code, 0, r.stderr);
    const calls = w.fake.callsTo("AssumeRole");
    deepStrictEqual(calls.map((c) => [c.params.RoleArn, policyParams(c.params).arns]), [
      [role("ro"), []],
      [role("ro2"), [READ_ONLY]],
    ]);
  }));

Deno.test("profile keys: session_policy_file (relative to the config) and session_policy_arns; flags beat them", () =>
  withWorld(async (w) => {
    // Relative to the config file's directory, wherever aws-vault runs (here: the test's working directory).
    await Deno.copyFile(`${w.sb.home}/s3.json`, `${w.sb.home}/.aws/s3.json`);
    const keyed = await exported(w, "keyed");
    equal(keyed.code, 0, keyed.stderr);
    deepStrictEqual(policyParams(w.fake.callsTo("AssumeRole")[0].params), {
      policy: S3_POLICY_SENT,
      arns: [NARROW, READ_ONLY],
    });
    // --policy beats session_policy_file; session_policy_arns still applies (each flag beats its own key).
    const other = await w.file("other.json", '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}');
    equal((await exported(w, "keyed", ["--policy", other])).code, 0);
    deepStrictEqual(policyParams(w.fake.callsTo("AssumeRole")[1].params), {
      policy: '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}',
      arns: [NARROW, READ_ONLY],
    });
  }));

Deno.test("web identity: AssumeRoleWithWebIdentity carries the policy, in a cache entry of its own", () =>
  withWorld(async (w) => {
    const narrowed = await exported(w, "web", ["--policy-arn", READ_ONLY]);
    equal(narrowed.code, 0, narrowed.stderr);
    const full = await exported(w, "web");
    equal(full.code, 0, full.stderr);
    const calls = w.fake.callsTo("AssumeRoleWithWebIdentity");
    deepStrictEqual(calls.map((c) => policyParams(c.params).arns), [[READ_ONLY], []]);
    notEqual(narrowed.keys!.AccessKeyId, full.keys!.AccessKeyId);
  }));

Deno.test("an IAM user's own keys: GetFederationToken with the policy instead of GetSessionToken", () =>
  withWorld(async (w) => {
    const r = await exported(w, "plain", ["--policy", `${w.sb.home}/s3.json`]);
    equal(r.code, 0, r.stderr);
    equal(w.fake.callsTo("GetSessionToken").length, 0);
    const [call] = w.fake.callsTo("GetFederationToken");
    equal(call.params.Name, "plain");
    equal(call.params.Policy, S3_POLICY_SENT);
    equal(call.accessKeyId, PLAIN_KEYS.AWS_ACCESS_KEY_ID);
    // Reused from the cache; an alias of plain gets the same narrowing on plain's keys.
    equal((await exported(w, "plain", ["--policy", `${w.sb.home}/s3.json`])).keys!.AccessKeyId, r.keys!.AccessKeyId);
    equal((await exported(w, "alias", ["--policy-arn", READ_ONLY])).code, 0);
    deepStrictEqual(w.fake.callsTo("GetFederationToken").map((c) => c.params.Name), ["plain", "plain"]);
    // Without a policy: GetSessionToken, as before.
    equal((await exported(w, "plain")).code, 0);
    equal(w.fake.callsTo("GetSessionToken").length, 1);
  }));

Deno.test("refused before any call or MFA prompt: an MFA user, --no-session, SSO, credential_process", () =>
  withWorld(async (w) => {
    const cases: [string, string[], RegExp][] = [
      [
        "dev",
        [],
        /^aws-vault: error: export: profile dev: a session policy \(--policy-arn\) on an IAM user's own keys needs sts:GetFederationToken, which takes no MFA code, and the profile sets mfa_serial; narrow a role instead/,
      ],
      [
        "plain",
        ["--no-session"],
        /profile plain: --no-session hands out the stored long-term keys, which a session policy \(--policy-arn\) cannot narrow/,
      ],
      [
        "sso",
        [],
        /profile sso: a session policy \(--policy-arn\) cannot narrow SSO role credentials: they come from sso:GetRoleCredentials, which takes no policy; narrow a role assumed with them instead/,
      ],
      ["cp", [], /profile cp: a session policy \(--policy-arn\) cannot narrow credentials from credential_process/],
    ];
    for (const [profile, flags, message] of cases) {
      const r = await exported(w, profile, ["--policy-arn", READ_ONLY, ...flags]);
      equal(r.code, 1, profile);
      match(r.stderr, message);
      equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    equal(w.fake.calls.length, 0);
    equal(await w.mfa.prompts(), 0);
  }));

Deno.test("a bad policy is refused in one line naming the flag, file or key, before any call or MFA prompt", () =>
  withWorld(async (w) => {
    const h = w.sb.home;
    const secret = "TOP-SECRET-BUCKET";
    await w.file("broken.json", `{\n  "Version": "2012-10-17",\n  "Statement": [ ${secret} ]\n}\n`);
    await w.file("array.json", "[]");
    await w.file("noversion.json", '{"Statement":[{"Effect":"Allow","Action":"*"}]}');
    const big = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "x".repeat(2100) }] };
    await w.file("big.json", JSON.stringify(big, null, 2));
    await w.file("huge.json", " ".repeat(70_000));
    const cases: [string[], string][] = [
      [["--policy", `${h}/missing.json`], `--policy ${h}/missing.json: no such file`],
      [["--policy", h], `--policy ${h}: not a regular file`],
      [["--policy", `${h}/broken.json`], `--policy ${h}/broken.json: not valid JSON`],
      [
        ["--policy", `${h}/array.json`],
        `--policy ${h}/array.json: not a policy document: it must be a JSON object with "Version" and "Statement"`,
      ],
      [["--policy", `${h}/noversion.json`], `--policy ${h}/noversion.json: not a policy document: it has no "Version"`],
      [
        ["--policy", `${h}/big.json`],
        `--policy ${h}/big.json: the policy is ${
          JSON.stringify(big).length
        } characters without whitespace; AWS accepts at most 2048`,
      ],
      [
        ["--policy", `${h}/huge.json`],
        `--policy ${h}/huge.json: 70000 bytes is too large for a session policy (at most 65536 bytes)`,
      ],
      [
        ["--policy-arn", "arn:aws:iam::aws:role/Admin"],
        `--policy-arn: "arn:aws:iam::aws:role/Admin" is not a managed policy ARN (arn:aws:iam::<account id or aws>:policy/<name>)`,
      ],
      [
        Array.from({ length: 11 }, (_, i) => ["--policy-arn", `arn:aws:iam::aws:policy/P${i}`]).flat(),
        "--policy-arn: 11 policy ARNs; AWS accepts at most 10",
      ],
      [
        ["--policy-arn", "arn:aws:iam::999999999999:policy/Other"],
        `--policy-arn: "arn:aws:iam::999999999999:policy/Other" is a policy of account 999999999999; a session of ${
          role("guarded")
        } can be narrowed only by policies of account ${ACCOUNT} or AWS managed ones`,
      ],
    ];
    for (const [flags, message] of cases) {
      // guarded is an MFA role: a check made after the prompt would show in the counter.
      const r = await exported(w, "guarded", flags);
      equal(r.code, 1, flags.join(" "));
      ok(r.stderr.startsWith(`aws-vault: error: export: ${message}`), `${r.stderr} does not start with ${message}`);
      equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      ok(!r.stderr.includes(secret), r.stderr);
    }
    equal(w.fake.calls.length, 0);
    equal(await w.mfa.prompts(), 0);
  }));

Deno.test("profile keys that are wrong are named by file and line", () =>
  withWorld(async (w) => {
    const config = `${w.sb.home}/.aws/config`;
    const lines = (await Deno.readTextFile(config)).split("\n").length;
    await Deno.writeTextFile(
      config,
      `[profile badarn]\nsource_profile = plain\nrole_arn = ${role("ro")}\nsession_policy_arns = nope\n` +
        `[profile badfile]\nsource_profile = plain\nrole_arn = ${role("ro")}\nsession_policy_file = gone.json\n`,
      { append: true },
    );
    const a = await exported(w, "badarn");
    equal(
      a.stderr,
      `aws-vault: error: export: ${config}:${
        lines + 3
      }: session_policy_arns: "nope" is not a managed policy ARN (arn:aws:iam::<account id or aws>:policy/<name>)\n`,
    );
    const b = await exported(w, "badfile");
    equal(
      b.stderr,
      `aws-vault: error: export: ${config}:${
        lines + 7
      }: session_policy_file ${w.sb.home}/.aws/gone.json: no such file\n`,
    );
    equal(w.fake.calls.length, 0);
  }));

Deno.test("the cache: narrowed, full, narrowed again reuse their own sessions under distinct keys", () =>
  withWorld(async (w) => {
    const narrow = ["--policy-arn", READ_ONLY];
    const first = await exported(w, "ro", narrow);
    const full = await exported(w, "ro");
    const again = await exported(w, "ro", narrow);
    const other = await exported(w, "ro", ["--policy-arn", NARROW]);
    equal(first.keys!.AccessKeyId, again.keys!.AccessKeyId);
    notEqual(first.keys!.AccessKeyId, full.keys!.AccessKeyId);
    notEqual(first.keys!.AccessKeyId, other.keys!.AccessKeyId);
    equal(w.fake.callsTo("AssumeRole").length, 3);
    equal(w.fake.sessionPolicyOf(full.keys!.AccessKeyId), undefined);
    // The same again, full first: the full session is still the full one.
    equal((await exported(w, "ro")).keys!.AccessKeyId, full.keys!.AccessKeyId);
    const listed = await runCli(["list", "--sessions"], { env: w.env });
    // One entry per key: a session made under the same key would have replaced the older one.
    const roles = listed.stdout.split("\n").filter((k) => k.startsWith("sts.AssumeRole:"));
    equal(roles.length, 3, listed.stdout);
  }));

Deno.test("an MFA role: narrowed and full sessions never share aws-vault's key, one prompt for all", () =>
  withWorld(async (w) => {
    const narrowed = await exported(w, "guarded", ["--policy-arn", READ_ONLY]);
    equal(narrowed.code, 0, narrowed.stderr);
    const full = await exported(w, "guarded");
    const again = await exported(w, "guarded", ["--policy-arn", READ_ONLY]);
    equal(again.keys!.AccessKeyId, narrowed.keys!.AccessKeyId);
    notEqual(full.keys!.AccessKeyId, narrowed.keys!.AccessKeyId);
    equal(await w.mfa.prompts(), 1);
    // The Go aws-vault reuses `sts.AssumeRole,<profile>,<mfa>` entries whatever their settings: a narrowed session
    // must never be one.
    const listed = (await runCli(["list", "--sessions"], { env: w.env })).stdout;
    ok(!listed.split("\n").some((k) => k.startsWith("sts.AssumeRole,")), listed);
  }));

Deno.test("exec --ecs-server hands out narrowed credentials, /role-arn/ roles too (assumed from the full session)", () =>
  withWorld(async (w) => {
    const out = `${w.sb.home}/served`;
    const url = '"$AWS_CONTAINER_CREDENTIALS_FULL_URI"';
    const auth = '-H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN"';
    const script = `curl -sf ${auth} ${url} > ${out}.1 && curl -sf ${auth} ${url}/role-arn/${role("ro2")} > ${out}.2`;
    const r = await runCli(
      ["exec", "--ecs-server", "--policy", `${w.sb.home}/s3.json`, "ro", "--", "sh", "-c", script],
      { env: w.env },
    );
    equal(r.code, 0, r.stderr);
    for (const n of [1, 2]) {
      const served = JSON.parse(await Deno.readTextFile(`${out}.${n}`)) as { AccessKeyId: string };
      deepStrictEqual(w.fake.sessionPolicyOf(served.AccessKeyId), { policy: S3_POLICY_SENT, policyArns: [] });
    }
    const calls = w.fake.callsTo("AssumeRole");
    const ro2 = calls.find((c) => c.params.RoleArn === role("ro2"))!;
    // Assumed with ro's full session: the narrowed one may not call sts:AssumeRole.
    equal(w.fake.sessionPolicyOf(ro2.accessKeyId!), undefined);
  }));

Deno.test("the command line: --policy-arn repeats, help marks it, completion offers it again", () => {
  const app = appSpec(APP_GLOBAL_FLAGS);
  const env = envFromRecord({});
  const result = parseCommandLine(["export", "--policy-arn", "a", "p", "--policy-arn=b", "--policy", "f"], {
    app,
    env,
  });
  if (result.kind !== "run") throw new Error(result.kind);
  const flags = readFlags(exportSpec.flags, result.line);
  deepStrictEqual(flags.policyArns, ["a", "b"]);
  equal(flags.policy, "f");
  const none = parseCommandLine(["export", "p"], { app, env });
  if (none.kind !== "run") throw new Error(none.kind);
  deepStrictEqual(readFlags(exportSpec.flags, none.line).policyArns, []);
  const help = commandHelp(app, exportSpec);
  match(help, /--policy-arn=ARN \.\.\. /);
  match(help, /--policy=FILE /);
  deepStrictEqual(completeWords(["exec", "--policy-arn", "x", "--policy-a"], { app }), ["--policy-arn"]);
  deepStrictEqual(completeWords(["exec", "--policy", ""], { app }), []);
});

const aws = await findAwsCli();

Deno.test({
  name: "the real AWS CLI under exec: the narrowed role may call what the policy allows, not what it leaves out",
  ignore: aws === undefined,
  fn: () =>
    withWorld(async (w) => {
      const cli = `${aws} --endpoint-url ${w.fake.url} --region us-east-1 --output text`;
      const r = await runProgram([
        "exec",
        "--policy",
        `${w.sb.home}/s3.json`,
        "ro",
        "--",
        "sh",
        "-c",
        `${cli} sts get-caller-identity --query Arn && ${cli} iam get-user --user-name plain 2>&1; echo "exit $?"`,
      ], { env: w.env });
      equal(r.code, 0, r.stderr);
      match(r.stdout, /assumed-role\/ro\//);
      match(r.stdout, /AccessDenied.*because no session policy allows the iam:GetUser action/);
      match(r.stdout, /exit [1-9]/);
      // Without the policy the same call works.
      const full = await runProgram([
        "exec",
        "ro",
        "--",
        "sh",
        "-c",
        `${cli} iam get-user --user-name plain --query User.UserName`,
      ], { env: w.env });
      equal(full.stdout.trim(), "plain", full.stderr);
    }),
});

Deno.test("the fake checks what arrives as AWS does; aws-vault reports AWS's refusal in one line", () =>
  withWorld(async (w) => {
    // Characters AWS does not take in a policy are sent escaped; Latin-1 ones as they are.
    const accents = await w.file(
      "accents.json",
      '{"Version":"2012-10-17","Statement":{"Sid":"café→ok","Effect":"Allow","Action":"s3:*","Resource":"*"}}',
    );
    const r = await exported(w, "ro", ["--policy", accents]);
    equal(r.code, 0, r.stderr);
    equal(
      w.fake.callsTo("AssumeRole")[0].params.Policy,
      String
        .raw`{"Version":"2012-10-17","Statement":{"Sid":"café\u2192ok","Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
    );
    // Within the 2,048 characters, but packed with the ARNs beyond AWS's limit: only AWS can tell.
    const statement = { Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${"b".repeat(1900)}` };
    const full = await w.file("full.json", JSON.stringify({ Version: "2012-10-17", Statement: [statement] }));
    const packed = await exported(w, "ro", [
      "--no-cache",
      "--policy",
      full,
      "--policy-arn",
      READ_ONLY,
      "--policy-arn",
      NARROW,
    ]);
    equal(packed.code, 1);
    match(
      packed.stderr,
      /^aws-vault: error: export: profile ro: sts:AssumeRole failed: PackedPolicyTooLargeException: Packed policy consumes 10\d% of allotted space, please use smaller policy for this call\.\n$/,
    );
    // A JSON error with a position names the line and column, never the text.
    const cut = await w.file("cut.json", '{\n  "Version": "2012-10-17"\n  "Statement": []\n}\n');
    const bad = await exported(w, "ro", ["--policy", cut]);
    match(bad.stderr, /: not valid JSON at line 3, column 3\n$/);
  }));

Deno.test("login ignores session policies: the console session has the profile's rights", () =>
  withWorld(async (w) => {
    await Deno.copyFile(`${w.sb.home}/s3.json`, `${w.sb.home}/.aws/s3.json`);
    const r = await runCli(["login", "--stdout", "keyed"], { env: { ...w.env, AWS_ENDPOINT_URL_SIGNIN: w.fake.url } });
    equal(r.code, 0, r.stderr);
    deepStrictEqual(policyParams(w.fake.callsTo("AssumeRole")[0].params), { policy: undefined, arns: [] });
  }));

Deno.test("exec --ecs-server for an IAM user: a GetFederationToken session; /role-arn/ assumed from its full session", () =>
  withWorld(async (w) => {
    const out = `${w.sb.home}/served`;
    const url = '"$AWS_CONTAINER_CREDENTIALS_FULL_URI"';
    const auth = '-H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN"';
    const script = `curl -sf ${auth} ${url} > ${out}.1 && curl -sf ${auth} ${url}/role-arn/${role("ro")} > ${out}.2`;
    const r = await runCli(
      ["exec", "--ecs-server", "--policy-arn", READ_ONLY, "plain", "--", "sh", "-c", script],
      { env: w.env },
    );
    equal(r.code, 0, r.stderr);
    const served = async (n: number) => JSON.parse(await Deno.readTextFile(`${out}.${n}`)) as { AccessKeyId: string };
    const federated = await served(1);
    deepStrictEqual(w.fake.sessionPolicyOf(federated.AccessKeyId), { policyArns: [READ_ONLY] });
    equal(w.fake.callsTo("GetFederationToken").length, 1);
    deepStrictEqual(w.fake.sessionPolicyOf((await served(2)).AccessKeyId), { policyArns: [READ_ONLY] });
    // GetFederationToken sessions may not call sts:AssumeRole: the role came from plain's GetSessionToken session.
    const [assume] = w.fake.callsTo("AssumeRole");
    equal(assume.status, 200);
    equal(w.fake.callsTo("GetSessionToken").length, 1);
    notEqual(assume.accessKeyId, federated.AccessKeyId);
  }));
