/**
 * The KWallet D-Bus API (`org.kde.KWallet`) as the `kwallet` backend uses it: the methods the Go aws-vault's
 * keyring calls (`isOpen`, `open`, `entryList`, `readEntry`, `writeEntry`, `removeEntry`) plus `hasEntry` and
 * `isEnabled`, typed, on a {@link DBusConnection}. Also which daemon to talk to: KF6's `org.kde.kwalletd6`
 * (`/modules/kwalletd6`) or KF5's `org.kde.kwalletd5` (`/modules/kwalletd5`). kwalletd6 registers both names and both
 * paths on one object, so either reaches the same wallets.
 * @module
 */

import { type DBusArg, DBusConnection, type DBusReply } from "./gdbus_ffi.ts";

/** The KWallet interface name, the same for KF5 and KF6. */
export const KWALLET_INTERFACE = "org.kde.KWallet";

/** One KWallet daemon's bus name and object path. */
export interface KWalletDaemon {
  /** Bus name, e.g. `org.kde.kwalletd6`. */
  readonly name: string;
  /** Object path, e.g. `/modules/kwalletd6`. */
  readonly path: string;
}

/** KF6's daemon. */
export const KWALLETD6: KWalletDaemon = { name: "org.kde.kwalletd6", path: "/modules/kwalletd6" };
/** KF5's daemon: the one the Go aws-vault calls. */
export const KWALLETD5: KWalletDaemon = { name: "org.kde.kwalletd5", path: "/modules/kwalletd5" };

/** What the bus says about the two daemons. */
export interface BusNames {
  /** Names with an owner now. */
  readonly running: ReadonlySet<string>;
  /** Names the bus can start on demand (`ListActivatableNames`). */
  readonly activatable: ReadonlySet<string>;
}

/**
 * The daemon to use: a running one first (kwalletd6, then kwalletd5: never start a second daemon beside a running
 * one, both would use the same wallet files), else an activatable kwalletd6, else kwalletd5 (whose call then fails
 * with `ServiceUnknown` when nothing provides it, which the caller reports).
 */
export function chooseDaemon(names: BusNames): KWalletDaemon {
  if (names.running.has(KWALLETD6.name)) return KWALLETD6;
  if (names.running.has(KWALLETD5.name)) return KWALLETD5;
  if (names.activatable.has(KWALLETD6.name)) return KWALLETD6;
  return KWALLETD5;
}

/** Bounds for the calls, in milliseconds. */
export interface KWalletTimeouts {
  /** For every call that cannot wait for the user. */
  readonly callMs: number;
  /** For `open`, which may show the wallet's password dialog. */
  readonly openMs: number;
}

/** A typed client of one KWallet daemon on one connection. Methods throw `DBusCallError` on D-Bus failures. */
export class KWalletClient {
  /** The daemon this client talks to. */
  readonly daemon: KWalletDaemon;
  #conn: DBusConnection;
  #timeouts: KWalletTimeouts;

  private constructor(conn: DBusConnection, daemon: KWalletDaemon, timeouts: KWalletTimeouts) {
    this.#conn = conn;
    this.daemon = daemon;
    this.#timeouts = timeouts;
  }

  /** Connects to the bus at `address` and picks the daemon with {@link chooseDaemon}. */
  static async connect(address: string, timeouts: KWalletTimeouts): Promise<KWalletClient> {
    const conn = await DBusConnection.open(address, timeouts.callMs);
    try {
      const bus = (method: string, args: DBusArg[], reply: string) =>
        conn.call({
          dest: "org.freedesktop.DBus",
          path: "/org/freedesktop/DBus",
          iface: "org.freedesktop.DBus",
          method,
          args,
          reply,
          timeoutMs: timeouts.callMs,
          what: `asking the bus (${method})`,
        });
      const running = new Set<string>();
      for (const { name } of [KWALLETD6, KWALLETD5]) {
        if (await read(bus("NameHasOwner", [{ s: name }], "(b)"), (r) => r.boolean(0))) running.add(name);
      }
      const activatable = running.size
        ? new Set<string>()
        : new Set(await read(bus("ListActivatableNames", [], "(as)"), (r) => r.strings(0)));
      return new KWalletClient(conn, chooseDaemon({ running, activatable }), timeouts);
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  #call<T>(method: string, args: DBusArg[], reply: string, get: (r: DBusReply) => T, timeoutMs?: number) {
    return read(
      this.#conn.call({
        dest: this.daemon.name,
        path: this.daemon.path,
        iface: KWALLET_INTERFACE,
        method,
        args,
        reply,
        timeoutMs: timeoutMs ?? this.#timeouts.callMs,
        what: method,
      }),
      get,
    );
  }

  /** `isEnabled() → b`: false when KWallet is switched off in its settings. */
  isEnabled(): Promise<boolean> {
    return this.#call("isEnabled", [], "(b)", (r) => r.boolean(0));
  }

  /** `isOpen(i handle) → b`. */
  isOpen(handle: number): Promise<boolean> {
    return this.#call("isOpen", [{ i: handle }], "(b)", (r) => r.boolean(0));
  }

  /** `open(s wallet, x wId, s appid) → i`: a handle, negative when refused. May wait for a password dialog. */
  open(wallet: string, appId: string): Promise<number> {
    return this.#call(
      "open",
      [{ s: wallet }, { x: 0n }, { s: appId }],
      "(i)",
      (r) => r.int32(0),
      this.#timeouts.openMs,
    );
  }

  /** `entryList(i, s folder, s appid) → as`. */
  entryList(handle: number, folder: string, appId: string): Promise<string[]> {
    return this.#call("entryList", [{ i: handle }, { s: folder }, { s: appId }], "(as)", (r) => r.strings(0));
  }

  /** `hasEntry(i, s folder, s key, s appid) → b`. */
  hasEntry(handle: number, folder: string, key: string, appId: string): Promise<boolean> {
    return this.#call("hasEntry", [{ i: handle }, { s: folder }, { s: key }, { s: appId }], "(b)", (r) => r.boolean(0));
  }

  /** `readEntry(i, s folder, s key, s appid) → ay`: empty when there is no such entry. */
  readEntry(handle: number, folder: string, key: string, appId: string): Promise<Uint8Array> {
    return this.#call("readEntry", [{ i: handle }, { s: folder }, { s: key }, { s: appId }], "(ay)", (r) => r.bytes(0));
  }

  /** `writeEntry(i, s folder, s key, ay value, s appid) → i`: 0 on success. Creates the folder if needed. */
  writeEntry(handle: number, folder: string, key: string, value: Uint8Array, appId: string): Promise<number> {
    return this.#call(
      "writeEntry",
      [{ i: handle }, { s: folder }, { s: key }, { ay: value }, { s: appId }],
      "(i)",
      (r) => r.int32(0),
    );
  }

  /** `removeEntry(i, s folder, s key, s appid) → i`: 0 on success. */
  removeEntry(handle: number, folder: string, key: string, appId: string): Promise<number> {
    return this.#call(
      "removeEntry",
      [{ i: handle }, { s: folder }, { s: key }, { s: appId }],
      "(i)",
      (r) => r.int32(0),
    );
  }
}

async function read<T>(reply: Promise<DBusReply>, get: (r: DBusReply) => T): Promise<T> {
  const r = await reply;
  try {
    return get(r);
  } finally {
    r.free();
  }
}
