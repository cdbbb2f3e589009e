/**
 * The use case behind `exec`, `export`, `login` and `rotate`: check that a profile exists, resolve it with the
 * command's settings, build its provider chain, retrieve credentials. Inputs are explicit: the config file, the opened
 * vault and the environment (docs/behaviour.md#credential-chain).
 * @module
 */

import type { AwsConfigFile } from "../config/config_file.ts";
import type { ProfileConfig, ProfileFlags } from "../config/profile_config.ts";
import { handoutMinTtlFromEnv, resolveProfile } from "../config/profile.ts";
import { assertProfileExists } from "../config/suggest.ts";
import type { Credentials } from "../core/credentials.ts";
import { ConfigError } from "../core/errors.ts";
import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import type { Keyring } from "../vault/keyring.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import { getProviderForProfile } from "./chain.ts";
import type { MfaOptions } from "./mfa.ts";
import type { CredentialsProvider } from "./provider.ts";
import { loadSessionPolicy, type SessionPolicy } from "./session_policy.ts";

/** Where a profile's credentials come from. */
export interface CredentialSource {
  /** The AWS config file. */
  readonly config: AwsConfigFile;
  /** The opened vault (its passphrase, if any, asked for on first use). */
  readonly vault: Keyring;
  /** The environment (endpoints, CA bundle, `AWS_MIN_TTL`, …). */
  readonly env: Env;
}

/** How the chain is built for one request. */
export interface ChainOptions {
  /** Settings from the command line (region, MFA token, duration, …). */
  readonly flags?: ProfileFlags;
  /** `--no-session`: no GetSessionToken in front of the long-term keys. */
  readonly noSession?: boolean;
  /** `--no-cache`: neither reuse nor store sessions. */
  readonly noCache?: boolean;
  /** How MFA codes are obtained. */
  readonly mfa?: MfaOptions;
  /** Keep GetSessionToken off the profile itself (login: federation needs the long-term keys). */
  readonly disableSessions?: boolean;
  /**
   * For a credential server, which refreshes its own credentials: without it, a cached role session is handed out only
   * while `AWS_VAULT_HANDOUT_MIN_TTL` remains (docs/behaviour.md#session-cache).
   */
  readonly server?: boolean;
  /** The clock for expiry checks and new sessions. */
  readonly now: () => Date;
  /** Debug lines (profile resolution and every provider of the chain); silent when not given. */
  readonly log?: Logger;
  /**
   * Apply the profile's session policy (`--policy`, `--policy-arn`, `session_policy_file`, `session_policy_arns`):
   * exec and export do; login and rotate, which need the profile's full rights, do not
   * (docs/behaviour.md#session-policies).
   */
  readonly sessionPolicy?: boolean;
}

/** A resolved profile and the provider chain that yields its credentials, not yet asked for any. */
export interface ResolvedChain {
  readonly profile: ProfileConfig;
  readonly provider: CredentialsProvider;
  /** The session policy the chain's last call carries, if any. */
  readonly sessionPolicy?: SessionPolicy;
  /**
   * For a server with a session policy: the same chain without it, which `/role-arn/` roles are assumed from (a
   * narrowed session, or a GetFederationToken one, may not call sts:AssumeRole); the policy then goes on their
   * AssumeRole. Otherwise the provider itself.
   */
  readonly roleSource: CredentialsProvider;
}

/** Whether the config file was absent: it has no profile and its path names nothing on disk. */
function configFileMissing(config: AwsConfigFile): boolean {
  if (config.profileNames().length > 0) return false;
  try {
    Deno.statSync(config.path);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}

/**
 * Resolves profile `name` with `flags`, after checking that it exists in the config or the vault.
 * @throws ConfigError for an unknown profile (with the closest names)
 */
export async function loadProfile(
  source: CredentialSource,
  name: string,
  options?: { flags?: ProfileFlags; log?: Logger },
): Promise<ProfileConfig> {
  const { config, vault, env } = source;
  // Listing the vault costs a directory scan: only needed when the config does not know the profile.
  if (!config.hasSection(name)) {
    const storedCredentialNames = await new CredentialKeyring(vault).keys();
    if (!storedCredentialNames.includes(name) && configFileMissing(config)) {
      throw new ConfigError(
        `profile ${JSON.stringify(name)} not found: the config file ${config.path} does not exist and no ` +
          `credentials are stored for it; run "aws-vault add ${name}" to store keys for it`,
      );
    }
    assertProfileExists(config, name, { storedCredentialNames });
  }
  return resolveProfile(config, name, { flags: options?.flags, env, log: options?.log });
}

/**
 * Resolves `name` and builds its provider chain (no AWS call, no prompt yet).
 * @throws ConfigError for an unknown profile (with the closest names)
 */
export async function resolveChain(
  source: CredentialSource,
  name: string,
  options: ChainOptions,
): Promise<ResolvedChain> {
  const profile = await loadProfile(source, name, { flags: options.flags, log: options.log });
  // Read and checked before anything is called or prompted for.
  const sessionPolicy = options.sessionPolicy ? await loadSessionPolicy(profile, { env: source.env }) : undefined;
  const chain = (policy: SessionPolicy | undefined) =>
    getProviderForProfile(profile, {
      vault: source.vault,
      noSession: options.noSession ?? false,
      noCache: options.noCache ?? false,
      disableSessionsForProfile: options.disableSessions ? name : undefined,
      env: source.env,
      mfa: options.mfa,
      // Credentials handed to a command once must last; a server refreshes its own.
      handoutMinTtl: options.server ? undefined : handoutMinTtlFromEnv(source.env),
      now: options.now,
      log: options.log,
      sessionPolicy: policy,
    });
  const provider = await chain(sessionPolicy);
  const roleSource = options.server && sessionPolicy ? await chain(undefined) : provider;
  return { profile, provider, roleSource, ...(sessionPolicy ? { sessionPolicy } : {}) };
}

/** A resolved profile and its credentials. */
export interface FetchedCredentials {
  readonly profile: ProfileConfig;
  readonly credentials: Credentials;
  /** The chain that retrieved them (the audit log asks it where they came from). */
  readonly provider: CredentialsProvider;
}

/**
 * Resolves `name` and retrieves its credentials through the provider chain.
 * @throws ConfigError for an unknown profile (with the closest names), CredentialsError when a source fails
 */
export async function fetchCredentials(
  source: CredentialSource,
  name: string,
  options: ChainOptions,
): Promise<FetchedCredentials> {
  const { profile, provider } = await resolveChain(source, name, options);
  return { profile, provider, credentials: await provider.retrieve() };
}
