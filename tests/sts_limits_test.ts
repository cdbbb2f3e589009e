// STS durations checked against AWS's ranges before any call (docs/behaviour.md#durations), and SDK failures turned
// into one line (docs/behaviour.md#sts-calls): the validator at its boundaries, where each value came from, the
// providers refusing before calling the fake AWS, and the SDK's unreadable-answer errors.
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { DurationError } from "../src/config/duration.ts";
import { type ProfileFlags, resolveProfile } from "../src/config/profile.ts";
import { describeAwsError } from "../src/aws/clients.ts";
import { AssumeRoleProvider } from "../src/credentials/assume_role_provider.ts";
import { getProviderForProfile } from "../src/credentials/chain.ts";
import { FederationTokenProvider } from "../src/credentials/federation.ts";
import { SessionTokenProvider } from "../src/credentials/session_token_provider.ts";
import { STS_DURATION_LIMITS, type StsDurationCall, stsDurationSeconds } from "../src/credentials/sts_duration.ts";
import { WebIdentityProvider } from "../src/credentials/web_identity_provider.ts";
import { ConfigError, CredentialsError } from "../src/core/errors.ts";
import { envFromRecord } from "../src/core/env.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";

const S = 1000;
const H = 3_600_000;
const ROLE = "arn:aws:iam::111111111111:role/Long";
const USER = { userName: "alice", accessKeyId: "AKIAALICE0000000001", secretAccessKey: "alice-secret" };
const MFA = "arn:aws:iam::111111111111:mfa/bob";
const BOB = { userName: "bob", accessKeyId: "AKIABOB000000000001", secretAccessKey: "bob-secret", mfaSerial: MFA };

const RANGES: [StsDurationCall, number][] = [
  ["sts:GetSessionToken", 129_600],
  ["sts:AssumeRole", 43_200],
  ["sts:AssumeRoleWithWebIdentity", 43_200],
  ["sts:GetFederationToken", 129_600],
];

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DurationError, String(e));
    assert.doesNotMatch(e.message, /\n/);
    return e.message;
  }
  assert.fail("not refused");
}

Deno.test("stsDurationSeconds: 900 s to each call's maximum; whole seconds truncated as Go does", () => {
  for (const [call, max] of RANGES) {
    const check = (ms: number) => stsDurationSeconds(ms, { call, profile: "p" });
    assert.equal(STS_DURATION_LIMITS[call].max, max);
    assert.equal(check(900 * S), 900, call);
    assert.equal(check(900.9 * S), 900, `${call}: int32(d.Seconds()) truncates`);
    assert.equal(check(max * S), max, call);
    assert.equal(check(max * S + 999), max, call);
    for (const ms of [899 * S, 899.999 * S, (max + 1) * S, 0, 1e-6, 500, -1, -900 * S, 1e27, Infinity, NaN]) {
      refusal(() => check(ms));
    }
  }
});

Deno.test("stsDurationSeconds: the message names the profile, the call, the value, its source and the range", () => {
  assert.equal(
    refusal(() =>
      stsDurationSeconds(13 * H, { call: "sts:AssumeRole", profile: "work", source: "AWS_ASSUME_ROLE_TTL" })
    ),
    "profile work: sts:AssumeRole duration 13h0m0s (from AWS_ASSUME_ROLE_TTL) is out of range: " +
      "AWS accepts 900 to 43200 seconds (15m to 12h)",
  );
  assert.equal(
    refusal(() => stsDurationSeconds(1e-6, { call: "sts:GetSessionToken", profile: "work", source: "--duration" })),
    "profile work: sts:GetSessionToken duration 1ns (0 whole seconds, from --duration) is out of range: " +
      "AWS accepts 900 to 129600 seconds (15m to 36h)",
  );
  assert.equal(
    refusal(() => stsDurationSeconds(899_500, { call: "sts:GetFederationToken", profile: "(environment)" })),
    "profile (environment): sts:GetFederationToken duration 14m59.5s (899 whole seconds) is out of range: " +
      "AWS accepts 900 to 129600 seconds (15m to 36h)",
  );
  assert.equal(
    refusal(() => stsDurationSeconds(37 * H, { call: "sts:AssumeRoleWithWebIdentity", profile: "ci" })),
    "profile ci: sts:AssumeRoleWithWebIdentity duration 37h0m0s is out of range: " +
      "AWS accepts 900 to 43200 seconds (15m to 12h)",
  );
});

function resolve(text: string, name: string, options: { env?: Record<string, string>; flags?: ProfileFlags } = {}) {
  return resolveProfile(parseConfigFile(text, { path: "/cfg" }), name, {
    env: envFromRecord(options.env ?? {}),
    flags: options.flags,
  });
}

Deno.test("resolution: each duration remembers where it came from; 0 means the default everywhere", () => {
  const text = "[profile a]\nrole_arn = arn:aws:iam::1:role/r\n\nduration_seconds = 50000\n";
  assert.deepEqual(resolve(text, "a").durationSources, { assumeRoleDuration: "duration_seconds at /cfg:4" });
  const env = {
    AWS_ASSUME_ROLE_TTL: "2h",
    AWS_SESSION_TOKEN_TTL: "3h",
    AWS_CHAINED_SESSION_TOKEN_TTL: "4h",
    AWS_FEDERATION_TOKEN_TTL: "5h",
  };
  assert.deepEqual(resolve(text, "a", { env }).durationSources, {
    assumeRoleDuration: "AWS_ASSUME_ROLE_TTL",
    nonChainedGetSessionTokenDuration: "AWS_SESSION_TOKEN_TTL",
    chainedGetSessionTokenDuration: "AWS_CHAINED_SESSION_TOKEN_TTL",
    getFederationTokenDuration: "AWS_FEDERATION_TOKEN_TTL",
  });
  const flagged = resolve(text, "a", { env, flags: { duration: 2 * H, federationDuration: 2 * H } });
  assert.deepEqual(flagged.durationSources, {
    assumeRoleDuration: "--duration",
    nonChainedGetSessionTokenDuration: "--duration",
    chainedGetSessionTokenDuration: "--duration",
    getFederationTokenDuration: "--duration",
  });
  // Defaults carry no source; 0 from any source is the default.
  assert.equal(resolve("", "a").durationSources, undefined);
  const zero = resolve("[profile a]\nduration_seconds = 0\n", "a", {
    env: { AWS_SESSION_TOKEN_TTL: "0", AWS_CHAINED_SESSION_TOKEN_TTL: "0", AWS_FEDERATION_TOKEN_TTL: "0" },
    flags: { duration: 0, federationDuration: 0 },
  });
  assert.deepEqual(
    [
      zero.assumeRoleDuration,
      zero.nonChainedGetSessionTokenDuration,
      zero.chainedGetSessionTokenDuration,
      zero.getFederationTokenDuration,
    ],
    [H, H, 8 * H, H],
  );
  assert.equal(zero.durationSources, undefined);
  assert.equal(resolve("", "a", { env: { AWS_ASSUME_ROLE_TTL: "0" } }).assumeRoleDuration, H);
});

Deno.test("resolution: a duration_seconds beyond any duration is refused with its line, not read as Infinity", () => {
  for (const seconds of ["99999999999", "9".repeat(400)]) {
    assert.throws(() => resolve(`[profile a]\nduration_seconds = ${seconds}\n`, "a"), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `/cfg:2: duration_seconds "${seconds}" is out of range`);
      return true;
    });
  }
  assert.equal(resolve("[profile a]\nduration_seconds = 9223372036\n", "a").assumeRoleDuration, 9_223_372_036_000);
});

/** A fake AWS with alice's user and a 12h role, and a file vault holding alice's keys as profile `alice`. */
async function harness() {
  const fake = await startFakeAws();
  fake.addUser(USER);
  fake.addUser(BOB);
  fake.addRole({ arn: ROLE, maxSessionDuration: 43_200 });
  const dir = await Deno.makeTempDir({ prefix: "sts-limits-" });
  const vault = new FileKeyring({ dir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test" }) });
  await new CredentialKeyring(vault).set("alice", USER);
  await new CredentialKeyring(vault).set("bob", BOB);
  const config = `[profile alice]\nregion = eu-west-1\n[profile long]\nsource_profile = alice\nrole_arn = ${ROLE}\n` +
    `[profile web]\nrole_arn = ${ROLE}\nweb_identity_token_file = ${dir}/token\n` +
    `[profile bob]\nmfa_serial = ${MFA}\n[profile hop1]\nsource_profile = bob\nrole_arn = ${ROLE}\nmfa_serial = ${MFA}\n` +
    `[profile hop2]\nsource_profile = hop1\nrole_arn = ${ROLE}\n`;
  await Deno.writeTextFile(`${dir}/token`, "a-web-identity-token");
  return {
    fake,
    dir,
    env(extra: Record<string, string> = {}) {
      return envFromRecord({ AWS_ENDPOINT_URL: fake.url, ...extra });
    },
    profile(name: string, options: { env?: Record<string, string>; flags?: ProfileFlags } = {}) {
      return resolveProfile(parseConfigFile(config, { path: "/cfg" }), name, {
        env: this.env(options.env),
        flags: options.flags,
      });
    },
    /** The provider chain for `name`, without cache, retrieved. */
    async run(name: string, options: { env?: Record<string, string>; flags?: ProfileFlags } = {}) {
      const provider = await getProviderForProfile(this.profile(name, options), {
        vault,
        env: this.env(options.env),
        now: () => new Date(),
        noCache: true,
        mfa: { prompt: (serial) => Promise.resolve(fake.totp(serial)) },
      });
      return await provider.retrieve();
    },
    async [Symbol.asyncDispose]() {
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const fixed = (creds: { accessKeyId: string; secretAccessKey: string }) => ({
  description: "fixed",
  retrieve: () => Promise.resolve(creds),
});

Deno.test("each STS call is refused below 900 s and above its maximum without calling AWS; its maximum goes through", async () => {
  await using h = await harness();
  const now = () => new Date();
  // GetSessionToken (alice, no role) and AssumeRole (long, straight from the keys as it wants more than 1h).
  for (
    const [name, call, max] of [["alice", "GetSessionToken", 129_600], ["long", "AssumeRole", 43_200]] as const
  ) {
    for (const duration of [899 * S, (max + 1) * S, 1e-6]) {
      const err = await h.run(name, { flags: { duration } }).catch((e) => e);
      assert.ok(err instanceof DurationError, String(err));
      assert.match(err.message, new RegExp(`^profile ${name}: sts:${call} duration .* \\(.*from --duration\\)`));
    }
    assert.equal(h.fake.calls.length, 0, "nothing was called for a refused duration");
    await h.run(name, { flags: { duration: max * S } });
    await h.run(name, { flags: { duration: 900 * S } });
    assert.deepEqual(h.fake.callsTo(call).map((c) => c.params.DurationSeconds), [String(max), "900"]);
    h.fake.clearCalls();
  }
  // AssumeRoleWithWebIdentity: the provider refuses when made, before the token is read.
  for (const ttl of ["899s", "12h0m1s"]) {
    const profile = h.profile("web", { env: { AWS_ASSUME_ROLE_TTL: ttl } });
    assert.match(
      refusal(() => new WebIdentityProvider(profile, { env: h.env(), now })),
      /^profile web: sts:AssumeRoleWithWebIdentity duration .* \(from AWS_ASSUME_ROLE_TTL\) is out of range/,
    );
  }
  await new WebIdentityProvider(h.profile("web", { env: { AWS_ASSUME_ROLE_TTL: "12h" } }), { env: h.env(), now })
    .retrieve();
  // GetFederationToken (login): refused before iam:GetUser; 36h goes through.
  for (const ttl of ["14m59s", "36h0m1s"]) {
    const profile = h.profile("alice", { env: { AWS_FEDERATION_TOKEN_TTL: ttl } });
    const duration = profile.getFederationTokenDuration;
    assert.match(
      refusal(() => new FederationTokenProvider(profile, fixed(USER), { duration, env: h.env(), now })),
      /^profile alice: sts:GetFederationToken duration .* \(from AWS_FEDERATION_TOKEN_TTL\) is out of range/,
    );
  }
  assert.deepEqual(h.fake.calls.map((c) => c.action), ["AssumeRoleWithWebIdentity"], "no iam:GetUser either");
  const profile = h.profile("alice", { env: { AWS_FEDERATION_TOKEN_TTL: "36h" } });
  await new FederationTokenProvider(profile, fixed(USER), { duration: 36 * H, env: h.env(), now }).retrieve();
  assert.deepEqual(
    h.fake.calls.filter((c) => c.service === "sts").map((c) => `${c.action} ${c.params.DurationSeconds}`),
    ["AssumeRoleWithWebIdentity 43200", "GetFederationToken 129600"],
  );
});

Deno.test("role chaining: a duration over 12h is capped to 1h, not refused; providers made directly check", async () => {
  await using h = await harness();
  await h.run("hop2", { flags: { duration: 13 * H } });
  assert.deepEqual(h.fake.calls.map((c) => `${c.action} ${c.params.DurationSeconds}`), [
    "GetSessionToken 46800",
    "AssumeRole 3600",
    "AssumeRole 3600",
  ]);
  h.fake.clearCalls();
  const source = fixed(USER);
  const now = () => new Date();
  const p = h.profile("long", { flags: { duration: 13 * H } });
  assert.match(
    refusal(() => new AssumeRoleProvider(p, source, { env: h.env(), now })),
    /^profile long: sts:AssumeRole duration 13h0m0s \(from --duration\) is out of range/,
  );
  assert.match(
    refusal(() => new SessionTokenProvider(p, source, { duration: 37 * H, env: h.env(), now })),
    /^profile long: sts:GetSessionToken duration 37h0m0s is out of range/,
  );
  // A GetSessionToken duration over 12h is fine on its own (36h maximum).
  await h.run("alice", { env: { AWS_SESSION_TOKEN_TTL: "36h" } });
  assert.deepEqual(h.fake.calls.map((c) => `${c.action} ${c.params.DurationSeconds}`), ["GetSessionToken 129600"]);
});

Deno.test("describeAwsError: an answer the SDK cannot read is one line, without the parser's text", async () => {
  // What the SDK throws for a body that is not XML, and for an error answer without a code.
  const unreadable = Object.assign(
    new Error(
      "@aws-sdk XML parse error: unexpected content.\n  Deserialization error: to see the raw response, inspect " +
        "the hidden field {error}.$response on this object.",
    ),
    { $metadata: { httpStatusCode: 400 }, $responseBodyText: "<<<" },
  );
  assert.equal(
    describeAwsError(unreadable, { service: "sts" }),
    "AWS answered with something that is not a valid STS response (HTTP 400)",
  );
  assert.equal(describeAwsError(unreadable), "AWS answered with something that is not a valid AWS response (HTTP 400)");
  const unknown = Object.assign(new Error("Unknown"), { name: "Unknown", $metadata: { httpStatusCode: 503 } });
  assert.equal(
    describeAwsError(unknown, { service: "iam" }),
    "AWS answered with something that is not a valid IAM response (HTTP 503)",
  );
  const multiline = Object.assign(new Error("first line\n  second line"), { name: "ValidationError" });
  assert.equal(describeAwsError(multiline), "ValidationError: first line second line");

  // Through a provider, against the fake answering garbage (200 and 400).
  await using h = await harness();
  for (const status of [200, 400]) {
    h.fake.injectFault({ action: "GetSessionToken", kind: "garbage", status });
    const err = await h.run("alice").catch((e) => e);
    assert.ok(err instanceof CredentialsError);
    assert.equal(
      err.message,
      `profile alice: sts:GetSessionToken failed: AWS answered with something that is not a valid STS response ` +
        `(HTTP ${status})`,
    );
  }
});
