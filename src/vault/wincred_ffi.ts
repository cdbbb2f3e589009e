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
/** `ERROR_NOT_FOUND` (GetLastError after a lookup of a missing credential). */
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

/** A Credential Manager call failed; `code` is its GetLastError value. */
export class WincredError extends VaultError {
  /** The Win32 error code. */
  readonly code: number;
  constructor(operation: string, code: number) {
    super(`Windows Credential Manager: ${operation} failed (error ${code})`);
    this.code = code;
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
} as const satisfies Deno.ForeignLibraryInterface;

/** kernel32.dll: the error code of the Cred* call just made. */
export const KERNEL32_SYMBOLS = {
  GetLastError: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

let loaded:
  | { advapi: Deno.DynamicLibrary<typeof ADVAPI32_SYMBOLS>["symbols"]; lastError: () => number }
  | undefined;

function native() {
  if (loaded) return loaded;
  if (Deno.build.os !== "windows") throw new VaultError("Windows Credential Manager is only available on Windows");
  const advapi = Deno.dlopen("advapi32.dll", ADVAPI32_SYMBOLS).symbols;
  const kernel = Deno.dlopen("kernel32.dll", KERNEL32_SYMBOLS).symbols;
  loaded = { advapi, lastError: () => kernel.GetLastError() };
  return loaded;
}

/** Calls a Cred* function (sync, so GetLastError right after still holds its error); false means ERROR_NOT_FOUND. */
function call(operation: string, ok: number): boolean {
  if (ok !== 0) return true;
  const code = native().lastError();
  if (code === ERROR_NOT_FOUND) return false;
  throw new WincredError(operation, code);
}

/** Frees a buffer Windows allocated, after `use` has copied what it needs out of it. */
function withFree<T>(address: bigint, use: () => T): T {
  try {
    return use();
  } finally {
    native().advapi.CredFree(Deno.UnsafePointer.create(address));
  }
}

/** The {@link WincredApi} over advapi32. Loads the DLLs on first use; throws off Windows. */
export function nativeWincredApi(): WincredApi {
  return {
    read(target) {
      const { advapi } = native();
      const out = new BigUint64Array(1);
      if (!call("CredReadW", advapi.CredReadW(encodeUtf16z(target), CRED_TYPE_GENERIC, 0, out))) return undefined;
      return withFree(out[0], () => {
        const cred = readCredentialAt(out[0]);
        return readBytesAt(cred.credentialBlob, cred.credentialBlobSize);
      });
    },
    write(target, blob) {
      const credential = genericCredential(target, blob);
      const ok = native().advapi.CredWriteW(credential.struct, 0);
      credential.wipe();
      if (!call("CredWriteW", ok)) throw new WincredError("CredWriteW", ERROR_NOT_FOUND);
    },
    delete(target) {
      return call("CredDeleteW", native().advapi.CredDeleteW(encodeUtf16z(target), CRED_TYPE_GENERIC, 0));
    },
    enumerate(filter) {
      const { advapi } = native();
      const count = new Uint32Array(1);
      const out = new BigUint64Array(1);
      if (!call("CredEnumerateW", advapi.CredEnumerateW(encodeUtf16z(filter), 0, count, out))) return [];
      return withFree(out[0], () => {
        const names: string[] = [];
        for (let i = 0; i < count[0]; i++) {
          names.push(readUtf16zAt(readCredentialAt(readPointerAt(out[0], i)).targetName));
        }
        return names;
      });
    },
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
