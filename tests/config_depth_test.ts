/**
 * Long include_profile and source_profile chains (docs/behaviour.md#profile-resolution): followed without recursion,
 * refused past MAX_CHAIN_LINKS links or on a loop with a one-line message naming the chain, and read once per profile
 * when every profile is resolved (`list`).
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import {
  MAX_CHAIN_LINKS,
  type ProfileConfig,
  type ProfileFlags,
  ProfileResolver,
  resolveProfile,
} from "../src/config/profile.ts";
import { ConfigError } from "../src/core/errors.ts";
import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { OidcTokenKeyring } from "../src/vault/oidc_keyring.ts";
import { makeSandbox, runCli } from "./support/cli.ts";

const PATH = "/home/u/.aws/config";

function resolve(text: string, name: string): ProfileConfig {
  return resolveProfile(parseConfigFile(text, { path: PATH }), name, { env: envFromRecord({}) });
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message;
  }
  throw new Error("expected a ConfigError");
}

/** `[profile p0]` with `first`, then p1…p<n> each pointing at the one before with `key`. */
function chain(n: number, key: "include_profile" | "source_profile", first = "", extra = (_i: number) => ""): string {
  const parts = [`[profile p0]\n${first}`];
  for (let i = 1; i <= n; i++) parts.push(`[profile p${i}]\n${key} = p${i - 1}\n${extra(i)}`);
  return parts.join("");
}

Deno.test("depth: a 20,000-deep include_profile chain is a one-line error, and a user error from the CLI", async () => {
  const text = chain(20_000, "include_profile", "region = far\n");
  // p20000 -> … -> p0, then p0's fallback to [default]: 20,001 links.
  const expected =
    `include_profile chain in ${PATH} is deeper than 1000 links: p20000 -> p19999 -> p19998 -> … -> default`;
  equal(configError(() => resolve(text, "p20000")), expected);

  const sb = await makeSandbox({ config: text });
  try {
    const r = await runCli(["export", "p20000"], { env: sb.env });
    equal(r.code, 1);
    equal(r.stderr, `aws-vault: error: export: ${expected.replace(PATH, sb.configPath)}\n`);
    equal(r.stdout, "");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("depth: a 20,000-deep source_profile chain is a one-line error", () => {
  const text = chain(20_000, "source_profile");
  equal(
    configError(() => resolve(text, "p20000")),
    `source_profile chain in ${PATH} is deeper than 1000 links: p20000 -> p19999 -> p19998 -> … -> p0`,
  );
});

Deno.test("depth: chains of exactly the limit resolve, with values from their far end; one more link is refused", () => {
  equal(MAX_CHAIN_LINKS, 1000); // the chains below are built around it
  // p999 -> … -> p0 -> [default] is 1,000 links.
  const includes = chain(1000, "include_profile", "region = far\nmfa_serial = arn:far\n") + "[default]\nrole_arn = d\n";
  const p = resolve(includes, "p999");
  equal(p.region, "far");
  equal(p.mfaSerial, "arn:far");
  equal(p.roleArn, "d");
  match(configError(() => resolve(includes, "p1000")), /^include_profile chain in .* is deeper than 1000 links: /);

  // p1000 -> … -> p0 is 1,000 links; p0's mfa_process is lent up the whole chain.
  const sources = chain(1001, "source_profile", "mfa_process = pass otp far\n", (i) => `role_arn = arn:r${i}\n`);
  const target = resolve(sources, "p1000");
  equal(target.mfaProcess, "pass otp far");
  equal(target.roleArn, "arn:r1000");
  let depth = 0;
  let last = target;
  for (let p = target.sourceProfile; p; p = p.sourceProfile) {
    equal(p.chainedFromProfile, last);
    last = p;
    depth++;
  }
  equal(depth, 1000);
  equal(last.profileName, "p0");
  equal(last.mfaProcess, "pass otp far");
  equal(
    configError(() => resolve(sources, "p1001")),
    `source_profile chain in ${PATH} is deeper than 1000 links: p1001 -> p1000 -> p999 -> … -> p0`,
  );
});

Deno.test("depth: loops name the chain in one line, long ones shortened", () => {
  equal(
    configError(() =>
      resolve(
        "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = c\n[profile c]\nsource_profile = a\n",
        "a",
      )
    ),
    `source_profile loop in ${PATH}: a -> b -> c -> a`,
  );
  equal(
    configError(() =>
      resolve(
        "[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = c\n[profile c]\ninclude_profile = b\n",
        "a",
      )
    ),
    `include_profile loop in ${PATH}: b -> c -> b`,
  );
  // 50 profiles in a loop, entered from outside it.
  const loop = (key: string) =>
    `[profile start]\n${key} = l0\n` +
    Array.from({ length: 50 }, (_, i) => `[profile l${i}]\n${key} = l${(i + 1) % 50}\n`).join("");
  equal(
    configError(() => resolve(loop("include_profile"), "start")),
    `include_profile loop in ${PATH}: l0 -> l1 -> l2 -> … -> l48 -> l49 -> l0`,
  );
  equal(
    configError(() => resolve(loop("source_profile"), "l7")),
    `source_profile loop in ${PATH}: l7 -> l8 -> l9 -> … -> l5 -> l6 -> l7`,
  );
  // A loop longer than the limit is still reported as the loop.
  const big = Array.from({ length: 3000 }, (_, i) => `[profile l${i}]\nsource_profile = l${(i + 1) % 3000}\n`).join("");
  equal(
    configError(() => resolve(big, "l0")),
    `source_profile loop in ${PATH}: l0 -> l1 -> l2 -> … -> l2998 -> l2999 -> l0`,
  );
  // The target's own non-target resolution fails (bad AWS_SESSION_TAGS does not reach sources, a bad session_tags
  // under an env value does): the chain coming back to it is still the loop.
  const viaTarget = "[profile a]\nsource_profile = b\nsession_tags = bad\n[profile b]\nsource_profile = a\n";
  const file = parseConfigFile(viaTarget, { path: PATH });
  const env = envFromRecord({ AWS_SESSION_TAGS: "k=v" });
  equal(configError(() => resolveProfile(file, "a", { env })), `source_profile loop in ${PATH}: a -> b -> a`);
});

Deno.test("depth: list resolves 3,000 chained profiles and lists them all", async () => {
  // p999 is 999 links from p0, p2999 2,999: only the first resolves, so only its token is matched to it.
  const text = chain(
    2999,
    "source_profile",
    "",
    (i) =>
      i === 999
        ? "sso_start_url = https://deep.example/start\n"
        : i === 2999
        ? "sso_start_url = https://deeper.example/start\n"
        : "",
  );
  const sb = await makeSandbox({ config: text });
  try {
    const vault = new FileKeyring({ dir: sb.vaultDir, env: envFromRecord(sb.env) });
    const tokens = new OidcTokenKeyring(vault, { now: () => new Date() });
    await tokens.set("https://deep.example/start", { accessToken: "t", expiresIn: 3600 });
    await tokens.set("https://deeper.example/start", { accessToken: "t", expiresIn: 3600 });
    const r = await runCli(["list", "--debug"], { env: sb.env });
    equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split("\n").map((l) => l.trimEnd().split(/ {2,}/));
    equal(rows.length, 2 + 3000 + 1);
    deepStrictEqual(rows.slice(2, 3000 + 2).map((row) => row[0]), Array.from({ length: 3000 }, (_, i) => `p${i}`));
    deepStrictEqual(rows[2 + 999], ["p999", "-", "oidc:deep.example"]);
    deepStrictEqual(rows[2 + 2999], ["p2999", "-", "-"]);
    deepStrictEqual(rows[2 + 3000], ["-", "-", "oidc:deeper.example"]);
    match(
      r.stderr,
      /list: cannot resolve profile p2999: source_profile chain in .* is deeper than 1000 links: p2999 -> p2998 -> p2997 -> … -> p0\n/,
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("depth: a resolver reusing chains read before gives what reading each from scratch gives", () => {
  // Random small configs with include and source chains, malformed values that an earlier setting may hide, sso
  // sessions and missing sections; every profile resolved in one resolver, then again reading every chain afresh.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const names = ["default", ...Array.from({ length: 12 }, (_, i) => `p${i}`)];
  const earlier = (i: number) => `p${Math.floor(random() * Math.max(i, 1))}`;
  const outcome = (f: () => ProfileConfig) => {
    try {
      const { sourceProfile, chainedFromProfile, ...own } = f();
      return { own, source: sourceProfile?.profileName, from: chainedFromProfile?.profileName };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  for (let round = 0; round < 300; round++) {
    let text = "[sso-session s1]\nsso_start_url = https://s1\nsso_region = r1\n[sso-session s2]\nsso_region = r2\n";
    for (const [i, name] of names.entries()) {
      if (random() < 0.1) continue;
      text += name === "default" ? "[default]\n" : `[profile ${name}]\n`;
      const set = (p: number, line: string) => random() < p && (text += line + "\n");
      if (i > 1) set(0.7, `include_profile = ${random() < 0.9 ? earlier(i - 1) : pick([...names, "gone"])}`);
      if (i > 1) set(0.4, `source_profile = ${random() < 0.9 ? earlier(i - 1) : pick([...names, "gone"])}`);
      set(0.3, `region = r-${name}`);
      set(0.2, `duration_seconds = ${pick(["900", "0", "x", "1800"])}`);
      set(0.15, `session_tags = ${pick(["k=v", "bad"])}`);
      set(0.15, `ignore_configured_endpoint_urls = ${pick(["true", "false", "maybe"])}`);
      set(0.2, `sso_session = ${pick(["s1", "s2", "gone"])}`);
      set(0.2, `sso_start_url = https://inline-${name}`);
      set(0.15, `mfa_process = mfa-${name}`);
    }
    const file = parseConfigFile(text, { path: PATH });
    const env = envFromRecord(pick([{}, { AWS_ASSUME_ROLE_TTL: "2h" }, { AWS_SESSION_TAGS: "x=y" }]));
    const flags: ProfileFlags = random() < 0.2 ? { duration: 7_200_000 } : {};
    const shared = new ProfileResolver(file, { env, flags });
    const fresh = new ProfileResolver(file, { env, flags, reuse: false });
    for (const name of [...names, "gone"]) {
      const expected = outcome(() => fresh.resolve(name));
      deepStrictEqual(outcome(() => shared.resolve(name)), expected, `${name} in\n${text}`);
      deepStrictEqual(outcome(() => resolveProfile(file, name, { env, flags })), expected, `${name} in\n${text}`);
    }
  }
});
