import assert from "node:assert/strict";
import { ItemNotFoundError, VaultError } from "../src/core/errors.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import {
  type KeychainApi,
  KeychainError,
  KeychainKeyring,
  type KeychainNewItem,
  type KeychainQuery,
  type KeychainRecord,
  OS_STATUS,
} from "../src/vault/keychain.ts";
import { openKeychainKeyring, pointerArray } from "../src/vault/keychain_ffi.ts";
import { CF_STRING_ENCODING_UTF8, CF_SYMBOLS, SECURITY_SYMBOLS } from "../src/vault/keychain_symbols.ts";
import type { VaultItem } from "../src/vault/keyring.ts";
import { OidcTokenKeyring } from "../src/vault/oidc_keyring.ts";
import { SESSION_TYPES, SessionKeyring } from "../src/vault/session_keyring.ts";

interface Stored {
  record: KeychainRecord;
  trustApplication: boolean;
}

/** A keychain double with Security.framework's observable behaviour: files, items per service/account, ACL flag. */
class FakeKeychainApi implements KeychainApi {
  files = new Map<string, Map<string, Stored>>();
  calls: string[] = [];

  #id = (q: { service: string; account: string }) => `${q.service}\u0000${q.account}`;
  #file(path: string): Map<string, Stored> {
    const file = this.files.get(path);
    if (!file) throw new KeychainError("SecKeychainOpen", OS_STATUS.noSuchKeychain);
    return file;
  }
  exists(keychain: string) {
    this.calls.push(`exists ${keychain}`);
    return Promise.resolve(this.files.has(keychain));
  }
  create(keychain: string) {
    this.calls.push(`create ${keychain}`);
    this.files.set(keychain, new Map());
    return Promise.resolve();
  }
  find(q: KeychainQuery) {
    this.calls.push(`find ${q.account}`);
    return Promise.resolve(this.#file(q.keychain).get(this.#id(q))?.record);
  }
  add(item: KeychainNewItem) {
    this.calls.push(`add ${item.account}`);
    const file = this.#file(item.keychain);
    if (file.has(this.#id(item))) return Promise.resolve(false);
    const { label, description, data, trustApplication } = item;
    file.set(this.#id(item), { record: { label, description, data: data.slice() }, trustApplication });
    return Promise.resolve(true);
  }
  update(q: KeychainQuery, record: KeychainRecord) {
    this.calls.push(`update ${q.account}`);
    const stored = this.#file(q.keychain).get(this.#id(q));
    if (!stored) throw new KeychainError("SecItemUpdate", OS_STATUS.itemNotFound);
    stored.record = { ...record, data: record.data.slice() };
    return Promise.resolve();
  }
  delete(q: KeychainQuery) {
    this.calls.push(`delete ${q.account}`);
    return Promise.resolve(this.#file(q.keychain).delete(this.#id(q)));
  }
  accounts(options: { keychain: string; service: string }) {
    this.calls.push(`accounts ${options.service}`);
    const ids = [...this.#file(options.keychain).keys()].map((id) => id.split("\u0000"));
    return Promise.resolve(ids.filter(([service]) => service === options.service).map(([, account]) => account));
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const item = (key: string, data: string, extra: Partial<VaultItem> = {}): VaultItem => ({
  key,
  data: bytes(data),
  label: `label ${key}`,
  description: `description ${key}`,
  keychainNotTrustApplication: false,
  keychainNotSynchronizable: false,
  ...extra,
});

Deno.test("keychain: round trip stores raw data, label and description; keychain created on first write only", async () => {
  const api = new FakeKeychainApi();
  const kr = new KeychainKeyring({ api });
  assert.equal(kr.backend, "keychain");
  assert.equal(kr.path, "aws-vault.keychain");
  await kr.set(item("work", '{"AccessKeyID":"AKIA"}'));
  await kr.set(item("home", "x"));
  assert.deepEqual(api.calls.filter((c) => c.startsWith("create")), ["create aws-vault.keychain"]);
  const stored = api.files.get("aws-vault.keychain")!.get("aws-vault\u0000work")!;
  assert.deepEqual(stored.record.data, bytes('{"AccessKeyID":"AKIA"}'), "data is Item.Data itself, not item JSON");
  assert.deepEqual(await kr.get("work"), item("work", '{"AccessKeyID":"AKIA"}'));
  assert.deepEqual(await kr.keys(), ["home", "work"]);
  await kr.remove("work");
  assert.deepEqual(await kr.keys(), ["home"]);
  assert.equal(new KeychainKeyring({ name: "team", api }).path, "team.keychain");
});

Deno.test("keychain: missing keychain means not found / empty, and nothing is created", async () => {
  const api = new FakeKeychainApi();
  const kr = new KeychainKeyring({ api });
  await assert.rejects(kr.get("work"), (e) => e instanceof ItemNotFoundError && e.key === "work");
  await assert.rejects(kr.remove("work"), ItemNotFoundError);
  assert.deepEqual(await kr.keys(), []);
  assert.deepEqual(api.calls, ["exists aws-vault.keychain", "exists aws-vault.keychain", "exists aws-vault.keychain"]);
  assert.equal(api.files.size, 0);
});

Deno.test("keychain: missing item in an existing keychain is ItemNotFoundError", async () => {
  const api = new FakeKeychainApi();
  const kr = new KeychainKeyring({ api });
  await kr.set(item("a", "1"));
  await assert.rejects(kr.get("b"), /could not be found in the keyring: "b"/);
  await assert.rejects(kr.remove("b"), ItemNotFoundError);
});

Deno.test("keychain: a duplicate is updated in place, keeping its access control", async () => {
  const api = new FakeKeychainApi();
  const kr = new KeychainKeyring({ api });
  await kr.set(item("work", "old", { keychainNotTrustApplication: true }));
  await kr.set(item("work", "new", { label: "new label", keychainNotTrustApplication: false }));
  const stored = api.files.get("aws-vault.keychain")!.get("aws-vault\u0000work")!;
  assert.equal(stored.trustApplication, false, "ACL from creation is kept");
  assert.deepEqual(stored.record.data, bytes("new"));
  assert.equal(stored.record.label, "new label");
  assert.ok(!api.calls.some((c) => c.startsWith("delete")), "no delete-then-add window");
  assert.deepEqual(api.calls.slice(-2), ["add work", "update work"]);
});

Deno.test("keychain: credentials are untrusted (prompt on read), sessions and OIDC tokens trust the app", async () => {
  const api = new FakeKeychainApi();
  const kr = new KeychainKeyring({ api });
  const now = () => new Date("2024-01-02T03:04:05Z");
  await new CredentialKeyring(kr).set("work", { accessKeyId: "AKIA1", secretAccessKey: "s" });
  await new SessionKeyring(kr, { now }).set(
    { type: SESSION_TYPES.getSessionToken, profileName: "work", mfaSerial: "" },
    { accessKeyId: "ASIA1", secretAccessKey: "s", sessionToken: "t", expiration: new Date("2024-01-02T04:04:05Z") },
  );
  await new OidcTokenKeyring(kr, { now }).set("https://x.awsapps.com/start", { accessToken: "a", expiresIn: 600 });
  const trust = new Map([...api.files.get("aws-vault.keychain")!].map(([id, s]) => [id.split("\u0000")[1], s]));
  assert.equal(trust.size, 3);
  for (const [account, stored] of trust) {
    const isCredential = account === "work";
    assert.equal(stored.trustApplication, !isCredential, account);
    if (isCredential) assert.equal(stored.record.label, "aws-vault (work)");
  }
  assert.deepEqual(await new CredentialKeyring(kr).get("work"), { accessKeyId: "AKIA1", secretAccessKey: "s" });
});

Deno.test("keychain: keys are the service's accounts, sorted, non-ASCII intact", async () => {
  const api = new FakeKeychainApi();
  const kr = new KeychainKeyring({ api });
  for (const key of ["zürich", "oidc:https://a.example/start", "prod-€-𝄞", "admin"]) await kr.set(item(key, key));
  await api.add({
    keychain: kr.path,
    service: "other",
    account: "foreign",
    label: "",
    description: "",
    data: bytes(""),
    trustApplication: true,
  });
  assert.deepEqual(await kr.keys(), ["admin", "oidc:https://a.example/start", "prod-€-𝄞", "zürich"]);
  assert.deepEqual((await kr.get("prod-€-𝄞")).data, bytes("prod-€-𝄞"));
});

Deno.test("keychain: invalid keys and names are refused before any native call", async () => {
  const api = new FakeKeychainApi();
  await assert.rejects(new KeychainKeyring({ api }).get(""), VaultError);
  assert.throws(() => new KeychainKeyring({ name: "a\0b", api }), VaultError);
  assert.deepEqual(api.calls, []);
});

Deno.test("keychain: OSStatus errors carry a readable message and the code", () => {
  const e = new KeychainError("SecItemCopyMatching", OS_STATUS.userCanceled);
  assert.ok(e instanceof VaultError);
  assert.equal(e.status, -128);
  assert.equal(
    e.message,
    "macOS keychain: SecItemCopyMatching failed: the keychain prompt was cancelled (OSStatus -128)",
  );
  assert.match(new KeychainError("SecItemAdd", -99999).message, /unexpected error \(OSStatus -99999\)$/);
});

Deno.test("keychain: the factory refuses other operating systems without loading anything", {
  ignore: Deno.build.os === "darwin",
}, () => {
  assert.throws(() => openKeychainKeyring(), (e) => e instanceof VaultError && /needs macOS/.test(e.message));
});

// Variadic CF/Security functions: declaring any of them fixed-arity is undefined behaviour (breaks on arm64).
const KNOWN_VARIADIC = [
  "CFStringCreateWithFormat",
  "CFStringCreateWithFormatAndArguments",
  "CFStringAppendFormat",
  "CFStringAppendFormatAndArguments",
  "CFShow",
  "CFShowStr",
  "CFLog",
  "CFStringCreateStringWithValidatedFormat",
  "CFStringCreateWithFormatFromConfig",
  "SecKeychainSearchCreateFromAttributes",
];

Deno.test("keychain FFI: symbol tables have the documented C signatures and no variadic function", async () => {
  const fn = (table: Record<string, unknown>, name: string) => table[name] as Deno.ForeignFunction;
  const expected: Record<string, [Deno.NativeType[], Deno.NativeResultType, boolean?]> = {
    CFRelease: [["pointer"], "void"],
    CFGetTypeID: [["pointer"], "usize"],
    CFStringCreateWithBytes: [["pointer", "buffer", "isize", "u32", "u8"], "pointer"],
    CFStringCreateExternalRepresentation: [["pointer", "pointer", "u32", "u8"], "pointer"],
    CFDataCreate: [["pointer", "buffer", "isize"], "pointer"],
    CFDataGetBytePtr: [["pointer"], "pointer"],
    CFDataGetLength: [["pointer"], "isize"],
    CFArrayCreate: [["pointer", "buffer", "isize", "pointer"], "pointer"],
    CFArrayGetCount: [["pointer"], "isize"],
    CFArrayGetValueAtIndex: [["pointer", "isize"], "pointer"],
    CFDictionaryCreate: [["pointer", "buffer", "buffer", "isize", "pointer", "pointer"], "pointer"],
    CFDictionaryGetValue: [["pointer", "pointer"], "pointer"],
    SecKeychainOpen: [["buffer", "buffer"], "i32"],
    SecKeychainGetStatus: [["pointer", "buffer"], "i32"],
    SecKeychainCreate: [["buffer", "u32", "pointer", "u8", "pointer", "buffer"], "i32", true],
    SecAccessCreate: [["pointer", "pointer", "buffer"], "i32"],
    SecItemAdd: [["pointer", "pointer"], "i32", true],
    SecItemCopyMatching: [["pointer", "buffer"], "i32", true],
    SecItemUpdate: [["pointer", "pointer"], "i32", true],
    SecItemDelete: [["pointer"], "i32", true],
  };
  const all: Record<string, unknown> = { ...CF_SYMBOLS, ...SECURITY_SYMBOLS };
  for (const [name, [parameters, result, nonblocking]] of Object.entries(expected)) {
    assert.deepEqual(fn(all, name).parameters, parameters, name);
    assert.equal(fn(all, name).result, result, name);
    assert.equal(fn(all, name).nonblocking ?? false, nonblocking ?? false, name);
  }
  for (const name of ["CFStringGetTypeID", "CFDataGetTypeID", "CFArrayGetTypeID", "CFDictionaryGetTypeID"]) {
    assert.deepEqual(fn(all, name).parameters, [], name);
    assert.equal(fn(all, name).result, "usize", name);
  }
  const constants = Object.keys(all).filter((n) => /^k(Sec|CF)/.test(n));
  for (const name of constants) assert.deepEqual(all[name], { type: "pointer" }, name);
  assert.equal(constants.length + Object.keys(expected).length + 4, Object.keys(all).length, "every symbol checked");
  for (const name of KNOWN_VARIADIC) assert.ok(!(name in all), `${name} is variadic`);
  assert.equal(CF_STRING_ENCODING_UTF8, 0x08000100);
  // Every declared symbol is explained in the reviewer's document.
  const doc = await Deno.readTextFile(new URL("../docs/macos-keychain.md", import.meta.url));
  for (const name of Object.keys(all)) assert.ok(doc.includes(name), `docs/macos-keychain.md mentions ${name}`);
});

Deno.test("keychain FFI: pointer arrays are native-endian u64 addresses with NULL as 0", () => {
  const buf = new Uint8Array(4);
  const p = Deno.UnsafePointer.of(buf);
  const arr = pointerArray([p, null]);
  assert.equal(arr.length, 2);
  assert.equal(arr[0], BigInt(Deno.UnsafePointer.value(p)));
  assert.equal(arr[1], 0n);
});
