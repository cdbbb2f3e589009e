/**
 * `exec --profile-env` for SSO profiles (ByteNess `SyncOIDCTokenToStandardCache`): copies the OIDC access token
 * from the vault into the AWS CLI's own SSO cache, so a child that resolves `AWS_PROFILE` itself finds a valid
 * login instead of asking for another one.
 * @module
 */

import { homeDir } from "../config/config_file.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, SILENT } from "../core/log.ts";
import type { Keyring } from "../vault/keyring.ts";

import { OidcTokenKeyring } from "../vault/oidc_keyring.ts";
import { formatRfc3339 } from "../core/time.ts";

/** The AWS CLI's cache file for an SSO login: `~/.aws/sso/cache/<sha1 hex of the session name or start URL>.json`. */
export async function standardSsoCachePath(profile: ProfileConfig, options: { env: Env }): Promise<string> {
  const key = profile.ssoSession ?? profile.ssoStartUrl ?? "";
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key)));
  return `${homeDir(options.env)}/.aws/sso/cache/${digest.toHex()}.json`;
}

/**
 * Writes the profile's cached OIDC token into the AWS CLI's SSO cache (directory 0700, file 0600, atomically).
 * Failures are only logged, as upstream: the child can still log in by itself.
 * @returns whether a token was written
 */
export async function syncOidcTokenToStandardCache(
  profile: ProfileConfig,
  options: { vault: Keyring; env: Env; now: () => Date; log?: Logger },
): Promise<boolean> {
  const log = options.log ?? SILENT;
  try {
    const startUrl = profile.ssoStartUrl;
    if (!startUrl) return false;
    const token = await new OidcTokenKeyring(options.vault, { now: options.now, log }).get(startUrl);
    if (!token) return false;
    const now = options.now();
    const body: Record<string, string> = {
      accessToken: token.accessToken,
      expiresAt: formatRfc3339(new Date(now.getTime() + token.expiresIn * 1000)),
    };
    if (token.refreshToken) body.refreshToken = token.refreshToken;
    const path = await standardSsoCachePath(profile, { env: options.env });
    const dir = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${path}.${crypto.randomUUID()}.tmp`;
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(JSON.stringify(body)));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
    log.debug(`Synced the SSO token for ${startUrl} to ${path}`);
    return true;
  } catch (e) {
    log.debug(`Could not sync the SSO token to the AWS CLI cache: ${(e as Error).message}`);
    return false;
  }
}
