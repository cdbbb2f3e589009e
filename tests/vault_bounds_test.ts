/**
 * Vault reads are bounded (docs/behaviour.md#file-backend): an item must be a regular file of at most 1 MiB, in the
 * store directory, checked before it is opened. FIFOs, devices, huge files and links out of the directory fail
 * promptly with a one-line error naming the item, in every command that reads items; `list` names them.
 */
import assert from "node:assert/strict";
import { ItemNotFoundError } from "../src/core/errors.ts";
import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { CorruptItemError, listKeys, type VaultItem } from "../src/vault/keyring.ts";
import { migrateCredentials, type ProfileMigration } from "../src/vault/migrate.ts";
import { PassKeyring } from "../src/vault/pass.ts";
import { makeSandbox, runCli, type Sandbox } from "./support/cli.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";

const isPosix = Deno.build.os !== "windows";
const enc = new TextEncoder();
const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const CORRUPT = "is corrupt or not an aws-vault item";

function item(key: string, data: string): VaultItem {
  return {
    key,
    data: enc.encode(data),
    label: key,
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  };
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path], stdout: "null", stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

function fileVault(dir: string): FileKeyring {
  return new FileKeyring({ dir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test-pass" }) });
}

/** A sandbox with credentials for `work` and, in its vault, the bad entries `fifo`, `zero`, `big` and `outside`. */
async function sandboxWithBadEntries(): Promise<Sandbox> {
  const profiles = ["work", "fifo", "zero", "big", "outside"].map((p) => `[profile ${p}]\n`).join("");
  const sb = await makeSandbox({ config: profiles });
  const added = await runCli(["add", "--env", "work"], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
  });
  assert.equal(added.code, 0, added.stderr);
  await mkfifo(`${sb.vaultDir}/fifo`);
  await Deno.symlink("/dev/zero", `${sb.vaultDir}/zero`);
  await Deno.writeFile(`${sb.vaultDir}/big`, new Uint8Array(2 << 20));
  // A real item, but outside the directory: refused all the same.
  await Deno.copyFile(`${sb.vaultDir}/work`, `${sb.home}/elsewhere`);
  await Deno.symlink(`${sb.home}/elsewhere`, `${sb.vaultDir}/outside`);
  return sb;
}

const REASONS: Record<string, (sb: Sandbox) => string> = {
  fifo: () => "is a FIFO, not a regular file",
  zero: () => 'is a symbolic link to "/dev/zero", outside the vault directory',
  big: () => "is 2 MiB, more than the 1 MiB an item may be",
  outside: (sb) => `is a symbolic link to ${JSON.stringify(`${sb.home}/elsewhere`)}, outside the vault directory`,
};

/** The error line of a command that read the bad entry `name`. */
function errorLine(sb: Sandbox, command: string, name: string, prefix = ""): string {
  const path = JSON.stringify(`${sb.vaultDir}/${name}`);
  return `aws-vault: error: ${command}: ${prefix}keyring item ${path} ${CORRUPT}: it ${REASONS[name](sb)}\n`;
}

Deno.test({
  name: "export and exec --json refuse a FIFO, /dev/zero, a 2 MiB file and a link out of the vault with one line",
  ignore: !isPosix,
  async fn() {
    const sb = await sandboxWithBadEntries();
    try {
      for (const name of Object.keys(REASONS)) {
        for (const command of ["export", "exec"]) {
          const args = command === "exec" ? ["exec", "--json", "--no-session", name] : ["export", "--no-session", name];
          const r = await runCli(args, { env: sb.env });
          assert.equal(r.code, 1, `${command} ${name}`);
          assert.equal(r.stdout, "");
          assert.equal(r.stderr, errorLine(sb, command, name));
        }
      }
      const good = await runCli(["export", "--no-session", "work"], { env: sb.env });
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stdout, `AWS_ACCESS_KEY_ID=${KEY_ID}\nAWS_SECRET_ACCESS_KEY=${SECRET}\n`);
    } finally {
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "rotate refuses a bad entry by name; remove deletes it without reading it (the link, not its target)",
  ignore: !isPosix,
  async fn() {
    const sb = await sandboxWithBadEntries();
    try {
      const rotated = await runCli(["rotate", "fifo"], { env: sb.env });
      assert.equal(rotated.code, 1);
      assert.equal(rotated.stderr, errorLine(sb, "rotate", "fifo", "Error loading source credentials for 'fifo': "));
      for (const name of Object.keys(REASONS)) {
        const removed = await runCli(["remove", "-f", name], { env: sb.env });
        assert.equal(removed.stdout, "Deleted credentials.\n", removed.stderr);
      }
      assert.ok((await Deno.stat(`${sb.home}/elsewhere`)).isFile, "the link's target is left alone");
      assert.deepEqual(await fileVault(sb.vaultDir).keys(), ["work"]);
    } finally {
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "list still reports every bad entry by name with its reason, and shows the good ones",
  ignore: !isPosix,
  async fn() {
    const sb = await sandboxWithBadEntries();
    try {
      const r = await runCli(["list", "--credentials"], { env: sb.env });
      assert.equal(r.code, 0);
      const warnings = Object.keys(REASONS).sort().map((name) =>
        `aws-vault: warning: skipping ${JSON.stringify(name)} in the vault: ${REASONS[name](sb)}\n`
      );
      assert.equal(r.stderr, warnings.join(""));
      assert.match(r.stdout, /^work$/m);
      assert.deepEqual((await listKeys(fileVault(sb.vaultDir))).keys, ["work"]);
    } finally {
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "links inside the vault: to an item, followed; to a FIFO there, refused; dangling, reported",
  ignore: !isPosix,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vault_bounds_test_" });
    try {
      const vault = fileVault(dir);
      await vault.set(item("real", "secret"));
      await Deno.symlink("real", `${dir}/alias`);
      assert.equal(new TextDecoder().decode((await vault.get("alias")).data), "secret");
      await mkfifo(`${dir}/pipe`);
      await Deno.symlink(`${dir}/pipe`, `${dir}/to-pipe`);
      await Deno.symlink(`${dir}/nothing`, `${dir}/dangling`);
      await Deno.mkdir(`${dir}/sub`);
      await Deno.writeFile(`${dir}/sub/x`, enc.encode("x"));
      await Deno.symlink("sub/x", `${dir}/to-sub`);
      const refused = async (key: string, reason: string) =>
        await assert.rejects(vault.get(key), (e) => {
          assert.ok(e instanceof CorruptItemError);
          assert.equal(e.message, `keyring item ${JSON.stringify(`${dir}/${key}`)} ${CORRUPT}: it ${reason}`);
          return true;
        });
      await refused("to-pipe", 'links to "pipe", which is a FIFO, not a regular file');
      await refused("dangling", "is a broken symbolic link");
      await refused("to-sub", `is a symbolic link to ${JSON.stringify(`${dir}/sub/x`)}, outside the vault directory`);
      await refused("sub", "is a directory");
      const listing = await listKeys(vault);
      assert.deepEqual(listing.keys, ["alias", "real"]);
      assert.deepEqual(listing.problems.map((p) => p.name), ["dangling", "pipe", "sub", "to-pipe", "to-sub"]);
      await assert.rejects(vault.get("missing"), ItemNotFoundError);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a write replaces a link planted at the item path and never touches its target",
  ignore: !isPosix,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vault_bounds_test_" });
    try {
      await Deno.mkdir(`${dir}/keys`);
      await Deno.writeTextFile(`${dir}/target`, "someone else's file");
      await Deno.symlink(`${dir}/target`, `${dir}/keys/work`);
      const vault = fileVault(`${dir}/keys`);
      await vault.set(item("work", "new"));
      assert.ok(!(await Deno.lstat(`${dir}/keys/work`)).isSymlink);
      assert.equal(await Deno.readTextFile(`${dir}/target`), "someone else's file");
      assert.equal(new TextDecoder().decode((await vault.get("work")).data), "new");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "migrate-backend counts a FIFO item as unreadable, with the reason, and copies the rest",
  ignore: !isPosix,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vault_bounds_test_" });
    try {
      const source = fileVault(dir);
      await source.set(item("work", JSON.stringify({ AccessKeyID: KEY_ID, SecretAccessKey: SECRET })));
      await mkfifo(`${dir}/fifo`);
      const done: ProfileMigration[] = [];
      const summary = await migrateCredentials(source, new MemoryKeyring(), {
        profiles: ["fifo", "work"],
        overwrite: false,
        deleteSource: false,
        onDone: (r) => done.push(r),
      });
      assert.equal(summary.copied, 1);
      assert.equal(summary.unreadable, 1);
      assert.equal(done[0].outcome, "unreadable");
      assert.match(done[0].reason!, /"[^"]*\/fifo" .*: it is a FIFO, not a regular file$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A pass store directory with `work.gpg` (or whatever `plant` puts there) and a stand-in pass command. */
async function passSetup(
  plant: (dir: string) => Promise<void>,
  script: string,
): Promise<{ keyring: PassKeyring; calls: () => Promise<string>; cleanup: () => Promise<void> }> {
  const home = await Deno.makeTempDir({ prefix: "vault_bounds_pass_" });
  await Deno.mkdir(`${home}/store`);
  await plant(`${home}/store`);
  const cmd = `${home}/pass`;
  await Deno.writeTextFile(cmd, `#!/bin/sh\necho "$@" >> ${home}/calls\n${script}\n`);
  await Deno.chmod(cmd, 0o755);
  const keyring = new PassKeyring({
    passDir: `${home}/store`,
    passCmd: cmd,
    env: envFromRecord({ HOME: home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" }),
  });
  return {
    keyring,
    calls: () => Deno.readTextFile(`${home}/calls`).catch(() => ""),
    cleanup: () => Deno.remove(home, { recursive: true }),
  };
}

Deno.test({
  name: "pass: an entry file that is a FIFO or over 1 MiB is refused without running pass",
  ignore: !isPosix,
  async fn() {
    const setup = await passSetup(async (dir) => {
      await mkfifo(`${dir}/fifo.gpg`);
      await Deno.writeFile(`${dir}/big.gpg`, new Uint8Array(2 << 20));
      await Deno.symlink("/dev/zero", `${dir}/zero.gpg`);
    }, '[ "$1" = rm ] || exit 3');
    try {
      const reasons: Record<string, string> = {
        fifo: "its file is a FIFO, not a regular file",
        big: "its file is 2 MiB, more than the 1 MiB an item may be",
        zero: "its file is a character device, not a regular file",
      };
      for (const [key, reason] of Object.entries(reasons)) {
        await assert.rejects(setup.keyring.get(key), (e) => {
          assert.ok(e instanceof CorruptItemError);
          assert.equal(e.message, `keyring item "pass entry ${key}" ${CORRUPT}: ${reason}`);
          return true;
        });
      }
      assert.equal(await setup.calls(), "");
      await setup.keyring.remove("fifo"); // removing reads nothing: pass rm runs
      assert.equal(await setup.calls(), "rm -f fifo\n");
    } finally {
      await setup.cleanup();
    }
  },
});

Deno.test({
  name: "pass: output beyond 1 MiB is cut off, pass stopped, and the entry named",
  ignore: !isPosix,
  async fn() {
    const setup = await passSetup((dir) => Deno.writeTextFile(`${dir}/work.gpg`, "x"), "exec cat /dev/zero");
    try {
      await assert.rejects(setup.keyring.get("work"), (e) => {
        assert.ok(e instanceof CorruptItemError);
        assert.equal(
          e.message,
          `keyring item "pass entry work" ${CORRUPT}: pass printed more than the 1 MiB an item may be`,
        );
        return true;
      });
    } finally {
      await setup.cleanup();
    }
  },
});
