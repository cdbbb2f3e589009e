/**
 * Long-term AWS credentials in the keyring, stored under the profile name as Go's `json.Marshal(aws.Credentials)`.
 * @module
 */

import type { Credentials } from "../core/credentials.ts";
import {
  goBool,
  goJsonString,
  goString,
  goTime,
  InvalidDataError,
  type Keyring,
  parseGoObject,
  type VaultItem,
} from "./keyring.ts";
import { isOidcKey } from "./oidc_keyring.ts";
import { isSessionKey } from "./session_keyring.ts";
import { formatRfc3339 } from "../core/time.ts";

/**
 * Serialises credentials exactly as aws-vault does:
 * `{"AccessKeyID":…,"SecretAccessKey":…,"SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}`.
 */
export function credentialsToJson(creds: Credentials): string {
  const expires = creds.expiration ? formatRfc3339(creds.expiration, { nano: true }) : "0001-01-01T00:00:00Z";
  return `{"AccessKeyID":${goJsonString(creds.accessKeyId)},"SecretAccessKey":${goJsonString(creds.secretAccessKey)},` +
    `"SessionToken":${goJsonString(creds.sessionToken ?? "")},"Source":"",` +
    `"CanExpire":${creds.expiration !== undefined},"Expires":"${expires}"}`;
}

/**
 * Parses stored credentials tolerantly (case-insensitive field names, missing fields allowed as in Go).
 * Throws `Invalid data in keyring: …` naming the problem, never the content.
 */
export function credentialsFromJson(text: string): Credentials {
  try {
    const f = parseGoObject(text);
    const sessionToken = goString(f, "SessionToken");
    const expiration = goBool(f, "CanExpire") ? goTime(f, "Expires") : undefined;
    return {
      accessKeyId: goString(f, "AccessKeyID") ?? "",
      secretAccessKey: goString(f, "SecretAccessKey") ?? "",
      ...(sessionToken ? { sessionToken } : {}),
      ...(expiration ? { expiration } : {}),
    };
  } catch (e) {
    if (e instanceof InvalidDataError) throw new InvalidDataError(`Invalid data in keyring: ${e.message}`);
    throw e;
  }
}

/** Long-term credentials per profile, on top of any backend. */
export class CredentialKeyring {
  #keyring: Keyring;

  constructor(keyring: Keyring) {
    this.#keyring = keyring;
  }

  /** Profile names with stored credentials: every key that is neither a session key nor an OIDC token key. */
  async keys(): Promise<string[]> {
    return (await this.#keyring.keys()).filter((k) => !isSessionKey(k) && !isOidcKey(k));
  }

  /** Whether credentials are stored for `profile` (lists the keyring; never needs the passphrase). */
  async has(profile: string): Promise<boolean> {
    return (await this.keys()).includes(profile);
  }

  /** Returns the stored credentials; throws `ItemNotFoundError` when there are none. */
  async get(profile: string): Promise<Credentials> {
    const item = await this.#keyring.get(profile);
    return credentialsFromJson(new TextDecoder().decode(item.data));
  }

  /** Stores credentials for `profile`, replacing any. */
  async set(profile: string, creds: Credentials): Promise<void> {
    await this.#keyring.set(credentialItem({
      key: profile,
      data: new TextEncoder().encode(credentialsToJson(creds)),
      label: "",
      description: "",
    }));
  }

  /** Deletes the credentials of `profile`; throws `ItemNotFoundError` when there are none. */
  async remove(profile: string): Promise<void> {
    await this.#keyring.remove(profile);
  }
}

/**
 * The item stored for a profile's long-term credentials (`item.key` is the profile), as `add` writes it: an empty
 * label becomes `aws-vault (<profile>)`, which the keychain's access dialog shows, and the access flags are always
 * those of a credential: `keychainNotTrustApplication` (the macOS keychain trusts no application and asks on every
 * read, as aws-vault does for long-term keys) and not `keychainNotSynchronizable`. Whatever flags `item` carries are
 * replaced: the keychain and wincred do not store them and report false on reading.
 */
export function credentialItem(
  item: Omit<VaultItem, "keychainNotTrustApplication" | "keychainNotSynchronizable">,
): VaultItem {
  return {
    ...item,
    label: item.label || `aws-vault (${item.key})`,
    keychainNotTrustApplication: true,
    keychainNotSynchronizable: false,
  };
}
