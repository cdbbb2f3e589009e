// Provider selection (docs/behaviour.md#provider-selection, #getsessiontoken-and-role-chaining): the shape of the chain
// built for each profile, without calling AWS.
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { formatDuration } from "../src/config/duration.ts";
import { type ProfileFlags, resolveProfile } from "../src/config/profile.ts";
import { AssumeRoleProvider } from "../src/credentials/assume_role_provider.ts";
import { CachedSessionProvider } from "../src/credentials/cached_provider.ts";
import {
  assumeRoleKeepsFullDuration,
  canUseGetSessionToken,
  type ChainOptions,
  getProviderForProfile,
} from "../src/credentials/chain.ts";
import { CredentialProcessProvider } from "../src/credentials/credential_process_provider.ts";
import { KeyringProvider } from "../src/credentials/keyring_provider.ts";
import { type CredentialsProvider } from "../src/credentials/provider.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { SessionTokenProvider } from "../src/credentials/session_token_provider.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";
import { envFromRecord } from "../src/core/env.ts";

const MATRIX = await Deno.readTextFile(new URL("./fixtures/config/reference_matrix.ini", import.meta.url));
const H = 3_600_000;

/** A compact picture of a provider chain: `cache:role(p 1h mfa) <- keys(jonsmith)`. */
function shape(p: CredentialsProvider): string {
  if (p instanceof CachedSessionProvider) return `cache[${p.lookup.type.replace(/\..{16}$/, ".#")}]:${shape(p.inner)}`;
  if (p instanceof KeyringProvider) return `keys(${p.credentialsName})`;
  if (p instanceof SessionTokenProvider) {
    const mfa = p.profile.mfaSerial ? " mfa" : "";
    return `gst(${p.profile.profileName} ${formatDuration(p.duration)}${mfa}) <- ${shape(p.source)}`;
  }
  if (p instanceof AssumeRoleProvider) {
    const mfa = p.profile.mfaSerial ? " mfa" : "";
    return `role(${p.profile.profileName} ${formatDuration(p.profile.assumeRoleDuration)}${mfa}) <- ${shape(p.source)}`;
  }
  if (p instanceof CredentialProcessProvider) return `process(${p.command})`;
  return p.description;
}

async function build(
  text: string,
  name: string,
  options?: Partial<ChainOptions> & { flags?: ProfileFlags; stored?: string[] },
): Promise<CredentialsProvider> {
  const vault = new MemoryKeyring();
  for (const p of options?.stored ?? ["jonsmith"]) {
    await new CredentialKeyring(vault).set(p, { accessKeyId: "AKIAEXAMPLE0000" + p, secretAccessKey: "s" });
  }
  const profile = resolveProfile(parseConfigFile(text), name, { flags: options?.flags, env: envFromRecord({}) });
  return await getProviderForProfile(profile, {
    vault,
    env: envFromRecord({}),
    minTtl: 300_000,
    now: () => new Date(),
    ...options,
  });
}

Deno.test("reference matrix: the chain of each row (docs/behaviour.md#getsessiontoken-and-role-chaining)", async () => {
  const rows: [string, Partial<ChainOptions> & { flags?: ProfileFlags }, string][] = [
    ["jonsmith", { noSession: true }, "keys(jonsmith)"],
    ["jonsmith", {}, "cache[sts.GetSessionToken]:gst(jonsmith 1h0m0s mfa) <- keys(jonsmith)"],
    // No mfa_serial on the role: GetSessionToken is skipped, the role comes straight from the long-term key.
    ["foo-readonly", {}, "cache[sts.AssumeRole.#]:role(foo-readonly 1h0m0s) <- keys(jonsmith)"],
    [
      "foo-admin",
      {},
      "cache[sts.AssumeRole.#]:role(foo-admin 1h0m0s) <- cache[sts.GetSessionToken]:gst(jonsmith 8h0m0s mfa) <- " +
      "keys(jonsmith)",
    ],
    // A single role wanting more than 1h keeps it: no GetSessionToken, MFA on the AssumeRole itself.
    [
      "foo-admin",
      { flags: { duration: 2 * H } },
      "cache[sts.AssumeRole]:role(foo-admin 2h0m0s mfa) <- keys(jonsmith)",
    ],
    [
      "bar-role2",
      {},
      "cache[sts.AssumeRole.#]:role(bar-role2 1h0m0s) <- cache[sts.AssumeRole.#]:role(bar-role1 1h0m0s) <- " +
      "cache[sts.GetSessionToken]:gst(jonsmith 8h0m0s mfa) <- keys(jonsmith)",
    ],
    [
      "bar-role2",
      { noSession: true },
      "cache[sts.AssumeRole]:role(bar-role2 1h0m0s mfa) <- cache[sts.AssumeRole]:role(bar-role1 1h0m0s mfa) <- " +
      "keys(jonsmith)",
    ],
  ];
  for (const [name, options, expected] of rows) {
    assert.equal(shape(await build(MATRIX, name, options)), expected, `${name} ${JSON.stringify(options)}`);
  }
});

Deno.test("role chaining: every hop after a session is capped at 1h, even with --duration 2h", async () => {
  const chain = await build(MATRIX, "bar-role2", { flags: { duration: 2 * H } });
  assert.equal(
    shape(chain),
    "cache[sts.AssumeRole.#]:role(bar-role2 1h0m0s) <- cache[sts.AssumeRole.#]:role(bar-role1 1h0m0s) <- " +
      "cache[sts.GetSessionToken]:gst(jonsmith 2h0m0s mfa) <- keys(jonsmith)",
  );
  // Without sessions the first hop comes from the long-term key and keeps 2h; the second is chained.
  const direct = await build(MATRIX, "bar-role2", { flags: { duration: 2 * H }, noSession: true });
  assert.equal(
    shape(direct),
    "cache[sts.AssumeRole]:role(bar-role2 1h0m0s mfa) <- cache[sts.AssumeRole]:role(bar-role1 2h0m0s mfa) <- " +
      "keys(jonsmith)",
  );
});

Deno.test("noCache builds the same chain without cache layers", async () => {
  const chain = await build(MATRIX, "foo-admin", { noCache: true });
  assert.equal(shape(chain), "role(foo-admin 1h0m0s) <- gst(jonsmith 8h0m0s mfa) <- keys(jonsmith)");
});

Deno.test("login's disableSessionsForProfile skips GetSessionToken for that profile only", async () => {
  assert.equal(shape(await build(MATRIX, "jonsmith", { disableSessionsForProfile: "jonsmith" })), "keys(jonsmith)");
  const other = await build(MATRIX, "jonsmith", { disableSessionsForProfile: "foo-admin" });
  assert.match(shape(other), /^cache\[sts.GetSessionToken\]/);
});

Deno.test("selection order: stored credentials beat source_profile, SSO, web identity and credential_process", async () => {
  const text = `
[profile both]
source_profile = jonsmith
credential_process = echo {}
sso_start_url = https://x.awsapps.com/start
[profile sso]
sso_start_url = https://x.awsapps.com/start
web_identity_token_file = /t
credential_process = echo {}
[profile web]
web_identity_token_file = /t
credential_process = echo {}
role_arn = arn:aws:iam::1:role/r
[profile proc]
credential_process = echo {}
role_arn = arn:aws:iam::1:role/ignored
[profile alias]
source_profile = jonsmith
[profile nothing]
region = eu-west-1
`;
  assert.equal(
    shape(await build(text, "both", { stored: ["jonsmith", "both"] })),
    "cache[sts.GetSessionToken]:gst(both 1h0m0s) <- keys(both)",
  );
  // An alias of jonsmith: jonsmith skips GetSessionToken (its child has no MFA), so the alias gets one of its own,
  // as in aws-vault.
  assert.equal(shape(await build(text, "both")), "cache[sts.GetSessionToken]:gst(both 1h0m0s) <- keys(jonsmith)");
  assert.match(
    shape(await build(text, "sso")),
    /^cache\[sso\.GetRoleCredentials\]:SSO GetRoleCredentials .* for profile sso/,
  );
  // The web identity provider was chosen: it fails reading its (missing) token file.
  await assert.rejects((await build(text, "web")).retrieve(), /profile web: unable to read file at \/t: /);
  assert.equal(shape(await build(text, "proc")), "cache[credential_process]:process(echo {})");
  assert.equal(shape(await build(text, "proc", { noCache: true })), "process(echo {})");
  assert.equal(shape(await build(text, "alias", { noSession: true })), "keys(jonsmith)");
  await assert.rejects(
    build(text, "nothing"),
    (e) =>
      e instanceof CredentialsError &&
      e.message.startsWith("profile nothing: no credentials: no keys are stored for it"),
  );
});

Deno.test("canUseGetSessionToken reasons", () => {
  const file = parseConfigFile(
    MATRIX +
      "\n[profile other-mfa]\nsource_profile = jonsmith\nrole_arn = arn:aws:iam::1:role/x\nmfa_serial = arn:aws:iam::1:mfa/other\n",
  );
  const src = (name: string) => resolveProfile(file, name, { env: envFromRecord({}) }).sourceProfile!;
  assert.deepEqual(canUseGetSessionToken(src("foo-admin"), { noSession: true }), {
    ok: false,
    reason: "sessions are disabled",
  });
  assert.deepEqual(canUseGetSessionToken(src("foo-admin"), { disableSessionsForProfile: "jonsmith" }), {
    ok: false,
    reason: "sessions are disabled for this profile",
  });
  assert.deepEqual(canUseGetSessionToken(src("foo-readonly"), {}), {
    ok: false,
    reason: "profile 'foo-readonly' has no MFA serial defined",
  });
  assert.deepEqual(canUseGetSessionToken(src("other-mfa"), {}), {
    ok: false,
    reason: "MFA serial doesn't match profile 'other-mfa'",
  });
  assert.deepEqual(canUseGetSessionToken(src("foo-admin"), {}), { ok: true });
});

Deno.test("assumeRoleKeepsFullDuration: exactly one role above 1h", () => {
  const file = parseConfigFile(MATRIX);
  const at = (name: string, duration?: number) =>
    resolveProfile(file, name, { env: envFromRecord({}), flags: { duration } });
  assert.equal(assumeRoleKeepsFullDuration(at("foo-admin").sourceProfile!), false);
  assert.equal(assumeRoleKeepsFullDuration(at("foo-admin", 2 * H).sourceProfile!), true);
  assert.equal(assumeRoleKeepsFullDuration(at("foo-admin", 2 * H)), true);
  assert.equal(assumeRoleKeepsFullDuration(at("bar-role2", 2 * H).sourceProfile!.sourceProfile!), false);
  assert.equal(assumeRoleKeepsFullDuration(at("jonsmith", 2 * H)), false);
});

Deno.test("AssumeRole cache keys change with role ARN, duration, region, tags and source; not with the clock", async () => {
  const base = `[profile jonsmith]\n[profile r]\nsource_profile = jonsmith\nrole_arn = arn:aws:iam::1:role/a\n`;
  const typeOf = async (text: string, options?: Parameters<typeof build>[2]) => {
    const p = await build(text, "r", options);
    assert.ok(p instanceof CachedSessionProvider);
    assert.match(p.lookup.type, /^sts\.AssumeRole\.[0-9a-f]{16}$/);
    return p.lookup.type;
  };
  const first = await typeOf(base);
  assert.equal(await typeOf(base), first);
  const variants = [
    base.replace("role/a", "role/b"),
    base + "duration_seconds = 7200\n",
    base + "region = eu-west-1\n",
    base + "session_tags = team=x\n",
    base + "transitive_session_tags = team\n",
    base + "external_id = ext\n",
    base + "source_identity = me\n",
    base + "role_session_name = mine\n",
  ];
  const seen = new Set([first]);
  for (const text of variants) seen.add(await typeOf(text));
  seen.add(await typeOf(base, { env: envFromRecord({ AWS_ENDPOINT_URL: "http://127.0.0.1:1" }) }));
  assert.equal(seen.size, variants.length + 2, "every variant has its own cache type");
});
