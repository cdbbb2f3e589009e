/**
 * The wincred backend against a real Credential Manager (Wine's, in the lane): items exactly as the Go aws-vault
 * writes them, both ways, through credtool.exe (tests/windows/credtool.c, CredWriteW from wincred.h, nothing shared
 * with aws-vault); list, remove, clear, not found, the blob size limit; and "not found" decided without trusting
 * GetLastError (src/vault/wincred_ffi.ts, wincredApiOver).
 */
import assert from "node:assert/strict";
import {
  addFakeUser,
  addKeys,
  assertExit,
  awsVault,
  clearWincred,
  credtool,
  FAKE_AWS,
  hex,
  makeSandbox,
  NEEDS_CREDTOOL,
  NEEDS_FAKE_AWS,
  UNDER_WINE,
  wincredTargets,
  windowsSuite,
} from "./support.ts";

const test = windowsSuite("wincred");
const PREFIX = "aws-vault:aws-vault:";
/** Go's json.Marshal(aws.Credentials) for long-term keys, as aws-vault stores them. */
const goCredentials = (id: string, secret: string) =>
  `{"AccessKeyID":"${id}","SecretAccessKey":"${secret}","SessionToken":"","Source":"","CanExpire":false,` +
  `"Expires":"0001-01-01T00:00:00Z"}`;

test("an item written the Go way (credtool) is read by aws-vault: list, export, exec", async () => {
  await clearWincred();
  const sb = await makeSandbox({ config: "[profile go-written]\nregion = eu-central-1\n" });
  try {
    const blob = goCredentials("AKIAGOWRITTEN0000001", "go/secret+zürich");
    assertExit(await credtool("write", `${PREFIX}go-written`, hex(blob)), 0, "credtool write");
    const list = await awsVault(sb, ["list", "--credentials"]);
    assertExit(list, 0);
    assert.equal(list.stdout, "go-written\n");
    const exported = await awsVault(sb, ["export", "--no-session", "--format=json", "go-written"]);
    assertExit(exported, 0);
    const json = JSON.parse(exported.stdout);
    assert.equal(json.AccessKeyId, "AKIAGOWRITTEN0000001");
    assert.equal(json.SecretAccessKey, "go/secret+zürich");
    const exec = await awsVault(sb, ["exec", "--no-session", "go-written", "--", "cmd.exe", "/c", "set AWS_"]);
    assertExit(exec, 0);
    assert.match(exec.stdout, /^AWS_ACCESS_KEY_ID=AKIAGOWRITTEN0000001\r?$/m);
    assert.match(exec.stdout, /^AWS_REGION=eu-central-1\r?$/m);
  } finally {
    await sb.cleanup();
  }
}, { skip: NEEDS_CREDTOOL });

test("an item aws-vault writes is what the Go aws-vault reads: target, type, persistence, raw JSON blob", async () => {
  await clearWincred();
  const sb = await makeSandbox();
  try {
    await addKeys(sb, "deno-written", { accessKeyId: "AKIADENOWRITTEN00001", secretAccessKey: "deno/secret€" });
    assert.deepEqual(await wincredTargets(), [`${PREFIX}deno-written`]);
    const read = await credtool("read", `${PREFIX}deno-written`);
    assertExit(read, 0, "credtool read");
    const fields = Object.fromEntries(read.stdout.trim().split(" ").map((f) => f.split("=")));
    assert.equal(fields.type, "1", "CRED_TYPE_GENERIC");
    assert.equal(fields.persist, "2", "CRED_PERSIST_LOCAL_MACHINE");
    assert.equal(fields.flags, "0");
    assert.equal(fields.blob, hex(goCredentials("AKIADENOWRITTEN00001", "deno/secret€")));
    const list = await credtool("list", `${PREFIX}*`);
    assertExit(list, 0, "credtool list");
    assert.equal(list.stdout, `${PREFIX}deno-written\n`);
    // The item is the profile's: aws-vault removes exactly it; Go's lookup then finds nothing.
    assertExit(await awsVault(sb, ["remove", "-f", "deno-written"]), 0);
    const gone = await credtool("read", `${PREFIX}deno-written`);
    assert.equal(gone.code, 2, gone.stdout);
  } finally {
    await sb.cleanup();
  }
}, { skip: NEEDS_CREDTOOL });

test("list shows only aws-vault:aws-vault:* items (other programs' credentials are left alone)", async () => {
  await clearWincred();
  const sb = await makeSandbox({ config: "[profile a]\n[profile b]\n" });
  try {
    assertExit(await credtool("write", "git:https://example.com", hex("not ours")), 0);
    assertExit(await credtool("write", "aws-vault:other-service:x", hex("not ours")), 0);
    await addKeys(sb, "b", { accessKeyId: "AKIABBBBBBBBBBBBBBBB", secretAccessKey: "b" });
    await addKeys(sb, "a", { accessKeyId: "AKIAAAAAAAAAAAAAAAAA", secretAccessKey: "a" });
    const list = await awsVault(sb, ["list"]);
    assertExit(list, 0);
    assert.match(list.stdout, /^a\s+a\s+-\s*$/m);
    assert.match(list.stdout, /^b\s+b\s+-\s*$/m);
    assert.equal((await awsVault(sb, ["list", "--credentials"])).stdout, "a\nb\n");
    assertExit(await awsVault(sb, ["remove", "-f", "a"]), 0);
    assert.equal((await awsVault(sb, ["list", "--credentials"])).stdout, "b\n");
    assert.equal((await credtool("read", "git:https://example.com")).code, 0, "foreign credential untouched");
  } finally {
    assertExit(await credtool("delete", "git:https://example.com"), 0);
    assertExit(await credtool("delete", "aws-vault:other-service:x"), 0);
    await sb.cleanup();
  }
}, { skip: NEEDS_CREDTOOL });

test("not found: get (export), remove and an empty list, through the CLI", async () => {
  await clearWincred();
  const sb = await makeSandbox({ config: "[profile ghost]\n" });
  try {
    const list = await awsVault(sb, ["list", "--credentials"]);
    assertExit(list, 0);
    assert.equal(list.stdout, "");
    const removed = await awsVault(sb, ["remove", "-f", "ghost"]);
    assertExit(removed, 1);
    assert.equal(
      removed.stderr,
      'aws-vault: error: remove: no credentials stored for profile "ghost" in the wincred vault\n',
    );
    const exported = await awsVault(sb, ["export", "--no-session", "ghost"]);
    assertExit(exported, 1);
    assert.match(exported.stderr, /ghost/);
    assert.doesNotMatch(exported.stderr, /Credential Manager|error \d+/, "a missing item is not a native failure");
  } finally {
    await sb.cleanup();
  }
});

test("not found through the module: ItemNotFoundError for get/remove, [] for an empty list", async () => {
  await clearWincred();
  const { ItemNotFoundError } = await import("../../src/core/errors.ts");
  const { openWincredKeyring } = await import("../../src/vault/wincred_ffi.ts");
  const kr = openWincredKeyring();
  assert.deepEqual(await kr.keys(), []);
  await assert.rejects(kr.get("missing"), (e) => e instanceof ItemNotFoundError && e.key === "missing");
  await assert.rejects(kr.remove("missing"), ItemNotFoundError);
  const item = (key: string, data: string) => ({
    key,
    data: new TextEncoder().encode(data),
    label: "",
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  });
  // A name that only shares a prefix, or holds a *, does not count as the missing one.
  await kr.set(item("work2", "x"));
  await kr.set(item("a*b", "y"));
  await assert.rejects(kr.get("work"), ItemNotFoundError);
  await assert.rejects(kr.remove("work"), ItemNotFoundError);
  await assert.rejects(kr.get("a*"), ItemNotFoundError);
  assert.equal(new TextDecoder().decode((await kr.get("WORK2")).data), "x", "case-insensitive, as Windows");
  assert.equal(new TextDecoder().decode((await kr.get("a*b")).data), "y");
  assert.deepEqual(await kr.keys(), ["a*b", "work2"]);
  await kr.remove("work2");
  await kr.remove("a*b");
  assert.deepEqual(await kr.keys(), []);
});

test("not found does not depend on GetLastError: real advapi32 with a last-error value that lies", async () => {
  await clearWincred();
  const { ERROR_NOT_FOUND, nativeCredFunctions, wincredApiOver, WincredError } = await import(
    "../../src/vault/wincred_ffi.ts"
  );
  const real = nativeCredFunctions();
  for (const lie of [0, 5, 87, ERROR_NOT_FOUND]) {
    const api = wincredApiOver({ ...real, lastError: () => lie });
    assert.equal(api.read(`${PREFIX}missing`), undefined, `read, GetLastError = ${lie}`);
    assert.equal(api.delete(`${PREFIX}missing`), false, `delete, GetLastError = ${lie}`);
    assert.deepEqual(api.enumerate(`${PREFIX}*`), [], `enumerate, GetLastError = ${lie}`);
  }
  // The other way round: the item is there, the read fails, GetLastError claims ERROR_NOT_FOUND: not "missing".
  const api = wincredApiOver({ ...real, CredReadW: () => 0, CredDeleteW: () => 0, lastError: () => ERROR_NOT_FOUND });
  api.write(`${PREFIX}present`, new TextEncoder().encode("{}"));
  assert.throws(() => api.read(`${PREFIX}present`), (e) => e instanceof WincredError && !e.unavailable);
  assert.throws(() => api.delete(`${PREFIX}PRESENT`), (e) => e instanceof WincredError && !e.unavailable);
  assert.ok(wincredApiOver(real).delete(`${PREFIX}present`));
  // A logon session without a credential store: an error, never an empty list.
  const none = wincredApiOver({ ...real, CredGetSessionTypes: () => 0, lastError: () => 1312 });
  assert.throws(() => none.enumerate(`${PREFIX}*`), (e) => e instanceof WincredError && e.unavailable);
  assert.throws(() => none.read(`${PREFIX}missing`), (e) => e instanceof WincredError && e.code === 1312);
});

test("the blob size limit: 2560 bytes are stored, 2561 refused with aws-vault's message and nothing written", async () => {
  await clearWincred();
  const { openWincredKeyring, nativeCredFunctions, wincredApiOver, WincredError } = await import(
    "../../src/vault/wincred_ffi.ts"
  );
  const kr = openWincredKeyring();
  const item = (key: string, size: number) => ({
    key,
    data: new Uint8Array(size).fill(0x61),
    label: "",
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  });
  await kr.set(item("max", 2560));
  assert.equal((await kr.get("max")).data.length, 2560);
  await assert.rejects(
    kr.set(item("big", 2561)),
    /item too large for Windows Credential Manager \(2561 bytes, max 2560\)/,
  );
  assert.deepEqual(await kr.keys(), ["max"]);
  // Below the keyring's own check, Windows' Credential Manager itself refuses an oversized blob (a native error).
  // Wine's stores it: the limit is aws-vault's check alone there.
  const api = wincredApiOver(nativeCredFunctions());
  if (UNDER_WINE) {
    api.write(`${PREFIX}raw-big`, new Uint8Array(2561));
    assert.ok(api.delete(`${PREFIX}raw-big`));
  } else {
    assert.throws(() => api.write(`${PREFIX}raw-big`, new Uint8Array(2561)), WincredError);
    assert.equal(api.read(`${PREFIX}raw-big`), undefined);
  }
  await kr.remove("max");
});

test("clear removes the sessions aws-vault cached in the Credential Manager and keeps the keys", async () => {
  await clearWincred();
  const keys = await addFakeUser("clear");
  const sb = await makeSandbox({ config: "[profile s]\nregion = us-east-1\n" });
  const env = { AWS_ENDPOINT_URL: FAKE_AWS! };
  try {
    await addKeys(sb, "s", keys);
    assertExit(await awsVault(sb, ["export", "--format=json", "s"], { env }), 0);
    const stored = await wincredTargets();
    assert.equal(stored.length, 2, stored.join(", "));
    assert.ok(stored.includes(`${PREFIX}s`));
    assert.ok(stored.some((t) => t.startsWith(`${PREFIX}sts.GetSessionToken,`)), stored.join(", "));
    const list = await awsVault(sb, ["list"], { env });
    assert.match(list.stdout, /^s\s+s\s+sts\.GetSessionToken:\d+[hm]/m);
    const cleared = await awsVault(sb, ["clear"], { env });
    assertExit(cleared, 0);
    assert.equal(cleared.stdout, "Cleared 1 sessions.\n");
    assert.deepEqual(await wincredTargets(), [`${PREFIX}s`]);
    assertExit(await awsVault(sb, ["remove", "-f", "s"]), 0);
    assert.deepEqual(await wincredTargets(), []);
  } finally {
    await sb.cleanup();
  }
}, { skip: NEEDS_FAKE_AWS });
