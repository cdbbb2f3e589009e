/**
 * The `keychain` backend (macOS): aws-vault's keychain semantics over {@link KeychainApi}, so they are testable on
 * any OS with a test double. The native calls and the `openKeychainKeyring` factory are in `keychain_ffi.ts`, which
 * depends on this module and not the other way round.
 *
 * Compatible with aws-vault's items: generic passwords in `<name>.keychain` (macOS stores `<name>.keychain-db`),
 * service `aws-vault`, account = key, label/description from the item, data = the item's raw data (not the item
 * JSON). Which applications a new item trusts is {@link trustsCreator}: long-term credentials trust none (macOS asks
 * on every read), sessions and OIDC tokens trust the creating application only when that application is a compiled
 * aws-vault binary, never the generic `deno` interpreter.
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
  /**
   * True: the creating application is trusted (`SecAccessCreate` with a NULL trusted list), it reads without a
   * prompt. False: an empty trusted list, every read by any application prompts. See {@link trustsCreator}.
   */
  trustApplication: boolean;
}

/**
 * How this process runs, which decides what "the creating application" is to the keychain (the executable):
 * `compiled`, a `deno compile` binary, is aws-vault itself; `interpreter`, `deno run` of the source or the bundle (the
 * installed launcher), is the generic `deno` binary that runs any script.
 */
export type KeychainRunMode = "compiled" | "interpreter";

/**
 * The run mode of this process: a `deno compile` binary's entry module lives under a virtual `deno-compile-<name>`
 * directory (as `selfCommand` in `server/ec2_proxy.ts` also relies on). Anything else is `interpreter`, the safe side.
 */
export function keychainRunMode(mainModule: string = Deno.mainModule): KeychainRunMode {
  return /[\\/]deno-compile-/.test(mainModule) ? "compiled" : "interpreter";
}

/**
 * Whether a new item trusts the creating application (NULL trusted list) instead of none (empty list, always ask).
 *
 * - Long-term credentials (`keychainNotTrustApplication`, set by `add`, `rotate` and `migrate-backend`): never, as
 *   aws-vault does.
 * - Sessions and OIDC tokens: as aws-vault (`KeychainTrustApplication`) only in a compiled binary, where the trusted
 *   application is that binary. Under `deno run` the creating application is the `deno` executable, and trusting it
 *   would let every Deno script with `--allow-ffi` read the SSO refresh token and the sessions without a prompt; so
 *   they trust nobody there and each read asks (more prompts, the price of running through `deno`).
 */
export function trustsCreator(
  item: Pick<VaultItem, "keychainNotTrustApplication">,
  mode: KeychainRunMode,
): boolean {
  return !item.keychainNotTrustApplication && mode === "compiled";
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
  // The legacy file keychain also answers errSecAuthFailed when the user clicks Deny in an access dialog.
  [OS_STATUS.authFailed]: "the keychain refused access: wrong password, or access was denied in the dialog",
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
  /** Decides which new items trust the creating application ({@link trustsCreator}); default {@link keychainRunMode}. */
  runMode?: KeychainRunMode;
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
  /** How this process runs, for {@link trustsCreator}. */
  readonly runMode: KeychainRunMode;
  #api: KeychainApi;

  constructor(options: KeychainKeyringOptions) {
    const name = options.name || DEFAULT_KEYCHAIN_NAME;
    if (name.includes("\0")) throw new VaultError("keychain name must not contain NUL characters");
    this.path = `${name}.keychain`;
    this.#api = options.api;
    this.runMode = options.runMode ?? keychainRunMode();
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
   * updated in place, as aws-vault does: its access control was set when it was created for the same kind of key
   * (changing it would ask the user again), and an update cannot lose the old item the way delete-then-add could.
   */
  async set(item: VaultItem): Promise<void> {
    const query = this.#query(item.key);
    if (!(await this.#api.exists(this.path))) await this.#api.create(this.path);
    const record = { label: item.label, description: item.description, data: item.data };
    const trustApplication = trustsCreator(item, this.runMode);
    const added = await this.#api.add({ ...query, ...record, trustApplication });
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
