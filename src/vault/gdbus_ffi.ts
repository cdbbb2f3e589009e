/**
 * A small D-Bus client on GIO's GDBus through `Deno.dlopen`: a private connection to a bus address, method calls
 * with GVariant arguments built and read without any variadic C function (`g_variant_new_string`, `_int32`,
 * `_fixed_array`, `_tuple`; `g_variant_get_child_value`, `_get_int32`, `_get_fixed_array`, `_get_strv`, …).
 * Connecting and calling are `nonblocking` (Deno's worker pool), bounded by the D-Bus call timeout and a
 * GCancellable, so a peer that never answers (a daemon waiting on a password dialog) cannot hang the program.
 * The connection is private (not GLib's shared session bus), so a bus that goes away does not end the process.
 * @module
 */

import { VaultError } from "../core/errors.ts";
import { callBounded, cString, type GErrorInfo, readCString, slow } from "./libsecret_ffi.ts";

export type { GErrorInfo } from "./libsecret_ffi.ts";

const P = "pointer" as const;
const B = "buffer" as const;

// g_cancellable_*, g_dbus_error_get_remote_error (and GLib's g_error_free, g_free) serve callBounded and takeError.
const GIO_SYMBOLS = {
  // (address, GDBusConnectionFlags, observer, cancellable, GError**) → GDBusConnection* (full)
  g_dbus_connection_new_for_address_sync: slow([B, "u32", P, P, B], P),
  // (conn, bus_name, path, interface, method, params (floating, consumed), reply_type, flags, timeout_ms,
  //  cancellable, GError**) → GVariant* (full) or NULL
  g_dbus_connection_call_sync: slow([P, B, B, B, B, P, P, "u32", "i32", P, B], P),
  g_dbus_connection_close: { parameters: [P, P, P, P], result: "void" }, // async, no callback
  g_dbus_error_get_remote_error: { parameters: [P], result: P },
  g_cancellable_new: { parameters: [], result: P },
  g_cancellable_cancel: { parameters: [P], result: "void" },
  g_io_error_quark: { parameters: [], result: "u32" },
} as const;

const GLIB_SYMBOLS = {
  g_variant_new_string: { parameters: [B], result: P },
  g_variant_new_int32: { parameters: ["i32"], result: P },
  g_variant_new_int64: { parameters: ["i64"], result: P },
  g_variant_new_fixed_array: { parameters: [P, B, "usize", "usize"], result: P }, // copies the elements
  g_variant_new_tuple: { parameters: [B, "usize"], result: P }, // consumes floating children
  g_variant_type_new: { parameters: [B], result: P },
  g_variant_type_free: { parameters: [P], result: "void" },
  g_variant_n_children: { parameters: [P], result: "usize" },
  g_variant_get_child_value: { parameters: [P, "usize"], result: P }, // full reference
  g_variant_get_int32: { parameters: [P], result: "i32" },
  g_variant_get_boolean: { parameters: [P], result: "i32" },
  g_variant_get_fixed_array: { parameters: [P, B, "usize"], result: P }, // owned by the variant
  g_variant_get_strv: { parameters: [P, B], result: P }, // array to g_free, strings owned by the variant
  g_variant_unref: { parameters: [P], result: "void" },
  g_free: { parameters: [P], result: "void" },
  g_error_free: { parameters: [P], result: "void" },
} as const;

const GOBJECT_SYMBOLS = {
  g_object_unref: { parameters: [P], result: "void" },
} as const;

/** The opened GIO, GLib and GObject symbols. */
export interface Gio {
  /** GIO symbols (GDBus, GCancellable). */
  readonly gio: Deno.DynamicLibrary<typeof GIO_SYMBOLS>["symbols"];
  /** GLib symbols (GVariant, memory). */
  readonly glib: Deno.DynamicLibrary<typeof GLIB_SYMBOLS>["symbols"];
  /** GObject symbols. */
  readonly gobject: Deno.DynamicLibrary<typeof GOBJECT_SYMBOLS>["symbols"];
}

/** GIO cannot be loaded (not Linux, or libglib2.0-0 missing). */
export class GioUnavailableError extends VaultError {}

let loaded: Gio | undefined;
let loadError: GioUnavailableError | undefined;

/** Opens GIO once per process. @throws GioUnavailableError naming the package to install */
export function loadGio(): Gio {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  try {
    if (Deno.build.os !== "linux") throw new Error("D-Bus through GIO is only used on Linux");
    loaded = {
      gio: Deno.dlopen("libgio-2.0.so.0", GIO_SYMBOLS).symbols,
      glib: Deno.dlopen("libglib-2.0.so.0", GLIB_SYMBOLS).symbols,
      gobject: Deno.dlopen("libgobject-2.0.so.0", GOBJECT_SYMBOLS).symbols,
    };
    return loaded;
  } catch (e) {
    throw loadError = new GioUnavailableError(
      `D-Bus needs GLib's GIO library (${e instanceof Error ? e.message : e}); install it ` +
        `(Debian/Ubuntu: apt-get install libglib2.0-0)`,
    );
  }
}

/** GIO error codes this module interprets (`GIOErrorEnum`). */
const G_IO_ERROR_CANCELLED = 19;
const G_IO_ERROR_TIMED_OUT = 24;
/** `G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION`. */
const CLIENT_OF_MESSAGE_BUS = (1 << 0) | (1 << 3);

/** A GVariant argument, built into a floating GVariant by {@link DBusConnection.call}. */
export type DBusArg =
  | { readonly s: string }
  | { readonly i: number }
  | { readonly x: bigint }
  | { readonly ay: Uint8Array };

/** A failed D-Bus round trip: the GError, or `"timeout"` when the bound passed (the call was cancelled). */
export class DBusCallError extends Error {
  /** The call, as described by the caller (`connecting`, a method name). */
  readonly what: string;
  /** What GDBus reported, or `"timeout"`. */
  readonly detail: GErrorInfo | "timeout";
  constructor(what: string, detail: GErrorInfo | "timeout") {
    super(`${what}: ${detail === "timeout" ? "timed out" : detail.message}`);
    this.what = what;
    this.detail = detail;
  }
}

/**
 * Runs one nonblocking GIO call through {@link callBounded} (cancelled after `boundMs`, abandoned 2 s later if it
 * ignores the cancellation) and maps its outcome: the result, or {@link DBusCallError} — `"timeout"` when the bound
 * passed or GIO itself reported a time-out or cancellation.
 */
async function bounded(
  lib: Gio,
  call: { what: string; boundMs: number; release: (late: NonNullable<Deno.PointerValue>) => void },
  run: (cancellable: Deno.PointerValue, error: BigUint64Array<ArrayBuffer>) => Promise<Deno.PointerValue>,
): Promise<NonNullable<Deno.PointerValue>> {
  const { what, boundMs } = call;
  const { result, error, timedOut } = await callBounded(lib, boundMs, run);
  const ioError = lib.gio.g_io_error_quark();
  if (
    timedOut ||
    (error && error.domain === ioError && (error.code === G_IO_ERROR_TIMED_OUT || error.code === G_IO_ERROR_CANCELLED))
  ) {
    if (result) call.release(result); // it came after all: a connection or a reply nobody will use
    throw new DBusCallError(what, "timeout");
  }
  if (!result) throw new DBusCallError(what, error ?? { domain: 0, code: 0, message: "no reply" });
  return result;
}

/** A reply GVariant (a tuple), read field by field and released with {@link DBusReply.free}. */
export class DBusReply {
  #lib: Gio;
  #value: Deno.PointerValue;
  constructor(lib: Gio, value: Deno.PointerValue) {
    this.#lib = lib;
    this.#value = value;
  }

  #child<T>(index: number, read: (child: NonNullable<Deno.PointerValue>) => T): T {
    const { glib } = this.#lib;
    if (index >= Number(glib.g_variant_n_children(this.#value))) throw new Error(`reply has no field ${index}`);
    const child = glib.g_variant_get_child_value(this.#value, BigInt(index))!;
    try {
      return read(child);
    } finally {
      glib.g_variant_unref(child);
    }
  }

  /** Field `index` as an `i` (int32). */
  int32(index: number): number {
    return this.#child(index, (c) => this.#lib.glib.g_variant_get_int32(c));
  }

  /** Field `index` as a `b` (boolean). */
  boolean(index: number): boolean {
    return this.#child(index, (c) => this.#lib.glib.g_variant_get_boolean(c) !== 0);
  }

  /** Field `index` as an `ay` (bytes), copied out. */
  bytes(index: number): Uint8Array {
    return this.#child(index, (c) => {
      const n = new BigUint64Array(1);
      const ptr = this.#lib.glib.g_variant_get_fixed_array(c, n, 1n);
      const length = Number(n[0]);
      if (!ptr || length === 0) return new Uint8Array(0);
      return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, length)).slice();
    });
  }

  /** Field `index` as an `as` (string array). */
  strings(index: number): string[] {
    return this.#child(index, (c) => {
      const { glib } = this.#lib;
      const n = new BigUint64Array(1);
      const array = glib.g_variant_get_strv(c, n);
      if (!array) return [];
      try {
        const view = new Deno.UnsafePointerView(array);
        return Array.from({ length: Number(n[0]) }, (_, i) => readCString(view.getPointer(i * 8)) ?? "");
      } finally {
        glib.g_free(array);
      }
    });
  }

  /** Releases the reply. */
  free(): void {
    if (this.#value) this.#lib.glib.g_variant_unref(this.#value);
    this.#value = null;
  }
}

/** Options of {@link DBusConnection.call}. */
export interface CallOptions {
  /** Bus name of the peer, e.g. `org.kde.kwalletd5`. */
  readonly dest: string;
  /** Object path. */
  readonly path: string;
  /** Interface name. */
  readonly iface: string;
  /** Method name. */
  readonly method: string;
  /** Arguments, in order. */
  readonly args?: readonly DBusArg[];
  /** The reply's signature as a tuple, e.g. `(i)`; GDBus rejects a reply of another type. */
  readonly reply: string;
  /** Bound for this call, in milliseconds. */
  readonly timeoutMs: number;
  /** Describes the call in errors (never with argument values). */
  readonly what: string;
}

/** A private connection to a message bus. */
export class DBusConnection {
  #lib: Gio;
  #conn: Deno.PointerValue;

  private constructor(lib: Gio, conn: Deno.PointerValue) {
    this.#lib = lib;
    this.#conn = conn;
  }

  /** Connects to the bus at `address` (a D-Bus address string). @throws DBusCallError */
  static async open(address: string, timeoutMs: number): Promise<DBusConnection> {
    const lib = loadGio();
    const addr = cString(address);
    const conn = await bounded(
      lib,
      { what: "connecting", boundMs: timeoutMs, release: (late) => lib.gobject.g_object_unref(late) },
      (cancellable, error) =>
        lib.gio.g_dbus_connection_new_for_address_sync(addr, CLIENT_OF_MESSAGE_BUS, null, cancellable, error),
    );
    return new DBusConnection(lib, conn);
  }

  /** Calls a method and returns its reply, to be freed by the caller. @throws DBusCallError */
  async call(options: CallOptions): Promise<DBusReply> {
    const lib = this.#lib;
    const { glib } = lib;
    if (!this.#conn) throw new Error("the D-Bus connection is closed");
    const names = [options.dest, options.path, options.iface, options.method].map(cString);
    const params = this.#tuple(options.args ?? []);
    const replyType = glib.g_variant_type_new(cString(options.reply));
    try {
      const value = await bounded(
        lib,
        {
          what: options.what,
          // The D-Bus timeout below normally answers first, as G_IO_ERROR_TIMED_OUT.
          boundMs: options.timeoutMs + 500,
          release: (late) => glib.g_variant_unref(late),
        },
        (cancellable, error) =>
          lib.gio.g_dbus_connection_call_sync(
            this.#conn,
            names[0],
            names[1],
            names[2],
            names[3],
            params,
            replyType,
            0,
            Math.max(1, Math.min(options.timeoutMs, 0x7fffffff)),
            cancellable,
            error,
          ),
      );
      return new DBusReply(lib, value);
    } finally {
      glib.g_variant_type_free(replyType);
    }
  }

  /** Closes the connection (asynchronously in GIO) and drops it. */
  close(): void {
    if (!this.#conn) return;
    this.#lib.gio.g_dbus_connection_close(this.#conn, null, null, null);
    this.#lib.gobject.g_object_unref(this.#conn);
    this.#conn = null;
  }

  /** A floating `(…)` GVariant of `args`, consumed by `g_dbus_connection_call_sync`. */
  #tuple(args: readonly DBusArg[]): Deno.PointerValue {
    const { glib } = this.#lib;
    const children = new BigUint64Array(Math.max(1, args.length));
    args.forEach((arg, i) => {
      let v: Deno.PointerValue;
      if ("s" in arg) v = glib.g_variant_new_string(cString(arg.s));
      else if ("i" in arg) v = glib.g_variant_new_int32(arg.i);
      else if ("x" in arg) v = glib.g_variant_new_int64(arg.x);
      else {
        const byteType = glib.g_variant_type_new(cString("y"));
        const bytes = arg.ay.length ? arg.ay : new Uint8Array(1); // a valid pointer even for no elements
        v = glib.g_variant_new_fixed_array(byteType, bytes, BigInt(arg.ay.length), 1n);
        glib.g_variant_type_free(byteType);
      }
      children[i] = BigInt(Deno.UnsafePointer.value(v));
    });
    return glib.g_variant_new_tuple(children, BigInt(args.length));
  }
}
