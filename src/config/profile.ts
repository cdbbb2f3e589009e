/**
 * Profile resolution (docs/behaviour.md#profile-resolution): command flags, then the environment, then the config file
 * (include_profile and `[default]` inheritance), then defaults, then the `source_profile` chain. Every field is "first
 * writer wins".
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { DurationError, parseDuration } from "./duration.ts";
import { type AwsConfigFile, type SectionEntries } from "./config_file.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig, ProfileFlags } from "./profile_config.ts";

export * from "./profile_config.ts";

type Draft = { -readonly [K in keyof ProfileConfig]?: ProfileConfig[K] } & { profileName: string };

const HOUR = 3_600_000;
const TAGS_FORMAT = "session tags string must be <key1>=<value1>,[<key2>=<value2>[,...]]";

/** Sets a field unless an earlier source already did; empty values count as unset. Returns whether it was set. */
function set<K extends keyof Draft>(p: Draft, key: K, value: Draft[K] | undefined): boolean {
  const empty = value === undefined || value === "" || value === 0 || (Array.isArray(value) && value.length === 0);
  if (empty || p[key] !== undefined) return false;
  p[key] = value;
  return true;
}

function parseSessionTags(text: string): Map<string, string> | undefined {
  const tags = new Map<string, string>();
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() === "") return undefined;
    tags.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return tags;
}

function parseList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function envDuration(env: Env, name: string): number | undefined {
  const text = env.get(name);
  if (!text) return undefined;
  const ms = parseDuration(text, { source: name });
  if (ms < 0) throw new DurationError(`${name}: invalid duration ${JSON.stringify(text)}: must not be negative`);
  return ms;
}

function applyEnv(p: Draft, ctx: Context, options: { isTarget: boolean }): void {
  const { env, log } = ctx;
  const v = (name: string) => env.get(name) || undefined;
  /** {@link set}, noting in the debug log which variable the value came from. */
  const fromEnv = <K extends keyof Draft>(key: K, value: Draft[K] | undefined, origin: string) => {
    if (!set(p, key, value)) return;
    log.debug(`Using ${String(key)} ${JSON.stringify(value instanceof Map ? [...value] : value)} from ${origin}`);
  };
  fromEnv("region", v("AWS_REGION"), "AWS_REGION");
  fromEnv("region", v("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION");
  fromEnv("stsRegionalEndpoints", v("AWS_STS_REGIONAL_ENDPOINTS"), "AWS_STS_REGIONAL_ENDPOINTS");
  fromEnv("mfaSerial", v("AWS_MFA_SERIAL"), "AWS_MFA_SERIAL");
  fromEnv("endpointUrl", v("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL");
  fromEnv("caBundle", v("AWS_CA_BUNDLE"), "AWS_CA_BUNDLE");
  fromEnv("assumeRoleDuration", envDuration(env, "AWS_ASSUME_ROLE_TTL"), "AWS_ASSUME_ROLE_TTL");
  fromEnv("nonChainedGetSessionTokenDuration", envDuration(env, "AWS_SESSION_TOKEN_TTL"), "AWS_SESSION_TOKEN_TTL");
  const chained = envDuration(env, "AWS_CHAINED_SESSION_TOKEN_TTL");
  fromEnv("chainedGetSessionTokenDuration", chained, "AWS_CHAINED_SESSION_TOKEN_TTL");
  fromEnv("getFederationTokenDuration", envDuration(env, "AWS_FEDERATION_TOKEN_TTL"), "AWS_FEDERATION_TOKEN_TTL");
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

const STRING_KEYS: readonly (readonly [string, keyof Draft])[] = [
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
function settingValue(file: AwsConfigFile, s: SectionEntries, key: string): string | undefined {
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

function copySection(p: Draft, file: AwsConfigFile, s: SectionEntries): void {
  const at = (key: string) => `${file.path}:${s.get(key)!.line}`;
  const value = (key: string) => settingValue(file, s, key);
  for (const [key, field] of STRING_KEYS) set(p, field, value(key) as Draft[typeof field]);

  const seconds = value("duration_seconds");
  if (seconds !== undefined && p.assumeRoleDuration === undefined) {
    if (!/^\d+$/.test(seconds)) {
      const shown = JSON.stringify(seconds);
      throw new ConfigError(`${at("duration_seconds")}: duration_seconds ${shown} is not a whole number of seconds`);
    }
    set(p, "assumeRoleDuration", Number(seconds) * 1000);
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
    // As aws-vault does: the sso-session's values replace any sso_start_url/sso_region set inline.
    const from = (key: string) => settingValue(file, session, key);
    p.ssoStartUrl = from("sso_start_url") ?? p.ssoStartUrl;
    p.ssoRegion = from("sso_region") ?? p.ssoRegion;
    p.ssoRegistrationScopes = from("sso_registration_scopes") ?? p.ssoRegistrationScopes;
  }
}

function applyFile(p: Draft, ctx: Context, at: { name: string; chain: readonly string[] }): void {
  const { file } = ctx;
  const { name, chain } = at;
  const loopAt = chain.indexOf(name);
  if (loopAt >= 0) {
    throw new ConfigError(`include_profile loop in ${file.path}: ${[...chain.slice(loopAt), name].join(" -> ")}`);
  }
  const section = file.profile(name);
  if (section) copySection(p, file, section);
  else ctx.log.debug(`Profile '${name}' missing in config file`);
  const include = section ? settingValue(file, section, "include_profile") : undefined;
  if (include) {
    // A missing included profile reads as empty, which then takes [default], as in the Go aws-vault.
    applyFile(p, ctx, { name: include, chain: [...chain, name] });
  } else if (name !== "default") {
    applyFile(p, ctx, { name: "default", chain: [...chain, name] });
  }
}

function serviceEndpoints(file: AwsConfigFile, p: Draft): Map<string, string> | undefined {
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

interface Context {
  readonly file: AwsConfigFile;
  readonly flags: ProfileFlags;
  readonly env: Env;
  readonly log: Logger;
}

function resolveOne(ctx: Context, name: string, sourceChain: readonly string[]): Draft {
  const { file, flags } = ctx;
  const p: Draft = { profileName: name };
  set(p, "region", flags.region);
  set(p, "mfaToken", flags.mfaToken);
  set(p, "mfaPromptMethod", flags.mfaPromptMethod);
  set(p, "assumeRoleDuration", flags.duration);
  set(p, "nonChainedGetSessionTokenDuration", flags.duration);
  set(p, "chainedGetSessionTokenDuration", flags.duration);
  set(p, "getFederationTokenDuration", flags.federationDuration);
  set(p, "ssoUseStdout", flags.ssoUseStdout || undefined);
  applyEnv(p, ctx, { isTarget: sourceChain.length === 0 });
  applyFile(p, ctx, { name, chain: [] });
  if (p.sourceProfileName === name) p.sourceProfileName = undefined;
  p.serviceEndpoints = serviceEndpoints(file, p);
  set(p, "assumeRoleDuration", HOUR);
  set(p, "getFederationTokenDuration", HOUR);
  set(p, "nonChainedGetSessionTokenDuration", HOUR);
  set(p, "chainedGetSessionTokenDuration", 8 * HOUR);
  p.ssoUseStdout ??= false;

  const sourceName = p.sourceProfileName;
  if (sourceName) {
    const chain = [...sourceChain, name];
    const loopAt = chain.indexOf(sourceName);
    if (loopAt >= 0) {
      throw new ConfigError(
        `source_profile loop in ${file.path}: ${[...chain.slice(loopAt), sourceName].join(" -> ")}`,
      );
    }
    const source = resolveOne(ctx, sourceName, chain);
    source.chainedFromProfile = p as ProfileConfig;
    p.sourceProfile = source as ProfileConfig;
    p.mfaProcess ??= source.mfaProcess;
  }
  return p;
}

/**
 * Resolves profile `name`. An unknown name still inherits `[default]` (see `assertProfileExists` for the check).
 *
 * @param file the parsed config file
 * @param name the profile to resolve
 * @param options.flags command-line values, used for every profile of the chain
 * @param options.env the environment
 * @param options.log where the settings taken from the environment and missing profiles are noted (silent when not
 *   given)
 * @throws ConfigError for malformed settings, a missing include target, or an include/source loop
 * @throws DurationError for an invalid TTL variable
 */
export function resolveProfile(
  file: AwsConfigFile,
  name: string,
  options: { flags?: ProfileFlags; env: Env; log?: Logger },
): ProfileConfig {
  const ctx = { file, flags: options.flags ?? {}, env: options.env, log: options.log ?? SILENT };
  return resolveOne(ctx, name, []) as ProfileConfig;
}

/** The session reuse window from `AWS_MIN_TTL` in ms (default 5m). @throws DurationError naming AWS_MIN_TTL */
export function minTtlFromEnv(env: Env): number {
  return envDuration(env, "AWS_MIN_TTL") ?? 5 * 60_000;
}

/** Default of {@link handoutMinTtlFromEnv}: a command handed a role session gets at least this much of it. */
export const DEFAULT_HANDOUT_MIN_TTL = 15 * 60_000;

/**
 * How much must remain of a cached role session before it is handed to a command (exec without a server, export,
 * credential_process, login), in ms: `AWS_VAULT_HANDOUT_MIN_TTL` (default 15m), never less than `AWS_MIN_TTL`.
 * A server refreshes its credentials itself and does not use this.
 * @throws DurationError naming the variable
 */
export function handoutMinTtlFromEnv(env: Env): number {
  const e = env;
  return Math.max(envDuration(e, "AWS_VAULT_HANDOUT_MIN_TTL") ?? DEFAULT_HANDOUT_MIN_TTL, minTtlFromEnv(e));
}

/** The profile named by `AWS_PROFILE`, if set and non-empty. */
export function defaultProfileName(env: Env): string | undefined {
  return env.get("AWS_PROFILE") || undefined;
}
