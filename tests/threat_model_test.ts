/**
 * The claims of docs/threat-model.md that no other test checked: what a web page, another local user, another host
 * and a thief of the disk get, and what the debug log shows. Real processes (aws-vault as a program, `sh`, `curl`,
 * `setpriv`, `keyctl`) against the fake AWS; the tests that need root or the kernel keyring skip with a printed reason.
 */
import { deepStrictEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { addKeys, makeSandbox, runCli, runOnTerminal, runProgram, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { findUserKey, keyctl, keyctlMissing } from "./support/keyctl.ts";
import { startEc2Server } from "../src/server/ec2_server.ts";
import { passphraseKeyDescription } from "../src/vault/keyctl_passphrase.ts";

const ACCOUNT = "111111111111";
const MFA = `arn:aws:iam::${ACCOUNT}:mfa/dev`;
const DEV = {
  userName: "dev",
  accessKeyId: "AKIATHREATMODEL00001",
  secretAccessKey: "threat/model+secret-key",
  mfaSerial: MFA,
  mfaSecret: "JBSWY3DPEHPK3PXP",
};
const ROLE = `arn:aws:iam::${ACCOUNT}:role/base`;
const CONFIG = `[profile dev]\nregion = eu-west-1\nmfa_serial = ${MFA}\n` +
  `[profile base]\nsource_profile = dev\nrole_arn = ${ROLE}\n` +
  `[profile admin]\nsource_profile = dev\nrole_arn = ${ROLE}\nmfa_serial = ${MFA}\n`;

const isRoot = Deno.uid() === 0;
const hasSetpriv = await new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);
const otherUserSkip = !isRoot
  ? "acting as another local user needs root"
  : !hasSetpriv
  ? "setpriv (util-linux) is not installed"
  : undefined;
if (otherUserSkip) console.log(`threat_model_test: other-user tests skipped: ${otherUserSkip}`);
const keyringSkip = Deno.build.os !== "linux" ? "the kernel keyring is Linux's" : await keyctlMissing();
if (keyringSkip) console.log(`threat_model_test: keyring test skipped: ${keyringSkip}`);
/** A non-loopback IPv4 address of this host, to show what another host (or a container) can reach. */
const hostAddress = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  ?.address;
if (!hostAddress) console.log("threat_model_test: no non-loopback IPv4 address: bind tests skipped");

interface Stack {
  readonly fake: FakeAws;
  readonly sb: Sandbox;
  readonly env: Record<string, string>;
}

/** A fake AWS with `dev` (MFA) and one role, a sandbox whose vault holds dev's keys. */
async function withStack(fn: (s: Stack) => Promise<void>): Promise<void> {
  const fake = await startFakeAws();
  fake.addUser(DEV);
  fake.addRole({ arn: ROLE });
  const sb = await makeSandbox({ config: CONFIG });
  try {
    const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
    await addKeys("dev", DEV, env);
    await fn({ fake, sb, env });
  } finally {
    await fake.close();
    await sb.cleanup();
  }
}

/** Runs `argv` as the unprivileged user nobody (uid 65534), as another local user would. */
function asNobody(argv: readonly string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", ...argv],
    env: { PATH: "/usr/bin:/bin" },
    clearEnv: true,
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/** The text of `path` once it exists (polled). */
async function waitForFile(path: string): Promise<string> {
  for (;;) {
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text !== undefined) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Header names (lower case) of an HTTP answer as `curl -i` printed it. */
function headerNames(answer: string): string[] {
  const head = answer.split(/\r?\n\r?\n/)[0];
  return head.split(/\r?\n/).slice(1).map((l) => l.slice(0, l.indexOf(":")).toLowerCase());
}

const statusOf = (answer: string) => Number(answer.split(" ")[1]);

Deno.test("a web page: no ECS server answer allows another origin, and its preflight is refused", async () => {
  await withStack(async ({ sb, env }) => {
    const origin = "-H 'Origin: http://evil.example'";
    const script = [
      `curl -s -i -X OPTIONS ${origin} -H 'Access-Control-Request-Method: GET' ` +
      `-H 'Access-Control-Request-Headers: authorization' "$AWS_CONTAINER_CREDENTIALS_FULL_URI/" > preflight.txt`,
      `curl -s -i -X OPTIONS ${origin} -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" ` +
      `"$AWS_CONTAINER_CREDENTIALS_FULL_URI/" > preflight-token.txt`,
      `curl -s -i ${origin} "$AWS_CONTAINER_CREDENTIALS_FULL_URI/" > simple.txt`,
      `curl -s -i ${origin} -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" ` +
      `"$AWS_CONTAINER_CREDENTIALS_FULL_URI/" > granted.txt`,
    ].join("\n");
    const r = await runProgram(["exec", "--ecs-server", "base", "--", "sh", "-c", script], { env });
    equal(r.code, 0, r.stderr);
    const read = (name: string) => Deno.readTextFile(`${sb.home}/${name}`);
    const [preflight, preflightToken, simple, granted] = await Promise.all(
      ["preflight.txt", "preflight-token.txt", "simple.txt", "granted.txt"].map(read),
    );
    equal(statusOf(preflight), 403, preflight);
    equal(statusOf(preflightToken), 405, preflightToken);
    equal(statusOf(simple), 403, simple);
    equal(statusOf(granted), 200, "the SDK's own request (no CORS involved) still works");
    for (const answer of [preflight, preflightToken, simple, granted]) {
      const cors = headerNames(answer).filter((h) => h.startsWith("access-control-"));
      deepStrictEqual(cors, [], `an answer a browser would let evil.example read:\n${answer}`);
    }
  });
});

Deno.test("a web page: the EC2 server refuses the preflight of the IMDSv2 token PUT and allows no other origin", async () => {
  const server = await startEc2Server({
    provider: {
      description: "static",
      retrieve: () => Promise.resolve({ accessKeyId: "ASIASTATIC", secretAccessKey: "s", sessionToken: "t" }),
    },
    port: 0,
    region: "eu-west-1",
    now: () => new Date(),
  });
  try {
    const origin = { origin: "http://evil.example" };
    const preflight = await fetch(`${server.url}/latest/api/token`, {
      method: "OPTIONS",
      headers: {
        ...origin,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "x-aws-ec2-metadata-token-ttl-seconds",
      },
    });
    await preflight.body?.cancel();
    ok(preflight.status >= 400, `preflight answered ${preflight.status}`);
    const put = await fetch(`${server.url}/latest/api/token`, {
      method: "PUT",
      headers: { ...origin, "x-aws-ec2-metadata-token-ttl-seconds": "60" },
    });
    const token = await put.text();
    equal(put.status, 200);
    const tokenless = await fetch(`${server.url}/latest/meta-data/iam/security-credentials/local-credentials`, {
      headers: origin,
    });
    await tokenless.body?.cancel();
    equal(tokenless.status, 401, "a page's simple GET (no custom header possible without CORS) gets nothing");
    const creds = await fetch(`${server.url}/latest/meta-data/iam/security-credentials/local-credentials`, {
      headers: { ...origin, "x-aws-ec2-metadata-token": token },
    });
    await creds.body?.cancel();
    equal(creds.status, 200);
    for (const answer of [preflight, put, tokenless, creds]) {
      deepStrictEqual([...answer.headers.keys()].filter((h) => h.startsWith("access-control-")), []);
    }
  } finally {
    await server.close();
  }
});

Deno.test({
  name:
    "another host: the ECS server is not reachable on the host's other addresses; --ecs-server-bind keeps token and Host",
  ignore: hostAddress === undefined,
  async fn() {
    await withStack(async ({ sb, env }) => {
      const code = (args: string) => `{ curl -s -o /dev/null -w '%{http_code}' ${args}; echo " $?"; }`;
      // Default bind: the same port on the host's own non-loopback address refuses the connection (curl exit 7).
      const loopback = [
        'port="${AWS_CONTAINER_CREDENTIALS_FULL_URI##*:}"',
        `${
          code(`-H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "http://${hostAddress}:$port/"`)
        } > elsewhere.txt`,
      ].join("\n");
      const r = await runProgram(["exec", "--ecs-server", "base", "--", "sh", "-c", loopback], { env });
      equal(r.code, 0, r.stderr);
      equal((await Deno.readTextFile(`${sb.home}/elsewhere.txt`)).trim(), "000 7", "connection refused");

      // Bound to that address for containers: without the token, or with a rebinding Host, nothing is served.
      const token = '-H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN"';
      const uri = '"$AWS_CONTAINER_CREDENTIALS_FULL_URI/"';
      const bound = [
        'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI" > url.txt',
        `${code(uri)} > none.txt`,
        `${code(`${token} -H 'Host: evil.example' ${uri}`)} > rebound.txt`,
        `${code(`${token} ${uri}`)} > granted.txt`,
      ].join("\n");
      const b = await runProgram(
        ["exec", "--ecs-server", "--ecs-server-bind", hostAddress!, "base", "--", "sh", "-c", bound],
        { env },
      );
      equal(b.code, 0, b.stderr);
      const read = async (name: string) => (await Deno.readTextFile(`${sb.home}/${name}`)).trim();
      match(await read("url.txt"), new RegExp(`^http://${hostAddress!.replaceAll(".", "\\.")}:\\d+$`));
      equal(await read("none.txt"), "403 0");
      equal(await read("rebound.txt"), "403 0");
      equal(await read("granted.txt"), "200 0");
    });
  },
});

Deno.test({
  name: "another local user: cannot read the ECS token from the command's environment, and gets 403 from the port",
  ignore: otherUserSkip !== undefined,
  async fn() {
    await withStack(async ({ sb, env }) => {
      const script = 'echo "$$ $AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN" > s.tmp; ' +
        "mv s.tmp server.txt; while [ ! -e stop ]; do sleep 0.05; done";
      const child = runProgram(["exec", "--ecs-server", "base", "--", "sh", "-c", script], { env });
      try {
        const [pid, url, token] = (await waitForFile(`${sb.home}/server.txt`)).trim().split(" ");
        ok(token.length >= 43, "a 256-bit token");
        const environ = await asNobody(["cat", `/proc/${pid}/environ`]);
        notEqual(environ.code, 0, "another user read the command's environment");
        ok(!new TextDecoder().decode(environ.stdout).includes(token));
        match(new TextDecoder().decode(environ.stderr), /Permission denied/);
        const cmdline = await asNobody(["cat", `/proc/${pid}/cmdline`]);
        ok(!new TextDecoder().decode(cmdline.stdout).includes(token), "the token is on a command line");
        const knock = await asNobody(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `${url}/`]);
        equal(new TextDecoder().decode(knock.stdout), "403", "another user reached the port; it must refuse");
      } finally {
        await Deno.writeTextFile(`${sb.home}/stop`, "");
        const r = await child;
        equal(r.code, 0, r.stderr);
      }
    });
  },
});

Deno.test({
  name: "another local user: cannot read the passphrase remembered in the kernel keyring",
  ignore: otherUserSkip !== undefined || keyringSkip !== undefined,
  async fn() {
    const passphrase = "remembered threat-model phrase";
    const sb = await makeSandbox({ passphrase: null, config: "[profile p]\n" });
    const description = await passphraseKeyDescription(sb.vaultDir);
    try {
      await addKeys("p", DEV, { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: passphrase });
      const typed = await runOnTerminal(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], {
        env: sb.env,
        answers: [["Enter passphrase to unlock", `${passphrase}\n`]],
      });
      equal(typed.code, 0, typed.output);
      const id = await findUserKey(description);
      ok(id !== undefined, "nothing was remembered");
      equal((await keyctl(["print", String(id)])).stdout.trim(), passphrase, "the owner can read it");
      for (const verb of ["print", "pipe", "describe"]) {
        const other = await asNobody(["keyctl", verb, String(id)]);
        notEqual(other.code, 0, `keyctl ${verb} as another user succeeded`);
        ok(!new TextDecoder().decode(other.stdout).includes(passphrase));
        match(new TextDecoder().decode(other.stderr), /Permission denied/);
      }
    } finally {
      const id = await findUserKey(description);
      if (id !== undefined) await keyctl(["invalidate", String(id)]);
      await sb.cleanup();
    }
  },
});

Deno.test("a stolen disk: the file vault holds no key, secret or token in clear; names show profiles and expiry", async () => {
  await withStack(async ({ fake, sb, env }) => {
    const r = await runCli(["export", "--format=json", "--mfa-token", fake.totp(MFA), "admin"], { env });
    equal(r.code, 0, r.stderr);
    const handed = JSON.parse(r.stdout);
    // The MFA session the role was assumed with, as the vault caches it (exported from the cache: no new item).
    const cached = await runCli(["export", "--format=json", "dev"], { env });
    equal(cached.code, 0, cached.stderr);
    const session = JSON.parse(cached.stdout);
    equal(session.AccessKeyId, fake.callsTo("AssumeRole")[0].accessKeyId, "dev's session is the cached one");
    const names = [...Deno.readDirSync(sb.vaultDir)].map((e) => e.name).sort();
    equal(names.length, 3, names.join(" "));
    const secrets = [
      DEV.accessKeyId,
      DEV.secretAccessKey,
      handed.AccessKeyId,
      handed.SecretAccessKey,
      handed.SessionToken,
      session.AccessKeyId,
      session.SecretAccessKey,
      session.SessionToken,
      "test-pass",
    ];
    for (const name of names) {
      const text = await Deno.readTextFile(`${sb.vaultDir}/${name}`);
      const parts = text.split(".");
      equal(parts.length, 5, `${name} is not a JWE compact serialisation`);
      const header = JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(parts[0], { alphabet: "base64url" })));
      equal(header.alg, "PBES2-HS256+A128KW");
      equal(header.enc, "A256GCM");
      for (const s of secrets) ok(!text.includes(s) && !name.includes(s), `${s.slice(0, 6)}… in clear in ${name}`);
      // Sessions stay at jose2go's 8,192 PBKDF2 iterations (the Go tool reads and writes them).
      if (name.startsWith("sts.")) equal(header.p2c, 8192, name);
    }
    // What the names show without the passphrase: the profile, the kind of session, its MFA device and its expiry.
    const b64 = (s: string) => new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });
    ok(names.includes("dev"), names.join(" "));
    ok(names.some((n) => n.startsWith(`sts.GetSessionToken,${b64("dev")},${b64(MFA)},`)), names.join(" "));
    ok(
      names.some((n) => /^sts\.AssumeRole(\.[0-9a-f]+)?,/.test(n) && new RegExp(`,${b64("admin")},`).test(n)),
      names.join(" "),
    );
    const list = await runCli(["list"], { env: { ...env, AWS_VAULT_FILE_PASSPHRASE: "not the passphrase" } });
    equal(list.code, 0, list.stderr);
    match(list.stdout, /admin\s+-\s+sts\.AssumeRole:/, "list shows the sessions from the names alone");
  });
});

Deno.test("CI logs: --debug shows access key IDs only masked, never a secret, token, MFA code or passphrase", async () => {
  await withStack(async ({ fake, env }) => {
    const code = fake.totp(MFA);
    const r = await runCli(["--debug", "export", "--format=json", "--mfa-token", code, "admin"], { env });
    equal(r.code, 0, r.stderr);
    const handed = JSON.parse(r.stdout);
    match(r.stderr, new RegExp(`\\*{16}${handed.AccessKeyId.slice(-4)}`), "the handed-out key, masked");
    // The MFA session the role was assumed with, from the vault's cache (its secret and token were in the STS answer).
    const cached = await runCli(["export", "--format=json", "dev"], { env });
    equal(cached.code, 0, cached.stderr);
    const session = JSON.parse(cached.stdout);
    equal(session.AccessKeyId, fake.callsTo("AssumeRole")[0].accessKeyId, "dev's session is the cached one");
    for (
      const s of [
        DEV.accessKeyId,
        DEV.secretAccessKey,
        session.AccessKeyId,
        session.SecretAccessKey,
        session.SessionToken,
        handed.AccessKeyId,
        handed.SecretAccessKey,
        handed.SessionToken,
        code,
        "test-pass",
      ]
    ) {
      ok(!r.stderr.includes(s), `${s.slice(0, 4)}… in the debug log`);
    }
  });
});

/** Whether `guess` unwraps the content key of a PBES2 JWE: what an attacker with the file computes per guess. */
async function guessOpens(jwe: string, guess: string): Promise<{ opens: boolean; iterations: number }> {
  const [protectedHeader, encryptedKey] = jwe.split(".");
  const fromB64 = (s: string) => Uint8Array.fromBase64(s, { alphabet: "base64url" });
  const header = JSON.parse(new TextDecoder().decode(fromB64(protectedHeader)));
  const alg = new TextEncoder().encode(header.alg);
  const p2s = fromB64(header.p2s);
  const salt = new Uint8Array(alg.length + 1 + p2s.length);
  salt.set(alg);
  salt.set(p2s, alg.length + 1);
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(guess), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: header.p2c },
    base,
    128,
  );
  const kek = await crypto.subtle.importKey("raw", bits, "AES-KW", false, ["unwrapKey"]);
  const opens = await crypto.subtle.unwrapKey("raw", fromB64(encryptedKey), kek, "AES-KW", "AES-GCM", false, [
    "decrypt",
  ]).then(() => true, () => false);
  return { opens, iterations: header.p2c };
}

Deno.test("a stolen disk: a passphrase guess is checked against a session item at 8,192 iterations, and opens the credentials", async () => {
  await withStack(async ({ fake, sb, env }) => {
    const r = await runCli(["export", "--format=json", "--mfa-token", fake.totp(MFA), "dev"], { env });
    equal(r.code, 0, r.stderr);
    const session = [...Deno.readDirSync(sb.vaultDir)].find((e) => e.name.startsWith("sts.GetSessionToken,"));
    ok(session, "no session item was written");
    const jwe = await Deno.readTextFile(`${sb.vaultDir}/${session.name}`);
    deepStrictEqual(await guessOpens(jwe, "wrong guess"), { opens: false, iterations: 8192 });
    deepStrictEqual(await guessOpens(jwe, "test-pass"), { opens: true, iterations: 8192 });
    // The passphrase confirmed at the session's cost is the one of every item in the directory.
    const keys = await runCli(["export", "--no-session", "dev"], {
      env: { ...env, AWS_VAULT_FILE_PASSPHRASE: "test-pass" },
    });
    equal(keys.code, 0, keys.stderr);
    match(keys.stdout, new RegExp(`AWS_SECRET_ACCESS_KEY=${DEV.secretAccessKey.replaceAll("+", "\\+")}`));
  });
});
