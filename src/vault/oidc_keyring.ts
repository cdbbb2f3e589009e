/**
 * SSO OIDC access tokens in the keyring, under `oidc:<start url>`, in aws-vault's data format
 * `{"Token":<ssooidc CreateTokenOutput>,"Expiration":"<RFC 3339>"}`.
 * @module
 */

import { ItemNotFoundError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import {
  CorruptItemError,
  goJsonString,
  goObject,
  goString,
  goTime,
  InvalidDataError,
  type Keyring,
  parseGoObject,
} from "./keyring.ts";
import { formatRfc3339 } from "../core/time.ts";

/** Prefix of every OIDC token key. */
export const OIDC_KEY_PREFIX = "oidc:";

/** Whether a keyring key holds an OIDC token. */
export function isOidcKey(key: string): boolean {
  return key.startsWith(OIDC_KEY_PREFIX);
}

/** The parts of `ssooidc.CreateTokenOutput` aws-vault stores. Absent optional fields are stored as JSON null. */
export interface OidcToken {
  accessToken: string;
  /** Seconds the token stays valid; on read, the seconds remaining. */
  expiresIn: number;
  idToken?: string | null;
  refreshToken?: string | null;
  tokenType?: string | null;
}

const orNull = (s: string | null | undefined) => s == null ? "null" : goJsonString(s);

/** Serialises a token as aws-vault does (`ResultMetadata` included as `{}`); `expiration` in local RFC 3339 (nano). */
export function oidcTokenToJson(token: OidcToken, expiration: Date): string {
  return `{"Token":{"AccessToken":${orNull(token.accessToken)},"ExpiresIn":${Math.trunc(token.expiresIn)},` +
    `"IdToken":${orNull(token.idToken)},"RefreshToken":${orNull(token.refreshToken)},` +
    `"TokenType":${orNull(token.tokenType)},"ResultMetadata":{}},` +
    `"Expiration":"${formatRfc3339(expiration, { nano: true, local: true })}"}`;
}

/** Parses stored token data tolerantly; throws {@link InvalidDataError} without echoing content. */
export function oidcTokenFromJson(text: string): { token: OidcToken; expiration: Date } {
  const f = parseGoObject(text);
  const expiration = goTime(f, "Expiration");
  if (!expiration) throw new InvalidDataError("Expiration missing");
  const t = goObject(f.get("token"), "Token");
  const accessToken = goString(t, "AccessToken");
  if (!accessToken) throw new InvalidDataError("AccessToken missing");
  const expiresIn = t.get("expiresin");
  if (expiresIn != null && typeof expiresIn !== "number") throw new InvalidDataError("ExpiresIn must be a number");
  return {
    token: {
      accessToken,
      expiresIn: expiresIn ?? 0,
      idToken: goString(t, "IdToken") ?? null,
      refreshToken: goString(t, "RefreshToken") ?? null,
      tokenType: goString(t, "TokenType") ?? null,
    },
    expiration,
  };
}

/** Options of {@link OidcTokenKeyring}. */
export interface OidcTokenKeyringOptions {
  /** The clock, passed down from main.ts. */
  now: () => Date;
  /** Debug lines (unreadable and expired tokens); silent when not given. */
  log?: Logger;
}

/** OIDC tokens per SSO start URL, on top of any backend. */
export class OidcTokenKeyring {
  #keyring: Keyring;
  #now: () => Date;
  #log: Logger;

  constructor(keyring: Keyring, options: OidcTokenKeyringOptions) {
    this.#keyring = keyring;
    this.#now = options.now;
    this.#log = options.log ?? SILENT;
  }

  /**
   * The stored token with `expiresIn` set to the whole seconds remaining, or undefined when there is none, it
   * cannot be read, or it has expired (an expired token is removed).
   */
  async get(startUrl: string): Promise<OidcToken | undefined> {
    let text: string;
    try {
      text = new TextDecoder().decode((await this.#keyring.get(OIDC_KEY_PREFIX + startUrl)).data);
    } catch (e) {
      if (e instanceof ItemNotFoundError) return undefined;
      if (!(e instanceof CorruptItemError)) throw e;
      this.#log.debug(`OIDCTokenKeyring: Ignoring invalid data: ${e.message}`);
      return undefined;
    }
    let stored: { token: OidcToken; expiration: Date };
    try {
      stored = oidcTokenFromJson(text);
    } catch (e) {
      if (!(e instanceof InvalidDataError)) throw e;
      this.#log.debug(`OIDCTokenKeyring: Ignoring invalid data: ${e.message}`);
      return undefined;
    }
    const remainingMs = stored.expiration.getTime() - this.#now().getTime();
    if (remainingMs <= 0) {
      this.#log.debug(`OIDC token for '${startUrl}' expired, removing`);
      await this.remove(startUrl).catch(() => {});
      return undefined;
    }
    return { ...stored.token, expiresIn: Math.floor(remainingMs / 1000) };
  }

  /** Stores a token; it expires `token.expiresIn` seconds from now. */
  async set(startUrl: string, token: OidcToken): Promise<void> {
    const expiration = new Date(this.#now().getTime() + Math.trunc(token.expiresIn) * 1000);
    await this.#keyring.set({
      key: OIDC_KEY_PREFIX + startUrl,
      data: new TextEncoder().encode(oidcTokenToJson(token, expiration)),
      label: `aws-vault oidc token for ${startUrl} (expires ${formatRfc3339(expiration, { local: true })})`,
      description: "aws-vault oidc token",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
  }

  /** Deletes the token of `startUrl`; throws `ItemNotFoundError` when there is none. */
  async remove(startUrl: string): Promise<void> {
    await this.#keyring.remove(OIDC_KEY_PREFIX + startUrl);
  }

  /** Whether a token is stored for `startUrl` (compares start URLs, unlike aws-vault v7's `Has`). */
  async has(startUrl: string): Promise<boolean> {
    return (await this.list()).includes(startUrl);
  }

  /** Start URLs with a stored token. */
  async list(): Promise<string[]> {
    return (await this.#keyring.keys()).filter(isOidcKey).map((k) => k.slice(OIDC_KEY_PREFIX.length));
  }

  /** Removes every token; returns how many. */
  async removeAll(): Promise<number> {
    let n = 0;
    for (const url of await this.list()) {
      try {
        await this.remove(url);
        n++;
      } catch (e) {
        if (!(e instanceof ItemNotFoundError)) throw e;
      }
    }
    return n;
  }
}
