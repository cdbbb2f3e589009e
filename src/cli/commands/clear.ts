/**
 * `clear [PROFILE]`: delete cached sessions and SSO tokens (docs/behaviour.md#clear). Stored credentials are kept.
 * @module
 */

import { resolveProfile } from "../../config/profile.ts";
import { didYouMean } from "../../config/suggest.ts";
import { ConfigError } from "../../core/errors.ts";
import { listKeys } from "../../vault/keyring.ts";
import { OidcTokenKeyring } from "../../vault/oidc_keyring.ts";
import { parseSessionKey, SessionKeyring } from "../../vault/session_keyring.ts";
import { CredentialKeyring } from "../../vault/credential_keyring.ts";
import type { CommandContext } from "../command.ts";
import type { clearSpec } from "./specs.ts";
import { loadConfig, openVault } from "../vault_access.ts";

/** Runs `clear`. */
export async function run(context: CommandContext<typeof clearSpec>): Promise<number> {
  const vault = await openVault(context);
  const sessions = new SessionKeyring(vault, { now: context.now, log: context.log });
  const tokens = new OidcTokenKeyring(vault, { now: context.now, log: context.log });
  const profile = context.args.profile;

  if (profile === undefined || profile === "") {
    const n = await sessions.removeOldSessions() + await sessions.removeAll() + await tokens.removeAll();
    context.out.stdout(`Cleared ${n} sessions.\n`);
    return 0;
  }

  const config = await loadConfig(context);
  const keys = (await listKeys(vault)).keys;
  const sessionProfiles = keys.map(parseSessionKey).flatMap((s) => s ? [s.profileName] : []);
  const known = new Set([...config.profileNames(), ...await new CredentialKeyring(vault).keys(), ...sessionProfiles]);
  if (!known.has(profile) && !config.hasSection(profile)) {
    // A typo would otherwise report "Cleared 0 sessions." and leave the intended profile's sessions in place.
    const hint = didYouMean(profile, known);
    throw new ConfigError(`profile ${JSON.stringify(profile)} not found in ${config.path} or in the vault${hint}`);
  }

  let n = await sessions.removeForProfile(profile);
  const startUrl = config.hasSection(profile)
    ? resolveProfile(config, profile, { env: context.env, log: context.log }).ssoStartUrl
    : undefined;
  if (startUrl && await tokens.has(startUrl)) {
    await tokens.remove(startUrl);
    n++;
  }
  context.out.stdout(`Cleared ${n} sessions.\n`);
  return 0;
}
