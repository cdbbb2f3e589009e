import assert from "node:assert/strict";
import { ItemNotFoundError, VaultError } from "../src/core/errors.ts";
import { expandHome, FileKeyring, type FileKeyringOptions } from "../src/vault/file.ts";
import { encryptJwe } from "../src/vault/jwe.ts";
import { CorruptItemError, listKeys, type VaultItem, WrongPassphraseError } from "../src/vault/keyring.ts";
import { AVAILABLE_BACKENDS, DEFAULT_BACKEND, openKeyring } from "../src/vault/open_keyring.ts";
import { envFromRecord } from "../src/core/env.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const isPosix = Deno.build.os !== "windows";

function item(key: string, value: string): VaultItem {
  return {
    key,
    data: enc.encode(value),
    label: `label ${key}`,
    description: "d",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  };
}

/** A keyring whose passphrase comes from a counting prompt (or the env when `envPass` is given). */
function open(dir: string, passphrase: string, options: Partial<FileKeyringOptions> & { envPass?: string } = {}) {
  const prompts: string[] = [];
  const keyring = new FileKeyring({
    dir,
    env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: options.envPass }),
    promptPassphrase: (message) => {
      prompts.push(message);
      return Promise.resolve(passphrase);
    },
    ...options,
  });
  return { keyring, prompts };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vault_file_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every entry of a directory with its bytes (directories as null), for byte-for-byte comparisons. */
async function snapshot(dir: string): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for await (const e of Deno.readDir(dir)) {
    out.set(e.name, e.isDirectory ? null : (await Deno.readFile(`${dir}/${e.name}`)).toBase64());
  }
  return out;
}

Deno.test("round trip; missing directory is an empty store and is created 0700 on first write; files 0600", async () => {
  await withTempDir(async (tmp) => {
    const dir = `${tmp}/nested/keys`;
    const { keyring, prompts } = open(dir, "pw");
    assert.deepEqual(await keyring.keys(), []);
    await assert.rejects(keyring.get("work"), ItemNotFoundError);
    await assert.rejects(keyring.remove("work"), ItemNotFoundError);
    assert.deepEqual(prompts, [], "a missing key never prompts");
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);

    await keyring.set(item("work", "v1"));
    await keyring.set(item("oidc:https://x.awsapps.com/start", "tok"));
    await keyring.set(item("work", "v2"));
    assert.deepEqual(prompts, [`Enter passphrase to unlock ${JSON.stringify(dir)}: `]);
    if (isPosix) {
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
      assert.equal((await Deno.stat(`${dir}/work`)).mode! & 0o777, 0o600);
    }
    assert.deepEqual([...(await snapshot(dir)).keys()].sort(), ["oidc:https:%2F%2Fx.awsapps.com%2Fstart", "work"]);
    assert.deepEqual(await keyring.keys(), ["oidc:https://x.awsapps.com/start", "work"]);
    assert.deepEqual(await keyring.get("work"), item("work", "v2"));

    const fresh = open(dir, "pw");
    assert.equal(dec.decode((await fresh.keyring.get("oidc:https://x.awsapps.com/start")).data), "tok");
    await fresh.keyring.remove("work");
    await assert.rejects(fresh.keyring.get("work"), ItemNotFoundError);
    assert.deepEqual(await fresh.keyring.keys(), ["oidc:https://x.awsapps.com/start"]);
  });
});

Deno.test("passphrase: env var wins when set, even empty; prompt asked once; list never asks", async () => {
  await withTempDir(async (dir) => {
    const a = open(dir, "unused", { envPass: "" });
    await a.keyring.set(item("k", "v"));
    assert.deepEqual(a.prompts, []);
    const b = open(dir, "");
    assert.deepEqual(await b.keyring.keys(), ["k"]);
    assert.deepEqual(b.prompts, []);
    await b.keyring.get("k");
    await b.keyring.get("k");
    await b.keyring.set(item("k2", "v"));
    assert.equal(b.prompts.length, 1);
    const none = new FileKeyring({ dir, env: envFromRecord({}) });
    await assert.rejects(none.get("k"), (e) => e instanceof VaultError && /AWS_VAULT_FILE_PASSPHRASE/.test(e.message));
  });
});

Deno.test("wrong passphrase: get fails clearly; set fails and leaves the directory byte-for-byte unchanged", async () => {
  await withTempDir(async (dir) => {
    await open(dir, "right").keyring.set(item("work", "secret-value"));
    await Deno.writeTextFile(`${dir}/.aws-vault-tmp-stale`, "x");
    await Deno.utime(`${dir}/.aws-vault-tmp-stale`, new Date(0), new Date(0));
    const before = await snapshot(dir);
    const wrong = open(dir, "wrong").keyring;
    await assert.rejects(wrong.get("work"), (e) => {
      assert.ok(e instanceof WrongPassphraseError);
      assert.match(e.message, /wrong passphrase/);
      assert.doesNotMatch(e.message, /secret-value|wrong"/);
      return true;
    });
    await assert.rejects(open(dir, "wrong").keyring.set(item("other", "x")), WrongPassphraseError);
    await assert.rejects(open(dir, "wrong").keyring.set(item("work", "x")), WrongPassphraseError);
    assert.deepEqual(await snapshot(dir), before);
  });
});

Deno.test("the passphrase check on write: target item first, any readable item, no readable item means accept", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/garbage`, "not a jwe");
    await open(dir, "first").keyring.set(item("a", "1")); // only a corrupt file: nothing to verify against
    await Deno.writeFile(`${dir}/b`, enc.encode(await encryptJwe(enc.encode('{"Key":"b"}'), "second")));
    await open(dir, "second").keyring.set(item("b", "2")); // mixed store from aws-vault: target decrypts
    await open(dir, "first").keyring.set(item("c", "3")); // some item decrypts
    assert.equal(dec.decode((await open(dir, "second").keyring.get("b")).data), "2");
  });
});

Deno.test("foreign and corrupt entries are reported by name; good keys still listed; get names the file", async () => {
  await withTempDir(async (dir) => {
    const { keyring } = open(dir, "pw");
    await keyring.set(item("good", "v"));
    await keyring.set(item("a/b", "v"));
    await Deno.writeTextFile(`${dir}/garbage`, "\u0000\u0001 random bytes");
    await Deno.writeTextFile(`${dir}/.DS_Store`, "Bud1\u0000\u0000");
    await Deno.mkdir(`${dir}/subdir`);
    await Deno.writeTextFile(`${dir}/%41`, await Deno.readTextFile(`${dir}/good`)); // not canonically encoded
    await Deno.writeTextFile(`${dir}/.aws-vault-tmp-0011223344556677`, "in-flight write of another process");
    await Deno.writeFile(`${dir}/notitem`, enc.encode(await encryptJwe(enc.encode("not item json"), "pw")));
    if (isPosix) await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    const listing = await listKeys(keyring);
    assert.deepEqual(listing.keys, ["a/b", "good", "notitem"]);
    assert.deepEqual(
      listing.problems.map((p) => p.name),
      [".DS_Store", "%41", ...(isPosix ? ["dangling"] : []), "garbage", "subdir"].sort(),
    );
    for (const p of listing.problems) assert.ok(p.reason.length > 0);
    assert.match(listing.problems.find((p) => p.name === "subdir")!.reason, /directory/);
    // keys() reads the directory only: damaged and foreign files are still listed, directories and odd names not.
    assert.deepEqual(
      await keyring.keys(),
      [".DS_Store", "a/b", ...(isPosix ? ["dangling"] : []), "garbage", "good", "notitem"].sort(),
    );

    await assert.rejects(keyring.get("garbage"), (e) => {
      assert.ok(e instanceof CorruptItemError);
      assert.equal(e.location, `${dir}/garbage`);
      assert.match(e.message, new RegExp(`${dir}/garbage`));
      return true;
    });
    await assert.rejects(
      keyring.get("notitem"),
      (e) => e instanceof CorruptItemError && /decrypted content/.test(e.message),
    );
    await assert.rejects(keyring.get("subdir"), CorruptItemError);
    await assert.rejects(keyring.remove("subdir"), ItemNotFoundError);
    assert.ok((await Deno.stat(`${dir}/subdir`)).isDirectory, "remove never deletes a directory");
    await keyring.set(item("another", "v")); // corrupt neighbours do not block writes
  });
});

Deno.test("stale temp files (older than a minute) are removed on write; fresh ones are kept", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/.aws-vault-tmp-old`, "x");
    await Deno.utime(`${dir}/.aws-vault-tmp-old`, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    await Deno.writeTextFile(`${dir}/.aws-vault-tmp-fresh`, "x");
    await open(dir, "pw").keyring.set(item("k", "v"));
    assert.deepEqual([...(await snapshot(dir)).keys()].sort(), [".aws-vault-tmp-fresh", "k"]);
  });
});

Deno.test("keys that cannot be file names are refused; a file where the directory should be is an error", async () => {
  await withTempDir(async (dir) => {
    const { keyring } = open(dir, "pw");
    for (const key of ["", ".", "..", ".aws-vault-tmp-x", "nul\0"]) {
      await assert.rejects(
        keyring.set(item(key, "v")),
        (e) => e instanceof VaultError && /cannot be stored/.test(e.message),
      );
      await assert.rejects(keyring.get(key), ItemNotFoundError);
    }
    assert.deepEqual([...(await snapshot(dir)).keys()], []);
    await Deno.writeTextFile(`${dir}/file`, "x");
    const onFile = open(`${dir}/file`, "pw").keyring;
    await assert.rejects(onFile.keys(), /is a file, not a directory/);
    await assert.rejects(onFile.set(item("k", "v")), /is a file, not a directory/);
  });
});

Deno.test(
  "an existing group-readable directory is used as is (warned, not chmodded)",
  { ignore: !isPosix },
  async () => {
    await withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      await open(dir, "pw").keyring.set(item("k", "v"));
      assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o755);
    });
  },
);

Deno.test("home expansion of ~ and ~/ only", () => {
  const env = envFromRecord({ HOME: "/home/u" });
  assert.equal(expandHome("~", env), "/home/u");
  assert.equal(expandHome("~/.awsvault/keys/", env), "/home/u/.awsvault/keys/");
  assert.equal(expandHome("~other/x", env), "~other/x");
  assert.equal(expandHome("/abs/~", env), "/abs/~");
  assert.equal(expandHome("~/x", envFromRecord({ USERPROFILE: "C:\\Users\\u" })), "C:\\Users\\u/x");
  assert.throws(() => expandHome("~/x", envFromRecord({})), /home directory is unknown/);
  assert.equal(new FileKeyring({ env }).dir, "/home/u/.awsvault/keys/");
});

Deno.test("openKeyring offers the backends of this OS with aws-vault's default, and names the others", async () => {
  const expected: Record<string, string[]> = {
    linux: ["secret-service", "kwallet", "pass", "file"],
    darwin: ["keychain", "pass", "file"],
    windows: ["wincred", "file"],
  };
  assert.deepEqual(AVAILABLE_BACKENDS, expected[Deno.build.os] ?? expected.linux);
  assert.equal(DEFAULT_BACKEND, { darwin: "keychain", windows: "wincred" }[Deno.build.os as string] ?? "file");
  const env = envFromRecord({});
  const stores = { file: { dir: "/nonexistent", env }, pass: { env }, secretService: { env } };
  assert.equal((await openKeyring({ backend: "file", ...stores })).backend, "file");
  const foreign = Deno.build.os === "darwin" ? "wincred" : "keychain";
  await assert.rejects(
    () => openKeyring({ backend: foreign, ...stores }),
    (e) =>
      e instanceof VaultError &&
      e.message === `backend "${foreign}" is not available on this system; available: ${AVAILABLE_BACKENDS.join(", ")}`,
  );
  await assert.rejects(() => openKeyring({ backend: "nope", ...stores }), /unknown backend "nope"; available: /);
});
