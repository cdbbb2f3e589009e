/**
 * The `kwallet` backend (Linux): items in KDE Wallet over D-Bus, stored exactly like the Go aws-vault's kwallet
 * backend stores them: wallet `aws-vault`, folder `aws-vault`, app id `aws-vault`, one entry per key whose value is
 * the item JSON (Go's `json.Marshal(keyring.Item)`), so both tools read each other's items. Unlike the Go keyring it
 * checks kwalletd's return codes, bounds every call in time, and says what to do when KWallet cannot be used.
 * @module
 */

import type { Env } from "../core/env.ts";
import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import { DBusCallError } from "./gdbus_ffi.ts";
import {
  CorruptItemError,
  InvalidDataError,
  itemFromJson,
  itemToJson,
  type Keyring,
  type VaultItem,
} from "./keyring.ts";
import { KWalletClient } from "./kwallet_dbus.ts";
import { chooseAnotherBackend, defaultPromptTimeoutMs, isHeadless, sessionBusAddress } from "./backends.ts";

/** The wallet, folder and application id the Go aws-vault uses (its `ServiceName`, `KWalletFolder`, `KWalletAppID`). */
export const KWALLET_NAMES = { wallet: "aws-vault", folder: "aws-vault", appId: "aws-vault" } as const;

/** Options of {@link KWalletKeyring}. */
export interface KWalletKeyringOptions {
  /** The environment: `DBUS_SESSION_BUS_ADDRESS` / `XDG_RUNTIME_DIR` for the bus, `DISPLAY` / `WAYLAND_DISPLAY`. */
  env: Env;
  /** Backends to suggest when this one cannot work; shown as `(available: …)`. */
  otherBackends?: readonly string[];
  /** Bound for one D-Bus round trip. Default 10 s. */
  timeoutMs?: number;
  /** Bound for opening the wallet, which may show a password dialog. Default 120 s with a display, 5 s without. */
  openTimeoutMs?: number;
}

/** KWallet cannot be used here: no session bus, no kwalletd, KWallet disabled. */
export class KWalletUnavailableError extends VaultError {}
/** kwalletd did not open the wallet: the user cancelled the dialog, access is denied, or no dialog could appear. */
export class KWalletOpenError extends VaultError {}
/** Any other failure reported by kwalletd. */
export class KWalletError extends VaultError {}

/**
 * The `kwallet` keyring. One D-Bus connection and wallet handle per instance, opened on first use, as the Go keyring
 * holds one per process (kwalletd ties a handle's authorisation to the connection).
 */
export class KWalletKeyring implements Keyring {
  /** Always `kwallet`. */
  readonly backend = "kwallet";
  #env: Env;
  #others: readonly string[];
  #timeoutMs: number;
  #openTimeoutMs?: number;
  #client?: Promise<KWalletClient>;
  #handle = -1;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: KWalletKeyringOptions) {
    this.#env = options.env;
    this.#others = options.otherBackends ?? [];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#openTimeoutMs = options.openTimeoutMs;
  }

  /** Reads the entry `key`; an empty value means there is none (as kwalletd answers for a missing entry). */
  async get(key: string): Promise<VaultItem> {
    const data = await this.#with((w, h) => w.readEntry(h, KWALLET_NAMES.folder, key, KWALLET_NAMES.appId));
    if (data.length === 0) throw new ItemNotFoundError(key);
    try {
      return itemFromJson(new TextDecoder().decode(data));
    } catch (e) {
      if (e instanceof InvalidDataError) {
        throw new CorruptItemError(`${KWALLET_NAMES.wallet}/${KWALLET_NAMES.folder}/${key}`, e.message);
      }
      throw e;
    }
  }

  /** Creates or replaces the entry `item.key` (kwalletd creates the folder when needed). */
  async set(item: VaultItem): Promise<void> {
    const value = new TextEncoder().encode(itemToJson(item));
    const rc = await this.#with((w, h) => w.writeEntry(h, KWALLET_NAMES.folder, item.key, value, KWALLET_NAMES.appId));
    value.fill(0);
    if (rc !== 0) throw this.#failed(`storing ${JSON.stringify(item.key)}`, rc);
  }

  /** Deletes the entry `key`; a missing one is {@link ItemNotFoundError} (kwalletd would answer -3). */
  async remove(key: string): Promise<void> {
    const rc = await this.#with(async (w, h) => {
      if (!await w.hasEntry(h, KWALLET_NAMES.folder, key, KWALLET_NAMES.appId)) return undefined;
      return await w.removeEntry(h, KWALLET_NAMES.folder, key, KWALLET_NAMES.appId);
    });
    if (rc === undefined) throw new ItemNotFoundError(key);
    if (rc !== 0) throw this.#failed(`removing ${JSON.stringify(key)}`, rc);
  }

  /** The folder's entry names, sorted. */
  async keys(): Promise<string[]> {
    const keys = await this.#with((w, h) => w.entryList(h, KWALLET_NAMES.folder, KWALLET_NAMES.appId));
    return [...new Set(keys)].sort();
  }

  /**
   * Runs `body` with an open wallet handle, turning D-Bus failures into messages that say what to do. Calls run one
   * at a time, so concurrent reads share one `open` (one password dialog at most).
   */
  #with<T>(body: (w: KWalletClient, handle: number) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => this.#withNow(body));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #withNow<T>(body: (w: KWalletClient, handle: number) => Promise<T>): Promise<T> {
    const address = sessionBusAddress(this.#env);
    if (address === undefined) {
      throw new KWalletUnavailableError(
        "the kwallet backend needs a D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set); run it in your " +
          `desktop session or ${this.#chooseOther()}`,
      );
    }
    try {
      this.#client ??= KWalletClient.connect(address, {
        callMs: this.#timeoutMs,
        openMs: this.#openTimeoutMs ?? defaultPromptTimeoutMs(this.#env),
      });
      const client = await this.#client.catch((e) => {
        this.#client = undefined;
        throw e;
      });
      // As the Go keyring: reuse the handle while the wallet is open, else open it (again).
      if (this.#handle < 0 || !await client.isOpen(this.#handle)) this.#handle = await this.#open(client);
      return await body(client, this.#handle);
    } catch (e) {
      if (e instanceof DBusCallError) throw this.#describe(e, address);
      throw e;
    }
  }

  async #open(client: KWalletClient): Promise<number> {
    const wallet = JSON.stringify(KWALLET_NAMES.wallet);
    let handle: number;
    try {
      handle = await client.open(KWALLET_NAMES.wallet, KWALLET_NAMES.appId);
    } catch (e) {
      if (!(e instanceof DBusCallError) || e.detail !== "timeout") throw e;
      throw new KWalletOpenError(
        isHeadless(this.#env)
          ? `KWallet did not open the wallet ${wallet} in time: it is waiting for its password, and no dialog can ` +
            `appear here (no display); open the wallet in your desktop session (e.g. with KWalletManager) and try ` +
            `again, or ${this.#chooseOther()}`
          : `KWallet did not open the wallet ${wallet} in time: its password dialog was not answered; try again, ` +
            `or ${this.#chooseOther()}`,
      );
    }
    if (handle >= 0) return handle;
    if (!await client.isEnabled().catch(() => true)) throw this.#disabled(false);
    throw new KWalletOpenError(
      `KWallet refused to open the wallet ${wallet} for aws-vault (the dialog was cancelled, or access was denied ` +
        `to the application "aws-vault" in the KDE Wallet settings); try again and allow access, or ` +
        this.#chooseOther(),
    );
  }

  #chooseOther(): string {
    return chooseAnotherBackend(this.#others);
  }

  #disabled(quit: boolean): KWalletUnavailableError {
    return new KWalletUnavailableError(
      `${quit ? "kwalletd quit without answering: KWallet is probably disabled" : "KWallet is disabled"}; enable it` +
        " in System Settings > KDE Wallet (or set " +
        `Enabled=true in the [Wallet] group of ~/.config/kwalletrc), or ${this.#chooseOther()}`,
    );
  }

  #failed(what: string, rc: number): KWalletError {
    return new KWalletError(
      `kwallet: ${what} in the wallet ${JSON.stringify(KWALLET_NAMES.wallet)} failed (kwalletd returned ${rc}); ` +
        `check that the wallet is open and writable, then try again`,
    );
  }

  #describe(e: DBusCallError, address: string): VaultError {
    const what = e.what;
    if (e.detail === "timeout") {
      return new KWalletError(`kwallet: ${what} did not finish in time; kwalletd is not answering`);
    }
    const remote = e.detail.remote ?? "";
    if (/ServiceUnknown|NameHasNoOwner|Spawn\./.test(remote)) {
      return new KWalletUnavailableError(
        "KWallet is not running on the D-Bus session bus and cannot be started (no org.kde.kwalletd6 or " +
          "org.kde.kwalletd5); install and start it (Debian/Ubuntu: apt-get install kwallet6, or " +
          `libkf5wallet-bin on older releases) or ${this.#chooseOther()}`,
      );
    }
    if (/NoReply/.test(remote)) return this.#disabled(true);
    if (what === "connecting" && !remote) {
      return new KWalletUnavailableError(
        `cannot connect to the D-Bus session bus at ${address}: ${e.detail.message}; check ` +
          `DBUS_SESSION_BUS_ADDRESS or ${this.#chooseOther()}`,
      );
    }
    return new KWalletError(`kwallet: ${what} failed: ${e.detail.message}`);
  }
}
