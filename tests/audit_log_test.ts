/**
 * The audit log (docs/behaviour.md#audit-log): one line per hand-out of credentials (exec, export in every format,
 * credential_process through the real AWS CLI, each new credentials value a server answers with, login), never a
 * secret in the file, mode 0600 in a 0700 directory, whole lines under concurrent writers and rotation, the off switch
 * in the config and the environment, a failed write that warns once and hands out anyway, and the `log` command.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  AUDIT_EVENTS,
  auditEnabled,
  auditLine,
  AuditLog,
  auditLogFiles,
  auditLogPath,
  KEEP_FILES,
} from "../src/audit/audit_log.ts";
import { requesterFromArgv } from "../src/audit/process_info.ts";
import { sourceOf } from "../src/audit/handout.ts";
import type { ServedCredentials } from "../src/audit/record.ts";
import { startEc2Server } from "../src/server/ec2_server.ts";
import { envFromRecord } from "../src/core/env.ts";
import { addKeys, cliCommand, makeSandbox, runCli, runProgram, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";

const ACCOUNT = "111111111111";
const USER = { userName: "dev", accessKeyId: "AKIADEVAUDITEXAMPLE1", secretAccessKey: "dev/audit-secret+XYZ" };
const PASSPHRASE = "audit-test-passphrase";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/base`;
const CONFIG = `[profile dev]
region = eu-west-1

[profile base]
source_profile = dev
role_arn = ${ROLE}
`;
const aws = await findAwsCli();
const root = new URL("../", import.meta.url).pathname;

interface World {
  readonly fake: FakeAws;
  readonly sb: Sandbox;
  readonly env: Record<string, string>;
  /** The audit log of the sandbox's user. */
  readonly logPath: string;
  cleanup(): Promise<void>;
}

async function world(options: { config?: string } = {}): Promise<World> {
  const fake = await startFakeAws();
  fake.addUser(USER);
  fake.addRole({ arn: ROLE });
  fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/other` });
  const sb = await makeSandbox({ config: options.config ?? CONFIG, passphrase: PASSPHRASE });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_ENDPOINT_URL_SIGNIN: fake.url, AWS_PAGER: "" };
  await addKeys("dev", USER, env);
  return {
    fake,
    sb,
    env,
    logPath: `${sb.home}/.local/state/aws-vault/audit.log`,
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}

// deno-lint-ignore no-explicit-any
type Line = Record<string, any>;

async function readLog(path: string): Promise<Line[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** Fails if any secret appears anywhere in the log's files. */
async function assertNoSecret(path: string, secrets: readonly string[]): Promise<void> {
  const files = auditLogFiles(path);
  ok(files.length > 0, `no audit log at ${path} to search`);
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    for (const secret of secrets) ok(!text.includes(secret), `${file} contains a secret (${secret.slice(0, 6)}…)`);
  }
}

/** The secrets of `env`-format output: the secret key and the session token. */
function secretsOf(envOutput: string): string[] {
  return envOutput.split("\n").filter((l) => /^AWS_(SECRET_ACCESS_KEY|SESSION_TOKEN)=/.test(l)).map((l) =>
    l.slice(l.indexOf("=") + 1)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Units

Deno.test("audit log path: XDG_STATE_HOME, else the OS's place for a user's logs", () => {
  const env = (vars: Record<string, string>) => envFromRecord(vars);
  equal(auditLogPath(env({ HOME: "/h", XDG_STATE_HOME: "/s" }), { os: "linux" }), "/s/aws-vault/audit.log");
  equal(auditLogPath(env({ HOME: "/h" }), { os: "linux" }), "/h/.local/state/aws-vault/audit.log");
  equal(
    auditLogPath(env({ HOME: "/h", XDG_STATE_HOME: "relative" }), { os: "linux" }),
    "/h/.local/state/aws-vault/audit.log",
  );
  equal(auditLogPath(env({ HOME: "/Users/me" }), { os: "darwin" }), "/Users/me/Library/Logs/aws-vault/audit.log");
  equal(
    auditLogPath(env({ USERPROFILE: "C:\\Users\\me", LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local" }), {
      os: "windows",
    }),
    "C:\\Users\\me\\AppData\\Local\\aws-vault\\audit.log",
  );
  equal(
    auditLogPath(env({ USERPROFILE: "C:\\Users\\me" }), { os: "windows" }),
    "C:\\Users\\me\\AppData\\Local\\aws-vault\\audit.log",
  );
  equal(auditLogPath(env({}), { os: "linux" }), undefined);
});

Deno.test("off switch: AWS_VAULT_AUDIT beats the config's [aws-vault] audit; anything unclear keeps it on", () => {
  const env = (v?: string) => envFromRecord(v === undefined ? {} : { AWS_VAULT_AUDIT: v });
  deepStrictEqual(auditEnabled(env(), undefined), { enabled: true });
  deepStrictEqual(auditEnabled(env(), "off"), { enabled: false });
  deepStrictEqual(auditEnabled(env(), "False"), { enabled: false });
  deepStrictEqual(auditEnabled(env("off"), "on"), { enabled: false });
  deepStrictEqual(auditEnabled(env("on"), "off"), { enabled: true });
  deepStrictEqual(auditEnabled(env(""), "no"), { enabled: false }, "an empty variable counts as unset");
  const unclear = auditEnabled(env("of"), undefined);
  equal(unclear.enabled, true);
  match(unclear.warning!, /AWS_VAULT_AUDIT is "of", neither on nor off; the audit log stays on/);
});

Deno.test("a line: fixed fields, masked key, second-precision expiry, nothing it was not given", () => {
  const line = auditLine(
    {
      event: "export",
      profile: "p",
      source: "sts.GetSessionToken",
      cached: true,
      expiration: new Date("2030-01-02T03:04:05.678Z"),
      accessKeyId: "****************ABCD",
      format: "json",
      requester: { pid: 7, command: "aws" },
      // A field that is not part of an entry (a careless caller's spread) is not written.
      ...{ secretAccessKey: "never" },
    } as Parameters<typeof auditLine>[0],
    { now: new Date("2030-01-01T00:00:00.123Z"), pid: 42 },
  );
  ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"));
  deepStrictEqual(Object.keys(JSON.parse(line)), [
    "time",
    "event",
    "profile",
    "source",
    "cached",
    "expiration",
    "accessKeyId",
    "format",
    "requester",
    "pid",
    "version",
  ]);
  const parsed = JSON.parse(line);
  equal(parsed.time, "2030-01-01T00:00:00.123Z");
  equal(parsed.expiration, "2030-01-02T03:04:05Z");
  ok(!line.includes("never"));
});

Deno.test("who asked: argv[0]'s basename, an interpreter's script, never an argument", () => {
  deepStrictEqual(requesterFromArgv(5, ["/usr/bin/python3", "/usr/bin/aws", "s3", "ls", "--secret=x"]), {
    pid: 5,
    command: "python3",
    script: "aws",
  });
  deepStrictEqual(requesterFromArgv(5, ["terraform", "apply", "-var", "token=SECRET"]), {
    pid: 5,
    command: "terraform",
  });
  deepStrictEqual(requesterFromArgv(5, ["sh", "-c", "aws-vault export --format=json x # SECRET"]), {
    pid: 5,
    command: "sh",
  });
  deepStrictEqual(requesterFromArgv(5, []), { pid: 5 });
  equal(
    sourceOf({ description: "GetFederationToken for profile u from x", retrieve: () => Promise.reject() }).source,
    "sts.GetFederationToken",
  );
});

Deno.test("the events offered by `log --event` are the events written", () => {
  deepStrictEqual([...AUDIT_EVENTS], ["exec", "export", "ecs-server", "ec2-server", "login"]);
});

// ---------------------------------------------------------------------------------------------------------------
// Each hand-out

Deno.test("export: one line per run in every format, fresh then cached, the parent recorded; no secret", async () => {
  const w = await world();
  try {
    const outputs: string[] = [];
    for (const format of ["env", "export-env", "json", "ini"]) {
      const r = await runCli(["export", `--format=${format}`, "base"], { env: w.env });
      equal(r.code, 0, r.stderr);
      equal(r.stderr, "");
      outputs.push(r.stdout);
    }
    // The hidden exec --json is export --format=json.
    const viaExec = await runCli(["exec", "--json", "base"], { env: w.env });
    equal(viaExec.code, 0, viaExec.stderr);
    const lines = await readLog(w.logPath);
    deepStrictEqual(lines.map((l) => [l.event, l.format, l.cached]), [
      ["export", "env", false],
      ["export", "export-env", true],
      ["export", "json", true],
      ["export", "ini", true],
      ["export", "json", true],
    ]);
    const keyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(outputs[0])![1];
    for (const l of lines) {
      equal(l.profile, "base");
      equal(l.roleArn, ROLE);
      equal(l.source, "sts.AssumeRole");
      equal(l.accessKeyId, `${"*".repeat(16)}${keyId.slice(-4)}`);
      match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      match(l.expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      equal(l.requester.pid, Deno.ppid, "in-process, the parent is the test runner's");
      equal(l.pid, Deno.pid);
      match(l.version, /^v\d/);
    }
    const handed = secretsOf(outputs[0]);
    equal(handed.length, 2, `the secret key and the session token of:\n${outputs[0]}`);
    await assertNoSecret(w.logPath, [...handed, USER.secretAccessKey, PASSPHRASE, keyId]);
    // Private: the file 0600, its directory 0700.
    equal((await Deno.stat(w.logPath)).mode! & 0o777, 0o600);
    equal((await Deno.stat(`${w.sb.home}/.local/state/aws-vault`)).mode! & 0o777, 0o700);
  } finally {
    await w.cleanup();
  }
});

Deno.test("exec: one line before the command runs, naming argv[0]'s basename and the pid it keeps", async () => {
  const w = await world();
  try {
    const script = 'echo "$AWS_ACCESS_KEY_ID $$ $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN"';
    const r = await runProgram(["exec", "base", "--", "/bin/sh", "-c", script, "SECRET-ARG"], { env: w.env });
    equal(r.code, 0, r.stderr);
    const [keyId, childPid, secretKey, token] = r.stdout.trim().split(" ");
    ok(secretKey && token, `the command got the session's secret and token: ${r.stdout}`);
    const lines = await readLog(w.logPath);
    equal(lines.length, 1);
    const [l] = lines;
    equal(l.event, "exec");
    equal(l.source, "sts.AssumeRole");
    equal(l.cached, false);
    equal(l.accessKeyId, `${"*".repeat(16)}${keyId.slice(-4)}`);
    deepStrictEqual(l.requester, { pid: Number(childPid), command: "sh" }, "execve keeps aws-vault's pid");
    equal(l.pid, Number(childPid));
    await assertNoSecret(w.logPath, ["SECRET-ARG", 'echo "$AWS', secretKey, token, USER.secretAccessKey, PASSPHRASE]);
  } finally {
    await w.cleanup();
  }
});

Deno.test("exec --ecs-server: one line per new credentials value answered, not per request; the peer and the path", async () => {
  const w = await world();
  try {
    const get = (path: string) =>
      `curl -sf -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI${path}"` +
      " >> answers.txt";
    const other = `/role-arn/arn:aws:iam::${ACCOUNT}:role/other`;
    const script = [
      get("/"),
      get("/"),
      get("/"),
      // HEAD carries no credentials.
      `curl -sfI -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" >/dev/null`,
      get(other),
      get(other),
    ].join("\n");
    const r = await runProgram(["exec", "--ecs-server", "base", "--", "sh", "-c", script], { env: w.env });
    equal(r.code, 0, r.stderr);
    const answers = (await Deno.readTextFile(`${w.sb.home}/answers.txt`)).split("\n").filter((l) => l !== "").map((l) =>
      JSON.parse(l)
    );
    equal(answers.length, 5);
    const lines = await readLog(w.logPath);
    deepStrictEqual(lines.map((l) => [l.event, l.path, l.roleArn, l.source]), [
      ["ecs-server", "/", ROLE, "sts.AssumeRole"],
      ["ecs-server", other, `arn:aws:iam::${ACCOUNT}:role/other`, "sts.AssumeRole"],
    ]);
    for (const [i, l] of lines.entries()) {
      match(l.requester.peer, /^127\.0\.0\.1:\d+$/);
      equal(l.command, "sh");
      equal(l.accessKeyId, `${"*".repeat(16)}${answers[i === 0 ? 0 : 3].AccessKeyId.slice(-4)}`);
    }
    await assertNoSecret(w.logPath, [
      ...answers.flatMap((a) => [a.SecretAccessKey, a.Token]),
      USER.secretAccessKey,
      PASSPHRASE,
    ]);
  } finally {
    await w.cleanup();
  }
});

Deno.test({
  name: "credential_process through the real AWS CLI: an export json line whose requester is the AWS CLI",
  ignore: aws === undefined,
  async fn() {
    const vaultCmd = [...cliCommand(), "export", "--format=json", "base"].join(" ");
    // The [aws-vault] section is read by aws-vault and ignored by the AWS CLI.
    const w = await world({
      config: `${CONFIG}\n[aws-vault]\naudit = on\n\n[profile via-vault]\ncredential_process = ${vaultCmd}\n`,
    });
    try {
      const cli = await new Deno.Command(aws!, {
        args: ["sts", "get-caller-identity", "--endpoint-url", w.fake.url, "--region", "us-east-1", "--output", "text"],
        env: { ...w.env, AWS_CONFIG_FILE: w.sb.configPath, AWS_PROFILE: "via-vault" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
      const lines = await readLog(w.logPath);
      equal(lines.length, 1);
      const [l] = lines;
      equal(l.event, "export");
      equal(l.format, "json");
      ok(Number.isInteger(l.requester.pid) && l.requester.pid !== Deno.pid);
      ok(
        l.requester.command === "aws" || l.requester.script === "aws",
        `the AWS CLI asked: ${JSON.stringify(l.requester)}`,
      );
      await assertNoSecret(w.logPath, [USER.secretAccessKey, PASSPHRASE]);
    } finally {
      await w.cleanup();
    }
  },
});

Deno.test("login --stdout: a line says a console URL was made, for whom and until when; never the URL", async () => {
  const w = await world();
  try {
    const role = await runCli(["login", "--stdout", "base"], { env: w.env });
    equal(role.code, 0, role.stderr);
    const user = await runCli(["login", "--stdout", "dev"], { env: w.env });
    equal(user.code, 0, user.stderr);
    const lines = await readLog(w.logPath);
    deepStrictEqual(lines.map((l) => [l.event, l.profile, l.roleArn, l.callerArn, l.source, l.output]), [
      ["login", "base", ROLE, undefined, "sts.AssumeRole", "stdout"],
      ["login", "dev", undefined, `arn:aws:iam::${ACCOUNT}:user/dev`, "sts.GetFederationToken", "stdout"],
    ]);
    for (const l of lines) match(l.expiration, /Z$/);
    const tokens = [role.stdout, user.stdout].map((u) => new URL(u.trim()).searchParams.get("SigninToken")!);
    await assertNoSecret(w.logPath, [...tokens, role.stdout.trim(), "SigninToken", USER.secretAccessKey, PASSPHRASE]);
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The file under pressure

/** Runs `count` processes that each append `lines` entries through AuditLog, all at once. */
async function concurrentWriters(
  path: string,
  options: { count: number; lines: number; rotateBytes?: number },
): Promise<void> {
  const script = `
    import { AuditLog } from "${root}src/audit/audit_log.ts";
    import { envFromRecord } from "${root}src/core/env.ts";
    const [path, writer, lines, rotateBytes] = Deno.args;
    const log = new AuditLog({
      env: envFromRecord({}), path, now: () => new Date(), warn: (t) => { throw new Error(t); },
      rotateBytes: rotateBytes ? Number(rotateBytes) : undefined,
    });
    for (let i = 0; i < Number(lines); i++) {
      // Lines of different lengths, some long, so a torn write would show.
      await log.record({ event: "export", profile: "w" + writer + "-" + "x".repeat(i * 37 % 900), source: String(i) });
    }`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  try {
    const runs = Array.from({ length: options.count }, (_, i) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", file, path, String(i), String(options.lines), String(options.rotateBytes ?? "")],
        stdout: "null",
        stderr: "piped",
      }).output());
    for (const out of await Promise.all(runs)) equal(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("20 processes × 50 lines at once: every line whole, none lost", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state/aws-vault/audit.log`;
    await concurrentWriters(path, { count: 20, lines: 50 });
    const lines = await readLog(path); // throws on a torn line
    equal(lines.length, 1000);
    for (let w = 0; w < 20; w++) {
      const mine = lines.filter((l) => l.profile.startsWith(`w${w}-`)).map((l) => Number(l.source));
      deepStrictEqual(mine, Array.from({ length: 50 }, (_, i) => i), `writer ${w}'s lines in order`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rotation under concurrent writers: whole lines, files within the size, only the oldest dropped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/audit.log`;
    const rotateBytes = 64 * 1024;
    await concurrentWriters(path, { count: 8, lines: 60, rotateBytes });
    const files = auditLogFiles(path);
    equal(files.length, KEEP_FILES + 1, `rotated files: ${files.join(", ")}`);
    const lines: Line[] = [];
    for (const file of files) {
      const stat = await Deno.stat(file);
      // Writers append without the lock until a line would pass the size: a few lines of those racing may land past it.
      ok(stat.size <= rotateBytes + 8 * 1024, `${file} is ${stat.size} bytes`);
      equal(stat.mode! & 0o777, 0o600);
      lines.push(...await readLog(file));
    }
    // Every writer's surviving lines are its last ones, in order: rotation dropped whole old files, nothing else.
    for (let w = 0; w < 8; w++) {
      const mine = lines.filter((l) => l.profile.startsWith(`w${w}-`)).map((l) => Number(l.source));
      ok(mine.length > 0);
      deepStrictEqual(mine, Array.from({ length: mine.length }, (_, i) => 60 - mine.length + i));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Off switch and failures

Deno.test("off switch: [aws-vault] audit = off, AWS_VAULT_AUDIT=off; the variable beats the config", async () => {
  const w = await world({ config: `${CONFIG}\n[aws-vault]\naudit = off\n` });
  try {
    const off = await runCli(["export", "base"], { env: w.env });
    equal(off.code, 0, off.stderr);
    deepStrictEqual(await readLog(w.logPath), []);
    const on = await runCli(["export", "base"], { env: { ...w.env, AWS_VAULT_AUDIT: "on" } });
    equal(on.code, 0, on.stderr);
    equal((await readLog(w.logPath)).length, 1);
    await Deno.writeTextFile(w.sb.configPath, CONFIG);
    const envOff = await runCli(["export", "base"], { env: { ...w.env, AWS_VAULT_AUDIT: "off" } });
    equal(envOff.code, 0, envOff.stderr);
    equal((await readLog(w.logPath)).length, 1);
    // `list` still lists the profiles: the section is not a profile.
    const list = await runCli(["list", "--profiles"], { env: w.env });
    deepStrictEqual(list.stdout.trim().split("\n"), ["dev", "base"]);
  } finally {
    await w.cleanup();
  }
});

Deno.test("a write that fails warns once on stderr and the credentials are handed out", async () => {
  const w = await world();
  try {
    // A file where the directory should be: mkdir fails even for root.
    const blocker = `${w.sb.home}/not-a-dir`;
    await Deno.writeTextFile(blocker, "");
    const env = { ...w.env, XDG_STATE_HOME: blocker };
    const r = await runCli(["export", "base"], { env });
    equal(r.code, 0);
    match(r.stdout, /^AWS_ACCESS_KEY_ID=ASIA/);
    const warnings = r.stderr.split("\n").filter((l) => l !== "");
    equal(warnings.length, 1, r.stderr);
    match(
      warnings[0],
      /^aws-vault: warning: cannot write the audit log .*not-a-dir\/aws-vault\/audit\.log \(.*\); the credentials were handed out unrecorded$/,
    );
    const exec = await runProgram(["exec", "base", "--", "sh", "-c", 'echo "$AWS_ACCESS_KEY_ID"'], { env });
    equal(exec.code, 0, exec.stderr);
    match(exec.stdout, /^ASIA/);

    // Many records in one run (a server): one warning.
    const warned: string[] = [];
    const log = new AuditLog({
      env: envFromRecord(env),
      now: () => new Date(),
      warn: (t) => warned.push(t),
    });
    for (let i = 0; i < 5; i++) await log.record({ event: "ecs-server", profile: "p", source: "x" });
    equal(warned.length, 1);
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// `log`

Deno.test("log: a table of every file, newest last; --profile, --event, --since and --json filter", async () => {
  const w = await world();
  try {
    const dir = `${w.sb.home}/.local/state/aws-vault`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const line = (time: string, profile: string, event: string, extra: Line = {}) =>
      JSON.stringify({ time, event, profile, source: "sts.AssumeRole", accessKeyId: "****************ABCD", ...extra });
    // A rotated file holds the older entries.
    await Deno.writeTextFile(`${dir}/audit.log.1`, line("2020-01-01T00:00:00.000Z", "old", "export") + "\n");
    await runCli(["export", "base"], { env: w.env });
    await runCli(["export", "--format=json", "dev"], { env: w.env });
    const table = await runCli(["log"], { env: w.env });
    equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split("\n");
    match(rows[0], /^Time\s+Event\s+Profile\s+Role\/User\s+Source\s+Key\s+Who$/);
    equal(rows.length, 5);
    match(rows[2], /^2020-01-01T00:00:00Z\s+export\s+old\s+-\s+sts\.AssumeRole\s+\*{16}ABCD/);
    match(
      rows[3],
      new RegExp(`export:env\\s+base\\s+${ROLE}\\s+sts\\.AssumeRole\\s+\\*{16}\\w{4}\\s+\\S.*\\[\\d+\\]$`),
    );
    match(rows[4], /export:json\s+dev\s+-\s+sts\.GetSessionToken\s+\*{16}\w{4}/);

    const byProfile = await runCli(["log", "--profile", "base", "--json"], { env: w.env });
    deepStrictEqual(byProfile.stdout.trim().split("\n").map((l) => JSON.parse(l).profile), ["base"]);
    const since = await runCli(["log", "--since", "24h", "--json"], { env: w.env });
    deepStrictEqual(since.stdout.trim().split("\n").map((l) => JSON.parse(l).profile), ["base", "dev"]);
    const sinceTime = await runCli(["log", "--since", "2019-12-31T00:00:00Z", "--event", "export"], { env: w.env });
    equal(sinceTime.stdout.trim().split("\n").length, 5);
    const none = await runCli(["log", "--event", "login"], { env: w.env });
    equal(none.stdout.trim().split("\n").length, 2, "the header only");
    const bad = await runCli(["log", "--since", "yesterday"], { env: w.env });
    equal(bad.code, 1);
    match(
      bad.stderr,
      /^aws-vault: error: log: --since: "yesterday" is neither a duration \(24h, 90m\) nor an RFC 3339 time/,
    );

    // A damaged line is counted, not shown and not fatal.
    await Deno.writeTextFile(`${dir}/audit.log`, "not json\n", { append: true });
    const damaged = await runCli(["log", "--json"], { env: w.env });
    equal(damaged.code, 0);
    equal(damaged.stdout.trim().split("\n").length, 3);
    match(damaged.stderr, /warning: 1 lines of .* are not audit entries/);
  } finally {
    await w.cleanup();
  }
});

Deno.test("log with no log yet says where it looked", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runCli(["log"], { env: sb.env });
    equal(r.code, 0);
    equal(r.stdout, "");
    equal(r.stderr, `No audit log entries in ${sb.home}/.local/state/aws-vault/audit.log\n`);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("EC2 server: onServe hears of each new credentials value once, for GETs only, with the forwarded hops", async () => {
  const at = new Date("2030-01-01T00:00:00Z").getTime();
  let clock = at;
  const first = {
    accessKeyId: "ASIAFIRST",
    secretAccessKey: "s1",
    sessionToken: "t1",
    expiration: new Date(at + 600_000),
  };
  const second = {
    accessKeyId: "ASIASECOND",
    secretAccessKey: "s2",
    sessionToken: "t2",
    expiration: new Date(at + 4e6),
  };
  let calls = 0;
  const provider = { description: "test", retrieve: () => Promise.resolve(calls++ === 0 ? first : second) };
  const served: ServedCredentials[] = [];
  const server = await startEc2Server({
    provider,
    port: 0,
    now: () => new Date(clock),
    onServe: (s) => served.push(s),
  });
  try {
    const token = await (await fetch(`${server.url}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
    })).text();
    const get = async (method = "GET") => {
      const res = await fetch(`${server.url}/latest/meta-data/iam/security-credentials/local-credentials`, {
        method,
        headers: { "x-aws-ec2-metadata-token": token, "x-forwarded-for": "127.0.0.1" },
      });
      await res.body?.cancel();
      equal(res.status, 200);
    };
    await get();
    await get();
    await get("HEAD");
    clock = at + 6 * 60_000; // less than AWS_MIN_TTL left: the next request refreshes
    await get("HEAD");
    await get();
    await get();
    deepStrictEqual(served.map((s) => [s.credentials.accessKeyId, s.path, s.forwardedFor]), [
      ["ASIAFIRST", "/latest/meta-data/iam/security-credentials/local-credentials", "127.0.0.1"],
      ["ASIASECOND", "/latest/meta-data/iam/security-credentials/local-credentials", "127.0.0.1"],
    ]);
    match(served[0].peer, /^127\.0\.0\.1:\d+$/);
  } finally {
    await server.close();
  }
});
