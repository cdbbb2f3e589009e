/**
 * An in-memory {@link Keyring} for tests of the code above the backends (typed keyrings, the provider chain).
 * @module
 */

import { ItemNotFoundError } from "../../src/core/errors.ts";
import type { Keyring, VaultItem } from "../../src/vault/keyring.ts";

/** A keyring that keeps items in a Map; `items` is open for inspection. */
export class MemoryKeyring implements Keyring {
  readonly backend = "memory";
  readonly items = new Map<string, VaultItem>();
  get(key: string): Promise<VaultItem> {
    const item = this.items.get(key);
    return item ? Promise.resolve(item) : Promise.reject(new ItemNotFoundError(key));
  }
  set(item: VaultItem): Promise<void> {
    this.items.set(item.key, item);
    return Promise.resolve();
  }
  remove(key: string): Promise<void> {
    return this.items.delete(key) ? Promise.resolve() : Promise.reject(new ItemNotFoundError(key));
  }
  keys(): Promise<string[]> {
    return Promise.resolve([...this.items.keys()].sort());
  }
  /** The stored data of `key` as text. */
  raw(key: string): string {
    return new TextDecoder().decode(this.items.get(key)!.data);
  }
  /** Stores `data` under `key` as is, bypassing the typed keyrings (to plant odd items). */
  put(key: string, data: string): void {
    this.items.set(key, {
      key,
      data: new TextEncoder().encode(data),
      label: "",
      description: "",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
  }
}
