/**
 * What `exec` and `export` share: check the profile exists, resolve it with the command's flags, build the
 * provider chain and retrieve credentials.
 * @module
 */

import type { ProfileFlags } from "../config/profile_config.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { handoutMinTtlFromEnv, resolveProfile } from "../config/profile.ts";
import { assertProfileExists } from "../config/suggest.ts";
import { getProviderForProfile } from "../credentials/chain.ts";
import type { Credentials } from "../credentials/credentials.ts";
import type { CredentialsProvider } from "../credentials/provider.ts";
import type { MfaOptions } from "../credentials/mfa.ts";
import type { Keyring } from "../vault/keyring.ts";
import { AppError } from "../errors.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import { boolFlag, type CommandContext } from "./command.ts";
import { loadConfig, openVault } from "./vault_access.ts";

/** The nested-session refusal shared by exec and export (spec §4.1). */
export function refuseNested(context: CommandContext): void {
  if (context.env.get("AWS_VAULT")) {
    throw new AppError(
      "running in an existing aws-vault subshell; 'exit' from the subshell or unset AWS_VAULT to force",
    );
  }
}

/** The resolved profile and its credentials. */
export interface FetchedCredentials {
  readonly profile: ProfileConfig;
  readonly credentials: Credentials;
  /** The opened vault (its passphrase, if any, already given). */
  readonly vault: Keyring;
}

/** The profile flags common to exec, export and login, from the parsed command line. */
export function profileFlagsOf(context: CommandContext): ProfileFlags {
  const f = context.flags;
  return {
    region: typeof f.region === "string" && f.region !== "" ? f.region : undefined,
    mfaToken: typeof f["mfa-token"] === "string" && f["mfa-token"] !== "" ? f["mfa-token"] : undefined,
    mfaPromptMethod: context.global.prompt,
    duration: typeof f.duration === "number" && f.duration > 0 ? f.duration : undefined,
    ssoUseStdout: boolFlag(f, "stdout"),
  };
}

/** A resolved profile and the provider chain that yields its credentials, not yet asked for any. */
export interface ResolvedChain {
  readonly profile: ProfileConfig;
  readonly provider: CredentialsProvider;
  readonly vault: Keyring;
}

/** A named profile, resolved, with the opened vault that holds its credentials. */
export interface LoadedProfile {
  readonly profile: ProfileConfig;
  readonly vault: Keyring;
}

/**
 * Resolves profile `name` with the command's flags (plus `options.flags`), after checking that it exists in the
 * config or the vault.
 * @throws ConfigError for an unknown profile (with the closest names)
 */
export async function loadProfile(
  context: CommandContext,
  name: string,
  options?: { flags?: ProfileFlags },
): Promise<LoadedProfile> {
  const config = await loadConfig(context);
  const vault = await openVault(context);
  // Listing the vault costs a directory scan: only needed when the config does not know the profile.
  if (!config.hasSection(name)) {
    assertProfileExists(config, name, { storedCredentialNames: await new CredentialKeyring(vault).keys() });
  }
  const flags = { ...profileFlagsOf(context), ...options?.flags };
  return { profile: resolveProfile(config, name, { flags, env: context.env }), vault };
}

/**
 * Resolves `name` and builds its provider chain (no AWS call, no prompt yet). `disableSessions` keeps
 * GetSessionToken off the profile itself (login: federation needs the long-term keys). Without `server`, a cached
 * role session is handed out only while `AWS_VAULT_HANDOUT_MIN_TTL` remains (README, "Credentials, sessions and MFA").
 * @throws ConfigError for an unknown profile (with the closest names)
 */
export async function resolveChain(
  context: CommandContext,
  name: string,
  options?: { mfa?: MfaOptions; flags?: ProfileFlags; disableSessions?: boolean; server?: boolean },
): Promise<ResolvedChain> {
  const { profile, vault } = await loadProfile(context, name, { flags: options?.flags });
  const provider = await getProviderForProfile(profile, {
    vault,
    noSession: boolFlag(context.flags, "no-session"),
    noCache: boolFlag(context.flags, "no-cache"),
    disableSessionsForProfile: options?.disableSessions ? name : undefined,
    env: context.env,
    mfa: options?.mfa,
    // Credentials handed to a command once must last; a server refreshes its own.
    handoutMinTtl: options?.server ? undefined : handoutMinTtlFromEnv(context.env),
  });
  return { profile, provider, vault };
}

/**
 * Resolves `name` and retrieves its credentials through the provider chain.
 * @throws ConfigError for an unknown profile (with the closest names), CredentialsError when a source fails
 */
export async function fetchCredentials(context: CommandContext, name: string): Promise<FetchedCredentials> {
  const { profile, provider, vault } = await resolveChain(context, name);
  return { profile, credentials: await provider.retrieve(), vault };
}
