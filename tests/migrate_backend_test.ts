/**
 * migrate-backend: the copy logic on in-memory stores (with failures injected), then between the real file and pass
 * stores, then through the real entry point once `pass` is an available backend.
 */
import { terminalPrompter } from "../src/prompt/terminal.ts";
import assert from "node:assert/strict";
import { runMigrateBackend } from "../src/cli/commands/migrate_backend.ts";
import type { CommandContext } from "../src/cli/command.ts";
import type { migrateBackendSpec } from "../src/cli/commands/specs.ts";
import { GLOBAL_FLAGS, globalOptionsFrom } from "../src/cli/global.ts";
import { readFlags } from "../src/cli/parser.ts";
import type { FlagValues } from "../src/cli/spec.ts";
import { envFromRecord } from "../src/core/env.ts";
import { SILENT } from "../src/core/log.ts";
import { NO_TERMINAL } from "../src/os/terminal.ts";
import { AppError, VaultError } from "../src/core/errors.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { FileKeyring } from "../src/vault/file.ts";
import type { Keyring, VaultItem } from "../src/vault/keyring.ts";
import { MigrationError } from "../src/vault/migrate.ts";
import { AVAILABLE_BACKENDS } from "../src/vault/open_keyring.ts";
import { PassKeyring } from "../src/vault/pass.ts";
import { makeSandbox, runCli } from "./support/cli.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";
import { hasPass, makePassStore, type PassStore, writeStandIn } from "./support/pass_store.ts";

const creds = (n: string) => ({ accessKeyId: `AKIA${n}`, secretAccessKey: `secret-${n}` });
const SUMMARY = (c: number, o: number, s: number, d: number) =>
  `\nMigration summary:\n  copied: ${c}\n  overwritten: ${o}\n  skipped: ${s}\n  deleted from source: ${d}\n`;

/** A MemoryKeyring that records reads and can fail or damage chosen writes. */
class TestKeyring extends MemoryKeyring {
  reads = 0;
  failSet = new Set<string>();
  damageSet = new Set<string>();
  override get(key: string): Promise<VaultItem> {
    this.reads++;
    return super.get(key);
  }
  override set(item: VaultItem): Promise<void> {
    if (this.failSet.has(item.key)) return Promise.reject(new VaultError("disk full"));
    if (this.damageSet.has(item.key)) {
      this.damageSet.delete(item.key); // only the first write is damaged, so a restore goes through
      return super.set({ ...item, data: new TextEncoder().encode('{"AccessKeyID":"WRONG"}') });
    }
    return super.set(item);
  }
}

async function memoryStore(profiles: string[]): Promise<TestKeyring> {
  const kr = new TestKeyring();
  for (const p of profiles) await new CredentialKeyring(kr).set(p, creds(p));
  kr.reads = 0;
  return kr;
}

type MigrateFlags = FlagValues<typeof migrateBackendSpec.flags>;

async function migrate(stores: Record<string, Keyring>, flags: Partial<MigrateFlags>) {
  let stdout = "";
  const env = envFromRecord({});
  const context: CommandContext<typeof migrateBackendSpec> = {
    flags: { from: "a", to: "b", profile: undefined, dryRun: false, overwrite: false, deleteSource: false, ...flags },
    args: {},
    // No global flag given.
    global: globalOptionsFrom(readFlags(GLOBAL_FLAGS, { given: new Map(), positionals: [], env })),
    env,
    out: { stdout: (t: string) => stdout += t, stderr: () => {} },
    log: SILENT,
    terminal: NO_TERMINAL,
    now: () => new Date(),
    prompter: terminalPrompter({
      openTty: () => undefined,
      stdin: { read: () => Promise.resolve(null) },
      writeStderr: () => {},
    }),
  };
  try {
    const open = (name: string) => {
      if (!stores[name]) throw new VaultError("Specified keyring backend not available");
      return stores[name];
    };
    const code = await runMigrateBackend(context, { open });
    return { code, stdout, error: undefined };
  } catch (error) {
    return { code: 1, stdout, error: error as AppError };
  }
}

Deno.test("copies and verifies each credential; sessions and OIDC tokens stay; items copied as they are", async () => {
  const a = await memoryStore(["dev", "prod"]);
  a.put("oidc:https://x/start", "{}");
  a.put("sts.GetSessionToken,ZGV2,,9999999999", "{}");
  const b = new TestKeyring();
  const r = await migrate({ a, b }, {});
  assert.equal(
    r.stdout,
    "Migrating dev... copied, verified\nMigrating prod... copied, verified\n" + SUMMARY(2, 0, 0, 0),
  );
  assert.deepEqual(await b.keys(), ["dev", "prod"]);
  assert.deepEqual(b.items.get("dev"), a.items.get("dev"));
  assert.equal((await a.keys()).length, 4);
});

Deno.test("existing destination credentials: skipped, or overwritten with --overwrite; --delete-source", async () => {
  const a = await memoryStore(["dev", "prod"]);
  const b = await memoryStore([]);
  await new CredentialKeyring(b).set("dev", creds("OLD"));
  let r = await migrate({ a, b }, {});
  assert.equal(
    r.stdout,
    "Migrating dev... skipped, already exists in destination\nMigrating prod... copied, verified\n" +
      SUMMARY(1, 0, 1, 0),
  );
  assert.equal((await new CredentialKeyring(b).get("dev")).accessKeyId, "AKIAOLD");
  r = await migrate({ a, b }, { overwrite: true, deleteSource: true, profile: "dev" });
  assert.equal(r.stdout, "Migrating dev... overwritten, verified, deleted source\n" + SUMMARY(0, 1, 0, 1));
  assert.deepEqual(await new CredentialKeyring(b).get("dev"), creds("dev"));
  assert.deepEqual(await a.keys(), ["prod"]);
});

Deno.test("--dry-run lists without reading a secret; --profile must exist; from == to; empty source", async () => {
  const a = await memoryStore(["dev", "prod"]);
  const b = new TestKeyring();
  let r = await migrate({ a, b }, { dryRun: true });
  assert.equal(r.stdout, "Would migrate 2 credential profile(s) from a to b:\n  dev\n  prod\n\nNo changes made.\n");
  assert.equal(a.reads, 0);
  assert.equal(b.items.size, 0);
  r = await migrate({ a, b }, { profile: "nope" });
  assert.equal(r.error?.message, 'profile "nope" not found in source backend');
  r = await migrate({ a, b }, { to: "a" });
  assert.equal(r.error?.message, "source and destination backends must differ");
  r = await migrate({ a: new TestKeyring(), b }, {});
  assert.equal(r.stdout, "No credentials found in source backend a.\n");
  r = await migrate({ a, b }, { to: "c" });
  assert.equal(r.error?.message, 'open destination backend "c": Specified keyring backend not available');
});

Deno.test("a failure stops the migration: earlier profiles done, the failed one still in the source", async () => {
  const a = await memoryStore(["a1", "b2", "c3"]);
  const b = new TestKeyring();
  b.failSet.add("b2");
  const r = await migrate({ a, b }, { deleteSource: true });
  assert.equal(
    r.stdout,
    "Migrating a1... copied, verified, deleted source\nMigrating b2... " +
      'failed: write destination profile "b2": disk full\n' +
      "Migration stopped. Source credentials were not deleted for the failed profile.\n",
  );
  assert.ok(r.error instanceof MigrationError);
  assert.equal(r.error.exitCode, 1);
  assert.deepEqual(r.error.summary, { copied: 1, overwritten: 0, skipped: 0, unreadable: 0, deleted: 1 });
  assert.deepEqual(await a.keys(), ["b2", "c3"]);
  assert.deepEqual(await b.keys(), ["a1"]);
});

Deno.test("a copy that does not verify is undone: the previous destination item comes back", async () => {
  const a = await memoryStore(["dev", "new"]);
  const b = await memoryStore([]);
  await new CredentialKeyring(b).set("dev", creds("OLD"));
  const before = b.items.get("dev");
  b.damageSet.add("dev");
  let r = await migrate({ a, b }, { overwrite: true, deleteSource: true });
  assert.match(r.stdout, /failed: verify destination profile "dev": credential mismatch; the destination's previous/);
  assert.deepEqual(b.items.get("dev"), before);
  assert.deepEqual(await a.keys(), ["dev", "new"]);
  b.damageSet.add("new");
  r = await migrate({ a, b }, { profile: "new" });
  assert.match(r.stdout, /failed: verify destination profile "new": credential mismatch\n/);
  assert.ok(!b.items.has("new"), "the unverified copy is removed");
});

Deno.test("copies get the flags add sets for long-term credentials, whatever the source reported", async () => {
  // wincred and the keychain do not store the flags and report false; the keychain would then trust the program.
  const a = new TestKeyring();
  a.put("dev", JSON.stringify({ AccessKeyID: "AKIADEV", SecretAccessKey: "s" }));
  const b = new TestKeyring();
  await migrate({ a, b }, {});
  const copy = b.items.get("dev")!;
  assert.equal(copy.keychainNotTrustApplication, true);
  assert.equal(copy.keychainNotSynchronizable, false);
  assert.equal(copy.label, "aws-vault (dev)", "an empty label becomes add's");
  assert.deepEqual(copy.data, a.items.get("dev")!.data);
  // A restored destination item is a credential too.
  const c = new TestKeyring();
  c.put("dev", JSON.stringify({ AccessKeyID: "AKIAOLD", SecretAccessKey: "o" }));
  c.items.set("dev", { ...c.items.get("dev")!, label: "old label" });
  c.damageSet.add("dev");
  const r = await migrate({ a, b: c }, { overwrite: true });
  assert.match(r.stdout, /credential mismatch; the destination's previous credentials were restored/);
  const restored = c.items.get("dev")!;
  assert.equal(restored.keychainNotTrustApplication, true);
  assert.equal(restored.label, "old label");
  assert.equal((await new CredentialKeyring(c).get("dev")).accessKeyId, "AKIAOLD");
});

Deno.test("a source entry that holds no credentials is reported and left alone", async () => {
  const a = await memoryStore(["dev"]);
  a.put("email", "hunter2");
  const b = new TestKeyring();
  const r = await migrate({ a, b }, { deleteSource: true });
  assert.match(
    r.stdout,
    /^Migrating dev\.\.\. copied, verified, deleted source\nMigrating email\.\.\. skipped, not readable/,
  );
  assert.ok(r.stdout.endsWith("\n  skipped: 0\n  not readable as credentials: 1\n  deleted from source: 1\n"));
  assert.deepEqual(await a.keys(), ["email"]);
});

const fileVault = (dir: string, prompt?: () => Promise<string>) =>
  new FileKeyring({
    dir,
    env: envFromRecord(prompt ? {} : { AWS_VAULT_FILE_PASSPHRASE: "pw" }),
    promptPassphrase: prompt,
  });
const passVault = (store: PassStore, passCmd?: string) =>
  new PassKeyring({
    passDir: store.dir,
    passCmd,
    prefix: "aws-vault",
    env: { get: (n) => store.env[n], toObject: () => store.env },
  });

Deno.test({
  name: "between the real file and pass stores",
  ignore: !hasPass,
  async fn(t) {
    const store = await makePassStore();
    const dir = `${store.env.HOME}/keys`;
    try {
      await t.step("file → pass with --delete-source, then back", async () => {
        for (const p of ["dev", "prod"]) await new CredentialKeyring(fileVault(dir)).set(p, creds(p));
        let r = await migrate({ file: fileVault(dir), pass: passVault(store) }, {
          from: "file",
          to: "pass",
          deleteSource: true,
        });
        assert.equal(
          r.stdout,
          "Migrating dev... copied, verified, deleted source\n" +
            "Migrating prod... copied, verified, deleted source\n" + SUMMARY(2, 0, 0, 2),
        );
        assert.deepEqual(await new CredentialKeyring(passVault(store)).get("prod"), creds("prod"));
        assert.deepEqual(await fileVault(dir).keys(), []);
        r = await migrate({ file: fileVault(dir), pass: passVault(store) }, { from: "pass", to: "file" });
        assert.equal(
          r.stdout,
          "Migrating dev... copied, verified\nMigrating prod... copied, verified\n" + SUMMARY(2, 0, 0, 0),
        );
        assert.deepEqual(await new CredentialKeyring(fileVault(dir)).get("dev"), creds("dev"));
      });

      await t.step("dry-run from the file store asks no passphrase", async () => {
        const prompt = () => Promise.reject(new Error("passphrase asked"));
        const r = await migrate({ file: fileVault(dir, prompt), pass: passVault(store) }, {
          from: "file",
          to: "pass",
          dryRun: true,
        });
        assert.equal(r.error, undefined);
        assert.match(r.stdout, /^Would migrate 2 credential profile\(s\) from file to pass:/);
      });

      await t.step("pass fails on the second insert: first copied, nothing lost", async () => {
        for (const p of ["dev", "prod"]) await passVault(store).remove(p);
        const standIn = await writeStandIn(store.env.HOME, { failInsert: 2 });
        const r = await migrate({ file: fileVault(dir), pass: passVault(store, standIn.path) }, {
          from: "file",
          to: "pass",
          deleteSource: true,
        });
        assert.equal(
          r.stdout,
          "Migrating dev... copied, verified, deleted source\nMigrating prod... " +
            'failed: write destination profile "prod": pass insert "aws-vault/prod" failed (exit status 2): ' +
            "gpg: stand-in failure\nMigration stopped. Source credentials were not deleted for the failed profile.\n",
        );
        assert.deepEqual(await passVault(store).keys(), ["dev"]);
        assert.deepEqual(await new CredentialKeyring(fileVault(dir)).get("prod"), creds("prod"));
      });
    } finally {
      await store.cleanup();
    }
  },
});

Deno.test({
  name: "aws-vault migrate-backend through the entry point (file ↔ pass)",
  ignore: !hasPass || !AVAILABLE_BACKENDS.includes("pass"),
  async fn() {
    const sb = await makeSandbox();
    const store = await makePassStore();
    try {
      await new CredentialKeyring(fileVault(sb.vaultDir)).set("dev", creds("dev"));
      const env = { ...sb.env, GNUPGHOME: store.env.GNUPGHOME, AWS_VAULT_FILE_PASSPHRASE: "pw" };
      const args = ["migrate-backend", "--from", "file", "--to", "pass", "--pass-dir", store.dir];
      const { AWS_VAULT_FILE_PASSPHRASE: _, ...noPassphrase } = env;
      let r = await runCli([...args, "--dry-run"], { env: noPassphrase });
      assert.equal(r.stdout, "Would migrate 1 credential profile(s) from file to pass:\n  dev\n\nNo changes made.\n");
      r = await runCli([...args, "--pass-prefix", "aws", "--delete-source"], { env });
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, "Migrating dev... copied, verified, deleted source\n" + SUMMARY(1, 0, 0, 1));
      assert.ok((await Deno.stat(`${store.dir}/aws/dev.gpg`)).isFile);
      await new CredentialKeyring(fileVault(sb.vaultDir)).set("prod", creds("prod"));
      r = await runCli([...args, "--pass-cmd", "/nonexistent/pass"], { env });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^aws-vault: error: migrate-backend: open destination backend "pass": The pass program is not available/,
      );
      await new CredentialKeyring(fileVault(sb.vaultDir)).set("zed", creds("zed"));
      const standIn = await writeStandIn(sb.home, { failInsert: 2 });
      r = await runCli([...args, "--pass-prefix", "aws", "--pass-cmd", standIn.path, "--delete-source"], { env });
      assert.equal(r.code, 1);
      assert.equal(
        r.stdout,
        "Migrating prod... copied, verified, deleted source\nMigrating zed... failed: " +
          'write destination profile "zed": pass insert "aws/zed" failed (exit status 2): gpg: stand-in failure\n' +
          "Migration stopped. Source credentials were not deleted for the failed profile.\n",
      );
      assert.equal(
        r.stderr,
        'aws-vault: error: migrate-backend: write destination profile "zed": pass insert "aws/zed" failed ' +
          "(exit status 2): gpg: stand-in failure\n",
      );
      assert.deepEqual(await fileVault(sb.vaultDir).keys(), ["zed"]);
    } finally {
      await store.cleanup();
      await sb.cleanup();
    }
  },
});
