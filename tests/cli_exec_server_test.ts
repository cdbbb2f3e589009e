/**
 * `exec --ecs-server` end to end: the real AWS CLI, run as the child, gets its credentials from the ECS server
 * (never from keys in its environment) and calls the fake AWS with them; the server dies with the child.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { cliCommand, makeSandbox, runCli, runProgram, waitForText } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";

const ACCOUNT = "111111111111";
const aws = await findAwsCli();

async function setup() {
  const fake = await startFakeAws();
  fake.addUser({ userName: "dev", accessKeyId: "AKIADEVEXAMPLE000001", secretAccessKey: "dev/secret" });
  fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/base` });
  fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/other` });
  const sb = await makeSandbox({
    config: `[profile dev]\nregion = eu-west-1\n[profile base]\nsource_profile = dev\n` +
      `role_arn = arn:aws:iam::${ACCOUNT}:role/base\n`,
  });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_PAGER: "" };
  const added = await runCli(["add", "--env", "dev"], {
    env: { ...env, AWS_ACCESS_KEY_ID: "AKIADEVEXAMPLE000001", AWS_SECRET_ACCESS_KEY: "dev/secret" },
  });
  equal(added.code, 0, added.stderr);
  return { fake, sb, env };
}

/**
 * Starts `aws-vault --debug exec --ecs-server base` whose command writes `server.txt` (the URL and token), then waits
 * for a `stop` file and exits with `exitCode`; stderr is piped for the debug lines. `descriptors` lowers the limit.
 */
function spawnServerExec(
  sb: { home: string },
  env: Record<string, string>,
  options: { exitCode: number; descriptors?: number },
): Deno.ChildProcess {
  // Written whole, then renamed: a reader never sees it half-written.
  const script = 'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN" > server.tmp; ' +
    "mv server.tmp server.txt; " +
    `while [ ! -e stop ]; do sleep 0.05; done; exit ${options.exitCode}`;
  const argv = [...cliCommand(), "--debug", "exec", "--ecs-server", "base", "--", "sh", "-c", script];
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const limit = options.descriptors ? `ulimit -n ${options.descriptors} && ` : "";
  return new Deno.Command("sh", {
    args: ["-c", `${limit}exec ${quoted}`],
    env,
    clearEnv: true,
    cwd: sb.home,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** The text of `path` once it exists (polled). */
async function waitForFile(path: string): Promise<string> {
  for (;;) {
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text !== undefined) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "exec --ecs-server: the AWS CLI gets role credentials from the server, /role-arn/ assumes another role",
  ignore: aws === undefined,
  async fn() {
    const { fake, sb, env } = await setup();
    try {
      const script = [
        // No keys and no vault passphrase in the child's environment: only the server's URL and token.
        'test -z "$AWS_ACCESS_KEY_ID$AWS_SECRET_ACCESS_KEY$AWS_SESSION_TOKEN" || exit 90',
        'test -z "${AWS_VAULT_FILE_PASSPHRASE+set}" || exit 92',
        'case "$AWS_CONTAINER_CREDENTIALS_FULL_URI" in http://127.0.0.1:*) ;; *) exit 91;; esac',
        `${aws} sts get-caller-identity --endpoint-url ${fake.url} --region us-east-1 --output text --query Arn`,
        `curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" ` +
        `"$AWS_CONTAINER_CREDENTIALS_FULL_URI/role-arn/arn:aws:iam::${ACCOUNT}:role/other" | grep -c AccessKeyId`,
        'curl -s -o /dev/null -w "%{http_code}\\n" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/"',
        'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI" > url.txt',
        "exit 7",
      ].join("\n");
      const r = await runProgram(["exec", "--ecs-server", "base", "--", "sh", "-c", script], { env });
      equal(r.code, 7, r.stderr);
      const [arn, roleHits, unauthorized] = r.stdout.trim().split("\n");
      match(arn, new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/base/`));
      equal(roleHits, "1");
      equal(unauthorized, "403", "a request without the token is refused");
      deepStrictEqual(fake.callsTo("AssumeRole").map((c) => c.params.RoleArn), [
        `arn:aws:iam::${ACCOUNT}:role/base`,
        `arn:aws:iam::${ACCOUNT}:role/other`,
      ]);
      // The server stopped with the child.
      const url = (await Deno.readTextFile(`${sb.home}/url.txt`)).trim();
      const after = await fetch(url).then((res) => (res.body?.cancel(), "answered"), () => "refused");
      equal(after, "refused");
    } finally {
      await fake.close();
      await sb.cleanup();
    }
  },
});

Deno.test("exec --ecs-server --lazy fetches nothing until asked; an unreachable AWS is an HTTP error, not a crash", async () => {
  const { fake, sb, env } = await setup();
  try {
    const lazy = await runProgram(["exec", "--ecs-server", "--lazy", "base", "--", "true"], { env });
    equal(lazy.code, 0, lazy.stderr);
    equal(fake.callsTo("AssumeRole").length, 0, "lazy: no STS call when nobody asks");

    fake.injectFault({ action: "AssumeRole", kind: "server-error", times: 3 });
    const script = 'curl -s -w " %{http_code}\\n" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" ' +
      '"$AWS_CONTAINER_CREDENTIALS_FULL_URI/"; ' +
      'curl -s -o /dev/null -w "%{http_code}\\n" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" ' +
      '"$AWS_CONTAINER_CREDENTIALS_FULL_URI/"';
    const r = await runProgram(["exec", "--ecs-server", "--lazy", "--no-cache", "base", "--", "sh", "-c", script], {
      env,
    });
    equal(r.code, 0, r.stderr);
    // The failure's JSON body, its 500 status, then the retry's 200.
    match(r.stdout, /^\{"Message":"profile base: sts:AssumeRole failed: InternalFailure: [^"]*"\}\n 500\n200\n$/);
    ok(!r.stdout.includes("dev/secret"));
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("server modes refuse the terminal prompt and the flag combinations aws-vault refuses", async () => {
  const { fake, sb, env } = await setup();
  try {
    const cases: [string[], string][] = [
      [["--prompt=terminal", "exec", "--ecs-server", "base"], "Can't use --prompt=terminal with --ecs-server."],
      [["--prompt=terminal", "exec", "--ec2-server", "base"], "Can't use --prompt=terminal with --ec2-server."],
      [["exec", "--ecs-server", "--no-session", "base"], "Can't use --ecs-server with --no-session"],
      [["exec", "--ec2-server", "--ecs-server", "base"], "Can't use --ec2-server with --ecs-server"],
      [["exec", "-s", "--json", "base"], "Can't use --ecs-server with --json"],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, "--", "true"], { env });
      equal(r.code, 1, args.join(" "));
      ok(r.stderr.includes(message), `${args.join(" ")}: ${r.stderr}`);
    }
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("a running exec --ecs-server cannot be opened by SIGUSR1 (no inspector on 9229) and keeps serving", async () => {
  const { fake, sb, env } = await setup();
  try {
    const child = spawnServerExec(sb, env, { exitCode: 0 });
    // The SIGUSR1 guard logs when it has replaced the handler Deno installs at its 500 ms mark; from then on the
    // kernel discards SIGUSR1 for this process (/proc shows it), so the signal cannot start the V8 inspector.
    await waitForText(child.stderr, "SIGUSR1 guard:");
    const sigIgn = (await Deno.readTextFile(`/proc/${child.pid}/status`)).match(/^SigIgn:\s*([0-9a-f]+)$/m)?.[1];
    equal((BigInt(`0x${sigIgn ?? "0"}`) >> 9n) & 1n, 1n, "SIGUSR1 (10) is ignored");
    const [url, token] = (await waitForFile(`${sb.home}/server.txt`)).trim().split(" ");
    Deno.kill(child.pid, "SIGUSR1");
    const inspector = await Deno.connect({ hostname: "127.0.0.1", port: 9229 }).then(
      (c) => (c.close(), true),
      () => false,
    );
    equal(inspector, false, "no inspector after SIGUSR1");
    const res = await fetch(url, { headers: { Authorization: token } });
    equal(res.status, 200, "the server still answers");
    match((await res.json()).AccessKeyId, /^ASIA/);
    await Deno.writeTextFile(`${sb.home}/stop`, "");
    const status = await child.status;
    equal(status.code, 0);
    await child.stderr.cancel();
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

Deno.test("a lazy server needing MFA: no terminal prompt once the command runs; mfa_process works", async () => {
  const fake = await startFakeAws();
  const MFA = `arn:aws:iam::${ACCOUNT}:mfa/dev`;
  fake.addUser({
    userName: "dev",
    accessKeyId: "AKIADEVEXAMPLE000001",
    secretAccessKey: "dev/secret",
    mfaSerial: MFA,
    mfaSecret: "JBSWY3DPEHPK3PXP",
  });
  fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/guarded`, requireMfa: true });
  const codeFile = await Deno.makeTempFile();
  const config = (extra: string) =>
    `[profile dev]\nmfa_serial = ${MFA}\n${extra}[profile guarded]\nsource_profile = dev\n` +
    `role_arn = arn:aws:iam::${ACCOUNT}:role/guarded\nmfa_serial = ${MFA}\n`;
  const sb = await makeSandbox({ config: config("") });
  try {
    const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
    await runCli(["add", "--env", "dev"], {
      env: { ...env, AWS_ACCESS_KEY_ID: "AKIADEVEXAMPLE000001", AWS_SECRET_ACCESS_KEY: "dev/secret" },
    });
    const fetchTwice = 'for i in 1 2; do curl -s -w " %{http_code}\\n" -H "Authorization: ' +
      '$AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/"; done';
    const refused = await runProgram(["exec", "--ecs-server", "--lazy", "guarded", "--", "sh", "-c", fetchTwice], {
      env,
    });
    equal(refused.code, 0, refused.stderr);
    const lines = refused.stdout.trim().split("\n");
    equal(lines.length, 4, refused.stdout);
    match(lines[0], /"Message":"profile guarded: an MFA code for .* is needed while the credential server runs/);
    equal(lines[1], " 500");
    equal(lines[3], " 500", "the server stayed up and answered the retry with the same clear error");
    equal(fake.callsTo("GetSessionToken").length, 0);

    await Deno.writeTextFile(sb.configPath, config(`mfa_process = cat ${codeFile}\n`));
    await Deno.writeTextFile(codeFile, fake.totp(MFA));
    const served = await runProgram(["exec", "--ecs-server", "--lazy", "guarded", "--", "sh", "-c", fetchTwice], {
      env,
    });
    const ok200 = served.stdout.trim().split("\n").filter((l) => l === " 200").length;
    equal(ok200, 2, served.stdout + served.stderr);
    equal(fake.callsTo("GetSessionToken").length, 1, "one MFA session served both requests");
  } finally {
    await fake.close();
    await sb.cleanup();
    await Deno.remove(codeFile);
  }
});

Deno.test("exec --ecs-server under a descriptor flood: it keeps answering, closes half-open connections, the command lives", async () => {
  const { fake, sb, env } = await setup();
  const flood: Deno.TcpConn[] = [];
  try {
    // A low descriptor limit for aws-vault, so a few hundred connections exhaust it (the command inherits it too).
    const child = spawnServerExec(sb, env, { exitCode: 5, descriptors: 160 });
    const [url, token] = (await waitForFile(`${sb.home}/server.txt`)).trim().split(" ");
    const { port } = new URL(url);
    const status = () => fetch(url, { headers: { Authorization: token } }).then((r) => (r.body?.cancel(), r.status));
    equal(await status(), 200);

    // 400 connections that each send part of a request line: more than aws-vault has descriptors for.
    for (let i = 0; i < 400; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      flood.push(conn);
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHo")).catch(() => {/* already closed */});
    }
    await waitForText(child.stderr, "accepting on port"); // it did run out of descriptors
    equal(await status(), 200, "a valid request is answered while the flood is still open");

    // Every half-open connection is closed by the server: to make room, or once the 5 s header timeout passed.
    const ends = flood.map((conn) =>
      conn.read(new Uint8Array(64)).then((n) => n === null ? "closed" : "data", () => "reset")
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const guard = new Promise<string[]>((resolve) => timer = setTimeout(() => resolve(["still open"]), 30_000));
    const outcomes = await Promise.race([Promise.all(ends), guard]);
    clearTimeout(timer);
    deepStrictEqual(outcomes.filter((o) => o === "still open" || o === "data"), []);

    equal(await status(), 200, "the server still answers after the flood");
    await Deno.writeTextFile(`${sb.home}/stop`, "");
    equal((await child.status).code, 5, "the command ran to its own end and its status came back");
    await child.stderr.cancel();
  } finally {
    for (const conn of flood) conn.close();
    await fake.close();
    await sb.cleanup();
  }
});
