/**
 * The thin FFI layer under the secret-service backend: libsecret, GLib, GObject and GIO opened with `Deno.dlopen`,
 * plus helpers for C strings, GError, GList and attribute tables. No variadic C function is declared: libsecret's
 * `…v` / object APIs and plain GLib calls only. Calls that talk to D-Bus are `nonblocking` (they run on a worker
 * thread and return a Promise) so the caller can cancel them through a GCancellable when they take too long.
 * @module
 */

import { VaultError } from "../core/errors.ts";

const P = "pointer" as const;
const B = "buffer" as const;
/** A blocking D-Bus call's symbol definition: it runs on Deno's worker pool so JS stays free to cancel it. */
export const slow = <const A extends Deno.NativeType[], const R extends Deno.NativeResultType>(
  parameters: A,
  result: R,
) => ({
  parameters,
  result,
  nonblocking: true as const,
});

const SECRET_SYMBOLS = {
  secret_service_get_sync: slow(["u32", P, B], P), // (flags, cancellable, GError**) → SecretService* (full)
  secret_service_get_collections: { parameters: [P], result: P }, // → GList<SecretCollection*> (full)
  secret_service_unlock_sync: slow([P, P, P, B, B], "i32"), // (service, GList*, cancellable, GList** out, GError**)
  secret_collection_create_sync: slow([P, B, P, "u32", P, B], P), // (service, label, alias, flags, cancellable, err)
  secret_collection_get_locked: { parameters: [P], result: "i32" },
  secret_collection_search_sync: slow([P, P, P, "u32", P, B], P), // (coll, schema, attrs, flags, cancel, err) → GList
  secret_item_create_sync: slow([P, P, P, B, P, "u32", P, B], P), // (coll, schema, attrs, label, value, flags, …)
  secret_item_delete_sync: slow([P, P, B], "i32"),
  secret_item_get_label: { parameters: [P], result: P }, // → gchar* (full, g_free)
  secret_item_get_attributes: { parameters: [P], result: P }, // → GHashTable* (full, g_hash_table_unref)
  secret_item_get_locked: { parameters: [P], result: "i32" },
  secret_item_load_secret_sync: slow([P, P, B], "i32"),
  secret_item_get_secret: { parameters: [P], result: P }, // → SecretValue* (full, secret_value_unref) or NULL
  secret_value_new: { parameters: [B, "isize", B], result: P }, // copies both buffers
  secret_value_get: { parameters: [P, B], result: P }, // → const bytes owned by the value
  secret_value_get_content_type: { parameters: [P], result: P }, // → const gchar* owned by the value
  secret_value_unref: { parameters: [P], result: "void" },
  secret_error_get_quark: { parameters: [], result: "u32" },
} as const;

const GLIB_SYMBOLS = {
  g_hash_table_new_full: { parameters: [P, P, P, P], result: P },
  g_hash_table_insert: { parameters: [P, P, P], result: "i32" },
  g_hash_table_lookup: { parameters: [P, B], result: P },
  g_hash_table_unref: { parameters: [P], result: "void" },
  g_strdup: { parameters: [B], result: P },
  g_free: { parameters: [P], result: "void" },
  g_error_free: { parameters: [P], result: "void" },
  g_list_free: { parameters: [P], result: "void" },
  g_list_append: { parameters: [P, P], result: P }, // (list, data) → new head; data is not referenced
} as const;

const GOBJECT_SYMBOLS = {
  g_object_unref: { parameters: [P], result: "void" },
} as const;

const GIO_SYMBOLS = {
  g_cancellable_new: { parameters: [], result: P },
  g_cancellable_cancel: { parameters: [P], result: "void" },
  g_dbus_proxy_get_object_path: { parameters: [P], result: P }, // → const gchar* owned by the proxy
  g_dbus_error_get_remote_error: { parameters: [P], result: P }, // (const GError*) → gchar* (full) or NULL
  g_io_error_quark: { parameters: [], result: "u32" },
} as const;

const LIBC_SYMBOLS = {
  dlopen: { parameters: [B, "i32"], result: P },
  dlsym: { parameters: [P, B], result: P },
} as const;

/** The opened libraries and the GLib function addresses that are passed as callbacks. */
export interface LibSecret {
  /** libsecret-1 symbols. */
  readonly secret: Deno.DynamicLibrary<typeof SECRET_SYMBOLS>["symbols"];
  /** GLib symbols. */
  readonly glib: Deno.DynamicLibrary<typeof GLIB_SYMBOLS>["symbols"];
  /** GObject symbols. */
  readonly gobject: Deno.DynamicLibrary<typeof GOBJECT_SYMBOLS>["symbols"];
  /** GIO symbols. */
  readonly gio: Deno.DynamicLibrary<typeof GIO_SYMBOLS>["symbols"];
  /** Addresses of `g_str_hash`, `g_str_equal` and `g_free`, for `g_hash_table_new_full`. */
  readonly fn: { readonly strHash: Deno.PointerValue; readonly strEqual: Deno.PointerValue; gFree: Deno.PointerValue };
}

/**
 * The few GLib, GObject and GIO symbols that GError handling and {@link callBounded} use. {@link LibSecret} has them,
 * and so has gdbus_ffi's own GIO set, so both backends' D-Bus calls share one bounded-call implementation.
 */
export interface GioCore {
  /** `g_free`, `g_error_free`. */
  readonly glib: Pick<LibSecret["glib"], "g_free" | "g_error_free">;
  /** `g_object_unref`. */
  readonly gobject: Pick<LibSecret["gobject"], "g_object_unref">;
  /** `g_cancellable_new`, `g_cancellable_cancel`, `g_dbus_error_get_remote_error`. */
  readonly gio: Pick<LibSecret["gio"], "g_cancellable_new" | "g_cancellable_cancel" | "g_dbus_error_get_remote_error">;
}

/** libsecret (or GLib) cannot be loaded: the package is not installed. */
export class LibSecretUnavailableError extends VaultError {}

let loaded: LibSecret | undefined;
let loadError: LibSecretUnavailableError | undefined;
const RTLD_NOW = 2;

/** Opens the libraries once per process. @throws LibSecretUnavailableError naming the package to install */
export function loadLibSecret(): LibSecret {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  if (Deno.build.os !== "linux") {
    throw loadError = new LibSecretUnavailableError("the secret-service backend is only available on Linux");
  }
  try {
    const secret = Deno.dlopen("libsecret-1.so.0", SECRET_SYMBOLS).symbols;
    const glib = Deno.dlopen("libglib-2.0.so.0", GLIB_SYMBOLS).symbols;
    const gobject = Deno.dlopen("libgobject-2.0.so.0", GOBJECT_SYMBOLS).symbols;
    const gio = Deno.dlopen("libgio-2.0.so.0", GIO_SYMBOLS).symbols;
    // Deno hands out callable symbols, not addresses; GLib's hash/equal/free callbacks need the addresses, so take
    // them from the already loaded GLib through libc (the handle is never closed: the libraries live as long as we do).
    const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    const handle = libc.dlopen(cString("libglib-2.0.so.0"), RTLD_NOW);
    const addr = (name: string) => {
      const p = libc.dlsym(handle, cString(name));
      if (!p) throw new Error(`${name} not found in GLib`);
      return p;
    };
    loaded = {
      secret,
      glib,
      gobject,
      gio,
      fn: { strHash: addr("g_str_hash"), strEqual: addr("g_str_equal"), gFree: addr("g_free") },
    };
    return loaded;
  } catch (e) {
    throw loadError = new LibSecretUnavailableError(
      `the secret-service backend needs libsecret (${e instanceof Error ? e.message : e}); install it ` +
        `(Debian/Ubuntu: apt-get install libsecret-1-0) or choose another --backend`,
    );
  }
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `text` in JS memory; valid while the returned array is referenced. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  if (text.includes("\0")) throw new VaultError("names and keys must not contain NUL characters");
  return encoder.encode(text + "\0");
}

/** Reads a NUL-terminated UTF-8 string; the caller still owns `ptr`. */
export function readCString(ptr: Deno.PointerValue): string | undefined {
  return ptr ? Deno.UnsafePointerView.getCString(ptr) : undefined;
}

/** Reads and frees a `gchar*` the caller owns (transfer full). */
export function takeCString(lib: GioCore, ptr: Deno.PointerValue): string | undefined {
  if (!ptr) return undefined;
  try {
    return Deno.UnsafePointerView.getCString(ptr);
  } finally {
    lib.glib.g_free(ptr);
  }
}

/** A `GError**` out-slot: pass `slot` where the C function wants `GError **error`. */
export function errorSlot(): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(1);
}

/** What a GError said, copied out of C memory. */
export interface GErrorInfo {
  /** The error domain's quark. */
  readonly domain: number;
  /** The domain-specific code. */
  readonly code: number;
  /** GLib's message (English, for diagnostics). */
  readonly message: string;
  /** For D-Bus errors from the peer: the remote error name, e.g. `org.freedesktop.DBus.Error.ServiceUnknown`. */
  readonly remote?: string;
}

/** Copies out and frees the GError in `slot`, if any, and clears the slot. */
export function takeError(lib: GioCore, slot: BigUint64Array): GErrorInfo | undefined {
  if (slot[0] === 0n) return undefined;
  const ptr = Deno.UnsafePointer.create(slot[0]);
  slot[0] = 0n;
  // struct GError { GQuark domain; gint code; gchar *message; } on LP64: u32 at 0, i32 at 4, pointer at 8.
  const view = new Deno.UnsafePointerView(ptr!);
  const info = {
    domain: view.getUint32(0),
    code: view.getInt32(4),
    message: readCString(view.getPointer(8)) ?? "",
    remote: takeCString(lib, lib.gio.g_dbus_error_get_remote_error(ptr)),
  };
  lib.glib.g_error_free(ptr);
  return info;
}

/**
 * Builds a `GHashTable<gchar*, gchar*>` that owns copies of every key and value (freed by the table), so no JS
 * buffer has to outlive this call. The caller owns the table: `g_hash_table_unref` it.
 */
export function newAttributes(lib: LibSecret, attributes: Record<string, string>): Deno.PointerValue {
  const table = lib.glib.g_hash_table_new_full(lib.fn.strHash, lib.fn.strEqual, lib.fn.gFree, lib.fn.gFree);
  for (const [k, v] of Object.entries(attributes)) {
    lib.glib.g_hash_table_insert(table, lib.glib.g_strdup(cString(k)), lib.glib.g_strdup(cString(v)));
  }
  return table;
}

/** Looks up a string value in a `GHashTable<gchar*, gchar*>`; the table keeps ownership. */
export function lookupAttribute(lib: LibSecret, table: Deno.PointerValue, name: string): string | undefined {
  return readCString(lib.glib.g_hash_table_lookup(table, cString(name)));
}

/**
 * Returns the `data` pointers of a GList and frees the list cells (not the elements). The caller takes over the
 * element references the list held (for transfer-full lists of GObjects: `g_object_unref` each).
 */
export function takeList(lib: LibSecret, list: Deno.PointerValue): Deno.PointerValue[] {
  const out: Deno.PointerValue[] = [];
  // struct GList { gpointer data; GList *next; GList *prev; }
  for (let node = list; node; node = new Deno.UnsafePointerView(node).getPointer(8)) {
    out.push(new Deno.UnsafePointerView(node).getPointer(0));
  }
  if (list) lib.glib.g_list_free(list);
  return out;
}

/** Drops a GObject reference; `null` is ignored. */
export function unref(lib: GioCore, object: Deno.PointerValue): void {
  if (object) lib.gobject.g_object_unref(object);
}

/** The outcome of {@link callBounded}. */
export interface BoundedResult<R> {
  /** What the C function returned (also when it returned after the bound); undefined when it was abandoned. */
  readonly result?: R;
  /** The GError it set, copied out and freed. */
  readonly error?: GErrorInfo;
  /** The bound passed: the call was cancelled (and abandoned if it ignored the cancellation). */
  readonly timedOut: boolean;
}

/**
 * Runs one `nonblocking` GIO call (libsecret's or GDBus's; it gets a fresh GCancellable and GError slot) and cancels
 * it through the GCancellable after `timeoutMs`. A call that ignores the cancellation is abandoned 2 s later: its
 * worker thread keeps the cancellable (leaked on purpose, it may still be used), and the process exits without
 * waiting for it. The result is never released here: the caller knows its type (and may leave a late one alone).
 */
export async function callBounded<R>(
  lib: GioCore,
  timeoutMs: number,
  run: (cancellable: Deno.PointerValue, error: BigUint64Array<ArrayBuffer>) => Promise<R>,
): Promise<BoundedResult<R>> {
  const cancellable = lib.gio.g_cancellable_new(); // owned here; g_object_unref once the call has returned
  const slot = errorSlot();
  let timedOut = false;
  let abandon: (value: "abandoned") => void = () => {};
  const cancelTimer = setTimeout(() => {
    timedOut = true;
    lib.gio.g_cancellable_cancel(cancellable);
  }, timeoutMs);
  const abandonTimer = setTimeout(() => abandon("abandoned"), timeoutMs + 2_000);
  const result = await Promise.race([run(cancellable, slot), new Promise<"abandoned">((r) => abandon = r)]);
  clearTimeout(cancelTimer);
  clearTimeout(abandonTimer);
  if (result === "abandoned") return { timedOut: true };
  unref(lib, cancellable);
  const error = takeError(lib, slot);
  return { result, error, timedOut };
}
