/**
 * `list` (alias `ls`): profiles, stored credentials and cached sessions (docs/behaviour.md#list). Needs no passphrase:
 * everything shown comes from item names.
 * @module
 */

import type { AwsConfigFile } from "../../config/config_file.ts";
import { formatDuration } from "../../config/duration.ts";
import { ProfileResolver } from "../../config/profile.ts";
import { listKeys } from "../../vault/keyring.ts";
import { isSessionKey, parseSessionKey, type SessionKey, sessionTypeLabel } from "../../vault/session_keyring.ts";
import { isOidcKey, OIDC_KEY_PREFIX } from "../../vault/oidc_keyring.ts";
import type { CommandContext } from "../command.ts";
import { formatTable } from "../table.ts";
import { loadConfig, openVault } from "../vault_access.ts";
import type { listSpec } from "./specs.ts";

/** `sts.GetSessionToken:59m12s`, or `…:expired` once past its expiry (aws-vault would print a negative time). */
function sessionLabel(session: SessionKey, now: Date): string {
  const left = Math.floor((session.expiration.getTime() - now.getTime()) / 1000) * 1000;
  const type = sessionTypeLabel(session.type);
  return `${type}:${left > 0 ? formatDuration(left) : "expired"}`;
}

/** `oidc:<sso-session name>` when a `[sso-session]` has the start URL, else `oidc:<host>` (as the ByteNess fork). */
function oidcLabel(startUrl: string, config: AwsConfigFile): string {
  for (const name of config.ssoSessionNames()) {
    if (config.ssoSession(name)?.get("sso_start_url")?.value === startUrl) return `oidc:${name}`;
  }
  try {
    return `oidc:${new URL(startUrl).host}`;
  } catch {
    return `oidc:${startUrl}`;
  }
}

/** The start URL a profile logs in with, or undefined; a profile that does not resolve is skipped, not fatal. */
function ssoStartUrlOf(
  resolver: ProfileResolver,
  profile: string,
  context: CommandContext<typeof listSpec>,
): string | undefined {
  try {
    return resolver.resolveOwn(profile).ssoStartUrl;
  } catch (e) {
    context.log.debug(`list: cannot resolve profile ${profile}: ${(e as Error).message}`);
    return undefined;
  }
}

/** Runs `list`. */
export async function run(context: CommandContext<typeof listSpec>): Promise<number> {
  const config = await loadConfig(context);
  const vault = await openVault(context);
  const listing = await listKeys(vault);
  for (const p of listing.problems) {
    context.out.stderr(`aws-vault: warning: skipping ${JSON.stringify(p.name)} in the vault: ${p.reason}\n`);
  }
  const credentialNames = listing.keys.filter((k) => !isSessionKey(k) && !isOidcKey(k));
  const sessions = listing.keys.map(parseSessionKey).filter((s): s is SessionKey => s !== undefined);
  const oidcUrls = listing.keys.filter(isOidcKey).map((k) => k.slice(OIDC_KEY_PREFIX.length));
  const profiles = config.profileNames();
  const now = context.now();

  if (context.flags.credentials) {
    for (const c of credentialNames) context.out.stdout(`${c}\n`);
    return 0;
  }
  if (context.flags.profiles) {
    for (const p of profiles) context.out.stdout(`${p}\n`);
    return 0;
  }
  if (context.flags.sessions) {
    for (const url of oidcUrls) context.out.stdout(`${oidcLabel(url, config)}\n`);
    for (const s of sessions) context.out.stdout(`${sessionLabel(s, now)}\n`);
    return 0;
  }

  const rows: string[][] = [["Profile", "Credentials", "Sessions"], ["=======", "===========", "========"]];
  const shownSessions = new Set<SessionKey>();
  const shownTokens = new Set<string>();
  // Resolving every profile only matters for matching SSO tokens to profiles: skip it when there are none. One
  // resolver for all of them reads each chain once (linear in the file, however deep the chains).
  const resolver = oidcUrls.length > 0
    ? new ProfileResolver(config, { env: context.env, log: context.log })
    : undefined;
  const tokenUrls = new Set(oidcUrls);
  const credentialSet = new Set(credentialNames);
  const sessionsByProfile = Map.groupBy(sessions, (s) => s.profileName);
  // The default profile exists without a section, and an empty `[default]` (which `add default` writes) is not listed
  // as a profile, as in aws-vault; aws-vault then shows its credentials as `-  default  -`. Here they get a `default`
  // row, first (where `[default]` usually is).
  const tableProfiles = !profiles.includes("default") &&
      (credentialSet.has("default") || sessionsByProfile.has("default"))
    ? ["default", ...profiles]
    : profiles;
  for (const profile of tableProfiles) {
    const labels: string[] = [];
    const startUrl = resolver ? ssoStartUrlOf(resolver, profile, context) : undefined;
    if (startUrl && tokenUrls.has(startUrl)) {
      labels.push(oidcLabel(startUrl, config));
      shownTokens.add(startUrl);
    }
    for (const s of sessionsByProfile.get(profile) ?? []) {
      labels.push(sessionLabel(s, now));
      shownSessions.add(s);
    }
    rows.push([profile, credentialSet.has(profile) ? profile : "-", labels.join(", ") || "-"]);
  }
  const profileSet = new Set(tableProfiles);
  for (const c of credentialNames.filter((c) => !profileSet.has(c))) rows.push(["-", c, "-"]);
  for (const url of oidcUrls.filter((u) => !shownTokens.has(u))) rows.push(["-", "-", oidcLabel(url, config)]);
  for (const s of sessions.filter((s) => !shownSessions.has(s))) rows.push(["-", "-", sessionLabel(s, now)]);
  context.out.stdout(formatTable(rows));
  return 0;
}
