import assert from "node:assert/strict";
import { ItemNotFoundError, VaultError } from "../src/core/errors.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import type { VaultItem } from "../src/vault/keyring.ts";
import {
  CRED_MAX_CREDENTIAL_BLOB_SIZE,
  ItemTooLargeError,
  WINCRED_TARGET_PREFIX,
  type WincredApi,
  WincredKeyring,
} from "../src/vault/wincred.ts";
import {
  ADVAPI32_SYMBOLS,
  CRED_PERSIST_LOCAL_MACHINE,
  CRED_PERSIST_NONE,
  CRED_TYPE_GENERIC,
  CRED_TYPE_MAXIMUM,
  CREDENTIALW_SIZE,
  type CredFunctions,
  decodeCredential,
  decodeUtf16z,
  encodeCredential,
  encodeUtf16z,
  ERROR_NOT_FOUND,
  genericCredential,
  KERNEL32_SYMBOLS,
  openWincredKeyring,
  readBytesAt,
  readCredentialAt,
  readPointerAt,
  readUtf16zAt,
  wincredApiOver,
  WincredError,
} from "../src/vault/wincred_ffi.ts";

/** Credential Manager double: generic credentials by case-insensitive target name, `prefix*` filters. */
class FakeWincredApi implements WincredApi {
  creds = new Map<string, { target: string; blob: Uint8Array }>();
  filters: string[] = [];
  read(target: string) {
    return this.creds.get(target.toLowerCase())?.blob.slice();
  }
  write(target: string, blob: Uint8Array) {
    this.creds.set(target.toLowerCase(), { target, blob: blob.slice() });
  }
  delete(target: string) {
    return this.creds.delete(target.toLowerCase());
  }
  enumerate(filter: string) {
    this.filters.push(filter);
    assert.ok(filter.endsWith("*"));
    const prefix = filter.slice(0, -1).toLowerCase();
    return [...this.creds.values()].map((c) => c.target).filter((t) => t.toLowerCase().startsWith(prefix));
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const item = (key: string, data: Uint8Array | string): VaultItem => ({
  key,
  data: typeof data === "string" ? bytes(data) : data,
  label: "ignored label",
  description: "ignored description",
  keychainNotTrustApplication: true,
  keychainNotSynchronizable: false,
});

Deno.test("wincred: round trip under aws-vault:aws-vault:<key>, blob = raw data", async () => {
  const api = new FakeWincredApi();
  const kr = new WincredKeyring({ api });
  assert.equal(kr.backend, "wincred");
  assert.equal(WINCRED_TARGET_PREFIX, "aws-vault:aws-vault:");
  await kr.set(item("work", '{"AccessKeyID":"AKIA"}'));
  assert.deepEqual([...api.creds.values()].map((c) => c.target), ["aws-vault:aws-vault:work"]);
  assert.deepEqual(api.creds.get("aws-vault:aws-vault:work")!.blob, bytes('{"AccessKeyID":"AKIA"}'));
  assert.deepEqual(await kr.get("work"), {
    key: "work",
    data: bytes('{"AccessKeyID":"AKIA"}'),
    label: "",
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  });
  await kr.set(item("work", "v2"));
  assert.deepEqual((await kr.get("work")).data, bytes("v2"));
  await kr.remove("work");
  assert.equal(api.creds.size, 0);
});

Deno.test("wincred: missing items map to ItemNotFoundError", async () => {
  const kr = new WincredKeyring({ api: new FakeWincredApi() });
  await assert.rejects(kr.get("nope"), (e) => e instanceof ItemNotFoundError && e.key === "nope");
  await assert.rejects(kr.remove("nope"), ItemNotFoundError);
  assert.deepEqual(await kr.keys(), []);
});

Deno.test("wincred: keys list by prefix, strip it, ignore other credentials, keep non-ASCII keys", async () => {
  const api = new FakeWincredApi();
  const kr = new WincredKeyring({ api });
  for (const key of ["zürich", "prod-€-𝄞", "oidc:https://a.example/start", "sts.GetSessionToken,d29yaw,,1700000000"]) {
    await kr.set(item(key, key));
  }
  api.write("git:https://github.com", bytes("x"));
  api.write("aws-vault:other:foreign", bytes("x"));
  api.write("AWS-VAULT:AWS-VAULT:UpperPrefix", bytes("x"));
  assert.deepEqual(await kr.keys(), [
    "UpperPrefix",
    "oidc:https://a.example/start",
    "prod-€-𝄞",
    "sts.GetSessionToken,d29yaw,,1700000000",
    "zürich",
  ]);
  assert.deepEqual(api.filters, ["aws-vault:aws-vault:*"]);
  assert.deepEqual((await kr.get("prod-€-𝄞")).data, bytes("prod-€-𝄞"));
});

Deno.test("wincred: blobs over 2560 bytes are refused with a clear message and nothing is written", async () => {
  const api = new FakeWincredApi();
  const kr = new WincredKeyring({ api });
  assert.equal(CRED_MAX_CREDENTIAL_BLOB_SIZE, 2560);
  await kr.set(item("max", new Uint8Array(2560)));
  await assert.rejects(
    kr.set(item("big", new Uint8Array(2561))),
    (e) =>
      e instanceof ItemTooLargeError && e instanceof VaultError &&
      e.message === "item too large for Windows Credential Manager (2561 bytes, max 2560)",
  );
  assert.deepEqual(await kr.keys(), ["max"]);
});

Deno.test("wincred: typed keyrings work on top (credentials round trip)", async () => {
  const creds = new CredentialKeyring(new WincredKeyring({ api: new FakeWincredApi() }));
  await creds.set("work", { accessKeyId: "AKIA1", secretAccessKey: "s" });
  assert.deepEqual(await creds.get("work"), { accessKeyId: "AKIA1", secretAccessKey: "s" });
  assert.deepEqual(await creds.keys(), ["work"]);
});

Deno.test("wincred: UTF-16LE NUL-terminated strings, byte by byte", () => {
  // "A" U+0041, "€" U+20AC, "𝄞" U+1D11E = surrogates D834 DD1E, then the NUL terminator.
  const encoded = encodeUtf16z("A€𝄞");
  assert.deepEqual([...encoded], [0x41, 0x00, 0xac, 0x20, 0x34, 0xd8, 0x1e, 0xdd, 0x00, 0x00]);
  assert.equal(decodeUtf16z(encoded), "A€𝄞");
  assert.deepEqual([...encodeUtf16z("")], [0, 0]);
  assert.equal(decodeUtf16z(new Uint8Array([0x61, 0, 0, 0, 0x62, 0])), "a", "stops at the first NUL");
  assert.equal(decodeUtf16z(new Uint8Array([0x61, 0, 0x62])), "a", "odd trailing byte ignored");
  assert.equal(decodeUtf16z(encodeUtf16z("x\ud800y")), "x\ud800y", "lone surrogate survives");
  assert.throws(() => encodeUtf16z("a\0b"), VaultError);
  const long = "é".repeat(100_000);
  assert.equal(decodeUtf16z(encodeUtf16z(long)), long);
});

// deno-fmt-ignore
const EXPECTED_CREDENTIALW = [
  0x00, 0x00, 0x00, 0x00,                         //  0 Flags
  0x01, 0x00, 0x00, 0x00,                         //  4 Type = CRED_TYPE_GENERIC
  0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, //  8 TargetName
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 16 Comment = NULL
  0xdd, 0xcc, 0xbb, 0xaa, 0x00, 0x00, 0xd9, 0x01, // 24 LastWritten (dwLowDateTime, dwHighDateTime)
  0x19, 0x00, 0x00, 0x00,                         // 32 CredentialBlobSize = 25
  0x00, 0x00, 0x00, 0x00,                         // 36 padding
  0x00, 0x10, 0x00, 0x00, 0xff, 0x7f, 0x00, 0x00, // 40 CredentialBlob
  0x02, 0x00, 0x00, 0x00,                         // 48 Persist = CRED_PERSIST_LOCAL_MACHINE
  0x03, 0x00, 0x00, 0x00,                         // 52 AttributeCount
  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // 56 Attributes
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 64 TargetAlias = NULL
  0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00, // 72 UserName
];

const SAMPLE_FIELDS = {
  flags: 0,
  type: CRED_TYPE_GENERIC,
  targetName: 0x1122_3344_5566n,
  comment: 0n,
  lastWritten: 0x01d9_0000_aabb_ccddn,
  credentialBlobSize: 25,
  credentialBlob: 0x7fff_0000_1000n,
  persist: CRED_PERSIST_LOCAL_MACHINE,
  attributeCount: 3,
  attributes: 0x0102_0304_0506_0708n,
  targetAlias: 0n,
  userName: 0xdead_beefn,
};

Deno.test("wincred: CREDENTIALW x64 layout encodes and decodes byte by byte", () => {
  assert.equal(CREDENTIALW_SIZE, 80);
  assert.equal(EXPECTED_CREDENTIALW.length, 80);
  assert.deepEqual([...encodeCredential(SAMPLE_FIELDS)], EXPECTED_CREDENTIALW);
  assert.deepEqual(decodeCredential(new Uint8Array(EXPECTED_CREDENTIALW)), SAMPLE_FIELDS);
  assert.deepEqual([...encodeCredential({})], new Array(80).fill(0), "unset fields are zero/NULL");
  const shifted = new Uint8Array(90);
  shifted.set(EXPECTED_CREDENTIALW, 10);
  assert.deepEqual(decodeCredential(shifted.subarray(10)), SAMPLE_FIELDS, "honours byteOffset");
  assert.throws(() => decodeCredential(new Uint8Array(79)), VaultError);
});

Deno.test("wincred: native-memory readers follow CREDENTIALW pointers (as after CredReadW/CredEnumerateW)", () => {
  const address = (buf: ArrayBufferView) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  const target = encodeUtf16z("aws-vault:aws-vault:zürich-𝄞");
  const blob = bytes('{"secret":"x"}');
  const first = encodeCredential({
    type: CRED_TYPE_GENERIC,
    targetName: address(target),
    credentialBlobSize: blob.length,
    credentialBlob: address(blob),
  });
  const otherName = encodeUtf16z("aws-vault:aws-vault:second");
  const second = encodeCredential({ type: CRED_TYPE_GENERIC, targetName: address(otherName) });
  const list = new BigUint64Array([address(first), address(second)]);

  const cred = readCredentialAt(address(first));
  assert.equal(readUtf16zAt(cred.targetName), "aws-vault:aws-vault:zürich-𝄞");
  assert.deepEqual(readBytesAt(cred.credentialBlob, cred.credentialBlobSize), blob);
  assert.equal(readPointerAt(address(list), 1), address(second));
  assert.equal(
    readUtf16zAt(readCredentialAt(readPointerAt(address(list), 1)).targetName),
    "aws-vault:aws-vault:second",
  );
  assert.equal(readUtf16zAt(0n), "", "NULL string");
  assert.deepEqual(readBytesAt(0n, 0), new Uint8Array(0), "no blob");
  const copy = readBytesAt(address(blob), blob.length);
  blob[0] = 0;
  assert.equal(copy[0], 0x7b, "blob is copied out of native memory");
  void [target, otherName, first, second, list];
});

Deno.test("wincred: the CREDENTIALW handed to CredWriteW, read back through its pointers", () => {
  const credential = genericCredential("aws-vault:aws-vault:prod-€", bytes("{}"));
  const cred = readCredentialAt(BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(credential.struct))));
  assert.equal(cred.type, CRED_TYPE_GENERIC);
  assert.equal(cred.persist, CRED_PERSIST_LOCAL_MACHINE);
  assert.equal(cred.flags, 0);
  assert.equal(readUtf16zAt(cred.targetName), "aws-vault:aws-vault:prod-€");
  assert.deepEqual(readBytesAt(cred.credentialBlob, cred.credentialBlobSize), bytes("{}"));
  assert.deepEqual([cred.comment, cred.targetAlias, cred.userName, cred.attributes, cred.lastWritten], [
    0n,
    0n,
    0n,
    0n,
    0n,
  ]);
  assert.equal(cred.attributeCount, 0);
  credential.wipe();
  assert.deepEqual(credential.keep[1], new Uint8Array(2), "the copied secret is zeroed after the call");
  const empty = decodeCredential(genericCredential("t", new Uint8Array(0)).struct);
  assert.deepEqual([empty.credentialBlobSize, empty.credentialBlob], [0, 0n], "empty blob: size 0, NULL pointer");
});

Deno.test("wincred FFI: symbol tables match the advapi32/kernel32 signatures; nothing variadic", () => {
  const fn = (name: string) =>
    ({ ...ADVAPI32_SYMBOLS, ...KERNEL32_SYMBOLS } as Record<string, Deno.ForeignFunction>)[name];
  const expected: Record<string, [Deno.NativeType[], Deno.NativeResultType]> = {
    CredReadW: [["buffer", "u32", "u32", "buffer"], "i32"],
    CredWriteW: [["buffer", "u32"], "i32"],
    CredDeleteW: [["buffer", "u32", "u32"], "i32"],
    CredEnumerateW: [["buffer", "u32", "buffer", "buffer"], "i32"],
    CredFree: [["pointer"], "void"],
    CredGetSessionTypes: [["u32", "buffer"], "i32"],
    GetLastError: [[], "u32"],
  };
  assert.deepEqual(Object.keys({ ...ADVAPI32_SYMBOLS, ...KERNEL32_SYMBOLS }).sort(), Object.keys(expected).sort());
  for (const [name, [parameters, result]] of Object.entries(expected)) {
    assert.deepEqual(fn(name).parameters, parameters, name);
    assert.equal(fn(name).result, result, name);
    assert.ok(!fn(name).nonblocking, `${name} must be synchronous (GetLastError, for the message, on the same thread)`);
  }
  for (const variadic of ["wsprintfW", "wsprintfA", "_snwprintf", "swprintf", "DbgPrint"]) {
    assert.ok(!(variadic in ADVAPI32_SYMBOLS) && !(variadic in KERNEL32_SYMBOLS), variadic);
  }
  assert.equal(ERROR_NOT_FOUND, 1168);
  assert.equal(CRED_TYPE_GENERIC, 1);
  assert.equal(CRED_PERSIST_LOCAL_MACHINE, 2);
  assert.equal(CRED_PERSIST_NONE, 0);
  assert.equal(CRED_TYPE_MAXIMUM, 7);
});

/**
 * advapi32 in JavaScript: CREDENTIALWs laid out in JS-owned memory that the real readers follow, case-insensitive
 * targets, `prefix*` filters (a filter without `*` matches whole names), failures that return FALSE. The last-error
 * value is whatever the test sets: the code under test must decide "not found" without it.
 */
function fakeCredFunctions(options: { lastError: number; sessionPersist?: number; sessionTypesFail?: boolean }) {
  const store = new Map<string, { target: string; blob: Uint8Array }>();
  const keep: ArrayBufferView[] = [];
  const address = (buf: ArrayBufferView) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  const u8 = (b: unknown): Uint8Array => {
    assert.ok(b instanceof Uint8Array, "names and CREDENTIALWs are passed as Uint8Array");
    return b;
  };
  const struct = (c: { target: string; blob: Uint8Array }) => {
    const name = encodeUtf16z(c.target);
    const blob = c.blob.slice();
    const bytes = encodeCredential({
      type: CRED_TYPE_GENERIC,
      targetName: address(name),
      credentialBlobSize: blob.length,
      credentialBlob: blob.length ? address(blob) : 0n,
      persist: CRED_PERSIST_LOCAL_MACHINE,
    });
    keep.push(name, blob, bytes);
    return address(bytes);
  };
  const calls: string[] = [];
  const freed: bigint[] = [];
  const fns: CredFunctions = {
    CredReadW(target, _type, _flags, out) {
      calls.push("CredReadW");
      const found = store.get(decodeUtf16z(u8(target)).toLowerCase());
      if (!found) return 0;
      (out as BigUint64Array)[0] = struct(found);
      return 1;
    },
    CredWriteW(credential) {
      calls.push("CredWriteW");
      const fields = decodeCredential(u8(credential));
      const target = readUtf16zAt(fields.targetName);
      if (fields.credentialBlobSize > CRED_MAX_CREDENTIAL_BLOB_SIZE) return 0;
      store.set(target.toLowerCase(), { target, blob: readBytesAt(fields.credentialBlob, fields.credentialBlobSize) });
      return 1;
    },
    CredDeleteW(target) {
      calls.push("CredDeleteW");
      return store.delete(decodeUtf16z(u8(target)).toLowerCase()) ? 1 : 0;
    },
    CredEnumerateW(filter, _flags, count, out) {
      calls.push("CredEnumerateW");
      const f = decodeUtf16z(u8(filter)).toLowerCase();
      const matches = [...store.values()].filter((c) =>
        f.endsWith("*") ? c.target.toLowerCase().startsWith(f.slice(0, -1)) : c.target.toLowerCase() === f
      );
      if (matches.length === 0) return 0;
      const list = new BigUint64Array(matches.map(struct));
      keep.push(list);
      (count as Uint32Array)[0] = matches.length;
      (out as BigUint64Array)[0] = address(list);
      return 1;
    },
    CredFree(pointer) {
      freed.push(BigInt(Deno.UnsafePointer.value(pointer)));
    },
    CredGetSessionTypes(n, persists) {
      calls.push("CredGetSessionTypes");
      if (options.sessionTypesFail) return 0;
      const out = persists as Uint32Array;
      for (let i = 0; i < n; i++) out[i] = i === CRED_TYPE_GENERIC ? options.sessionPersist ?? 2 : 0;
      return 1;
    },
    lastError: () => {
      calls.push("lastError");
      return options.lastError;
    },
  };
  return { fns, store, calls, freed };
}

for (const lie of [0, ERROR_NOT_FOUND, 5]) {
  Deno.test(`wincred FFI: "not found" is decided without GetLastError (it answers ${lie})`, () => {
    const { fns, store, calls, freed } = fakeCredFunctions({ lastError: lie });
    const api = wincredApiOver(fns);
    assert.equal(api.read("aws-vault:aws-vault:missing"), undefined);
    assert.equal(api.delete("aws-vault:aws-vault:missing"), false);
    assert.deepEqual(api.enumerate("aws-vault:aws-vault:*"), [], "empty store lists nothing");
    api.write("aws-vault:aws-vault:work2", bytes("x"));
    api.write("AWS-VAULT:aws-vault:Work*x", bytes("y"));
    // A longer name with the same prefix, or a * inside the name, does not make a missing item present.
    assert.equal(api.read("aws-vault:aws-vault:work"), undefined);
    assert.equal(api.delete("aws-vault:aws-vault:work"), false);
    assert.equal(api.read("aws-vault:aws-vault:work*"), undefined);
    assert.deepEqual(api.read("aws-vault:aws-vault:WORK2"), bytes("x"), "case-insensitive, as Windows");
    assert.deepEqual(api.read("aws-vault:aws-vault:work*x"), bytes("y"));
    assert.equal(api.delete("aws-vault:aws-vault:work2"), true);
    assert.deepEqual(api.enumerate("aws-vault:aws-vault:*"), ["AWS-VAULT:aws-vault:Work*x"]);
    assert.equal(store.size, 1);
    assert.ok(calls.includes("CredGetSessionTypes"), "an empty enumeration is trusted only on a working store");
    assert.ok(freed.length > 0 && freed.every((p) => p !== 0n), "every Windows buffer is freed");
  });
}

Deno.test("wincred FFI: a present item that cannot be read or deleted fails, whatever GetLastError says", () => {
  const { fns } = fakeCredFunctions({ lastError: ERROR_NOT_FOUND });
  const api = wincredApiOver({ ...fns, CredReadW: () => 0, CredDeleteW: () => 0 });
  api.write("aws-vault:aws-vault:work", bytes("x"));
  for (const call of [() => api.read("aws-vault:aws-vault:WORK"), () => api.delete("aws-vault:aws-vault:work")]) {
    assert.throws(call, (e) => e instanceof WincredError && e.code === ERROR_NOT_FOUND && !e.unavailable);
  }
});

for (const broken of [{ sessionPersist: CRED_PERSIST_NONE }, { sessionTypesFail: true }]) {
  Deno.test(
    `wincred FFI: no credential store in this logon session is an error, not "empty" (${JSON.stringify(broken)})`,
    () => {
      const { fns } = fakeCredFunctions({ lastError: 1312, ...broken });
      const api = wincredApiOver({ ...fns, CredWriteW: () => 0 });
      const unavailable = (op: string) => (e: unknown) =>
        e instanceof WincredError && e.unavailable && e.code === 1312 &&
        e.message === `Windows Credential Manager is not available in this logon session: ${op} failed (error 1312)`;
      assert.throws(() => api.read("aws-vault:aws-vault:x"), unavailable("CredReadW"));
      assert.throws(() => api.delete("aws-vault:aws-vault:x"), unavailable("CredDeleteW"));
      assert.throws(() => api.enumerate("aws-vault:aws-vault:*"), unavailable("CredEnumerateW"));
      assert.throws(() => api.write("aws-vault:aws-vault:x", bytes("x")), unavailable("CredWriteW"));
    },
  );
}

Deno.test("wincred FFI: a failed write reads the error before wiping, and wipes the secret copy anyway", () => {
  const { fns } = fakeCredFunctions({ lastError: 87 });
  let seen: Uint8Array | undefined;
  const order: string[] = [];
  const api = wincredApiOver({
    ...fns,
    CredWriteW(credential) {
      const fields = decodeCredential(credential as Uint8Array);
      seen = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(
        Deno.UnsafePointer.create(fields.credentialBlob)!,
        fields.credentialBlobSize,
      ));
      order.push("CredWriteW");
      return 0;
    },
    lastError: () => {
      order.push(`lastError (blob ${seen![0] === 0 ? "wiped" : "intact"})`);
      return 87;
    },
  });
  assert.throws(
    () => api.write("aws-vault:aws-vault:x", bytes("secret")),
    (e) => e instanceof WincredError && e.message === "Windows Credential Manager: CredWriteW failed (error 87)",
  );
  assert.deepEqual(order, ["CredWriteW", "lastError (blob intact)"], "GetLastError comes first after the call");
  assert.deepEqual(seen, new Uint8Array(6), "the secret copy is zeroed afterwards");
});

Deno.test("wincred: errors and the factory off Windows", { ignore: Deno.build.os === "windows" }, () => {
  assert.throws(() => openWincredKeyring(), (e) => e instanceof VaultError && /needs Windows/.test(e.message));
  const e = new WincredError("CredWriteW", 87);
  assert.ok(e instanceof VaultError);
  assert.equal(e.message, "Windows Credential Manager: CredWriteW failed (error 87)");
});
