import { deepStrictEqual, equal, ok, strictEqual, throws } from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import {
  defaultProfileName,
  getSessionTokenDuration,
  hasCredentialProcess,
  hasMfaSerial,
  hasRole,
  hasSourceProfile,
  hasSsoStartUrl,
  hasWebIdentity,
  isChained,
  minTtlFromEnv,
  type ProfileConfig,
  type ProfileFlags,
  resolveProfile,
} from "../src/config/profile.ts";
import { assertProfileExists, editDistance, suggestNames } from "../src/config/suggest.ts";
import { DurationError } from "../src/config/duration.ts";
import { ConfigError } from "../src/core/errors.ts";
import { envFromRecord } from "../src/core/env.ts";

const PATH = "/home/u/.aws/config";
const H = 3_600_000;
const M = 60_000;

function resolve(
  text: string,
  name: string,
  options?: { env?: Record<string, string>; flags?: ProfileFlags },
): ProfileConfig {
  return resolveProfile(parseConfigFile(text, { path: PATH }), name, {
    env: envFromRecord(options?.env ?? {}),
    flags: options?.flags,
  });
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

Deno.test("resolution: defaults for an empty config", () => {
  const p = resolve("", "anything");
  equal(p.profileName, "anything");
  equal(p.region, undefined);
  equal(p.assumeRoleDuration, 1 * H);
  equal(p.getFederationTokenDuration, 1 * H);
  equal(p.nonChainedGetSessionTokenDuration, 1 * H);
  equal(p.chainedGetSessionTokenDuration, 8 * H);
  equal(p.ssoUseStdout, false);
  equal(p.sourceProfile, undefined);
});

Deno.test("resolution: flags beat the environment, which beats the file", () => {
  const text = "[profile a]\nregion = file-region\nduration_seconds = 900\nmfa_serial = file-mfa\n";
  equal(resolve(text, "a").region, "file-region");
  equal(resolve(text, "a", { env: { AWS_DEFAULT_REGION: "default-env" } }).region, "default-env");
  equal(resolve(text, "a", { env: { AWS_REGION: "env", AWS_DEFAULT_REGION: "default-env" } }).region, "env");
  equal(resolve(text, "a", { env: { AWS_REGION: "env" }, flags: { region: "flag" } }).region, "flag");
  equal(resolve(text, "a", { env: { AWS_MFA_SERIAL: "env-mfa" } }).mfaSerial, "env-mfa");
  equal(resolve(text, "a").assumeRoleDuration, 900_000);
  equal(resolve(text, "a", { env: { AWS_ASSUME_ROLE_TTL: "2h" } }).assumeRoleDuration, 2 * H);
  const flagged = resolve(text, "a", {
    env: { AWS_ASSUME_ROLE_TTL: "2h", AWS_FEDERATION_TOKEN_TTL: "3h" },
    flags: {
      duration: 4 * H,
      federationDuration: 5 * H,
      mfaToken: "123456",
      mfaPromptMethod: "zenity",
      ssoUseStdout: true,
    },
  });
  equal(flagged.assumeRoleDuration, 4 * H);
  equal(flagged.nonChainedGetSessionTokenDuration, 4 * H);
  equal(flagged.chainedGetSessionTokenDuration, 4 * H);
  equal(flagged.getFederationTokenDuration, 5 * H);
  equal(flagged.mfaToken, "123456");
  equal(flagged.mfaPromptMethod, "zenity");
  equal(flagged.ssoUseStdout, true);
});

Deno.test("resolution: environment overrides and TTL variables", () => {
  const p = resolve("[profile a]\nsts_regional_endpoints = regional\nendpoint_url = http://file\n", "a", {
    env: {
      AWS_STS_REGIONAL_ENDPOINTS: "legacy",
      AWS_ENDPOINT_URL: "http://env",
      AWS_SESSION_TOKEN_TTL: "90m",
      AWS_CHAINED_SESSION_TOKEN_TTL: "12h",
      AWS_FEDERATION_TOKEN_TTL: "43200s",
      AWS_REGION: "",
    },
  });
  equal(p.stsRegionalEndpoints, "legacy");
  equal(p.endpointUrl, "http://env");
  equal(p.nonChainedGetSessionTokenDuration, 90 * M);
  equal(p.chainedGetSessionTokenDuration, 12 * H);
  equal(p.getFederationTokenDuration, 12 * H);
  equal(p.region, undefined); // an empty variable is unset
});

Deno.test("resolution: an invalid TTL variable is an error naming it", () => {
  for (
    const name of [
      "AWS_ASSUME_ROLE_TTL",
      "AWS_SESSION_TOKEN_TTL",
      "AWS_CHAINED_SESSION_TOKEN_TTL",
      "AWS_FEDERATION_TOKEN_TTL",
    ]
  ) {
    throws(() => resolve("", "a", { env: { [name]: "3600" } }), (e: Error) => {
      ok(e instanceof DurationError);
      ok(e.message.startsWith(`${name}: invalid duration "3600"`), e.message);
      return true;
    });
    throws(() => resolve("", "a", { env: { [name]: "-1h" } }), DurationError);
  }
});

Deno.test("AWS_MIN_TTL: default 5m, parsed, invalid is an error naming it", () => {
  equal(minTtlFromEnv(envFromRecord({})), 5 * M);
  equal(minTtlFromEnv(envFromRecord({ AWS_MIN_TTL: "10m" })), 10 * M);
  equal(minTtlFromEnv(envFromRecord({ AWS_MIN_TTL: "0" })), 0);
  throws(
    () => minTtlFromEnv(envFromRecord({ AWS_MIN_TTL: "10" })),
    /^DurationError: AWS_MIN_TTL: invalid duration "10"/,
  );
  equal(
    minTtlFromEnv({
      get: (n: string) => (n === "AWS_MIN_TTL" ? "1m" : undefined),
      toObject: () => ({ AWS_MIN_TTL: "1m" }),
    }),
    M,
  );
});

Deno.test("AWS_PROFILE gives the default profile name", () => {
  equal(defaultProfileName(envFromRecord({ AWS_PROFILE: "work" })), "work");
  equal(defaultProfileName(envFromRecord({ AWS_PROFILE: "" })), undefined);
  equal(defaultProfileName(envFromRecord({})), undefined);
});

Deno.test("resolution: target-only variables do not reach source profiles", () => {
  const text = "[profile user]\n[profile role]\nsource_profile = user\nrole_arn = arn:file\n";
  const env = {
    AWS_ROLE_ARN: "arn:env",
    AWS_ROLE_SESSION_NAME: "me",
    AWS_SESSION_TAGS: " team = a , env=b=c ,empty=",
    AWS_TRANSITIVE_TAGS: "team, ,env,",
    AWS_SOURCE_IDENTITY: "alice",
    AWS_REGION: "eu-north-1",
    AWS_MFA_SERIAL: "mfa",
  };
  const p = resolve(text, "role", { env });
  equal(p.roleArn, "arn:env");
  equal(p.roleSessionName, "me");
  deepStrictEqual(p.sessionTags, new Map([["team", "a"], ["env", "b=c"], ["empty", ""]]));
  deepStrictEqual(p.transitiveSessionTags, ["team", "env"]);
  equal(p.sourceIdentity, "alice");
  const src = p.sourceProfile!;
  equal(src.profileName, "user");
  for (
    const field of ["roleArn", "roleSessionName", "sessionTags", "transitiveSessionTags", "sourceIdentity"] as const
  ) {
    equal(src[field], undefined, field);
  }
  equal(src.region, "eu-north-1"); // general variables apply to every profile of the chain
  equal(src.mfaSerial, "mfa");
});

Deno.test("resolution: malformed session tags", () => {
  const tagsError = "session tags string must be <key1>=<value1>,[<key2>=<value2>[,...]]";
  equal(
    configError(() => resolve("", "a", { env: { AWS_SESSION_TAGS: "a=b,c" } })),
    `Failed to parse AWS_SESSION_TAGS: ${tagsError}`,
  );
  equal(
    configError(() => resolve("", "a", { env: { AWS_SESSION_TAGS: "=b" } })),
    `Failed to parse AWS_SESSION_TAGS: ${tagsError}`,
  );
  equal(
    configError(() => resolve("[profile a]\nregion = x\nsession_tags = a=b,\n", "a")),
    `${PATH}:3: Failed to parse session_tags profile setting: ${tagsError}`,
  );
  const ok = resolve("[profile a]\nsession_tags = k1=v1,k2=v2\ntransitive_session_tags = k1 , k2\n", "a");
  deepStrictEqual(ok.sessionTags, new Map([["k1", "v1"], ["k2", "v2"]]));
  deepStrictEqual(ok.transitiveSessionTags, ["k1", "k2"]);
  // The environment replaces the file's tags; the file's bad value is then never parsed, as upstream.
  deepStrictEqual(
    resolve("[profile a]\nsession_tags = bad\n", "a", { env: { AWS_SESSION_TAGS: "x=y" } }).sessionTags,
    new Map([["x", "y"]]),
  );
});

Deno.test("resolution: duration_seconds", () => {
  equal(resolve("[profile a]\nduration_seconds = 7200\n", "a").assumeRoleDuration, 2 * H);
  equal(resolve("[default]\nduration_seconds = 1800\n[profile a]\n", "a").assumeRoleDuration, 30 * M);
  equal(
    configError(() => resolve("[profile a]\n\nduration_seconds = 1h\n", "a")),
    `${PATH}:3: duration_seconds "1h" is not a whole number of seconds`,
  );
});

Deno.test("resolution: [default] is inherited, also by unknown profiles", () => {
  const text = "[default]\nregion = eu-west-1\nmfa_serial = m\n[profile a]\nregion = us-east-1\n";
  const a = resolve(text, "a");
  equal(a.region, "us-east-1");
  equal(a.mfaSerial, "m");
  equal(resolve(text, "unknown").region, "eu-west-1");
  equal(resolve(text, "default").region, "eu-west-1");
});

Deno.test("resolution: include_profile (USAGE.md mixin and parent styles)", () => {
  const mixin = `
; The "common" profile here operates as a "config fragment" rather than a profile
[default]
output = json
region = ap-south-1
credential_process = from-default
[profile common]
region=eu-west-1
mfa_serial=arn:aws:iam::123456789:mfa/johnsmith
source_profile = root

[profile root]
include_profile = common

[profile order-dev]
include_profile = common
role_arn=arn:aws:iam::123456789:role/developers
`;
  const dev = resolve(mixin, "order-dev");
  equal(dev.region, "eu-west-1");
  equal(dev.mfaSerial, "arn:aws:iam::123456789:mfa/johnsmith");
  equal(dev.roleArn, "arn:aws:iam::123456789:role/developers");
  equal(dev.sourceProfileName, "root");
  equal(dev.credentialProcess, "from-default"); // [default] reached through common's own fallback
  const root = dev.sourceProfile!;
  equal(root.profileName, "root");
  equal(root.sourceProfileName, undefined); // source_profile = root names itself
  equal(root.sourceProfile, undefined);
  strictEqual(root.chainedFromProfile, dev);

  // With include_profile, [default] is reached only through the included profile's own fallback.
  const viaInclude =
    "[default]\nregion = d\n[profile frag]\ninclude_profile = leaf\n[profile leaf]\n[profile a]\ninclude_profile = frag\n";
  equal(resolve(viaInclude, "a").region, "d");
  const explicitDefault = "[default]\nregion = d\n[profile a]\ninclude_profile = default\nmfa_serial = m\n";
  equal(resolve(explicitDefault, "a").region, "d");
  equal(resolve(explicitDefault, "a").mfaSerial, "m");
});

Deno.test("resolution: include_profile to a missing section reads as empty, then [default] (as aws-vault); loops", () => {
  const p = resolve("[default]\nregion = eu-west-1\n[profile a]\ninclude_profile = nope\nrole_arn = r\n", "a");
  equal(p.region, "eu-west-1");
  equal(p.roleArn, "r");
  equal(resolve("[profile a]\ninclude_profile = default\nregion = x\n", "a").region, "x");
  equal(
    configError(() => resolve("[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = a\n", "a")),
    `include_profile loop in ${PATH}: a -> b -> a`,
  );
  equal(
    configError(() => resolve("[profile a]\ninclude_profile = a\n", "a")),
    `include_profile loop in ${PATH}: a -> a`,
  );
  equal(
    configError(() => resolve("[default]\ninclude_profile = x\n[profile x]\n[profile a]\n", "a")),
    `include_profile loop in ${PATH}: default -> x -> default`,
  );
});

Deno.test("resolution: source_profile hydration, self-reference, cycles", () => {
  const text = "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = c\n[profile c]\nsource_profile = c\n";
  const a = resolve(text, "a");
  const b = a.sourceProfile!;
  const c = b.sourceProfile!;
  deepStrictEqual([a.profileName, b.profileName, c.profileName], ["a", "b", "c"]);
  strictEqual(b.chainedFromProfile, a);
  strictEqual(c.chainedFromProfile, b);
  equal(a.chainedFromProfile, undefined);
  equal(c.sourceProfileName, undefined);
  ok(isChained(b) && isChained(c) && !isChained(a));
  ok(hasSourceProfile(a) && !hasSourceProfile(c));

  // A [default] source_profile pointing at the profile itself means "no source" for it.
  equal(resolve("[default]\nsource_profile = base\n[profile base]\n", "base").sourceProfile, undefined);
  equal(resolve("[default]\nsource_profile = base\n[profile base]\n", "other").sourceProfile?.profileName, "base");

  equal(
    configError(() => resolve("[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n", "a")),
    `source_profile loop in ${PATH}: a -> b -> a`,
  );
  equal(
    configError(() =>
      resolve(
        "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = c\n[profile c]\nsource_profile = b\n",
        "a",
      )
    ),
    `source_profile loop in ${PATH}: b -> c -> b`,
  );
});

Deno.test("resolution: flags apply to every profile of the chain", () => {
  const a = resolve("[profile a]\nsource_profile = b\n[profile b]\n", "a", { flags: { region: "r", duration: 2 * H } });
  equal(a.sourceProfile!.region, "r");
  equal(a.sourceProfile!.nonChainedGetSessionTokenDuration, 2 * H);
});

Deno.test("resolution: sso_session values replace inline ones", () => {
  const text = `
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start/#/
sso_region = eu-central-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_start_url = https://inline.example/start
sso_region = us-east-1
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Dev
`;
  const p = resolve(text, "dev");
  equal(p.ssoSession, "corp");
  equal(p.ssoStartUrl, "https://corp.awsapps.com/start/", "the fragment goes, as for the Go aws-vault");
  equal(p.ssoRegion, "eu-central-1");
  equal(p.ssoRegistrationScopes, "sso:account:access");
  equal(p.ssoAccountId, "111111111111");
  equal(p.ssoRoleName, "Dev");
  ok(hasSsoStartUrl(p));
  equal(
    configError(() => resolve("[profile a]\nsso_session = nope\n", "a")),
    `${PATH}:2: sso_session "nope" has no [sso-session nope] section in ${PATH}`,
  );
});

Deno.test("resolution: mfa_process is inherited from the source profile", () => {
  const text =
    "[profile user]\nmfa_process = pass otp x\n[profile role]\nsource_profile = user\n[profile own]\nsource_profile = user\nmfa_process = mine\n";
  equal(resolve(text, "role").mfaProcess, "pass otp x");
  equal(resolve(text, "own").mfaProcess, "mine");
});

Deno.test("resolution: services and ignore_configured_endpoint_urls", () => {
  const text =
    "[services local]\nsts =\n  endpoint_url = http://sts\nsso-oidc =\n  endpoint_url = http://oidc\n[profile a]\nservices = local\nignore_configured_endpoint_urls = TRUE\n";
  const p = resolve(text, "a");
  equal(p.services, "local");
  deepStrictEqual(p.serviceEndpoints, new Map([["sts", "http://sts"], ["sso_oidc", "http://oidc"]]));
  equal(p.ignoreConfiguredEndpointUrls, true);
  equal(
    configError(() => resolve("[profile a]\nservices = nope\n", "a")),
    `profile "a": services "nope" has no [services nope] section in ${PATH}`,
  );
  equal(
    configError(() => resolve("[profile a]\nignore_configured_endpoint_urls = yes\n", "a")),
    `${PATH}:2: ignore_configured_endpoint_urls must be true or false`,
  );
});

Deno.test("predicates", () => {
  const text = "[profile w]\nweb_identity_token_process = tok\nrole_arn = r\n[profile c]\ncredential_process = cp\n";
  const w = resolve(text, "w");
  ok(hasWebIdentity(w) && hasRole(w) && !hasCredentialProcess(w) && !hasMfaSerial(w) && !hasSsoStartUrl(w));
  ok(hasCredentialProcess(resolve(text, "c")));
  ok(hasWebIdentity(resolve("[profile f]\nweb_identity_token_file = /t\n", "f")));
});

Deno.test("reference matrix config resolves to the documented chains", async () => {
  const file = parseConfigFile(
    await Deno.readTextFile(new URL("./fixtures/config/reference_matrix.ini", import.meta.url)),
    {
      path: PATH,
    },
  );
  const get = (name: string) => resolveProfile(file, name, { env: envFromRecord({}) });
  const mfa = "arn:aws:iam::111111111111:mfa/jonsmith";

  const jon = get("jonsmith");
  ok(hasMfaSerial(jon) && !hasRole(jon) && !hasSourceProfile(jon) && !isChained(jon));
  equal(getSessionTokenDuration(jon), 1 * H);
  equal(jon.region, "us-east-1");

  const ro = get("foo-readonly");
  ok(hasRole(ro) && !hasMfaSerial(ro));
  equal(ro.sourceProfile?.profileName, "jonsmith");

  const admin = get("foo-admin");
  equal(admin.mfaSerial, mfa);
  equal(admin.sourceProfile?.mfaSerial, mfa);
  ok(isChained(admin.sourceProfile!));
  equal(getSessionTokenDuration(admin.sourceProfile!), 8 * H);
  equal(get("foo-admin").assumeRoleDuration, 1 * H);
  equal(
    resolveProfile(file, "foo-admin", { env: envFromRecord({}), flags: { duration: 2 * H } }).assumeRoleDuration,
    2 * H,
  );

  const role2 = get("bar-role2");
  const chain: string[] = [];
  for (let p: ProfileConfig | undefined = role2; p; p = p.sourceProfile) chain.push(p.profileName);
  deepStrictEqual(chain, ["bar-role2", "bar-role1", "jonsmith"]);
  strictEqual(role2.sourceProfile!.sourceProfile!.chainedFromProfile, role2.sourceProfile);
  deepStrictEqual(file.profileNames(), ["default", "jonsmith", "foo-readonly", "foo-admin", "bar-role1", "bar-role2"]);
});

Deno.test("an Env accessor works like a record", () => {
  const vars: Record<string, string> = { AWS_REGION: "from-accessor" };
  const env = { get: (n: string) => vars[n], toObject: () => ({ ...vars }) };
  equal(resolveProfile(parseConfigFile(""), "a", { env }).region, "from-accessor");
});

Deno.test("suggestions: edit distance and close names", () => {
  equal(editDistance("prod-admn", "prod-admin"), 1);
  equal(editDistance("abcd", "abdc"), 1); // adjacent swap
  equal(editDistance("", "abc"), 3);
  equal(editDistance("kitten", "sitting"), 3);
  deepStrictEqual(suggestNames("prod-admn", { candidates: ["prod-admin", "dev-admin", "prod-readonly", "x"] }), [
    "prod-admin",
  ]);
  deepStrictEqual(suggestNames("prod", { candidates: ["prod-admin", "prod-readonly", "dev", "Prod"] }), [
    "Prod",
    "prod-admin",
    "prod-readonly",
  ]);
  deepStrictEqual(suggestNames("zzz", { candidates: ["prod"] }), []);
});

Deno.test("assertProfileExists: config section or stored credentials, else suggestions", () => {
  const file = parseConfigFile("[default]\n[profile prod-admin]\n[profile prod-readonly]\n[profile dev]\n", {
    path: PATH,
  });
  assertProfileExists(file, "dev");
  assertProfileExists(file, "default"); // an empty [default] section still exists
  assertProfileExists(file, "stored-only", { storedCredentialNames: ["stored-only"] });
  equal(
    configError(() => assertProfileExists(file, "prod-admn")),
    `profile "prod-admn" not found in ${PATH} and no stored credentials exist for it; did you mean "prod-admin"?`,
  );
  equal(
    configError(() => assertProfileExists(file, "prod", { storedCredentialNames: ["prod1"] })),
    `profile "prod" not found in ${PATH} and no stored credentials exist for it; did you mean "prod1", "prod-admin" or "prod-readonly"?`,
  );
  equal(
    configError(() => assertProfileExists(file, "qqqqq")),
    `profile "qqqqq" not found in ${PATH} and no stored credentials exist for it; run "aws-vault add qqqqq" to ` +
      `store keys for it, or add a [profile qqqqq] section`,
  );
});
