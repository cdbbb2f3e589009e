/**
 * The `keychain` backend (macOS): aws-vault's keychain semantics over {@link KeychainApi}, so they are testable on
 * any OS with a test double. The native calls and the `openKeychainKeyring` factory are in `keychain_ffi.ts`, which
 * depends on this module and not the other way round.
 *
 * Compatible with aws-vault's items: generic passwords in `<name>.keychain` (macOS stores `<name>.keychain-db`),
 * service `aws-vault`, account = key, label/description from the item, data = the item's raw data (not the item
 * JSON). Credentials get an empty trusted-application list (macOS asks on every read); sessions and OIDC tokens
 * trust the creating application.
 * @module
 */

import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import type { Keyring, VaultItem } from "./keyring.ts";

/** Keychain name aws-vault uses unless `--keychain` says otherwise. */
export const DEFAULT_KEYCHAIN_NAME = "aws-vault";
/** `kSecAttrService` of every item (aws-vault's ServiceName). */
export const KEYCHAIN_SERVICE = "aws-vault";

/** One generic-password item: the keychain file, the service and the account (the aws-vault key). */
export interface KeychainQuery {
  /** Keychain path as given to `SecKeychainOpen`, e.g. `aws-vault.keychain` (resolved in ~/Library/Keychains). */
  keychain: string;
  /** `kSecAttrService`. */
  service: string;
  /** `kSecAttrAccount`. */
  account: string;
}

/** The stored fields of an item. Empty label/description are left unset, as go-keychain does. */
export interface KeychainRecord {
  /** `kSecAttrLabel`. */
  label: string;
  /** `kSecAttrDescription`. */
  description: string;
  /** `kSecValueData`: the raw item data. */
  data: Uint8Array;
}

/** An item to add. */
export interface KeychainNewItem extends KeychainQuery, KeychainRecord {
  /** True: the creating application is trusted (NULL trusted list). False: empty trusted list, every read prompts. */
  trustApplication: boolean;
}

/** The native keychain operations the keyring needs; async because reads and creation can wait on a user prompt. */
export interface KeychainApi {
  /** Whether the keychain file exists (`SecKeychainGetStatus` ≠ errSecNoSuchKeychain). */
  exists(keychain: string): Promise<boolean>;
  /** Creates the keychain; macOS asks the user for its password. */
  create(keychain: string): Promise<void>;
  /** The item, or undefined when there is none. */
  find(query: KeychainQuery): Promise<KeychainRecord | undefined>;
  /** Adds an item; false when one with the same service/account already exists. */
  add(item: KeychainNewItem): Promise<boolean>;
  /** Replaces label, description and data of an existing item, leaving its access control alone. */
  update(query: KeychainQuery, record: KeychainRecord): Promise<void>;
  /** Deletes the item; false when there was none. */
  delete(query: KeychainQuery): Promise<boolean>;
  /** Accounts of every generic password with this service in the keychain. */
  accounts(options: { keychain: string; service: string }): Promise<string[]>;
}

/** OSStatus values this backend reacts to or explains (Security/SecBase.h, MacErrors.h). */
export const OS_STATUS = {
  success: 0,
  param: -50,
  writePermission: -61,
  userCanceled: -128,
  notAvailable: -25291,
  authFailed: -25293,
  noSuchKeychain: -25294,
  invalidKeychain: -25295,
  duplicateItem: -25299,
  itemNotFound: -25300,
  interactionNotAllowed: -25308,
} as const;

const STATUS_TEXT: Record<number, string> = {
  [OS_STATUS.param]: "invalid parameter",
  [OS_STATUS.writePermission]: "no write permission for the keychain file",
  [OS_STATUS.userCanceled]: "the keychain prompt was cancelled",
  [OS_STATUS.notAvailable]: "no keychain is available",
  [OS_STATUS.authFailed]: "wrong keychain password",
  [OS_STATUS.noSuchKeychain]: "the keychain does not exist",
  [OS_STATUS.invalidKeychain]: "the keychain file is not a valid keychain",
  [OS_STATUS.duplicateItem]: "the item already exists",
  [OS_STATUS.itemNotFound]: "the item could not be found",
  [OS_STATUS.interactionNotAllowed]: "user interaction is not allowed (no GUI session?)",
};

/** A Security.framework call failed; `status` is its OSStatus. */
export class KeychainError extends VaultError {
  /** The OSStatus returned by the failing call. */
  readonly status: number;
  constructor(operation: string, status: number) {
    super(`macOS keychain: ${operation} failed: ${STATUS_TEXT[status] ?? "unexpected error"} (OSStatus ${status})`);
    this.status = status;
  }
}

/** Options of {@link KeychainKeyring}. */
export interface KeychainKeyringOptions {
  /** Keychain name (`--keychain`); the file is `<name>.keychain`. Default {@link DEFAULT_KEYCHAIN_NAME}. */
  name?: string;
  /** The native layer: `nativeKeychainApi()` from `keychain_ffi.ts`, or a test double. */
  api: KeychainApi;
}

/** Whether this OS has the macOS keychain (the backend list offers `keychain` only there). */
export function keychainAvailable(): boolean {
  return Deno.build.os === "darwin";
}

/** A {@link Keyring} stored in a macOS keychain file. */
export class KeychainKeyring implements Keyring {
  /** Backend name as given to `--backend`. */
  readonly backend = "keychain";
  /** The keychain path handed to Security.framework, e.g. `aws-vault.keychain`. */
  readonly path: string;
  #api: KeychainApi;

  constructor(options: KeychainKeyringOptions) {
    const name = options.name || DEFAULT_KEYCHAIN_NAME;
    if (name.includes("\0")) throw new VaultError("keychain name must not contain NUL characters");
    this.path = `${name}.keychain`;
    this.#api = options.api;
  }

  #query(key: string): KeychainQuery {
    // An empty account would be left out of the query (as go-keychain does) and match every item of the service.
    if (key === "") throw new VaultError("keyring key must not be empty");
    return { keychain: this.path, service: KEYCHAIN_SERVICE, account: key };
  }

  /** Returns the item; {@link ItemNotFoundError} when it or the keychain is missing (no keychain is created). */
  async get(key: string): Promise<VaultItem> {
    const query = this.#query(key);
    if (!(await this.#api.exists(this.path))) throw new ItemNotFoundError(key);
    const found = await this.#api.find(query);
    if (!found) throw new ItemNotFoundError(key);
    return {
      key,
      data: found.data,
      label: found.label,
      description: found.description,
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    };
  }

  /**
   * Stores the item, creating the keychain first if needed (macOS asks for its new password). An existing item is
   * updated in place: its access control was set when it was created for the same kind of key, and an update
   * cannot lose the old item the way delete-then-add could.
   */
  async set(item: VaultItem): Promise<void> {
    const query = this.#query(item.key);
    if (!(await this.#api.exists(this.path))) await this.#api.create(this.path);
    const record = { label: item.label, description: item.description, data: item.data };
    // aws-vault runs with KeychainTrustApplication=true, so only the item's own flag decides.
    const added = await this.#api.add({ ...query, ...record, trustApplication: !item.keychainNotTrustApplication });
    if (!added) await this.#api.update(query, record);
  }

  /** Deletes the item; {@link ItemNotFoundError} when it or the keychain is missing. */
  async remove(key: string): Promise<void> {
    const query = this.#query(key);
    if (!(await this.#api.exists(this.path))) throw new ItemNotFoundError(key);
    if (!(await this.#api.delete(query))) throw new ItemNotFoundError(key);
  }

  /** Accounts of the `aws-vault` service, sorted; empty when the keychain does not exist. */
  async keys(): Promise<string[]> {
    if (!(await this.#api.exists(this.path))) return [];
    const accounts = await this.#api.accounts({ keychain: this.path, service: KEYCHAIN_SERVICE });
    return [...new Set(accounts)].sort();
  }
}
