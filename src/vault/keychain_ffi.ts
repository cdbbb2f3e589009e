/**
 * The macOS keychain's native layer: Security.framework and CoreFoundation through `Deno.dlopen`, opened lazily and
 * only on darwin (importing this module elsewhere loads nothing). It implements {@link KeychainApi} and wires it into
 * {@link openKeychainKeyring}; aws-vault's rules live in `keychain.ts` and the symbol declarations in
 * `keychain_symbols.ts`.
 *
 * Ownership follows CoreFoundation's Create/Copy rule: whatever comes from a `*Create*`/`*Copy*` function or a
 * `SecKeychainOpen`/`SecAccessCreate` out-parameter is released by the scope that made it; values read with
 * `CFDictionaryGetValue`/`CFArrayGetValueAtIndex` and the exported constants are borrowed and never released.
 * @module
 */

import { VaultError } from "../core/errors.ts";
import {
  type KeychainApi,
  keychainAvailable,
  KeychainError,
  KeychainKeyring,
  type KeychainQuery,
  type KeychainRecord,
  OS_STATUS,
} from "./keychain.ts";
import { CF_PATH, CF_STRING_ENCODING_UTF8, CF_SYMBOLS, SECURITY_PATH, SECURITY_SYMBOLS } from "./keychain_symbols.ts";

type Ptr = Deno.PointerObject;
/** The names of the `kSec*` constants. */
export type SecKey = { [K in keyof typeof SECURITY_SYMBOLS]: K extends `kSec${string}` ? K : never }[
  keyof typeof SECURITY_SYMBOLS
];

/**
 * The opened libraries as {@link nativeKeychainApi} uses them: the symbols (nonblocking ones return Promises), the
 * `kSec*` constants and `kCFBooleanTrue` already dereferenced, and the CF type ids. Tests pass a double.
 */
export interface KeychainNative {
  cf: Deno.DynamicLibrary<typeof CF_SYMBOLS>["symbols"];
  sec: Deno.DynamicLibrary<typeof SECURITY_SYMBOLS>["symbols"];
  k: Record<SecKey, Ptr>;
  cfTrue: Ptr;
  stringType: bigint;
  dataType: bigint;
  arrayType: bigint;
  dictType: bigint;
}

let loaded: KeychainNative | undefined;

function native(): KeychainNative {
  if (loaded) return loaded;
  if (Deno.build.os !== "darwin") throw new VaultError("the macOS keychain is only available on macOS");
  const cf = Deno.dlopen(CF_PATH, CF_SYMBOLS).symbols;
  const sec = Deno.dlopen(SECURITY_PATH, SECURITY_SYMBOLS).symbols;
  const deref = (address: Deno.PointerValue, name: string): Ptr => {
    const value = address && new Deno.UnsafePointerView(address).getPointer();
    if (!value) throw new VaultError(`macOS keychain: constant ${name} is NULL`);
    return value;
  };
  const k = {} as Record<SecKey, Ptr>;
  for (const name of Object.keys(SECURITY_SYMBOLS) as (keyof typeof SECURITY_SYMBOLS)[]) {
    if (name.startsWith("kSec")) k[name as SecKey] = deref(sec[name as SecKey], name);
  }
  loaded = {
    cf,
    sec,
    k,
    cfTrue: deref(cf.kCFBooleanTrue, "kCFBooleanTrue"),
    stringType: BigInt(cf.CFStringGetTypeID()),
    dataType: BigInt(cf.CFDataGetTypeID()),
    arrayType: BigInt(cf.CFArrayGetTypeID()),
    dictType: BigInt(cf.CFDictionaryGetTypeID()),
  };
  return loaded;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A C array of pointers (`const void **`), as CFArrayCreate/CFDictionaryCreate take them. */
export function pointerArray(pointers: readonly Deno.PointerValue[]): BigUint64Array {
  return new BigUint64Array(pointers.map((p) => BigInt(Deno.UnsafePointer.value(p))));
}

/**
 * Owns the CF objects one operation creates and releases them all, newest first. It also holds the buffers handed to
 * nonblocking calls, so they stay reachable until the operation (and so every call's Promise) has settled.
 */
class Scope {
  #refs: Ptr[] = [];
  #buffers: BufferSource[] = [];
  constructor(readonly n: KeychainNative) {}

  buffer<T extends BufferSource>(b: T): T {
    this.#buffers.push(b);
    return b;
  }
  own(p: Deno.PointerValue, what: string): Ptr {
    if (!p) throw new VaultError(`macOS keychain: ${what} returned NULL`);
    this.#refs.push(p);
    return p;
  }
  ownOut(out: BigUint64Array, what: string): Ptr {
    return this.own(Deno.UnsafePointer.create(out[0]), what);
  }
  string(s: string): Ptr {
    const b = utf8.encode(s);
    return this.own(
      this.n.cf.CFStringCreateWithBytes(null, b, BigInt(b.length), CF_STRING_ENCODING_UTF8, 0),
      "CFString",
    );
  }
  data(d: Uint8Array): Ptr {
    return this.own(this.n.cf.CFDataCreate(null, d, BigInt(d.length)), "CFDataCreate");
  }
  array(values: Ptr[]): Ptr {
    const arr = this.n.cf.CFArrayCreate(
      null,
      pointerArray(values),
      BigInt(values.length),
      this.n.cf.kCFTypeArrayCallBacks,
    );
    return this.own(arr, "CFArrayCreate");
  }
  dict(entries: [Ptr, Ptr][]): Ptr {
    const { cf } = this.n;
    const keys = pointerArray(entries.map((e) => e[0]));
    const values = pointerArray(entries.map((e) => e[1]));
    const d = cf.CFDictionaryCreate(
      null,
      keys,
      values,
      BigInt(entries.length),
      cf.kCFTypeDictionaryKeyCallBacks,
      cf.kCFTypeDictionaryValueCallBacks,
    );
    return this.own(d, "CFDictionaryCreate");
  }
  release(): void {
    for (const p of this.#refs.reverse()) this.n.cf.CFRelease(p);
    this.#refs = [];
    this.#buffers = [];
  }
}

async function withScope<T>(load: () => KeychainNative, body: (s: Scope, n: KeychainNative) => Promise<T>): Promise<T> {
  const n = load();
  const scope = new Scope(n);
  try {
    return await body(scope, n);
  } finally {
    scope.release();
  }
}

function check(operation: string, status: number): void {
  if (status !== OS_STATUS.success) throw new KeychainError(operation, status);
}

function copyBytes(n: KeychainNative, data: Ptr): Uint8Array {
  const length = Number(n.cf.CFDataGetLength(data));
  const bytes = n.cf.CFDataGetBytePtr(data);
  if (length === 0 || !bytes) return new Uint8Array(0);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(bytes, length).slice(0));
}

function typed(n: KeychainNative, value: Deno.PointerValue, type: bigint): Ptr | undefined {
  return value && BigInt(n.cf.CFGetTypeID(value)) === type ? value : undefined;
}

function readString(s: Scope, value: Deno.PointerValue): string {
  const str = typed(s.n, value, s.n.stringType);
  if (!str) return "";
  const ext = s.own(s.n.cf.CFStringCreateExternalRepresentation(null, str, CF_STRING_ENCODING_UTF8, 0), "CFString");
  return fromUtf8.decode(copyBytes(s.n, ext));
}

/** `SecKeychainOpen` (nonblocking: it can wait on the keychain's lock while another dialog is up). */
async function openKeychain(s: Scope, path: string): Promise<Ptr> {
  const out = s.buffer(new BigUint64Array(1));
  check("SecKeychainOpen", await s.n.sec.SecKeychainOpen(s.buffer(utf8.encode(path + "\0")), out));
  return s.ownOut(out, "SecKeychainOpen");
}

/** Query entries shared by every item operation: class, service, account, restricted to our keychain. */
async function itemQuery(s: Scope, q: KeychainQuery): Promise<[Ptr, Ptr][]> {
  const { k } = s.n;
  const keychain = await openKeychain(s, q.keychain);
  return [
    [k.kSecClass, k.kSecClassGenericPassword],
    [k.kSecAttrService, s.string(q.service)],
    [k.kSecAttrAccount, s.string(q.account)],
    [k.kSecMatchSearchList, s.array([keychain])],
  ];
}

function recordEntries(s: Scope, r: KeychainRecord): [Ptr, Ptr][] {
  const { k } = s.n;
  const entries: [Ptr, Ptr][] = [[k.kSecValueData, s.data(r.data)]];
  if (r.label) entries.push([k.kSecAttrLabel, s.string(r.label)]);
  if (r.description) entries.push([k.kSecAttrDescription, s.string(r.description)]);
  return entries;
}

/**
 * The {@link KeychainApi} over Security.framework. Loads the frameworks on first use; throws off macOS. Every
 * Security call is awaited (all are declared nonblocking); CoreFoundation calls are synchronous and never wait.
 * @param load the libraries; a test double in tests
 */
export function nativeKeychainApi(load: () => KeychainNative = native): KeychainApi {
  return {
    exists: (keychain) =>
      withScope(load, async (s, n) => {
        const kc = await openKeychain(s, keychain);
        const status = await n.sec.SecKeychainGetStatus(kc, s.buffer(new Uint32Array(1)));
        if (status === OS_STATUS.noSuchKeychain) return false;
        check("SecKeychainGetStatus", status);
        return true;
      }),
    create: (keychain) =>
      withScope(load, async (s, n) => {
        const path = s.buffer(utf8.encode(keychain + "\0"));
        const out = s.buffer(new BigUint64Array(1));
        // promptUser=1 and no initial access: macOS asks for the new keychain's password, as aws-vault does.
        const status = await n.sec.SecKeychainCreate(path, 0, null, 1, null, out);
        if (out[0] !== 0n) s.ownOut(out, "SecKeychainCreate");
        check("SecKeychainCreate", status);
      }),
    find: (q) =>
      withScope(load, async (s, n) => {
        const { k } = n;
        const query = s.dict([
          ...await itemQuery(s, q),
          [k.kSecMatchLimit, k.kSecMatchLimitOne],
          [k.kSecReturnAttributes, n.cfTrue],
          [k.kSecReturnData, n.cfTrue],
        ]);
        const out = s.buffer(new BigUint64Array(1));
        const status = await n.sec.SecItemCopyMatching(query, out);
        if (status === OS_STATUS.itemNotFound) return undefined;
        check("SecItemCopyMatching", status);
        const result = typed(n, s.ownOut(out, "SecItemCopyMatching"), n.dictType);
        if (!result) throw new VaultError("macOS keychain: unexpected result type from SecItemCopyMatching");
        const data = typed(n, n.cf.CFDictionaryGetValue(result, k.kSecValueData), n.dataType);
        return {
          label: readString(s, n.cf.CFDictionaryGetValue(result, k.kSecAttrLabel)),
          description: readString(s, n.cf.CFDictionaryGetValue(result, k.kSecAttrDescription)),
          data: data ? copyBytes(n, data) : new Uint8Array(0),
        };
      }),
    add: (item) =>
      withScope(load, async (s, n) => {
        const { k } = n;
        const out = s.buffer(new BigUint64Array(1));
        // NULL trusted list = the calling application (trustsCreator decided it may be); an empty CFArray = nobody,
        // every read asks. The descriptor is what the access dialog names.
        const trusted = item.trustApplication ? null : s.array([]);
        check("SecAccessCreate", await n.sec.SecAccessCreate(s.string(item.label), trusted, out));
        const access = s.ownOut(out, "SecAccessCreate");
        const keychain = await openKeychain(s, item.keychain);
        const attributes = s.dict([
          [k.kSecClass, k.kSecClassGenericPassword],
          [k.kSecAttrService, s.string(item.service)],
          [k.kSecAttrAccount, s.string(item.account)],
          ...recordEntries(s, item),
          [k.kSecUseKeychain, keychain],
          [k.kSecAttrAccess, access],
        ]);
        const status = await n.sec.SecItemAdd(attributes, null);
        if (status === OS_STATUS.duplicateItem) return false;
        check("SecItemAdd", status);
        return true;
      }),
    update: (q, record) =>
      withScope(load, async (s, n) => {
        const query = s.dict(await itemQuery(s, q));
        check("SecItemUpdate", await n.sec.SecItemUpdate(query, s.dict(recordEntries(s, record))));
      }),
    delete: (q) =>
      withScope(load, async (s, n) => {
        const status = await n.sec.SecItemDelete(s.dict(await itemQuery(s, q)));
        if (status === OS_STATUS.itemNotFound) return false;
        check("SecItemDelete", status);
        return true;
      }),
    accounts: ({ keychain, service }) =>
      withScope(load, async (s, n) => {
        const { k, cf } = n;
        const kc = await openKeychain(s, keychain);
        const query = s.dict([
          [k.kSecClass, k.kSecClassGenericPassword],
          [k.kSecAttrService, s.string(service)],
          [k.kSecMatchSearchList, s.array([kc])],
          [k.kSecMatchLimit, k.kSecMatchLimitAll],
          [k.kSecReturnAttributes, n.cfTrue],
        ]);
        const out = s.buffer(new BigUint64Array(1));
        const status = await n.sec.SecItemCopyMatching(query, out);
        if (status === OS_STATUS.itemNotFound) return [];
        check("SecItemCopyMatching", status);
        const array = typed(n, s.ownOut(out, "SecItemCopyMatching"), n.arrayType);
        if (!array) throw new VaultError("macOS keychain: unexpected result type from SecItemCopyMatching");
        const accounts: string[] = [];
        for (let i = 0, count = Number(cf.CFArrayGetCount(array)); i < count; i++) {
          const dict = typed(n, cf.CFArrayGetValueAtIndex(array, BigInt(i)), n.dictType);
          if (dict) accounts.push(readString(s, cf.CFDictionaryGetValue(dict, k.kSecAttrAccount)));
        }
        return accounts;
      }),
  };
}

/**
 * Opens the `keychain` backend over Security.framework.
 * @throws VaultError on any OS other than macOS
 */
export function openKeychainKeyring(options: { name?: string } = {}): KeychainKeyring {
  if (!keychainAvailable()) throw new VaultError(`the "keychain" backend needs macOS; this system is ${Deno.build.os}`);
  // The run mode (compiled binary or deno) is detected by KeychainKeyring: it decides what sessions and tokens trust.
  return new KeychainKeyring({ name: options.name, api: nativeKeychainApi() });
}
