/**
 * A double of the macOS libraries under `keychain_ffi.ts` ({@link KeychainNative}): CoreFoundation objects live in a
 * table keyed by fake addresses, Security.framework keeps keychain files and generic-password items with the access
 * (`SecAccessCreate`) each was added with. Every Security function answers with a Promise that settles on a later
 * macrotask and writes its out-parameters only then, as a nonblocking Deno FFI call does, so code that forgets to
 * await one fails. It also checks the ownership rules: objects from Create/Copy must be released exactly once, and
 * no released object may be used.
 * @module
 */

import type { KeychainNative, SecKey } from "../../src/vault/keychain_ffi.ts";
import { OS_STATUS } from "../../src/vault/keychain.ts";
import { CF_STRING_ENCODING_UTF8, SECURITY_SYMBOLS } from "../../src/vault/keychain_symbols.ts";

type CfObject =
  | { kind: "string"; value: string }
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "array"; values: bigint[] }
  | { kind: "dict"; entries: Map<bigint, bigint> }
  | { kind: "keychain"; path: string }
  | { kind: "access"; descriptor: string; trusted: bigint[] | null }
  | { kind: "constant"; name: string };

/** What `SecAccessCreate` was given for an item: `creator` = NULL trusted list, else the list (empty = nobody). */
export type Trusted = "creator" | bigint[];

/** A stored generic password. */
export interface FakeItem {
  keychain: string;
  service: string;
  account: string;
  label?: string;
  description?: string;
  data: Uint8Array;
  access: { descriptor: string; trusted: Trusted };
}

/** One Security call: when it started and when its Promise settled (indices into {@link FakeKeychainNative.events}). */
export interface SecCall {
  name: string;
  started: number;
  settled?: number;
}

const TYPE_IDS = { string: 7n, data: 20n, array: 19n, dict: 18n, keychain: 100n, access: 101n, constant: 102n };
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The double; `native` is what `nativeKeychainApi(() => fake.native)` takes. */
export class FakeKeychainNative {
  /** Existing keychain files (paths as given to `SecKeychainOpen`). */
  readonly files = new Set<string>();
  readonly items: FakeItem[] = [];
  /** Every Security call in order, with start/settle order. */
  readonly calls: SecCall[] = [];
  /** Event counter shared by starts and settles. */
  events = 0;
  /** Status a Security function answers instead of doing its work (once per entry). */
  readonly fail = new Map<string, number>();
  /** Functions whose Promise waits for {@link release} (to look at the event loop while one is pending). */
  readonly hold = new Set<string>();
  #held: (() => void)[] = [];

  #objects = new Map<bigint, CfObject>();
  /** Owned (Create/Copy) objects not yet released. */
  readonly live = new Set<bigint>();
  #released = new Set<bigint>();
  /** Ownership violations seen (double release, use after release, unknown pointer). */
  readonly violations: string[] = [];
  #next = 0x10000n;

  readonly native: KeychainNative;
  readonly k: Record<SecKey, Deno.PointerObject>;

  constructor() {
    const k = {} as Record<SecKey, Deno.PointerObject>;
    for (const name of Object.keys(SECURITY_SYMBOLS)) {
      if (name.startsWith("kSec")) k[name as SecKey] = this.#constant(name);
    }
    this.k = k;
    const cfTrue = this.#constant("kCFBooleanTrue");
    const cf = {
      CFRelease: (p: Deno.PointerValue) => this.#release(p),
      CFGetTypeID: (p: Deno.PointerValue) => TYPE_IDS[this.#get(p).kind],
      CFStringGetTypeID: () => TYPE_IDS.string,
      CFDataGetTypeID: () => TYPE_IDS.data,
      CFArrayGetTypeID: () => TYPE_IDS.array,
      CFDictionaryGetTypeID: () => TYPE_IDS.dict,
      CFStringCreateWithBytes: (_a: unknown, bytes: Uint8Array, length: bigint, encoding: number) => {
        if (encoding !== CF_STRING_ENCODING_UTF8) throw new Error("not UTF-8");
        return this.#own({ kind: "string", value: fromUtf8.decode(bytes.subarray(0, Number(length))) });
      },
      CFStringCreateExternalRepresentation: (_a: unknown, str: Deno.PointerValue) =>
        this.#own({ kind: "data", bytes: utf8.encode(this.#as(str, "string").value) }),
      CFDataCreate: (_a: unknown, bytes: Uint8Array, length: bigint) =>
        this.#own({ kind: "data", bytes: bytes.slice(0, Number(length)) }),
      CFDataGetBytePtr: (p: Deno.PointerValue) => Deno.UnsafePointer.of(this.#as(p, "data").bytes),
      CFDataGetLength: (p: Deno.PointerValue) => BigInt(this.#as(p, "data").bytes.length),
      CFArrayCreate: (_a: unknown, values: BigUint64Array, count: bigint, callbacks: Deno.PointerValue) => {
        this.#expectConstant(callbacks, "kCFTypeArrayCallBacks");
        const list = [...values.subarray(0, Number(count))];
        for (const v of list) this.#get(Deno.UnsafePointer.create(v));
        return this.#own({ kind: "array", values: list });
      },
      CFArrayGetCount: (p: Deno.PointerValue) => BigInt(this.#as(p, "array").values.length),
      CFArrayGetValueAtIndex: (p: Deno.PointerValue, i: bigint) =>
        Deno.UnsafePointer.create(this.#as(p, "array").values[Number(i)]),
      CFDictionaryCreate: (
        _a: unknown,
        keys: BigUint64Array,
        values: BigUint64Array,
        count: bigint,
        keyCallbacks: Deno.PointerValue,
        valueCallbacks: Deno.PointerValue,
      ) => {
        this.#expectConstant(keyCallbacks, "kCFTypeDictionaryKeyCallBacks");
        this.#expectConstant(valueCallbacks, "kCFTypeDictionaryValueCallBacks");
        const entries = new Map<bigint, bigint>();
        for (let i = 0; i < Number(count); i++) {
          this.#get(Deno.UnsafePointer.create(keys[i]));
          this.#get(Deno.UnsafePointer.create(values[i]));
          entries.set(keys[i], values[i]);
        }
        return this.#own({ kind: "dict", entries });
      },
      CFDictionaryGetValue: (p: Deno.PointerValue, key: Deno.PointerValue) => {
        const value = this.#as(p, "dict").entries.get(BigInt(Deno.UnsafePointer.value(key)));
        return value === undefined ? null : Deno.UnsafePointer.create(value);
      },
      kCFBooleanTrue: cfTrue,
      kCFTypeArrayCallBacks: this.#constant("kCFTypeArrayCallBacks"),
      kCFTypeDictionaryKeyCallBacks: this.#constant("kCFTypeDictionaryKeyCallBacks"),
      kCFTypeDictionaryValueCallBacks: this.#constant("kCFTypeDictionaryValueCallBacks"),
    };
    const sec = {
      SecKeychainOpen: (path: Uint8Array, out: BigUint64Array) =>
        this.#call("SecKeychainOpen", () => {
          const text = fromUtf8.decode(path);
          if (!text.endsWith("\0")) throw new Error("SecKeychainOpen: path not NUL-terminated");
          out[0] = this.#addr(this.#own({ kind: "keychain", path: text.slice(0, -1) }));
          return OS_STATUS.success;
        }),
      SecKeychainGetStatus: (kc: Deno.PointerValue, out: Uint32Array) =>
        this.#call("SecKeychainGetStatus", () => {
          if (!this.files.has(this.#as(kc, "keychain").path)) return OS_STATUS.noSuchKeychain;
          out[0] = 3; // kSecUnlockStateStatus | kSecReadPermStatus
          return OS_STATUS.success;
        }),
      SecKeychainCreate: (
        path: Uint8Array,
        passwordLength: number,
        password: Deno.PointerValue,
        promptUser: number,
        initialAccess: Deno.PointerValue,
        out: BigUint64Array,
      ) =>
        this.#call("SecKeychainCreate", () => {
          if (passwordLength !== 0 || password !== null || promptUser !== 1 || initialAccess !== null) {
            throw new Error("SecKeychainCreate: expected a prompt for the password and no initial access");
          }
          const text = fromUtf8.decode(path).slice(0, -1);
          this.files.add(text);
          out[0] = this.#addr(this.#own({ kind: "keychain", path: text }));
          return OS_STATUS.success;
        }),
      SecAccessCreate: (descriptor: Deno.PointerValue, trusted: Deno.PointerValue, out: BigUint64Array) =>
        this.#call("SecAccessCreate", () => {
          const list = trusted === null ? null : this.#as(trusted, "array").values;
          const access = { kind: "access", descriptor: this.#as(descriptor, "string").value, trusted: list } as const;
          out[0] = this.#addr(this.#own(access));
          return OS_STATUS.success;
        }),
      SecItemAdd: (attributes: Deno.PointerValue, result: Deno.PointerValue) =>
        this.#call("SecItemAdd", () => {
          if (result !== null) throw new Error("SecItemAdd: no result expected");
          const a = this.#dict(attributes);
          const keychain = this.#as(a.get("kSecUseKeychain"), "keychain").path;
          if (!this.files.has(keychain)) return OS_STATUS.noSuchKeychain;
          const service = this.#string(a.get("kSecAttrService"));
          const account = this.#string(a.get("kSecAttrAccount"));
          if (this.items.some((i) => i.keychain === keychain && i.service === service && i.account === account)) {
            return OS_STATUS.duplicateItem;
          }
          const access = this.#as(a.get("kSecAttrAccess"), "access");
          this.items.push({
            keychain,
            service,
            account,
            label: this.#optionalString(a.get("kSecAttrLabel")),
            description: this.#optionalString(a.get("kSecAttrDescription")),
            data: this.#as(a.get("kSecValueData"), "data").bytes.slice(),
            access: { descriptor: access.descriptor, trusted: access.trusted ?? "creator" },
          });
          return OS_STATUS.success;
        }),
      SecItemCopyMatching: (query: Deno.PointerValue, out: BigUint64Array) =>
        this.#call("SecItemCopyMatching", () => {
          const q = this.#dict(query);
          const found = this.#match(q);
          if (found.length === 0) return OS_STATUS.itemNotFound;
          const withData = q.has("kSecReturnData");
          const result = (i: FakeItem) => this.#borrowed({ kind: "dict", entries: this.#attributes(i, withData) });
          const all = q.get("kSecMatchLimit") === this.#addr(this.k.kSecMatchLimitAll);
          out[0] = all
            ? this.#addr(this.#own({ kind: "array", values: found.map(result) }))
            : this.#addr(this.#own({ kind: "dict", entries: this.#attributes(found[0], withData) }));
          return OS_STATUS.success;
        }),
      SecItemUpdate: (query: Deno.PointerValue, attributes: Deno.PointerValue) =>
        this.#call("SecItemUpdate", () => {
          const [item] = this.#match(this.#dict(query));
          if (!item) return OS_STATUS.itemNotFound;
          const a = this.#dict(attributes);
          if (a.has("kSecAttrAccess")) throw new Error("SecItemUpdate must leave the access alone");
          item.data = this.#as(a.get("kSecValueData"), "data").bytes.slice();
          item.label = this.#optionalString(a.get("kSecAttrLabel"));
          item.description = this.#optionalString(a.get("kSecAttrDescription"));
          return OS_STATUS.success;
        }),
      SecItemDelete: (query: Deno.PointerValue) =>
        this.#call("SecItemDelete", () => {
          const [item] = this.#match(this.#dict(query));
          if (!item) return OS_STATUS.itemNotFound;
          this.items.splice(this.items.indexOf(item), 1);
          return OS_STATUS.success;
        }),
    };
    this.native = {
      cf,
      sec,
      k,
      cfTrue,
      stringType: TYPE_IDS.string,
      dataType: TYPE_IDS.data,
      arrayType: TYPE_IDS.array,
      dictType: TYPE_IDS.dict,
    } as unknown as KeychainNative;
  }

  /** Lets every held call settle. */
  release(): void {
    for (const go of this.#held.splice(0)) go();
  }

  /** Names of the Security calls currently pending. */
  pending(): string[] {
    return this.calls.filter((c) => c.settled === undefined).map((c) => c.name);
  }

  /** The stored item of `account`. */
  item(account: string): FakeItem | undefined {
    return this.items.find((i) => i.account === account);
  }

  #call(name: string, work: () => number): Promise<number> {
    const call: SecCall = { name, started: this.events++ };
    this.calls.push(call);
    return new Promise<number>((resolve, reject) => {
      const run = () =>
        setTimeout(() => {
          call.settled = this.events++;
          try {
            const status = this.fail.get(name);
            if (status !== undefined) {
              this.fail.delete(name);
              resolve(status);
            } else resolve(work());
          } catch (e) {
            reject(e);
          }
        }, 0);
      if (this.hold.has(name)) this.#held.push(run);
      else run();
    });
  }

  #addr(p: Deno.PointerObject): bigint {
    return BigInt(Deno.UnsafePointer.value(p));
  }
  #alloc(o: CfObject): Deno.PointerObject {
    const address = this.#next;
    this.#next += 16n;
    this.#objects.set(address, o);
    return Deno.UnsafePointer.create(address)!;
  }
  #own(o: CfObject): Deno.PointerObject {
    const p = this.#alloc(o);
    this.live.add(this.#addr(p));
    return p;
  }
  /** Values inside a Copy result: owned by that result, never released by the caller. */
  #borrowed(o: CfObject): bigint {
    return this.#addr(this.#alloc(o));
  }
  #constant(name: string): Deno.PointerObject {
    return this.#alloc({ kind: "constant", name });
  }
  #release(p: Deno.PointerValue): void {
    const address = p === null ? 0n : this.#addr(p);
    if (!this.live.delete(address)) {
      this.violations.push(`CFRelease of ${this.#released.has(address) ? "a released" : "a not owned"} object`);
      return;
    }
    this.#released.add(address);
  }
  #get(p: Deno.PointerValue): CfObject {
    const address = p === null ? 0n : this.#addr(p);
    if (this.#released.has(address)) this.violations.push("use of a released object");
    const o = this.#objects.get(address);
    if (!o) throw new Error(`unknown pointer 0x${address.toString(16)}`);
    return o;
  }
  #as<K extends CfObject["kind"]>(p: Deno.PointerValue | bigint | undefined, kind: K): Extract<CfObject, { kind: K }> {
    if (p === undefined) throw new Error(`missing ${kind}`);
    const o = this.#get(typeof p === "bigint" ? Deno.UnsafePointer.create(p) : p);
    if (o.kind !== kind) throw new Error(`expected a ${kind}, got a ${o.kind}`);
    return o as Extract<CfObject, { kind: K }>;
  }
  #expectConstant(p: Deno.PointerValue, name: string): void {
    const o = this.#get(p);
    if (o.kind !== "constant" || o.name !== name) throw new Error(`expected &${name}`);
  }
  /** A query/attribute dictionary by constant name. */
  #dict(p: Deno.PointerValue): Map<string, bigint> {
    const named = new Map<string, bigint>();
    for (const [key, value] of this.#as(p, "dict").entries) {
      named.set(this.#as(key, "constant").name, value);
    }
    return named;
  }
  #string(p: bigint | undefined): string {
    return this.#as(p, "string").value;
  }
  #optionalString(p: bigint | undefined): string | undefined {
    return p === undefined ? undefined : this.#string(p);
  }
  #match(q: Map<string, bigint>): FakeItem[] {
    if (q.get("kSecClass") !== this.#addr(this.k.kSecClassGenericPassword)) throw new Error("not a generic password");
    const keychains = this.#as(q.get("kSecMatchSearchList"), "array").values.map((v) => this.#as(v, "keychain").path);
    const service = this.#string(q.get("kSecAttrService"));
    const account = this.#optionalString(q.get("kSecAttrAccount"));
    return this.items.filter((i) =>
      keychains.includes(i.keychain) && i.service === service && (account === undefined || i.account === account)
    );
  }
  #attributes(i: FakeItem, withData: boolean): Map<bigint, bigint> {
    const entries = new Map<bigint, bigint>();
    const put = (key: SecKey, value: CfObject) => entries.set(this.#addr(this.k[key]), this.#borrowed(value));
    put("kSecAttrService", { kind: "string", value: i.service });
    put("kSecAttrAccount", { kind: "string", value: i.account });
    if (i.label !== undefined) put("kSecAttrLabel", { kind: "string", value: i.label });
    if (i.description !== undefined) put("kSecAttrDescription", { kind: "string", value: i.description });
    if (withData) put("kSecValueData", { kind: "data", bytes: i.data.slice() });
    return entries;
  }
}
