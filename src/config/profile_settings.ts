/**
 * The settings half of profile resolution (docs/behaviour.md#profile-resolution): how one config section, the command
 * flags and the environment set the fields of a profile being resolved, "first writer wins". The chains that decide
 * which sections are read, and in which order, are in profile.ts.
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { DurationError, MAX_DURATION_MS, parseDuration } from "./duration.ts";
import { type AwsConfigFile, type SectionEntries } from "./config_file.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig, ProfileFlags, StsDurationField } from "./profile_config.ts";
import { type Step, STOP } from "./chain_walk.ts";

export type Draft = { -readonly [K in keyof ProfileConfig]?: ProfileConfig[K] } & { profileName: string };

export const HOUR = 3_600_000;
export const TAGS_FORMAT = "session tags string must be <key1>=<value1>,[<key2>=<value2>[,...]]";

/** Sets a field unless an earlier source already did; empty values count as unset. Returns whether it was set. */
export function set<K extends keyof Draft>(p: Draft, key: K, value: Draft[K] | undefined): boolean {
  const empty = value === undefined || value === "" || value === 0 || (Array.isArray(value) && value.length === 0);
  if (empty || p[key] !== undefined) return false;
  p[key] = value;
  return true;
}

/** {@link set} for a duration, remembering where the value came from (for the range check before the STS call). */
export function setDuration(p: Draft, key: StsDurationField, value: number | undefined, source: string): boolean {
  if (!set(p, key, value)) return false;
  p.durationSources = { ...p.durationSources, [key]: source };
  return true;
}

export function parseSessionTags(text: string): Map<string, string> | undefined {
  const tags = new Map<string, string>();
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() === "") return undefined;
    tags.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return tags;
}

export function parseList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

export function envDuration(env: Env, name: string): number | undefined {
  const text = env.get(name);
  if (!text) return undefined;
  const ms = parseDuration(text, { source: name });
  if (ms < 0) throw new DurationError(`${name}: invalid duration ${JSON.stringify(text)}: must not be negative`);
  return ms;
}

export function applyEnv(p: Draft, ctx: Context, options: { isTarget: boolean }): void {
  const { env, log } = ctx;
  const v = (name: string) => env.get(name) || undefined;
  /** {@link set}, noting in the debug log which variable the value came from. */
  const fromEnv = <K extends keyof Draft>(key: K, value: Draft[K] | undefined, origin: string): boolean => {
    if (!set(p, key, value)) return false;
    log.debug(`Using ${String(key)} ${JSON.stringify(value instanceof Map ? [...value] : value)} from ${origin}`);
    return true;
  };
  /** A TTL variable: `0` means the default, like an unset one; the source is remembered for messages. */
  const ttlFromEnv = (key: StsDurationField, name: string) => {
    if (fromEnv(key, envDuration(env, name), name)) p.durationSources = { ...p.durationSources, [key]: name };
  };
  fromEnv("region", v("AWS_REGION"), "AWS_REGION");
  fromEnv("region", v("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION");
  fromEnv("stsRegionalEndpoints", v("AWS_STS_REGIONAL_ENDPOINTS"), "AWS_STS_REGIONAL_ENDPOINTS");
  fromEnv("mfaSerial", v("AWS_MFA_SERIAL"), "AWS_MFA_SERIAL");
  fromEnv("endpointUrl", v("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL");
  fromEnv("caBundle", v("AWS_CA_BUNDLE"), "AWS_CA_BUNDLE");
  ttlFromEnv("assumeRoleDuration", "AWS_ASSUME_ROLE_TTL");
  ttlFromEnv("nonChainedGetSessionTokenDuration", "AWS_SESSION_TOKEN_TTL");
  ttlFromEnv("chainedGetSessionTokenDuration", "AWS_CHAINED_SESSION_TOKEN_TTL");
  ttlFromEnv("getFederationTokenDuration", "AWS_FEDERATION_TOKEN_TTL");
  if (!options.isTarget) return;
  fromEnv("roleArn", v("AWS_ROLE_ARN"), "AWS_ROLE_ARN");
  fromEnv("roleSessionName", v("AWS_ROLE_SESSION_NAME"), "AWS_ROLE_SESSION_NAME");
  const tags = v("AWS_SESSION_TAGS");
  if (tags !== undefined) {
    const parsed = parseSessionTags(tags);
    if (!parsed) throw new ConfigError(`Failed to parse AWS_SESSION_TAGS: ${TAGS_FORMAT}`);
    fromEnv("sessionTags", parsed, "AWS_SESSION_TAGS");
  }
  const transitive = v("AWS_TRANSITIVE_TAGS");
  if (transitive !== undefined) fromEnv("transitiveSessionTags", parseList(transitive), "AWS_TRANSITIVE_TAGS");
  fromEnv("sourceIdentity", v("AWS_SOURCE_IDENTITY"), "AWS_SOURCE_IDENTITY");
}

export const STRING_KEYS: readonly (readonly [string, keyof Draft])[] = [
  ["mfa_serial", "mfaSerial"],
  ["role_arn", "roleArn"],
  ["external_id", "externalId"],
  ["region", "region"],
  ["role_session_name", "roleSessionName"],
  ["source_profile", "sourceProfileName"],
  ["sso_start_url", "ssoStartUrl"],
  ["sso_region", "ssoRegion"],
  ["sso_account_id", "ssoAccountId"],
  ["sso_role_name", "ssoRoleName"],
  ["web_identity_token_file", "webIdentityTokenFile"],
  ["web_identity_token_process", "webIdentityTokenProcess"],
  ["sts_regional_endpoints", "stsRegionalEndpoints"],
  ["source_identity", "sourceIdentity"],
  ["credential_process", "credentialProcess"],
  ["mfa_process", "mfaProcess"],
  ["endpoint_url", "endpointUrl"],
  ["ca_bundle", "caBundle"],
  ["services", "services"],
];

/**
 * The value of `key` as the Go aws-vault reads it. Where the AWS CLI would read another value (a `#` or `;` not after
 * whitespace, docs/config.md), the two tools would use different settings from the same file: that is an error naming
 * both readings, except for a fragment on `sso_start_url` (`…/start/#/`), which names the same portal either way.
 * @throws ConfigError naming the file, the line and both readings
 */
export function settingValue(file: AwsConfigFile, s: SectionEntries, key: string): string | undefined {
  const entry = s.get(key);
  if (!entry?.value) return undefined;
  const other = entry.alternative;
  if (other === undefined || (key === "sso_start_url" && other.startsWith(entry.value + "#"))) return entry.value;
  throw new ConfigError(
    `${file.path}:${entry.line}: ${key} reads ${JSON.stringify(entry.value)} for the Go aws-vault but ` +
      `${JSON.stringify(other)} for the AWS CLI (a "#" or ";" not after a space starts a comment for one and not the ` +
      `other); put a space before the comment, or remove it`,
  );
}

/**
 * Copies one section's settings into `p` where `p` has none yet. When the section names the first `sso_session` of the
 * chain, returns that `[sso-session]`'s values: the caller puts them over the inline ones once the whole chain is read.
 */
export function copySection(p: Draft, file: AwsConfigFile, s: SectionEntries): SsoValues | undefined {
  const at = (key: string) => `${file.path}:${s.get(key)!.line}`;
  const value = (key: string) => settingValue(file, s, key);
  for (const [key, field] of STRING_KEYS) set(p, field, value(key) as Draft[typeof field]);

  const seconds = value("duration_seconds");
  if (seconds !== undefined && p.assumeRoleDuration === undefined) {
    const shown = JSON.stringify(seconds);
    if (!/^\d+$/.test(seconds)) {
      throw new ConfigError(`${at("duration_seconds")}: duration_seconds ${shown} is not a whole number of seconds`);
    }
    // Go's int would overflow; here the number would lose digits or become Infinity.
    if (!(Number(seconds) * 1000 <= MAX_DURATION_MS)) {
      throw new ConfigError(`${at("duration_seconds")}: duration_seconds ${shown} is out of range`);
    }
    setDuration(p, "assumeRoleDuration", Number(seconds) * 1000, `duration_seconds at ${at("duration_seconds")}`);
  }
  const tags = value("session_tags");
  if (tags !== undefined && p.sessionTags === undefined) {
    const parsed = parseSessionTags(tags);
    if (!parsed) {
      throw new ConfigError(`${at("session_tags")}: Failed to parse session_tags profile setting: ${TAGS_FORMAT}`);
    }
    set(p, "sessionTags", parsed);
  }
  const transitive = value("transitive_session_tags");
  if (transitive !== undefined) set(p, "transitiveSessionTags", parseList(transitive));
  copySessionPolicy(p, file, s);
  const ignore = value("ignore_configured_endpoint_urls")?.toLowerCase();
  if (ignore !== undefined && p.ignoreConfiguredEndpointUrls === undefined) {
    if (ignore !== "true" && ignore !== "false") {
      throw new ConfigError(
        `${at("ignore_configured_endpoint_urls")}: ignore_configured_endpoint_urls must be true or false`,
      );
    }
    p.ignoreConfiguredEndpointUrls = ignore === "true";
  }

  const ssoSession = value("sso_session");
  if (ssoSession !== undefined && p.ssoSession === undefined) {
    p.ssoSession = ssoSession;
    const session = file.ssoSession(ssoSession);
    if (!session) {
      throw new ConfigError(
        `${at("sso_session")}: sso_session "${ssoSession}" has no [sso-session ${ssoSession}] section in ${file.path}`,
      );
    }
    const from = (key: string) => settingValue(file, session, key);
    return { startUrl: from("sso_start_url"), region: from("sso_region"), scopes: from("sso_registration_scopes") };
  }
  return undefined;
}

/**
 * `session_policy_file` and `session_policy_arns` (our keys; the Go aws-vault ignores them), with where each was read
 * for messages. A relative file is taken from the config file's directory, so the profile means the same file wherever
 * aws-vault runs (docs/behaviour.md#session-policies).
 */
function copySessionPolicy(p: Draft, file: AwsConfigFile, s: SectionEntries): void {
  const policyFile = settingValue(file, s, "session_policy_file");
  if (policyFile !== undefined && p.sessionPolicyFile === undefined) {
    const absolute = /^([/\\~]|[A-Za-z]:[/\\])/.test(policyFile);
    const dir = file.path.replace(/[/\\][^/\\]*$/, "");
    p.sessionPolicyFile = absolute || dir === file.path ? policyFile : `${dir}/${policyFile}`;
    p.sessionPolicySources = {
      ...p.sessionPolicySources,
      file: `${file.path}:${s.get("session_policy_file")!.line}: session_policy_file`,
    };
  }
  const arns = settingValue(file, s, "session_policy_arns");
  if (arns !== undefined && p.sessionPolicyArns === undefined) {
    if (set(p, "sessionPolicyArns", parseList(arns))) {
      p.sessionPolicySources = {
        ...p.sessionPolicySources,
        arns: `${file.path}:${s.get("session_policy_arns")!.line}: session_policy_arns`,
      };
    }
  }
}

/**
 * What follows `name` on its include_profile chain: the included profile, else `default` (for other profiles), else
 * nothing. A missing section reads as empty, so it goes on to `default`, as in the Go aws-vault. {@link STOP} when the
 * include_profile value itself is refused (see {@link settingValue}).
 */
export function includeStep(file: AwsConfigFile, name: string): Step {
  const section = file.profile(name);
  let include: string | undefined;
  if (section) {
    try {
      include = settingValue(file, section, "include_profile");
    } catch {
      return STOP;
    }
  }
  return include ? include : name !== "default" ? "default" : undefined;
}

export function serviceEndpoints(file: AwsConfigFile, p: Draft): Map<string, string> | undefined {
  if (!p.services) return undefined;
  const section = file.services(p.services);
  if (!section) {
    throw new ConfigError(
      `profile "${p.profileName}": services "${p.services}" has no [services ${p.services}] section in ${file.path}`,
    );
  }
  const endpoints = new Map<string, string>();
  for (const [key, entry] of section) {
    const url = entry.nested?.get("endpoint_url");
    if (url) endpoints.set(key.replace(/[- ]/g, "_"), url);
  }
  return endpoints;
}

export interface Context {
  readonly file: AwsConfigFile;
  readonly flags: ProfileFlags;
  readonly env: Env;
  readonly log: Logger;
}

/** The `[sso-session]` values of the first `sso_session` on a chain, put over the inline ones once it is read. */
export interface SsoValues {
  readonly startUrl?: string;
  readonly region?: string;
  readonly scopes?: string;
}
