/**
 * Cached STS/SSO session credentials in the keyring, in aws-vault's key and data formats:
 * key `<type>,<b64url profile>,<b64url mfa serial>,<unix expiry>`, data = Go `json.Marshal(sts types.Credentials)`.
 * @module
 */

import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import type { Credentials } from "../core/credentials.ts";
import { type Logger, SILENT } from "../core/log.ts";
import {
  CorruptItemError,
  goJsonString,
  goString,
  goTime,
  InvalidDataError,
  type Keyring,
  parseGoObject,
} from "./keyring.ts";
import { formatRfc3339 } from "../core/time.ts";

/** The session types aws-vault writes (docs/behaviour.md#session-keys). */
export const SESSION_TYPES = {
  getSessionToken: "sts.GetSessionToken",
  assumeRole: "sts.AssumeRole",
  assumeRoleWithWebIdentity: "sts.AssumeRoleWithWebIdentity",
  ssoGetRoleCredentials: "sso.GetRoleCredentials",
  credentialProcess: "credential_process",
} as const;

/**
 * A session type: one of {@link SESSION_TYPES}, or any other string without a comma. The extension point is meant
 * for caches aws-vault lacks, e.g. non-MFA AssumeRole keyed by role ARN, duration, region and tags: such an entry
 * would use a distinct type like `sts.AssumeRole.<hash of those settings>`, so its prefix never matches the
 * standard `sts.AssumeRole,` entries, the Go aws-vault still parses (and lists) it, and standard keys keep their
 * exact Go form.
 */
export type SessionType = typeof SESSION_TYPES[keyof typeof SESSION_TYPES] | (string & Record<never, never>);

/**
 * The type as a person reads it: an extension type `<standard type>.<settings hash>` (see {@link SessionType}) shows
 * as its standard type, e.g. `sts.AssumeRole`.
 */
export function sessionTypeLabel(type: string): string {
  return type.replace(/^([^,]+?)\.[0-9a-f]{16}$/, "$1");
}

/** What identifies a cached session regardless of its expiry. */
export interface SessionKeyLookup {
  /** See {@link SessionType}. */
  type: SessionType;
  profileName: string;
  /** The MFA serial; for `sso.GetRoleCredentials` the SSO start URL; empty when not applicable. */
  mfaSerial: string;
  /**
   * A digest of the settings the session is made with, for keys that do not capture them (aws-vault's
   * `sts.AssumeRole,<profile>,<mfa serial>`): stored in the item beside the credentials, where the Go aws-vault ignores
   * it. A stored session with another digest is stale and not reused; one without (written by the Go aws-vault) is
   * reused, as the Go aws-vault reuses it.
   */
  settings?: string;
}

/** A parsed current-format session key. */
export interface SessionKey extends SessionKeyLookup {
  /** Expiry from the key name (whole seconds). */
  expiration: Date;
}

const CURRENT = /^([^,]+),([^,]+),([^,]*),([0-9]{1,})$/;
const LEGACY = [
  /^session,([^,]+),([^,]*),([0-9]{2,})$/,
  /^session:([^ ]+):([^ ]*):([^:]+)$/,
  /^(.+?) session \((\d+)\)$/,
];

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
const b64 = (s: string) => utf8Encoder.encode(s).toBase64({ alphabet: "base64url", omitPadding: true });

function unb64(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined;
  return utf8Decoder.decode(Uint8Array.fromBase64(s, { alphabet: "base64url" }));
}

/** The key prefix shared by every expiry of one session: `<type>,<b64 profile>,<b64 mfa>,`. */
export function sessionKeyPrefix(lookup: SessionKeyLookup): string {
  if (lookup.type === "" || lookup.type.includes(",")) {
    throw new VaultError(`invalid session type ${JSON.stringify(lookup.type)}`);
  }
  return `${lookup.type},${b64(lookup.profileName)},${b64(lookup.mfaSerial)},`;
}

/** Formats a session key as aws-vault names it. */
export function formatSessionKey(key: SessionKey): string {
  return sessionKeyPrefix(key) + Math.floor(key.expiration.getTime() / 1000);
}

/** Parses a current-format session key; undefined when `name` is not one (as aws-vault's regex and decoding judge). */
export function parseSessionKey(name: string): SessionKey | undefined {
  const m = CURRENT.exec(name);
  if (!m) return undefined;
  const profileName = unb64(m[2]);
  const mfaSerial = unb64(m[3]);
  const seconds = Number(m[4]);
  if (profileName === undefined || mfaSerial === undefined || !Number.isSafeInteger(seconds)) return undefined;
  const expiration = new Date(seconds * 1000);
  if (Number.isNaN(expiration.getTime())) return undefined;
  return { type: m[1], profileName, mfaSerial, expiration };
}

/** Whether `name` is one of the three pre-v6 session key formats, which are only ever deleted. */
export function isLegacySessionKey(name: string): boolean {
  return LEGACY.some((re) => re.test(name));
}

/** Whether `name` is a session key of any format (so not a profile's credentials). */
export function isSessionKey(name: string): boolean {
  // The pattern alone decides, as in aws-vault; it is also much cheaper than decoding every key on a cold start.
  return CURRENT.test(name) || isLegacySessionKey(name);
}

/** The item field holding {@link SessionKeyLookup.settings}; Go's JSON decoding skips fields it does not know. */
const SETTINGS_FIELD = "AwsVaultSettings";

/**
 * Serialises session credentials as Go's `json.Marshal(types.Credentials)`; expiration in RFC 3339 (nano) UTC. With
 * `settings`, one more field records them (see {@link SessionKeyLookup.settings}).
 */
export function sessionCredentialsToJson(creds: Credentials & { expiration: Date }, settings?: string): string {
  const token = creds.sessionToken === undefined ? "null" : goJsonString(creds.sessionToken);
  const extra = settings === undefined ? "" : `,"${SETTINGS_FIELD}":${goJsonString(settings)}`;
  return `{"AccessKeyId":${goJsonString(creds.accessKeyId)},` +
    `"Expiration":"${formatRfc3339(creds.expiration, { nano: true })}",` +
    `"SecretAccessKey":${goJsonString(creds.secretAccessKey)},"SessionToken":${token}${extra}}`;
}

/**
 * Parses stored session credentials tolerantly, with the settings digest stored beside them if any; throws
 * {@link InvalidDataError} without echoing content.
 */
function readSession(text: string): { credentials: Credentials; settings?: string } {
  const f = parseGoObject(text);
  const accessKeyId = goString(f, "AccessKeyId");
  const secretAccessKey = goString(f, "SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) throw new InvalidDataError("AccessKeyId or SecretAccessKey missing");
  const sessionToken = goString(f, "SessionToken");
  const expiration = goTime(f, "Expiration");
  const credentials = {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration ? { expiration } : {}),
  };
  const settings = goString(f, SETTINGS_FIELD) || undefined;
  return settings === undefined ? { credentials } : { credentials, settings };
}

/** Options of {@link SessionKeyring}. */
export interface SessionKeyringOptions {
  /** The clock, passed down from main.ts. */
  now: () => Date;
  /** Debug lines (unreadable, stale and removed sessions); silent when not given. */
  log?: Logger;
}

/** A cached session found by {@link SessionKeyring.get}. */
export interface CachedSession {
  key: SessionKey;
  credentials: Credentials;
}

/** Cached sessions on top of any backend. Legacy and expired entries are swept once per instance on get/set. */
export class SessionKeyring {
  #keyring: Keyring;
  #now: () => Date;
  #swept = false;
  #log: Logger;

  constructor(keyring: Keyring, options: SessionKeyringOptions) {
    this.#keyring = keyring;
    this.#now = options.now;
    this.#log = options.log ?? SILENT;
  }

  async #sweepOnce(): Promise<void> {
    if (this.#swept) return;
    this.#swept = true;
    try {
      await this.removeOldSessions();
    } catch (e) {
      this.#log.debug(`Error while deleting old session: ${e instanceof Error ? e.message : e}`);
    }
  }

  async #matching(lookup: SessionKeyLookup): Promise<{ name: string; key: SessionKey }[]> {
    const prefix = sessionKeyPrefix(lookup);
    return (await this.#keyring.keys()).filter((k) => k.startsWith(prefix))
      .map((name) => ({ name, key: parseSessionKey(name) }))
      .filter((e): e is { name: string; key: SessionKey } => e.key !== undefined);
  }

  /**
   * The unexpired session for `lookup` with the latest expiry, or undefined. Unreadable data is logged
   * (`SessionKeyring: Ignoring invalid data`) and treated as absent; the caller decides whether enough time remains.
   */
  async get(lookup: SessionKeyLookup): Promise<CachedSession | undefined> {
    await this.#sweepOnce();
    const now = this.#now().getTime();
    const live = (await this.#matching(lookup)).filter((e) => e.key.expiration.getTime() > now)
      .sort((a, b) => b.key.expiration.getTime() - a.key.expiration.getTime());
    for (const { name, key } of live) {
      try {
        const item = await this.#keyring.get(name);
        const { credentials, settings } = readSession(new TextDecoder().decode(item.data));
        if (lookup.settings !== undefined && settings !== undefined && settings !== lookup.settings) {
          this.#log.debug(
            `SessionKeyring: ${lookup.type} session of ${lookup.profileName} was made with other settings`,
          );
          continue;
        }
        return { key, credentials: { ...credentials, expiration: credentials.expiration ?? key.expiration } };
      } catch (e) {
        if (e instanceof ItemNotFoundError) continue; // removed by a concurrent process
        if (!(e instanceof InvalidDataError || e instanceof CorruptItemError)) throw e;
        this.#log.debug(`SessionKeyring: Ignoring invalid data: ${e.message}`);
        return undefined;
      }
    }
    return undefined;
  }

  /** Stores session credentials (they must carry an expiration), then removes older entries of the same session. */
  async set(lookup: SessionKeyLookup, credentials: Credentials): Promise<SessionKey> {
    const expiration = credentials.expiration;
    if (!expiration) throw new VaultError("cannot cache session credentials without an expiration");
    await this.#sweepOnce();
    const key: SessionKey = {
      type: lookup.type,
      profileName: lookup.profileName,
      mfaSerial: lookup.mfaSerial,
      expiration,
    };
    const name = formatSessionKey(key);
    const previous = (await this.#matching(lookup)).filter((e) => e.name !== name);
    await this.#keyring.set({
      key: name,
      data: new TextEncoder().encode(sessionCredentialsToJson({ ...credentials, expiration }, lookup.settings)),
      label: `aws-vault session for ${lookup.profileName} (expires ${formatRfc3339(expiration)})`,
      description: "aws-vault session",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
    // Written first, removed second: a crash in between leaves a usable session, never none.
    for (const { name } of previous) await this.#removeIfPresent(name);
    return key;
  }

  /** All current-format session keys, expired ones included (`list` shows negative remaining time). */
  async list(): Promise<SessionKey[]> {
    return (await this.#keyring.keys()).map(parseSessionKey).filter((k): k is SessionKey => k !== undefined);
  }

  /** Removes every session of `profile`; returns how many. */
  async removeForProfile(profile: string): Promise<number> {
    return await this.#removeWhere((name) => parseSessionKey(name)?.profileName === profile);
  }

  /** Removes every current-format session; returns how many. */
  async removeAll(): Promise<number> {
    return await this.#removeWhere((name) => parseSessionKey(name) !== undefined);
  }

  /** Removes legacy-format session keys and expired current-format ones; returns how many. */
  async removeOldSessions(): Promise<number> {
    const now = this.#now().getTime();
    return await this.#removeWhere((name) => {
      if (isLegacySessionKey(name)) return true;
      // The expiry is the key's last field: no need to decode the rest (this runs on every cached lookup).
      const m = CURRENT.exec(name);
      return m !== null && Number(m[4]) * 1000 < now;
    });
  }

  async #removeWhere(test: (name: string) => boolean): Promise<number> {
    let n = 0;
    for (const name of (await this.#keyring.keys()).filter(test)) {
      if (await this.#removeIfPresent(name)) n++;
    }
    return n;
  }

  async #removeIfPresent(name: string): Promise<boolean> {
    try {
      await this.#keyring.remove(name);
      this.#log.debug(`Removed session ${name}`);
      return true;
    } catch (e) {
      if (e instanceof ItemNotFoundError) return false;
      throw e;
    }
  }
}
