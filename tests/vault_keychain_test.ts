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
  type KeychainRunMode,
  keychainRunMode,
  OS_STATUS,
  trustsCreator,
} from "../src/vault/keychain.ts";
import { nativeKeychainApi, openKeychainKeyring, pointerArray } from "../src/vault/keychain_ffi.ts";
import { CF_STRING_ENCODING_UTF8, CF_SYMBOLS, SECURITY_SYMBOLS } from "../src/vault/keychain_symbols.ts";
import type { Keyring, VaultItem } from "../src/vault/keyring.ts";
import { migrateCredentials } from "../src/vault/migrate.ts";
import { OidcTokenKeyring } from "../src/vault/oidc_keyring.ts";
import { SESSION_TYPES, SessionKeyring } from "../src/vault/session_keyring.ts";
import { FakeKeychainNative } from "./support/keychain_native.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";

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
  // Compiled: the second write alone would trust the binary; the item keeps the ACL it was created with.
  const kr = new KeychainKeyring({ api, runMode: "compiled" });
  await kr.set(item("work", "old", { keychainNotTrustApplication: true }));
  await kr.set(item("work", "new", { label: "new label", keychainNotTrustApplication: false }));
  const stored = api.files.get("aws-vault.keychain")!.get("aws-vault\u0000work")!;
  assert.equal(stored.trustApplication, false, "ACL from creation is kept");
  assert.deepEqual(stored.record.data, bytes("new"));
  assert.equal(stored.record.label, "new label");
  assert.ok(!api.calls.some((c) => c.startsWith("delete")), "no delete-then-add window");
  assert.deepEqual(api.calls.slice(-2), ["add work", "update work"]);
});

/** Writes one credential, one session and one OIDC token through the typed keyrings, as aws-vault does. */
async function writeEachKind(kr: Keyring): Promise<void> {
  const now = () => new Date("2024-01-02T03:04:05Z");
  await new CredentialKeyring(kr).set("work", { accessKeyId: "AKIA1", secretAccessKey: "s" });
  await new SessionKeyring(kr, { now }).set(
    { type: SESSION_TYPES.getSessionToken, profileName: "work", mfaSerial: "" },
    { accessKeyId: "ASIA1", secretAccessKey: "s", sessionToken: "t", expiration: new Date("2024-01-02T04:04:05Z") },
  );
  await new OidcTokenKeyring(kr, { now }).set("https://x.awsapps.com/start", { accessToken: "a", expiresIn: 600 });
}
const kindOf = (account: string) =>
  account === "work" ? "credential" : account.startsWith("oidc:") ? "oidc token" : "session";

Deno.test("keychain: trusted application per kind and run mode (credentials never; sessions/tokens only compiled)", async () => {
  const expected: Record<KeychainRunMode, Record<string, boolean>> = {
    compiled: { credential: false, session: true, "oidc token": true },
    interpreter: { credential: false, session: false, "oidc token": false },
  };
  for (const runMode of ["compiled", "interpreter"] as const) {
    const api = new FakeKeychainApi();
    const kr = new KeychainKeyring({ api, runMode });
    assert.equal(kr.runMode, runMode);
    await writeEachKind(kr);
    const stored = [...api.files.get("aws-vault.keychain")!].map(([id, s]) =>
      [kindOf(id.split("\u0000")[1]), s] as const
    );
    assert.deepEqual(stored.map(([kind]) => kind).sort(), ["credential", "oidc token", "session"]);
    for (const [kind, s] of stored) assert.equal(s.trustApplication, expected[runMode][kind], `${runMode} ${kind}`);
    assert.equal(stored.find(([kind]) => kind === "credential")![1].record.label, "aws-vault (work)");
    assert.deepEqual(await new CredentialKeyring(kr).get("work"), { accessKeyId: "AKIA1", secretAccessKey: "s" });
  }
});

Deno.test("keychain: run mode from the main module; deno run of source or bundle is the interpreter", () => {
  assert.equal(keychainRunMode("file:///var/folders/ab/T/deno-compile-aws-vault/dist/aws-vault.js"), "compiled");
  assert.equal(
    keychainRunMode("file:///C:/Users/me/AppData/Local/Temp/deno-compile-aws-vault.exe/main.ts"),
    "compiled",
  );
  assert.equal(keychainRunMode("file:///Users/me/aws-vault-deno/main.ts"), "interpreter");
  assert.equal(keychainRunMode("file:///Users/me/.local/share/aws-vault/dist/aws-vault.js"), "interpreter");
  assert.equal(keychainRunMode("https://example.com/deno-compile.ts"), "interpreter");
  // This test runs under `deno test`: the generic interpreter, and so is the keyring's default.
  assert.equal(keychainRunMode(), "interpreter");
  assert.equal(new KeychainKeyring({ api: new FakeKeychainApi() }).runMode, "interpreter");
  const table = (["compiled", "interpreter"] as const).flatMap((mode) =>
    [true, false].map((notTrust) => trustsCreator({ keychainNotTrustApplication: notTrust }, mode))
  );
  assert.deepEqual(table, [false, true, false, false]);
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

Deno.test("keychain: errSecAuthFailed covers a wrong password and a Deny in the access dialog", () => {
  const e = new KeychainError("SecItemCopyMatching", OS_STATUS.authFailed);
  assert.equal(e.status, -25293);
  assert.equal(
    e.message,
    "macOS keychain: SecItemCopyMatching failed: the keychain refused access: wrong password, or access was denied " +
      "in the dialog (OSStatus -25293)",
  );
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
    SecKeychainOpen: [["buffer", "buffer"], "i32", true],
    SecKeychainGetStatus: [["pointer", "buffer"], "i32", true],
    SecKeychainCreate: [["buffer", "u32", "pointer", "u8", "pointer", "buffer"], "i32", true],
    SecAccessCreate: [["pointer", "pointer", "buffer"], "i32", true],
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
  // Every Security function can wait on the keychain's lock or a dialog: none may block the event loop.
  const secFunctions = Object.keys(SECURITY_SYMBOLS).filter((n) => n.startsWith("Sec"));
  for (const name of secFunctions) assert.equal(fn(SECURITY_SYMBOLS, name).nonblocking, true, `${name} nonblocking`);
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

// Through the FFI layer itself (keychain_ffi.ts) over a double of CoreFoundation and Security.framework.

function nativeKeyring(runMode: KeychainRunMode, fake = new FakeKeychainNative()) {
  return { fake, kr: new KeychainKeyring({ api: nativeKeychainApi(() => fake.native), runMode }) };
}

/** Every CF object created was released exactly once and nothing released was used. */
function assertClean(fake: FakeKeychainNative): void {
  assert.deepEqual(fake.violations, []);
  assert.equal(fake.live.size, 0, "CF objects leaked");
  assert.deepEqual(fake.pending(), [], "a Security call was left unawaited");
}

Deno.test("keychain FFI: SecAccessCreate trusted list per kind and run mode (NULL only for compiled sessions/tokens)", async () => {
  const expected: Record<KeychainRunMode, Record<string, "creator" | "nobody">> = {
    compiled: { credential: "nobody", session: "creator", "oidc token": "creator" },
    interpreter: { credential: "nobody", session: "nobody", "oidc token": "nobody" },
  };
  for (const runMode of ["compiled", "interpreter"] as const) {
    const { fake, kr } = nativeKeyring(runMode);
    await writeEachKind(kr);
    assert.deepEqual([...fake.files], ["aws-vault.keychain"]);
    assert.equal(fake.items.length, 3);
    for (const item of fake.items) {
      const kind = kindOf(item.account);
      const trusted = item.access.trusted === "creator" ? "creator" : item.access.trusted.length ? "some" : "nobody";
      assert.equal(trusted, expected[runMode][kind], `${runMode} ${kind}`);
      assert.equal(item.access.descriptor, item.label, "the access is described by the item's label");
      assert.equal(item.service, "aws-vault");
    }
    assert.deepEqual(await kr.keys(), [...fake.items.map((i) => i.account)].sort());
    assert.deepEqual(await new CredentialKeyring(kr).get("work"), { accessKeyId: "AKIA1", secretAccessKey: "s" });
    assertClean(fake);
  }
});

Deno.test("keychain FFI: SecKeychainOpen, SecKeychainGetStatus and SecAccessCreate are awaited like the others", async () => {
  const { fake, kr } = nativeKeyring("compiled");
  await kr.set(item("work", "data", { keychainNotTrustApplication: true }));
  const names = fake.calls.map((c) => c.name);
  assert.deepEqual(names, [
    "SecKeychainOpen",
    "SecKeychainGetStatus",
    "SecKeychainCreate",
    "SecAccessCreate",
    "SecKeychainOpen",
    "SecItemAdd",
  ]);
  // Each call's Promise settled (the double writes its out-parameter only then) before the next one started.
  for (let i = 1; i < fake.calls.length; i++) {
    assert.ok(fake.calls[i - 1].settled! < fake.calls[i].started, `${names[i - 1]} awaited before ${names[i]}`);
  }
  assert.deepEqual(fake.item("work")!.access.trusted, []);
  assert.deepEqual((await kr.get("work")).data, bytes("data"));
  assert.deepEqual(fake.calls.slice(-4).map((c) => c.name), [
    "SecKeychainOpen",
    "SecKeychainGetStatus",
    "SecKeychainOpen",
    "SecItemCopyMatching",
  ]);
  assertClean(fake);
});

Deno.test("keychain FFI: the event loop keeps turning while SecKeychainOpen, GetStatus or SecAccessCreate waits", async () => {
  const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  for (const held of ["SecKeychainOpen", "SecKeychainGetStatus", "SecAccessCreate"]) {
    const { fake, kr } = nativeKeyring("interpreter");
    fake.files.add("aws-vault.keychain");
    fake.hold.add(held);
    let done = false;
    const write = kr.set(item("work", "x")).then(() => done = true);
    let ticks = 0;
    while (!fake.pending().includes(held)) {
      await tick();
      if (++ticks > 50) throw new Error(`${held} never called`);
    }
    // A timer and another keychain-free task still run: nothing waits synchronously on the held call.
    let timerRan = false;
    setTimeout(() => timerRan = true, 0);
    await tick();
    await tick();
    assert.ok(timerRan, `timers run while ${held} is pending`);
    assert.equal(done, false);
    assert.deepEqual(fake.pending(), [held]);
    fake.hold.clear();
    fake.release();
    await write;
    assert.equal(fake.items.length, 1);
    assertClean(fake);
  }
});

Deno.test("keychain FFI: errSecAuthFailed (wrong password or Deny) and other statuses surface with the message", async () => {
  const { fake, kr } = nativeKeyring("compiled");
  await new CredentialKeyring(kr).set("work", { accessKeyId: "AKIA1", secretAccessKey: "s" });
  fake.fail.set("SecItemCopyMatching", OS_STATUS.authFailed);
  await assert.rejects(
    kr.get("work"),
    (e) =>
      e instanceof KeychainError && e.status === -25293 &&
      /SecItemCopyMatching failed: the keychain refused access: wrong password, or access was denied in the dialog/
        .test(e.message),
  );
  fake.fail.set("SecAccessCreate", OS_STATUS.param);
  await assert.rejects(kr.set(item("other", "x")), /SecAccessCreate failed: invalid parameter \(OSStatus -50\)/);
  fake.fail.set("SecKeychainGetStatus", OS_STATUS.interactionNotAllowed);
  await assert.rejects(kr.keys(), /SecKeychainGetStatus failed: user interaction is not allowed/);
  // A missing item and a missing keychain are not errors of the call.
  await assert.rejects(kr.get("nope"), ItemNotFoundError);
  assert.deepEqual(await nativeKeyring("compiled", new FakeKeychainNative()).kr.keys(), []);
  assertClean(fake);
});

Deno.test("keychain FFI: migrate-backend into the keychain marks long-term credentials not trusted", async () => {
  // Sources report keychainNotTrustApplication=false (wincred and the keychain do not store it; this item was planted).
  const source = new MemoryKeyring();
  source.put("dev", '{"AccessKeyID":"AKIADEV","SecretAccessKey":"s"}');
  await new CredentialKeyring(source).set("prod", { accessKeyId: "AKIAPROD", secretAccessKey: "p" });
  for (const runMode of ["compiled", "interpreter"] as const) {
    const { fake, kr } = nativeKeyring(runMode);
    const summary = await migrateCredentials(source, kr, { profiles: ["dev", "prod"] });
    assert.equal(summary.copied, 2);
    for (const profile of ["dev", "prod"]) {
      const stored = fake.item(profile)!;
      assert.deepEqual(stored.access.trusted, [], `${runMode} ${profile}: no application trusted, every read asks`);
      assert.equal(stored.label, `aws-vault (${profile})`, "labelled as add labels it");
    }
    assertClean(fake);
  }
});
