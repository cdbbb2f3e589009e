/**
 * The `wincred` backend (Windows Credential Manager): aws-vault's semantics over {@link WincredApi}, so they are
 * testable on any OS with a test double. The native calls and the `openWincredKeyring` factory are in
 * `wincred_ffi.ts`, which depends on this module and not the other way round.
 *
 * Compatible with aws-vault: one generic credential per item, TargetName `aws-vault:aws-vault:<key>`
 * (`<WinCredPrefix>:<ServiceName>:<key>`), CredentialBlob = the item's raw data; label and description are not stored.
 * @module
 */

import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import type { Keyring, VaultItem } from "./keyring.ts";

/** `CRED_MAX_CREDENTIAL_BLOB_SIZE` = 5 × 512 bytes. */
export const CRED_MAX_CREDENTIAL_BLOB_SIZE = 5 * 512;

/** The native operations the keyring needs; target names are complete (prefix included). */
export interface WincredApi {
  /** The generic credential's blob, or undefined when it does not exist. */
  read(target: string): Uint8Array | undefined;
  /** Creates or replaces a generic credential. */
  write(target: string, blob: Uint8Array): void;
  /** Deletes a generic credential; false when it did not exist. */
  delete(target: string): boolean;
  /** Target names matching a CredEnumerateW filter (`prefix*`); empty when none match. */
  enumerate(filter: string): string[];
}

/** TargetName prefix of every aws-vault credential: `<WinCredPrefix>:<ServiceName>:`. */
export const WINCRED_TARGET_PREFIX = "aws-vault:aws-vault:";

/** The item's data does not fit in a Credential Manager blob. */
export class ItemTooLargeError extends VaultError {
  /** Size of the rejected data in bytes. */
  readonly size: number;
  constructor(size: number) {
    super(`item too large for Windows Credential Manager (${size} bytes, max ${CRED_MAX_CREDENTIAL_BLOB_SIZE})`);
    this.size = size;
  }
}

/** Options of {@link WincredKeyring}. */
export interface WincredKeyringOptions {
  /** The native layer: `nativeWincredApi()` from `wincred_ffi.ts`, or a test double. */
  api: WincredApi;
}

/** Whether this OS has the Windows Credential Manager (the backend list offers `wincred` only there). */
export function wincredAvailable(): boolean {
  return Deno.build.os === "windows";
}

/** A {@link Keyring} stored as generic credentials in the Windows Credential Manager. */
export class WincredKeyring implements Keyring {
  /** Backend name as given to `--backend`. */
  readonly backend = "wincred";
  #api: WincredApi;

  constructor(options: WincredKeyringOptions) {
    this.#api = options.api;
  }

  /** Returns the item (data only, as aws-vault stores nothing else); {@link ItemNotFoundError} when missing. */
  get(key: string): Promise<VaultItem> {
    return Promise.try(() => {
      const data = this.#api.read(WINCRED_TARGET_PREFIX + key);
      if (data === undefined) throw new ItemNotFoundError(key);
      return {
        key,
        data,
        label: "",
        description: "",
        keychainNotTrustApplication: false,
        keychainNotSynchronizable: false,
      };
    });
  }

  /** Creates or replaces the item; {@link ItemTooLargeError} when its data exceeds the blob limit. */
  set(item: VaultItem): Promise<void> {
    return Promise.try(() => {
      // Checked here so the user gets a clear message instead of CredWriteW's ERROR_INVALID_PARAMETER.
      if (item.data.length > CRED_MAX_CREDENTIAL_BLOB_SIZE) throw new ItemTooLargeError(item.data.length);
      this.#api.write(WINCRED_TARGET_PREFIX + item.key, item.data);
    });
  }

  /** Deletes the item; {@link ItemNotFoundError} when missing. */
  remove(key: string): Promise<void> {
    return Promise.try(() => {
      if (!this.#api.delete(WINCRED_TARGET_PREFIX + key)) throw new ItemNotFoundError(key);
    });
  }

  /** Keys of all credentials under the prefix, prefix stripped, sorted. */
  keys(): Promise<string[]> {
    return Promise.try(() => {
      const prefix = WINCRED_TARGET_PREFIX.toLowerCase();
      const keys = this.#api.enumerate(WINCRED_TARGET_PREFIX + "*")
        // Target names compare case-insensitively on Windows; the filter matched, so compare the same way.
        .filter((name) => name.slice(0, prefix.length).toLowerCase() === prefix)
        .map((name) => name.slice(prefix.length));
      return [...new Set(keys)].sort();
    });
  }
}
