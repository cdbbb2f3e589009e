// The provider chain against the fake AWS endpoint: the exact STS calls of the reference matrix in
// docs/behaviour.md#getsessiontoken-and-role-chaining,
// MFA prompts, role-chaining caps, AssumeRole parameters, retries, error messages and endpoint settings.
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { handoutMinTtlFromEnv, type ProfileFlags, resolveProfile } from "../src/config/profile.ts";
import { type ChainOptions, getProviderForProfile } from "../src/credentials/chain.ts";
import type { Credentials } from "../src/core/credentials.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { debugLogger } from "../src/core/log.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";
import { type RecordedCall, startFakeAws } from "./support/fake_aws/mod.ts";
import { envFromRecord } from "../src/core/env.ts";

const MATRIX = await Deno.readTextFile(new URL("./fixtures/config/reference_matrix.ini", import.meta.url));
const SERIAL = "arn:aws:iam::111111111111:mfa/jonsmith";
const JON = { userName: "jonsmith", accessKeyId: "AKIAJONSMITH0000001", secretAccessKey: "jon-secret" };
const H = 3_600_000;

interface RunOptions extends Partial<Omit<ChainOptions, "vault" | "env">> {
  flags?: ProfileFlags;
  env?: Record<string, string>;
  config?: string;
}

/** A fake AWS, a file vault holding jonsmith's key, and a counting MFA prompt answering valid codes. */
async function harness(config = MATRIX) {
  const fake = await startFakeAws();
  fake.addUser({ ...JON, mfaSerial: SERIAL });
  fake.addRole({ arn: "arn:aws:iam::22222222222:role/ReadOnly" });
  for (const arn of ["arn:aws:iam::22222222222:role/Administrator", "arn:aws:iam::333333333333:role/Role1"]) {
    fake.addRole({ arn, requireMfa: true, maxSessionDuration: 7200 });
  }
  fake.addRole({ arn: "arn:aws:iam::333333333333:role/Role2", requireMfa: true, maxSessionDuration: 7200 });
  const dir = await Deno.makeTempDir({ prefix: "credentials-sts-" });
  const vault = new FileKeyring({ dir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test" }) });
  await new CredentialKeyring(vault).set("jonsmith", JON);
  const prompts: string[] = [];
  const prompt = (serial: string) => {
    prompts.push(serial);
    // Each TOTP window's code is accepted once; the fake accepts the previous, current and next window.
    return Promise.resolve(fake.totp(serial, { offsetSteps: [0, 1, -1][(prompts.length - 1) % 3] }));
  };
  return {
    fake,
    vault,
    prompts,
    async run(name: string, options: RunOptions = {}): Promise<Credentials> {
      const env = envFromRecord({ AWS_ENDPOINT_URL: fake.url, ...options.env });
      const profile = resolveProfile(parseConfigFile(options.config ?? config), name, { flags: options.flags, env });
      const provider = await getProviderForProfile(profile, {
        vault,
        mfa: { prompt },
        now: () => new Date(),
        ...options,
        env,
      });
      return await provider.retrieve();
    },
    async sessionTypes(): Promise<string[]> {
      return (await new SessionKeyring(vault, { now: () => new Date() }).list()).map((k) =>
        `${k.type.replace(/\..{16}$/, ".#")} ${k.profileName}`
      )
        .sort();
    },
    async [Symbol.asyncDispose]() {
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** `AssumeRole session 3600 mfa`: action, signing key kind, DurationSeconds, whether MFA was sent. */
function summary(call: RecordedCall): string {
  const key = call.accessKeyId?.startsWith("AKIA") ? "key" : "session";
  const mfa = call.params.SerialNumber ? " mfa" : "";
  return `${call.action} ${key} ${call.params.DurationSeconds}${mfa}${call.status === 200 ? "" : ` ${call.errorCode}`}`;
}

Deno.test("reference matrix: exact STS calls, MFA prompts and cached sessions per row", async () => {
  const rows: [string, RunOptions, string[], number, string[]][] = [
    ["jonsmith", { noSession: true }, [], 0, []],
    ["jonsmith", {}, ["GetSessionToken key 3600 mfa"], 1, ["sts.GetSessionToken jonsmith"]],
    ["foo-readonly", {}, ["AssumeRole key 3600"], 0, ["sts.AssumeRole.# foo-readonly"]],
    [
      "foo-admin",
      {},
      ["GetSessionToken key 28800 mfa", "AssumeRole session 3600"],
      1,
      ["sts.AssumeRole.# foo-admin", "sts.GetSessionToken jonsmith"],
    ],
    ["foo-admin", { flags: { duration: 2 * H } }, ["AssumeRole key 7200 mfa"], 1, ["sts.AssumeRole foo-admin"]],
    [
      "bar-role2",
      {},
      ["GetSessionToken key 28800 mfa", "AssumeRole session 3600", "AssumeRole session 3600"],
      1,
      ["sts.AssumeRole.# bar-role1", "sts.AssumeRole.# bar-role2", "sts.GetSessionToken jonsmith"],
    ],
    [
      "bar-role2",
      { noSession: true },
      ["AssumeRole key 3600 mfa", "AssumeRole session 3600 mfa"],
      2,
      ["sts.AssumeRole bar-role1", "sts.AssumeRole bar-role2"],
    ],
  ];
  for (const [name, options, calls, prompts, cached] of rows) {
    await using h = await harness();
    const what = `${name} ${JSON.stringify(options)}`;
    const creds = await h.run(name, options);
    assert.deepEqual(h.fake.calls.map(summary), calls, what);
    assert.equal(h.prompts.length, prompts, what);
    assert.deepEqual(await h.sessionTypes(), cached, what);
    assert.equal(creds.accessKeyId.startsWith(calls.length ? "ASIA" : "AKIA"), true, what);
    assert.equal(creds.expiration !== undefined, calls.length > 0, what);
  }
});

Deno.test("role chaining with --duration 2h: chained hops are capped to 1h, a single role keeps 2h", async () => {
  await using h = await harness();
  await h.run("bar-role2", { flags: { duration: 2 * H } });
  assert.deepEqual(h.fake.calls.map(summary), [
    "GetSessionToken key 7200 mfa",
    "AssumeRole session 3600",
    "AssumeRole session 3600",
  ]);
  h.fake.clearCalls();
  await h.run("foo-admin", { flags: { duration: 2 * H }, noCache: true });
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole key 7200 mfa"]);
});

Deno.test("chained MFA: a role with the source's mfa_serial reuses the cached MFA session without a prompt", async () => {
  await using h = await harness();
  await h.run("foo-admin");
  assert.equal(h.prompts.length, 1);
  h.fake.clearCalls();
  await h.run("bar-role1");
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole session 3600"]);
  assert.equal(h.prompts.length, 1, "no second prompt");
});

Deno.test("a role session handed to a command keeps the hand-out window; a server's reuse rule stays AWS_MIN_TTL", async () => {
  await using h = await harness();
  const handout = { handoutMinTtl: 15 * 60_000 };
  await h.run("foo-readonly", handout);
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole key 3600"]);
  // 50 minutes later 10 remain: enough for a server (AWS_MIN_TTL 5m), not for a command given static keys.
  const later = { now: () => new Date(Date.now() + 50 * 60_000) };
  h.fake.clearCalls();
  await h.run("foo-readonly", later);
  assert.deepEqual(h.fake.calls.map(summary), [], "a server reuses the session");
  await h.run("foo-readonly", { ...later, ...handout });
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole key 3600"], "a command gets a fresh one");
  // A chained-MFA role renews from the cached MFA session: no prompt, so the window applies too.
  await h.run("foo-admin", handout);
  assert.equal(h.prompts.length, 1);
  h.fake.clearCalls();
  await h.run("foo-admin", { ...later, ...handout });
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole session 3600"]);
  assert.equal(h.prompts.length, 1, "no new prompt");
});

Deno.test("AWS_VAULT_HANDOUT_MIN_TTL: default 15m, never below AWS_MIN_TTL, invalid values named", () => {
  assert.equal(handoutMinTtlFromEnv(envFromRecord({})), 15 * 60_000);
  assert.equal(handoutMinTtlFromEnv(envFromRecord({ AWS_VAULT_HANDOUT_MIN_TTL: "40m" })), 40 * 60_000);
  assert.equal(
    handoutMinTtlFromEnv(envFromRecord({ AWS_VAULT_HANDOUT_MIN_TTL: "1m", AWS_MIN_TTL: "10m" })),
    10 * 60_000,
  );
  assert.throws(
    () => handoutMinTtlFromEnv(envFromRecord({ AWS_VAULT_HANDOUT_MIN_TTL: "soon" })),
    /AWS_VAULT_HANDOUT_MIN_TTL/,
  );
});

Deno.test("an MFA role session uses aws-vault's key: reused both ways, never when made with other settings", async () => {
  await using h = await harness();
  // foo-admin for 2h: a direct MFA AssumeRole (no session to chain from), the kind the Go aws-vault caches.
  const options = { flags: { duration: 2 * H } };
  await h.run("foo-admin", options);
  assert.equal(h.prompts.length, 1);
  const sessions = new SessionKeyring(h.vault, { now: () => new Date() });
  const [ours] = await sessions.list();
  const b64 = (s: string) => new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });
  const name = `sts.AssumeRole,${b64("foo-admin")},${b64(SERIAL)},${Math.floor(ours.expiration.getTime() / 1000)}`;
  assert.deepEqual((await h.vault.keys()).filter((k) => k.startsWith("sts.")), [name]);
  const stored = JSON.parse(new TextDecoder().decode((await h.vault.get(name)).data));
  assert.deepEqual(Object.keys(stored), [
    "AccessKeyId",
    "Expiration",
    "SecretAccessKey",
    "SessionToken",
    "AwsVaultSettings",
  ]);
  const lookup = { type: "sts.AssumeRole", profileName: "foo-admin", mfaSerial: SERIAL };
  const credentials = (await sessions.get(lookup))!.credentials;

  // Written by the Go aws-vault: the same key and data without our settings digest. Reused: no call, no prompt.
  await h.vault.remove(name);
  await sessions.set(lookup, credentials);
  h.fake.clearCalls();
  await h.run("foo-admin", options);
  assert.deepEqual(h.fake.calls.map(summary), []);
  assert.equal(h.prompts.length, 1);

  // Made with other settings (a different role ARN, say): not reused, and replaced.
  await sessions.set({ ...lookup, settings: "0123456789abcdef" }, credentials);
  await h.run("foo-admin", options);
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole key 7200 mfa"]);
  assert.equal(h.prompts.length, 2);
  assert.deepEqual(await h.sessionTypes(), ["sts.AssumeRole foo-admin"], "one entry, as list shows it");
});

Deno.test("MFA codes from --mfa-token and mfa_process, asked only when a call needs one", async () => {
  await using h = await harness();
  const token = h.fake.totp(SERIAL);
  await h.run("jonsmith", { flags: { mfaToken: token } });
  assert.deepEqual(h.fake.calls.map((c) => c.params.TokenCode), [token]);
  assert.equal(h.prompts.length, 0);

  const file = await Deno.makeTempFile();
  const code = h.fake.totp(SERIAL, { offsetSteps: 1 });
  await Deno.writeTextFile(file, `  ${code}\n`);
  // foo-admin inherits mfa_process from its source profile jonsmith.
  const config = MATRIX.replace("[profile jonsmith]", `[profile jonsmith]\nmfa_process = cat '${file}'`);
  h.fake.clearCalls();
  await h.run("foo-admin", { config, noCache: true });
  assert.deepEqual(h.fake.calls.map((c) => [c.action, c.params.TokenCode]), [["GetSessionToken", code], [
    "AssumeRole",
    undefined,
  ]]);
  assert.equal(h.prompts.length, 0, "mfa_process replaces the prompt");
  const failing = MATRIX.replace("[profile jonsmith]", "[profile jonsmith]\nmfa_process = exit 3");
  const err = await h.run("jonsmith", { config: failing, noCache: true }).catch((e) => e);
  assert.equal(err.message, "profile jonsmith: process provider: exit status 3");
  await Deno.remove(file);
});

Deno.test("AssumeRole sends session name, external id, tags, transitive tags and source identity", async () => {
  const config = `[profile jonsmith]
[profile tagged]
source_profile = jonsmith
role_arn = arn:aws:iam::22222222222:role/Tagged
external_id = ext-123
role_session_name = my-session
session_tags = team=platform, env=dev
transitive_session_tags = team
source_identity = jon
[profile plain]
source_profile = jonsmith
role_arn = arn:aws:iam::22222222222:role/ReadOnly
`;
  await using h = await harness(config);
  h.fake.addRole({ arn: "arn:aws:iam::22222222222:role/Tagged", externalId: "ext-123" });
  await h.run("tagged");
  const [call] = h.fake.callsTo("AssumeRole");
  assert.equal(call.status, 200);
  const p = call.params;
  assert.deepEqual(
    [p.RoleArn, p.RoleSessionName, p.ExternalId, p.SourceIdentity, p.DurationSeconds],
    ["arn:aws:iam::22222222222:role/Tagged", "my-session", "ext-123", "jon", "3600"],
  );
  assert.deepEqual(
    [p["Tags.member.1.Key"], p["Tags.member.1.Value"], p["Tags.member.2.Key"], p["Tags.member.2.Value"]],
    ["team", "platform", "env", "dev"],
  );
  assert.equal(p["TransitiveTagKeys.member.1"], "team");
  await h.run("plain");
  const plain = h.fake.callsTo("AssumeRole")[1].params;
  assert.match(plain.RoleSessionName, /^\d{19}$/, "default session name: Unix nanoseconds");
  assert.equal(plain.ExternalId ?? plain.SourceIdentity ?? plain["Tags.member.1.Key"], undefined);
});

Deno.test("throttling and 5xx are retried by the SDK", async () => {
  await using h = await harness();
  h.fake.injectFault({ action: "GetSessionToken", kind: "throttle" });
  await h.run("jonsmith");
  assert.deepEqual(h.fake.calls.map(summary), [
    "GetSessionToken key 3600 mfa Throttling",
    "GetSessionToken key 3600 mfa",
  ]);
  h.fake.clearCalls();
  h.fake.injectFault({ action: "AssumeRole", kind: "server-error" });
  await h.run("foo-readonly");
  assert.deepEqual(h.fake.calls.map(summary), ["AssumeRole key 3600 InternalFailure", "AssumeRole key 3600"]);
});

Deno.test("errors name the profile, the STS call and AWS's message, never a secret", async () => {
  await using h = await harness(MATRIX.replace("role/ReadOnly", "role/Missing"));
  const err = await h.run("foo-readonly").catch((e) => e);
  assert.ok(err instanceof CredentialsError);
  assert.equal(
    err.message,
    "profile foo-readonly: sts:AssumeRole failed: AccessDenied: User: arn:aws:iam::111111111111:user/jonsmith " +
      "is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::22222222222:role/Missing",
  );
  const bad = await h.run("jonsmith", { mfa: { prompt: () => Promise.resolve("000000") } }).catch((e) => e);
  assert.match(bad.message, /^profile jonsmith: sts:GetSessionToken failed: AccessDenied: MultiFactorAuthentication/);
  for (const e of [err, bad]) assert.doesNotMatch(e.message, /jon-secret|AKIAJONSMITH/);
  await h.fake.close();
  const down = await h.run("foo-readonly").catch((e) => e);
  assert.ok(down.message.startsWith(`profile foo-readonly: sts:AssumeRole failed: could not reach ${h.fake.url}: `));
  assert.match(down.message, /refused/i);
});

Deno.test("endpoint from endpoint_url in the config and from AWS_ENDPOINT_URL_STS", async () => {
  await using h = await harness();
  const nowhere = "http://127.0.0.1:9"; // discard port: nothing answers
  const config = MATRIX.replace("[default]", `[default]\nendpoint_url = ${h.fake.url}`);
  await h.run("foo-readonly", { config, env: { AWS_ENDPOINT_URL: "" } });
  assert.equal(h.fake.callsTo("AssumeRole").length, 1);
  await h.run("foo-readonly", { noCache: true, env: { AWS_ENDPOINT_URL: nowhere, AWS_ENDPOINT_URL_STS: h.fake.url } });
  assert.equal(h.fake.callsTo("AssumeRole").length, 2);
});

Deno.test("debug log: aws-vault's lines, secrets masked", async () => {
  await using h = await harness();
  // The logger as --debug makes it, on a fixed clock: every line carries Go's `log` timestamp.
  const written: string[] = [];
  const debugLog = debugLogger((text) => written.push(text), { now: () => new Date(2026, 0, 2, 3, 4, 5) });
  const issued: Credentials[] = [];
  issued.push(await h.run("bar-role2", { flags: { duration: 2 * H }, log: debugLog }));
  issued.push(await h.run("bar-role2", { flags: { duration: 2 * H }, log: debugLog }));
  issued.push(await h.run("foo-readonly", { log: debugLog }));
  for (const text of written) assert.match(text, /^2026\/01\/02 03:04:05 [^\n]+\n$/, "one line, Go's timestamp");
  const lines = written.map((text) => text.slice("2026/01/02 03:04:05 ".length, -1));
  const log = lines.join("\n");
  for (
    const expected of [
      "profile bar-role2: sourcing credentials from profile bar-role1",
      "profile bar-role1: sourcing credentials from profile jonsmith",
      "profile jonsmith: using stored credentials",
      "profile jonsmith: using GetSessionToken (with MFA)",
      "profile bar-role1: capping AssumeRole duration from 2h0m0s to AWS maximum 1h0m0s for role chaining",
      "profile bar-role1: using AssumeRole (chained MFA)",
      "profile bar-role2: using AssumeRole (chained MFA)",
      "Looking up keyring for 'jonsmith'",
      "profile jonsmith: skipping GetSessionToken because profile 'foo-readonly' has no MFA serial defined",
      "profile foo-readonly: using AssumeRole",
    ]
  ) assert.ok(lines.includes(expected), `missing debug line: ${expected}\n${log}`);
  assert.match(log, /^Generated credentials \*{16}\w{4} using GetSessionToken, expires in 1h59m\d/m);
  assert.match(log, /^Generated credentials \*{16}\w{4} using AssumeRole, expires in 59m\d/m);
  assert.match(
    log,
    /^Re-using cached credentials \*{16}\w{4} from sts\.AssumeRole\.[0-9a-f]{16} cache for bar-role2,/m,
  );
  for (const c of issued) {
    for (const secret of [c.accessKeyId, c.secretAccessKey, c.sessionToken ?? "-", JON.secretAccessKey]) {
      assert.ok(!log.includes(secret), "a secret reached the debug log");
    }
  }
});
