/**
 * The Windows Credential Manager's native layer: advapi32 `Cred*W` through `Deno.dlopen`, opened lazily and only on
 * Windows, plus the pure CREDENTIALW (x64) and UTF-16LE codecs it needs, which are testable on any OS.
 * It implements {@link WincredApi} and wires it into {@link openWincredKeyring}; aws-vault's rules live in
 * `wincred.ts`.
 * Every buffer returned by CredReadW/CredEnumerateW is released with CredFree.
 * @module
 */

import { VaultError } from "../core/errors.ts";
import { type WincredApi, wincredAvailable, WincredKeyring } from "./wincred.ts";

/** `CRED_TYPE_GENERIC`. */
export const CRED_TYPE_GENERIC = 1;
/** `CRED_PERSIST_LOCAL_MACHINE`: what go's wincred `NewGenericCredential` sets (survives logoff, this machine). */
export const CRED_PERSIST_LOCAL_MACHINE = 2;
/** `ERROR_NOT_FOUND` (GetLastError after a lookup of a missing credential; not relied on, see {@link wincredApiOver}). */
export const ERROR_NOT_FOUND = 1168;
/** `sizeof(CREDENTIALW)` on x64. */
export const CREDENTIALW_SIZE = 80;

/** Byte offsets of CREDENTIALW's fields on x64 (natural alignment: 4 bytes of padding after CredentialBlobSize). */
export const CREDENTIALW_OFFSETS = {
  flags: 0,
  type: 4,
  targetName: 8,
  comment: 16,
  lastWritten: 24,
  credentialBlobSize: 32,
  credentialBlob: 40,
  persist: 48,
  attributeCount: 52,
  attributes: 56,
  targetAlias: 64,
  userName: 72,
} as const;

/** CREDENTIALW's fields as numbers; pointers and the FILETIME as 64-bit integers. */
export interface CredentialFields {
  flags: number;
  type: number;
  targetName: bigint;
  comment: bigint;
  /** FILETIME as one little-endian u64 (dwLowDateTime first). */
  lastWritten: bigint;
  credentialBlobSize: number;
  credentialBlob: bigint;
  persist: number;
  attributeCount: number;
  attributes: bigint;
  targetAlias: bigint;
  userName: bigint;
}

/**
 * A Credential Manager call failed; `code` is the GetLastError value read right after it (for the message: see
 * {@link wincredApiOver}). `unavailable`: this logon session has no credential store (CredGetSessionTypes).
 */
export class WincredError extends VaultError {
  /** The Win32 error code. */
  readonly code: number;
  /** True when this logon session cannot store generic credentials at all. */
  readonly unavailable: boolean;
  constructor(operation: string, code: number, options?: { unavailable?: boolean }) {
    super(
      options?.unavailable
        ? `Windows Credential Manager is not available in this logon session: ${operation} failed (error ${code})`
        : `Windows Credential Manager: ${operation} failed (error ${code})`,
    );
    this.code = code;
    this.unavailable = options?.unavailable ?? false;
  }
}

/** Encodes a string as UTF-16LE code units plus a NUL terminator (what `LPCWSTR` parameters take). */
export function encodeUtf16z(text: string): Uint8Array {
  if (text.includes("\0")) throw new VaultError("Windows Credential Manager names cannot contain NUL characters");
  const bytes = new Uint8Array((text.length + 1) * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < text.length; i++) view.setUint16(i * 2, text.charCodeAt(i), true);
  return bytes;
}

/** Decodes UTF-16LE code units up to the first NUL (or the end); unpaired surrogates survive unchanged. */
export function decodeUtf16z(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const units: number[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const unit = view.getUint16(i, true);
    if (unit === 0) break;
    units.push(unit);
  }
  return unitsToString(units);
}

function unitsToString(units: number[]): string {
  let text = "";
  // Chunked: spreading a very long array into one call would exceed the argument limit.
  for (let i = 0; i < units.length; i += 8192) text += String.fromCharCode(...units.slice(i, i + 8192));
  return text;
}

/** Lays out a CREDENTIALW (x64, little-endian); missing fields are zero/NULL. */
export function encodeCredential(fields: Partial<CredentialFields>): Uint8Array {
  const bytes = new Uint8Array(CREDENTIALW_SIZE);
  const view = new DataView(bytes.buffer);
  const o = CREDENTIALW_OFFSETS;
  for (const name of ["flags", "type", "credentialBlobSize", "persist", "attributeCount"] as const) {
    view.setUint32(o[name], fields[name] ?? 0, true);
  }
  for (
    const name of [
      "targetName",
      "comment",
      "lastWritten",
      "credentialBlob",
      "attributes",
      "targetAlias",
      "userName",
    ] as const
  ) view.setBigUint64(o[name], fields[name] ?? 0n, true);
  return bytes;
}

/** Reads a CREDENTIALW (x64, little-endian) from its 80 bytes. */
export function decodeCredential(bytes: Uint8Array): CredentialFields {
  if (bytes.length < CREDENTIALW_SIZE) throw new VaultError("CREDENTIALW needs 80 bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, CREDENTIALW_SIZE);
  const o = CREDENTIALW_OFFSETS;
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => view.getBigUint64(at, true);
  return {
    flags: u32(o.flags),
    type: u32(o.type),
    targetName: u64(o.targetName),
    comment: u64(o.comment),
    lastWritten: u64(o.lastWritten),
    credentialBlobSize: u32(o.credentialBlobSize),
    credentialBlob: u64(o.credentialBlob),
    persist: u32(o.persist),
    attributeCount: u32(o.attributeCount),
    attributes: u64(o.attributes),
    targetAlias: u64(o.targetAlias),
    userName: u64(o.userName),
  };
}

/** Reads a NUL-terminated UTF-16LE string from native memory; NULL reads as "". */
export function readUtf16zAt(address: bigint): string {
  const ptr = Deno.UnsafePointer.create(address);
  if (!ptr) return "";
  const view = new Deno.UnsafePointerView(ptr);
  const units: number[] = [];
  for (let at = 0;; at += 2) {
    const unit = view.getUint16(at);
    if (unit === 0) break;
    units.push(unit);
  }
  return unitsToString(units);
}

/** Copies `length` bytes of native memory into a JavaScript-owned array; NULL or 0 gives an empty array. */
export function readBytesAt(address: bigint, length: number): Uint8Array {
  const ptr = Deno.UnsafePointer.create(address);
  if (!ptr || length === 0) return new Uint8Array(0);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, length).slice(0));
}

/** Reads the CREDENTIALW a native pointer points to. */
export function readCredentialAt(address: bigint): CredentialFields {
  const ptr = Deno.UnsafePointer.create(address);
  if (!ptr) throw new VaultError("Windows Credential Manager returned a NULL credential");
  return decodeCredential(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, CREDENTIALW_SIZE)));
}

/** Reads element `index` of a native `PCREDENTIALW[]` (CredEnumerateW's result). */
export function readPointerAt(address: bigint, index: number): bigint {
  const ptr = Deno.UnsafePointer.create(address);
  if (!ptr) throw new VaultError("Windows Credential Manager returned a NULL list");
  return BigInt(Deno.UnsafePointer.value(new Deno.UnsafePointerView(ptr).getPointer(index * 8)));
}

const pointerValue = (buf: Uint8Array): bigint =>
  buf.length === 0 ? 0n : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));

/**
 * Builds the CREDENTIALW that CredWriteW takes for an aws-vault item: generic, local-machine persistence (as go's
 * wincred), Comment/TargetAlias/UserName NULL (optional for generic credentials; aws-vault stores none). `struct`
 * points into `keep`, which must stay referenced until the call returns; `wipe` zeroes the copied secret afterwards.
 */
export function genericCredential(target: string, blob: Uint8Array): {
  struct: Uint8Array;
  keep: Uint8Array[];
  wipe: () => void;
} {
  const name = encodeUtf16z(target);
  const data = blob.slice();
  const struct = encodeCredential({
    type: CRED_TYPE_GENERIC,
    targetName: pointerValue(name),
    credentialBlobSize: data.length,
    credentialBlob: pointerValue(data),
    persist: CRED_PERSIST_LOCAL_MACHINE,
  });
  return { struct, keep: [name, data], wipe: () => data.fill(0) };
}

/** advapi32.dll functions (`BOOL` = i32, `DWORD` = u32, `LPCWSTR`/out-pointers as buffers). */
export const ADVAPI32_SYMBOLS = {
  CredReadW: { parameters: ["buffer", "u32", "u32", "buffer"], result: "i32" },
  CredWriteW: { parameters: ["buffer", "u32"], result: "i32" },
  CredDeleteW: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  CredEnumerateW: { parameters: ["buffer", "u32", "buffer", "buffer"], result: "i32" },
  CredFree: { parameters: ["pointer"], result: "void" },
  CredGetSessionTypes: { parameters: ["u32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** kernel32.dll: the error code of a failed Cred* call, for the error message only (see {@link wincredApiOver}). */
export const KERNEL32_SYMBOLS = {
  GetLastError: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** `CRED_TYPE_MAXIMUM`: the length of the array CredGetSessionTypes fills. */
export const CRED_TYPE_MAXIMUM = 7;
/** `CRED_PERSIST_NONE`: CredGetSessionTypes' answer for a type this logon session cannot store. */
export const CRED_PERSIST_NONE = 0;

/**
 * What {@link wincredApiOver} calls: advapi32's Cred* functions and GetLastError. {@link nativeCredFunctions} gives
 * the real ones; tests wrap them to make a call fail or the last-error value lie.
 */
export type CredFunctions = Deno.DynamicLibrary<typeof ADVAPI32_SYMBOLS>["symbols"] & {
  /** GetLastError. */
  lastError(): number;
};

let loaded: CredFunctions | undefined;

/** The real advapi32/kernel32 functions, loaded on first use. @throws VaultError off Windows */
export function nativeCredFunctions(): CredFunctions {
  if (loaded) return loaded;
  if (Deno.build.os !== "windows") throw new VaultError("Windows Credential Manager is only available on Windows");
  const advapi = Deno.dlopen("advapi32.dll", ADVAPI32_SYMBOLS).symbols;
  const kernel = Deno.dlopen("kernel32.dll", KERNEL32_SYMBOLS).symbols;
  loaded = { ...advapi, lastError: () => kernel.GetLastError() };
  return loaded;
}

/** Frees a buffer Windows allocated, after `use` has copied what it needs out of it. */
function withFree<T>(fns: CredFunctions, address: bigint, use: () => T): T {
  try {
    return use();
  } finally {
    fns.CredFree(Deno.UnsafePointer.create(address));
  }
}

/** Target names compare case-insensitively in the Credential Manager. */
const sameTarget = (a: string, b: string) => a.length === b.length && a.toLowerCase() === b.toLowerCase();

/**
 * The {@link WincredApi} over the given Cred* functions.
 *
 * Whether an item is missing is never decided from the thread's last-error value. Deno has no way to call a function
 * and read GetLastError in one native step: the read is a second FFI call, and between the two, Deno's FFI return
 * path, V8 and whatever JavaScript runs (an interrupt, a GC step) may make Win32 calls that overwrite it. A clobbered
 * ERROR_NOT_FOUND would turn "no cached session yet" into a hard error, and the reverse would hide a real failure. So
 * every decision rests on what calls *return*, which nothing can overwrite:
 *
 * - CredReadW/CredDeleteW failed → CredEnumerateW with the target itself as the filter (`<target>*`, the documented
 *   prefix form). It succeeds and lists the target (compared case-insensitively, as Windows does): the item exists,
 *   so the failure is real and is thrown. It succeeds without it: the item is absent. It fails: on a working store
 *   that is its way of saying "nothing matches" (our arguments are valid), so the item is absent; on a logon session
 *   without a credential set (`CredGetSessionTypes` fails or answers CRED_PERSIST_NONE for generic credentials, as
 *   for an SSH key logon) the failure is thrown.
 * - CredEnumerateW of the `aws-vault:aws-vault:*` filter failed → an empty list on a working store, else thrown.
 * - CredWriteW failed → always an error.
 *
 * GetLastError is still read, as the first thing after the failed call, but only for the number in the message.
 */
export function wincredApiOver(fns: CredFunctions): WincredApi {
  /** Target names matching `filter`, or undefined when CredEnumerateW failed. */
  const enumerate = (filter: string): string[] | undefined => {
    const count = new Uint32Array(1);
    const out = new BigUint64Array(1);
    if (fns.CredEnumerateW(encodeUtf16z(filter), 0, count, out) === 0) return undefined;
    return withFree(fns, out[0], () => {
      const names: string[] = [];
      for (let i = 0; i < count[0]; i++) {
        names.push(readUtf16zAt(readCredentialAt(readPointerAt(out[0], i)).targetName));
      }
      return names;
    });
  };
  const storeUsable = (): boolean => {
    const persists = new Uint32Array(CRED_TYPE_MAXIMUM);
    return fns.CredGetSessionTypes(CRED_TYPE_MAXIMUM, persists) !== 0 &&
      persists[CRED_TYPE_GENERIC] !== CRED_PERSIST_NONE;
  };
  /** After a failed CredReadW/CredDeleteW of `target`: returns when the item is absent, else throws the failure. */
  const confirmAbsent = (operation: string, code: number, target: string): void => {
    // A `*` inside the name would not be a wildcard there; filter on the part before it and compare whole names.
    const star = target.indexOf("*");
    const listed = enumerate((star < 0 ? target : target.slice(0, star)) + "*");
    if (listed !== undefined) {
      if (!listed.some((name) => sameTarget(name, target))) return;
      throw new WincredError(operation, code);
    }
    if (storeUsable()) return;
    throw new WincredError(operation, code, { unavailable: true });
  };
  return {
    read(target) {
      const name = encodeUtf16z(target);
      const out = new BigUint64Array(1);
      if (fns.CredReadW(name, CRED_TYPE_GENERIC, 0, out) === 0) {
        confirmAbsent("CredReadW", fns.lastError(), target);
        return undefined;
      }
      return withFree(fns, out[0], () => {
        const cred = readCredentialAt(out[0]);
        return readBytesAt(cred.credentialBlob, cred.credentialBlobSize);
      });
    },
    write(target, blob) {
      const credential = genericCredential(target, blob);
      try {
        if (fns.CredWriteW(credential.struct, 0) !== 0) return;
        const code = fns.lastError();
        throw new WincredError("CredWriteW", code, { unavailable: !storeUsable() });
      } finally {
        credential.wipe();
      }
    },
    delete(target) {
      if (fns.CredDeleteW(encodeUtf16z(target), CRED_TYPE_GENERIC, 0) !== 0) return true;
      confirmAbsent("CredDeleteW", fns.lastError(), target);
      return false;
    },
    enumerate(filter) {
      const names = enumerate(filter);
      if (names !== undefined) return names;
      const code = fns.lastError();
      if (storeUsable()) return [];
      throw new WincredError("CredEnumerateW", code, { unavailable: true });
    },
  };
}

/** The {@link WincredApi} over advapi32. Loads the DLLs on first use; throws off Windows. */
export function nativeWincredApi(): WincredApi {
  let api: WincredApi | undefined;
  const real = () => api ??= wincredApiOver(nativeCredFunctions());
  return {
    read: (target) => real().read(target),
    write: (target, blob) => real().write(target, blob),
    delete: (target) => real().delete(target),
    enumerate: (filter) => real().enumerate(filter),
  };
}

/**
 * Opens the `wincred` backend over advapi32.
 * @throws VaultError on any OS other than Windows
 */
export function openWincredKeyring(): WincredKeyring {
  if (!wincredAvailable()) throw new VaultError(`the "wincred" backend needs Windows; this system is ${Deno.build.os}`);
  return new WincredKeyring({ api: nativeWincredApi() });
}
