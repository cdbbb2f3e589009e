/**
 * The secret-store interface every backend implements, the item it stores, and the Go wire formats shared by the
 * typed keyrings (item JSON, Go string escaping, RFC 3339 times).
 * @module
 */

import { VaultError } from "../core/errors.ts";
import { parseRfc3339 } from "../core/time.ts";

/**
 * One entry of a secret store, the TypeScript twin of Go's `keyring.Item`.
 * Backends that store whole items (file, pass, secret-service) persist it with {@link itemToJson}.
 */
export interface VaultItem {
  /** The lookup key: a profile name, a session key or `oidc:<start url>`. */
  key: string;
  /** The secret payload (JSON written by the typed keyrings). */
  data: Uint8Array;
  /** Human-readable label shown by keychain UIs. */
  label: string;
  /** Free-text description shown by keychain UIs. */
  description: string;
  /** macOS keychain: do not add the calling application to the item's trusted list. */
  keychainNotTrustApplication: boolean;
  /** macOS keychain: do not sync the item through iCloud. */
  keychainNotSynchronizable: boolean;
}

/** An entry a backend found but cannot use as an item (foreign file, subdirectory, damaged data). */
export interface KeyProblem {
  /** The entry's name as found in the store (for the file backend: the file name, not decoded). */
  name: string;
  /** Why it is not an item, for display by `list`. */
  reason: string;
}

/** The result of {@link listKeys}: usable keys plus the entries that were skipped and why. */
export interface KeyListing {
  /** Keys of usable items, sorted. */
  keys: string[];
  /** Entries that are not usable items; empty for backends that cannot have such entries. */
  problems: KeyProblem[];
}

/**
 * A secret store. `get` and `remove` throw `ItemNotFoundError` for a missing key; every other failure is a
 * `VaultError` subclass whose message never contains secret data.
 *
 * `keys()` returns only usable keys. Backends whose storage can hold entries that are not items (the file backend's
 * directory may contain `.DS_Store`, subdirectories or damaged files) also implement `scan()`, which returns those
 * entries by name next to the good keys, so `list` can report them instead of failing. Callers use {@link listKeys},
 * which works for both kinds of backend.
 */
export interface Keyring {
  /** Backend name as given to `--backend` (`file`, `secret-service`, …). */
  readonly backend: string;
  /** Returns the item stored under `key`. */
  get(key: string): Promise<VaultItem>;
  /** Creates or replaces the item stored under `item.key`. */
  set(item: VaultItem): Promise<void>;
  /** Deletes the item stored under `key`. */
  remove(key: string): Promise<void>;
  /** Keys of all usable items, sorted. */
  keys(): Promise<string[]>;
  /** Optional: usable keys plus unusable entries by name. */
  scan?(): Promise<KeyListing>;
}

/** Lists a keyring's keys and, where the backend supports it, the entries it had to skip. */
export async function listKeys(keyring: Keyring): Promise<KeyListing> {
  if (keyring.scan) return await keyring.scan();
  return { keys: await keyring.keys(), problems: [] };
}

/** An item exists but its stored bytes are unusable: not an encrypted item, damaged, or not item JSON. */
export class CorruptItemError extends VaultError {
  /** Where the item lives (for the file backend: the file path). */
  readonly location: string;
  constructor(location: string, reason: string) {
    super(`keyring item ${JSON.stringify(location)} is corrupt or not an aws-vault item: ${reason}`);
    this.location = location;
  }
}

/** The passphrase does not decrypt the store's items. */
export class WrongPassphraseError extends VaultError {}

/**
 * Encodes a string as Go's `encoding/json` does: like `JSON.stringify`, plus Go's HTML-safe escapes of `<`, `>`, `&`
 * and U+2028/U+2029, so bytes we write equal the bytes aws-vault writes.
 */
export function goJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Serialises an item exactly like Go's `json.Marshal(keyring.Item)`. */
export function itemToJson(item: VaultItem): string {
  return `{"Key":${goJsonString(item.key)},"Data":"${item.data.toBase64()}","Label":${goJsonString(item.label)},` +
    `"Description":${goJsonString(item.description)},` +
    `"KeychainNotTrustApplication":${item.keychainNotTrustApplication},` +
    `"KeychainNotSynchronizable":${item.keychainNotSynchronizable}}`;
}

/** Raised by the tolerant Go-style JSON readers; the message names the field, never the value. */
export class InvalidDataError extends VaultError {}

/**
 * Parses JSON and returns its top-level object with field names lower-cased, mimicking Go's case-insensitive field
 * matching (later duplicates win). Throws {@link InvalidDataError} without echoing the input: it may hold secrets.
 */
export function parseGoObject(text: string): Map<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidDataError("not valid JSON");
  }
  return goObject(value, "the data");
}

/** Like {@link parseGoObject} for an already parsed value (a nested object); `what` names it in errors. */
export function goObject(value: unknown, what: string): Map<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidDataError(`${what} is not a JSON object`);
  }
  return new Map(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Reads an optional string field of a {@link parseGoObject} result (`null`/missing → undefined). */
export function goString(fields: Map<string, unknown>, name: string): string | undefined {
  const v = fields.get(name.toLowerCase());
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new InvalidDataError(`field ${name} must be a string`);
  return v;
}

/** Reads an optional boolean field of a {@link parseGoObject} result. */
export function goBool(fields: Map<string, unknown>, name: string): boolean | undefined {
  const v = fields.get(name.toLowerCase());
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new InvalidDataError(`field ${name} must be a boolean`);
  return v;
}

/** Reads an optional Go `time.Time` field (RFC 3339 string) of a {@link parseGoObject} result. */
export function goTime(fields: Map<string, unknown>, name: string): Date | undefined {
  const s = goString(fields, name);
  if (s === undefined) return undefined;
  const d = parseRfc3339(s);
  if (d === undefined) throw new InvalidDataError(`field ${name} is not an RFC 3339 time`);
  return d;
}

/**
 * Parses Go's JSON form of `keyring.Item`, tolerantly like Go: field names match case-insensitively, missing fields
 * take zero values, `Data` is standard base64 (padding optional).
 */
export function itemFromJson(text: string): VaultItem {
  const f = parseGoObject(text);
  const data = goString(f, "Data") ?? "";
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(data.replace(/[\r\n]/g, ""));
  } catch {
    throw new InvalidDataError("field Data is not valid base64");
  }
  return {
    key: goString(f, "Key") ?? "",
    data: bytes,
    label: goString(f, "Label") ?? "",
    description: goString(f, "Description") ?? "",
    keychainNotTrustApplication: goBool(f, "KeychainNotTrustApplication") ?? false,
    keychainNotSynchronizable: goBool(f, "KeychainNotSynchronizable") ?? false,
  };
}
