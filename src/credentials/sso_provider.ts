/**
 * SSO role credentials (docs/behaviour.md#sso): an OIDC access token from the vault (`oidc:<start url>`,
 * docs/behaviour.md#sso-tokens), refreshed through its refresh token or obtained by a login, then `GetRoleCredentials`.
 * A 401 for a token drops it and retries once. Concurrent processes needing the same login share one browser tab
 * through a lock file.
 * @module
 */

import { callAws, describeAwsError } from "../aws/clients.ts";
import { createSsoClient } from "../aws/sso_clients.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { ItemNotFoundError } from "../core/errors.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import { type Keyring } from "../vault/keyring.ts";
import { OIDC_KEY_PREFIX, oidcTokenFromJson, OidcTokenKeyring, oidcTokenToJson } from "../vault/oidc_keyring.ts";
import type { Credentials } from "../core/credentials.ts";
import { ssoRoleDescription } from "./cached_provider.ts";
import { type CredentialsProvider } from "./provider.ts";
import { CredentialsError } from "../core/errors.ts";
import type { OidcClient, OidcLogin, SsoLoginOptions } from "./sso_login.ts";
import { formatRfc3339 } from "../core/time.ts";

/** Options of {@link SsoRoleCredentialsProvider}. */
export interface SsoRoleCredentialsProviderOptions extends Omit<SsoLoginOptions, "env"> {
  /** The vault holding OIDC tokens. */
  vault: Keyring;
  /** The environment (endpoints, CA bundle, lock directory). */
  env: Env;
  /** Neither reuse nor store the OIDC token (no cache). */
  noCache?: boolean;
  /** The clock, passed down from main.ts. */
  now: () => Date;
  /** Directory of the login lock file (default `$XDG_RUNTIME_DIR`, else the temp directory). */
  lockDir?: string;
  /**
   * Whether a browser or device login may start when no stored token works (default true). `sso sync` without a
   * terminal passes false, so it fails at once with {@link SsoLoginRequiredError} instead of waiting 10 minutes for a
   * person who is not there.
   */
  allowLogin?: boolean;
}

export { ssoRoleLookup } from "./cached_provider.ts";

interface StoredToken extends OidcLogin {
  expiration: Date;
}

/**
 * Reads `oidc:<url>` including the OIDC client registration we add to aws-vault's format (as an extra `Client`
 * field, which aws-vault ignores): refreshing a token needs the client that obtained it, and an expired access
 * token is kept while its refresh token may still work.
 */
async function readToken(
  vault: Keyring,
  startUrl: string,
  options: { log: Logger },
): Promise<Partial<StoredToken> | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode((await vault.get(OIDC_KEY_PREFIX + startUrl)).data);
  } catch (e) {
    if (e instanceof ItemNotFoundError) return undefined;
    throw e;
  }
  try {
    const { token, expiration } = oidcTokenFromJson(text);
    const c = JSON.parse(text).Client;
    const client = typeof c?.ClientId === "string" && typeof c?.ClientSecret === "string"
      ? { clientId: c.ClientId, clientSecret: c.ClientSecret, expiresAt: new Date(c.ExpiresAt) }
      : undefined;
    return { token, expiration, client };
  } catch {
    options.log.debug(`OIDCTokenKeyring: Ignoring invalid data for '${startUrl}'`);
    return undefined;
  }
}

async function writeToken(vault: Keyring, startUrl: string, login: OidcLogin & { now: Date }): Promise<void> {
  const expiration = new Date(login.now.getTime() + Math.trunc(login.token.expiresIn) * 1000);
  const client = JSON.stringify({
    ClientId: login.client.clientId,
    ClientSecret: login.client.clientSecret,
    ExpiresAt: formatRfc3339(login.client.expiresAt),
  });
  const json = oidcTokenToJson(login.token, expiration);
  await vault.set({
    key: OIDC_KEY_PREFIX + startUrl,
    data: new TextEncoder().encode(`${json.slice(0, -1)},"Client":${client}}`),
    label: `aws-vault oidc token for ${startUrl} (expires ${formatRfc3339(expiration, { local: true })})`,
    description: "aws-vault oidc token",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  });
}

function isUnauthorized(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.$metadata?.httpStatusCode === 401 || err?.name === "UnauthorizedException";
}

/** GetRoleCredentials answered 401: the access token is expired or revoked. */
export class SsoTokenRejectedError extends CredentialsError {}

/** A login was needed but not allowed ({@link SsoRoleCredentialsProviderOptions.allowLogin}). */
export class SsoLoginRequiredError extends CredentialsError {}

/** Gets role credentials from IAM Identity Center for `sso_account_id` / `sso_role_name`. */
export class SsoRoleCredentialsProvider implements CredentialsProvider {
  /** The profile with the SSO settings. */
  readonly profile: ProfileConfig;
  readonly description: string;
  #options: SsoRoleCredentialsProviderOptions;
  #log: Logger;

  /**
   * @param profile a profile with `sso_start_url`, `sso_region`, `sso_account_id` and `sso_role_name`
   * @param options the vault for OIDC tokens, how to show the login, the clock
   */
  constructor(profile: ProfileConfig, options: SsoRoleCredentialsProviderOptions) {
    this.profile = profile;
    this.#options = options;
    this.#log = options.log ?? SILENT;
    this.description = ssoRoleDescription(profile);
  }

  /** Returns role credentials, logging in only when no usable token is stored. @throws CredentialsError */
  async retrieve(): Promise<Credentials> {
    const p = this.profile;
    for (const key of ["ssoStartUrl", "ssoRegion", "ssoAccountId", "ssoRoleName"] as const) {
      if (!p[key]) {
        const setting = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        throw new CredentialsError(p.profileName, `${setting} is not set`);
      }
    }
    const first = await this.#accessToken();
    try {
      return await this.#getRoleCredentials(first.accessToken);
    } catch (e) {
      if (!first.reusable || !(e instanceof SsoTokenRejectedError)) throw e;
      this.#log.debug(`SSO token for '${p.ssoStartUrl}' was rejected, getting a new one`);
      const second = await this.#accessToken({ rejected: first.accessToken });
      return await this.#getRoleCredentials(second.accessToken);
    }
  }

  /**
   * The SSO access token for the profile's start URL: stored, refreshed or from a new login, as {@link retrieve} gets
   * it (`sso sync` calls the portal with it). `reusable` when it came from the vault or another process, so a 401
   * warrants one more call with `rejected` set to it.
   */
  accessToken(retry?: { rejected: string }): Promise<{ accessToken: string; reusable: boolean }> {
    return this.#accessToken(retry);
  }

  #now(): Date {
    return this.#options.now();
  }

  /** Removes the stored OIDC token of `url`; a failure only costs a later login. */
  async #forgetToken(url: string): Promise<void> {
    await new OidcTokenKeyring(this.#options.vault, { now: this.#options.now, log: this.#log }).remove(url).catch(
      () => {},
    );
  }

  /** An access token; `reusable` when it came from the vault or another process (a 401 then warrants a retry). */
  async #accessToken(retry?: { rejected: string }): Promise<{ accessToken: string; reusable: boolean }> {
    const { vault, noCache } = this.#options;
    const url = this.profile.ssoStartUrl!;
    const loginOptions = { ...this.#options, useStdout: this.#options.useStdout ?? this.profile.ssoUseStdout };
    // The login, refresh and lock code is loaded only when a token must be obtained (docs/performance.md).
    const login = async () => {
      if (this.#options.allowLogin === false) {
        throw new SsoLoginRequiredError(this.profile.profileName, `not logged in to ${url}`);
      }
      return (await import("./sso_login.ts")).ssoLogin(this.profile, loginOptions);
    };
    if (noCache) return { accessToken: (await login()).token.accessToken, reusable: false };
    const usable = (s: Partial<StoredToken> | undefined): s is StoredToken =>
      !!s?.token && !!s.expiration && s.expiration > this.#now() && s.token.accessToken !== retry?.rejected;
    const log = this.#log;
    const cached = await readToken(vault, url, { log });
    if (usable(cached)) return { accessToken: cached.token.accessToken, reusable: true };
    const { withLoginLock } = await import("./sso_lock.ts");
    return await withLoginLock(url, async () => {
      // Another process may have logged in or refreshed while this one waited for the lock.
      const stored = await readToken(vault, url, { log });
      if (usable(stored)) return { accessToken: stored.token.accessToken, reusable: true };
      const fresh = await this.#refresh(stored) ?? await login();
      await writeToken(vault, url, { ...fresh, now: this.#now() });
      log.debug(`Stored SSO token for '${url}', expires in ${fresh.token.expiresIn}s`);
      return { accessToken: fresh.token.accessToken, reusable: false };
    }, { dir: this.#options.lockDir, env: this.#options.env, log });
  }

  async #refresh(stored: Partial<StoredToken> | undefined): Promise<OidcLogin | undefined> {
    const refreshToken = stored?.token?.refreshToken;
    const client: OidcClient | undefined = stored?.client;
    const url = this.profile.ssoStartUrl!;
    if (!refreshToken || !client || !(client.expiresAt > this.#now())) {
      if (stored) await this.#forgetToken(url);
      return undefined;
    }
    try {
      const { refreshOidcToken } = await import("./sso_login.ts");
      return await refreshOidcToken(this.profile, { client, refreshToken }, { env: this.#options.env, log: this.#log });
    } catch (e) {
      this.#log.debug(
        `Refreshing the SSO token for '${url}' failed (${e instanceof Error ? e.message : e}), logging in`,
      );
      await this.#forgetToken(url);
      return undefined;
    }
  }

  async #getRoleCredentials(accessToken: string): Promise<Credentials> {
    const p = this.profile;
    const call = async () => {
      const { client, sdk } = await createSsoClient(p, { env: this.#options.env, log: this.#log });
      try {
        return await client.send(
          new sdk.GetRoleCredentialsCommand({ accessToken, accountId: p.ssoAccountId, roleName: p.ssoRoleName }),
        );
      } finally {
        client.destroy();
      }
    };
    const out = await callAws(p.profileName, "sso:GetRoleCredentials", async () => {
      try {
        return await call();
      } catch (e) {
        // A distinct error so retrieve() can drop the token and retry once; anything else is final.
        if (!isUnauthorized(e)) throw e;
        throw new SsoTokenRejectedError(p.profileName, describeAwsError(e), {
          operation: "sso:GetRoleCredentials",
          cause: e,
        });
      }
    });
    const c = out.roleCredentials;
    if (!c?.accessKeyId || !c.secretAccessKey || !c.sessionToken || !c.expiration) {
      throw new CredentialsError(p.profileName, "GetRoleCredentials returned incomplete credentials");
    }
    const creds = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: new Date(c.expiration),
    };
    this.#log.debug(
      `Got credentials ${maskSecret(creds.accessKeyId)} for SSO role ${p.ssoRoleName} (account ${p.ssoAccountId})`,
    );
    return creds;
  }
}
