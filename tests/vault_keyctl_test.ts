/**
 * Remembered unlock of the file vault through the Linux kernel keyring (docs/behaviour.md#file-backend, #lock), on
 * this machine's kernel: a passphrase typed on a real pseudo-terminal is kept in the user keyring with the permissions
 * and expiry aws-vault sets, later processes without a terminal use it, `lock` forgets it, a stale one is dropped, and
 * where keyctl is refused or missing the prompt is as before. The `keyctl` program (package keyutils) only inspects,
 * except for planting a stale passphrase. Each test has its own vault directory, hence its own key description, and
 * drops its key even when it fails.
 */
import { deepStrictEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { makeSandbox, runCli, runOnTerminal, runProgram, type Sandbox } from "./support/cli.ts";
import {
  describeKey,
  findUserKey,
  keyctl,
  keyctlMissing,
  keyTimeout,
  plantUserKey,
  readKey,
  runWithKeyctlDenied,
  waitUntilGone,
} from "./support/keyctl.ts";
import { docBlock, transcript } from "./support/doc_examples.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { FileKeyring } from "../src/vault/file.ts";
import {
  kernelPassphraseMemory,
  PASSPHRASE_KEY_PERM,
  PASSPHRASE_KEY_PREFIX,
  passphraseKeyDescription,
} from "../src/vault/keyctl_passphrase.ts";
import { envFromRecord } from "../src/core/env.ts";
import { APP_GLOBAL_FLAGS, appSpec } from "../src/app.ts";
import { parseCommandLine, readFlags } from "../src/cli/parser.ts";

const skip = Deno.build.os !== "linux" ? "the kernel keyring is Linux's" : await keyctlMissing();
if (skip) console.log(`vault_keyctl_test: skipped: ${skip}`);

/** Distinctive, so that finding it in an output or environment can only be a leak. */
const PASSPHRASE = "kernel-kept-7f3a9c2e51";
const KEYS = { AWS_ACCESS_KEY_ID: "AKIAKEYCTLEXAMPLE001", AWS_SECRET_ACCESS_KEY: "keyctl/secret/value" };
const PROMPT = "Enter passphrase to unlock";
const NO_TERMINAL = /no terminal to ask for the vault passphrase/;

interface Vault {
  readonly sb: Sandbox;
  /** The sandbox environment: no AWS_VAULT_FILE_PASSPHRASE. */
  readonly env: Record<string, string>;
  /** The kernel key description of this vault. */
  readonly description: string;
  /** The vault directory as the program shows it in prompts. */
  readonly shown: string;
}

/** A vault holding profile `p`'s keys under {@link PASSPHRASE}; its key is dropped afterwards, whatever happened. */
async function withVault(fn: (v: Vault) => Promise<void>): Promise<void> {
  const sb = await makeSandbox({ passphrase: null, config: "[profile p]\n" });
  try {
    const added = await runCli(["add", "--env", "p"], {
      env: { ...sb.env, ...KEYS, AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE },
    });
    equal(added.code, 0, added.stderr);
    const description = await passphraseKeyDescription(sb.vaultDir);
    await fn({ sb, env: sb.env, description, shown: `${sb.home}/.awsvault/keys/` });
  } finally {
    const id = await findUserKey(await passphraseKeyDescription(sb.vaultDir));
    if (id !== undefined) await keyctl(["invalidate", String(id)]);
    await sb.cleanup();
  }
}

/** Types {@link PASSPHRASE} at the one passphrase prompt of `args`, on a real pseudo-terminal. */
async function typed(args: readonly string[], env: Record<string, string>) {
  const r = await runOnTerminal(args, { env, answers: [[PROMPT, `${PASSPHRASE}\n`]] });
  deepStrictEqual(r.unmatched, [], r.output);
  return r;
}

const count = (text: string, part: string) => text.split(part).length - 1;

Deno.test({
  name: "a typed passphrase is kept in @u (type user, this uid, perm 3f0b0000, a kernel expiry); " +
    "a later process without a terminal uses it (credential_process) and leaves its expiry alone",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env, description, shown }) => {
      ok(description.startsWith(PASSPHRASE_KEY_PREFIX) && description.length === PASSPHRASE_KEY_PREFIX.length + 16);
      const first = await typed(["--debug", "--file-passphrase-ttl=1h", "export", "--no-session", "p"], env);
      equal(first.code, 0, first.output);
      match(first.output, /AWS_ACCESS_KEY_ID=AKIAKEYCTLEXAMPLE001/);
      match(first.output, new RegExp(`Vault passphrase for "${shown}" asked at the terminal`));
      match(first.output, /Remembered the vault passphrase for ".*" in the kernel keyring for 1h0m0s \(key \d+/);

      const id = await findUserKey(description);
      ok(id !== undefined, "no key in @u");
      const key = await describeKey(id);
      deepStrictEqual(key, { type: "user", uid: Deno.uid()!, gid: Deno.gid()!, perm: 0x3f0b0000, description });
      equal(PASSPHRASE_KEY_PERM, 0x3f0b0000);
      equal(key.perm & 0x0000ffff, 0, "group and others get nothing");
      equal(await readKey(id), PASSPHRASE);
      const timeout = await keyTimeout(id);
      match(timeout ?? "", /^(59m|1h)$/, `expiry column ${timeout}`);

      // credential_process: a process of its own, no terminal, no AWS_VAULT_FILE_PASSPHRASE, no TTL flag.
      const later = await runProgram(["--debug", "export", "--format=json", "--no-session", "p"], { env });
      equal(later.code, 0, later.stderr);
      equal(JSON.parse(later.stdout).AccessKeyId, "AKIAKEYCTLEXAMPLE001");
      match(later.stderr, new RegExp(`Vault passphrase for "${shown}" from the kernel keyring\\n`));
      ok(!later.stderr.includes(PASSPHRASE) && !later.stdout.includes(PASSPHRASE), "the passphrase in the output");
      // Using it re-adds nothing and sets no new expiry: the same key, its expiry counting down from the typing.
      equal(await findUserKey(description), id);
      match((await keyTimeout(id)) ?? "", /^(59m|1h)$/);

      // With a TTL given again, a recalled passphrase is still not re-remembered (no extension).
      const again = await runProgram(["--debug", "--file-passphrase-ttl=8h", "export", "--no-session", "p"], { env });
      equal(again.code, 0, again.stderr);
      ok(!again.stderr.includes("Remembered the vault passphrase"), again.stderr);
      equal(await findUserKey(description), id);
      match((await keyTimeout(id)) ?? "", /^(59m|1h)$/);
    });
  },
});

Deno.test({
  name: "nothing is remembered without a TTL (default, 0) or from AWS_VAULT_FILE_PASSPHRASE, which beats a " +
    "remembered one; AWS_VAULT_FILE_PASSPHRASE_TTL turns it on",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env, description }) => {
      equal((await typed(["export", "--no-session", "p"], env)).code, 0);
      equal((await typed(["--file-passphrase-ttl=0", "export", "--no-session", "p"], env)).code, 0);
      equal(await findUserKey(description), undefined, "remembered without a TTL");
      const fromEnv = await runProgram(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], {
        env: { ...env, AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE },
      });
      equal(fromEnv.code, 0, fromEnv.stderr);
      equal(await findUserKey(description), undefined, "a passphrase from the environment was remembered");

      const viaEnv = await typed(["export", "--no-session", "p"], { ...env, AWS_VAULT_FILE_PASSPHRASE_TTL: "10m" });
      equal(viaEnv.code, 0, viaEnv.output);
      ok(await findUserKey(description) !== undefined, "AWS_VAULT_FILE_PASSPHRASE_TTL remembered nothing");
      // The environment's passphrase wins over the remembered one (a wrong one there is an error, as always).
      const wrongEnv = await runProgram(["export", "--no-session", "p"], {
        env: { ...env, AWS_VAULT_FILE_PASSPHRASE: "not-it" },
      });
      equal(wrongEnv.code, 1);
      match(wrongEnv.stderr, /the one in AWS_VAULT_FILE_PASSPHRASE does not open the vault/);

      const bad = await runProgram(["--file-passphrase-ttl=-1m", "lock"], { env });
      equal(bad.code, 1);
      match(bad.stderr, /--file-passphrase-ttl: invalid duration "-1m": must not be negative, try --help/);
    });
  },
});

Deno.test({
  name: "after a 2s TTL the kernel has dropped the key: the next command asks again (or fails without a terminal)",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env, description }) => {
      equal((await typed(["--file-passphrase-ttl=2s", "export", "--no-session", "p"], env)).code, 0);
      const id = await findUserKey(description);
      ok(id !== undefined);
      match((await keyTimeout(id)) ?? "", /^[12]s$/);
      await waitUntilGone(description, 15_000);

      const noTerminal = await runProgram(["export", "--no-session", "p"], { env });
      equal(noTerminal.code, 1);
      match(noTerminal.stderr, NO_TERMINAL);
      const asked = await typed(["export", "--no-session", "p"], env);
      equal(asked.code, 0, asked.output);
      equal(count(asked.output, PROMPT), 1);
    });
  },
});

Deno.test({
  name: "lock forgets the remembered passphrase at once and says so; with none it says that; exit 0 both times",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env, description, shown }) => {
      equal((await typed(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], env)).code, 0);
      ok(await findUserKey(description) !== undefined);

      const locked = await runProgram(["lock"], { env });
      deepStrictEqual(locked, {
        code: 0,
        stdout: `Forgot the vault passphrase remembered for ${JSON.stringify(shown)}.\n`,
        stderr: "",
      });
      equal(await findUserKey(description), undefined, "keyctl still finds the key");
      const none = await runProgram(["lock"], { env });
      deepStrictEqual(none, {
        code: 0,
        stdout: `No vault passphrase was remembered for ${JSON.stringify(shown)}.\n`,
        stderr: "",
      });
      const after = await runProgram(["export", "--no-session", "p"], { env });
      equal(after.code, 1);
      match(after.stderr, NO_TERMINAL);

      // Another vault's key is not this one's: lock --file-dir=OTHER leaves it.
      equal((await typed(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], env)).code, 0);
      const other = await runProgram(["lock", `--file-dir=${env.HOME}/other-vault`], { env });
      match(other.stdout, /^No vault passphrase was remembered for ".*\/other-vault"\.\n$/);
      ok(await findUserKey(description) !== undefined, "lock of another directory dropped this vault's key");
    });
  },
});

Deno.test({
  name: "a remembered passphrase that no longer opens the vault is dropped and the prompt shown once, never retried",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env, description }) => {
      // Without a terminal: one attempt with the stale passphrase, dropped, then the usual no-terminal error.
      const planted = await plantUserKey(description, "an-old-passphrase");
      const noTerminal = await runProgram(["--debug", "export", "--no-session", "p"], { env });
      equal(noTerminal.code, 1);
      match(noTerminal.stderr, /The vault passphrase remembered for ".*" does not open it: forgotten\n/);
      match(noTerminal.stderr, NO_TERMINAL);
      equal(count(noTerminal.stderr, "from the kernel keyring"), 1);
      equal(await findUserKey(description), undefined, "the stale key is still there");

      // At a terminal without a TTL: asked once (not "Wrong passphrase, try again"), the stale key dropped.
      await plantUserKey(description, "an-old-passphrase");
      const asked = await typed(["export", "--no-session", "p"], env);
      equal(asked.code, 0, asked.output);
      equal(count(asked.output, PROMPT), 1);
      ok(!asked.output.includes("Wrong passphrase"), asked.output);
      equal(await findUserKey(description), undefined);

      // With a TTL: the typed passphrase replaces the stale one.
      await plantUserKey(description, "an-old-passphrase");
      const replaced = await typed(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], env);
      equal(replaced.code, 0, replaced.output);
      equal(count(replaced.output, PROMPT), 1);
      const id = await findUserKey(description);
      ok(id !== undefined && id !== planted);
      equal(await readKey(id), PASSPHRASE);
      equal((await describeKey(id)).perm, PASSPHRASE_KEY_PERM);
    });
  },
});

Deno.test({
  name: "a new (empty) vault asks for its passphrase even when one is remembered for its directory",
  ignore: !!skip,
  async fn() {
    const sb = await makeSandbox({ passphrase: null, config: "[profile p]\n" });
    await Deno.mkdir(sb.vaultDir, { recursive: true, mode: 0o700 });
    const description = await passphraseKeyDescription(sb.vaultDir);
    try {
      await plantUserKey(description, "from-an-earlier-vault");
      const r = await runCli(["add", "--env", "p"], { env: { ...sb.env, ...KEYS }, stdin: `${PASSPHRASE}\n` });
      equal(r.code, 0, r.stderr);
      match(r.stderr, new RegExp(PROMPT));
      const withNew = await runCli(["export", "--no-session", "p"], {
        env: { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE },
      });
      equal(withNew.code, 0, "the new vault was not written with the typed passphrase");
    } finally {
      const id = await findUserKey(description);
      if (id !== undefined) await keyctl(["invalidate", String(id)]);
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "keyctl refused (seccomp, as in Docker): plain prompting, one debug note, nothing remembered; lock exits 0",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env, description, shown }) => {
      const r = await runWithKeyctlDenied(["--debug", "--file-passphrase-ttl=1h", "export", "--no-session", "p"], {
        env,
        stdin: `${PASSPHRASE}\n`,
      });
      equal(r.code, 0, r.stderr);
      match(r.stdout, /AWS_ACCESS_KEY_ID=AKIAKEYCTLEXAMPLE001/);
      match(r.stderr, new RegExp(PROMPT));
      const notes = r.stderr.split("\n").filter((l) => l.includes("kernel keyring"));
      equal(notes.length, 1, r.stderr);
      match(notes[0], /The kernel keyring cannot be used \(keyctl_get_keyring_ID\(@u\) failed: EPERM \(errno 1\)\)/);
      equal(await findUserKey(description), undefined);

      const quiet = await runWithKeyctlDenied(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], {
        env,
        stdin: `${PASSPHRASE}\n`,
      });
      equal(quiet.code, 0, quiet.stderr);
      ok(!quiet.stderr.includes("keyring"), "a note without --debug");
      const lock = await runWithKeyctlDenied(["lock"], { env });
      deepStrictEqual(lock, {
        code: 0,
        stdout: `No vault passphrase was remembered for ${JSON.stringify(shown)}.\n`,
        stderr: "",
      });
    });
  },
});

Deno.test({
  name: "libkeyutils missing: the file vault prompts as before, with one debug note, and remembers nothing",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ sb, description }) => {
      const lines: string[] = [];
      const log = { enabled: true, debug: (line: string) => void lines.push(line) };
      const prompts: string[] = [];
      const vault = new FileKeyring({
        dir: sb.vaultDir,
        env: envFromRecord({ HOME: sb.home }),
        log,
        promptPassphrase: (message) => {
          prompts.push(message);
          return Promise.resolve(PASSPHRASE);
        },
        passphraseMemory: kernelPassphraseMemory({ ttlMs: 3_600_000, log, library: "/nonexistent/libkeyutils.so.1" }),
      });
      const [key] = await vault.keys();
      equal((await vault.get(key)).key, key);
      equal(prompts.length, 1);
      const notes = lines.filter((l) => l.startsWith("The kernel keyring cannot be used"));
      equal(notes.length, 1, lines.join("\n"));
      match(notes[0], /\/nonexistent\/libkeyutils\.so\.1 cannot be loaded/);
      equal(await findUserKey(description), undefined);
    });
  },
});

Deno.test({
  name: "exec: the remembered passphrase reaches neither the command's environment nor its arguments",
  ignore: !!skip,
  async fn() {
    await withVault(async ({ env }) => {
      equal((await typed(["--file-passphrase-ttl=1h", "export", "--no-session", "p"], env)).code, 0);
      const r = await runProgram(["exec", "--no-session", "p", "--", "sh", "-c", "env; cat /proc/$$/cmdline"], {
        env,
      });
      equal(r.code, 0, r.stderr);
      match(r.stdout, /^AWS_ACCESS_KEY_ID=AKIAKEYCTLEXAMPLE001$/m);
      ok(!r.stdout.includes(PASSPHRASE), "the passphrase reached the command");
      ok(!/AWS_VAULT_FILE_PASSPHRASE/.test(r.stdout), r.stdout);
    });
  },
});

Deno.test({
  name: "README: remembered unlock, as shown (the deploy command replaced by `true`)",
  ignore: !!skip,
  async fn() {
    const steps = transcript(docBlock("README.md", "readme-remembered-unlock").text);
    equal(steps.length, 3);
    const fake = await startFakeAws();
    fake.addUser({
      userName: "keyctl",
      accessKeyId: KEYS.AWS_ACCESS_KEY_ID,
      secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY,
    });
    await withVault(async ({ env: vaultEnv, description, shown }) => {
      const env = { ...vaultEnv, AWS_ENDPOINT_URL: fake.url };
      const argv = (command: string) => {
        const words = command.split(/\s+/);
        equal(words[0], "aws-vault");
        const dash = words.indexOf("--");
        return [...(dash < 0 ? words.slice(1) : [...words.slice(1, dash + 1), "true"])].map((w) =>
          w === "work" ? "p" : w
        );
      };
      const home = (line: string) => line.replace("/home/me/.awsvault/keys/", shown);
      const first = await typed(argv(steps[0].command), env);
      equal(first.code, 0, first.output);
      ok(first.output.includes(`${home(steps[0].output[0])} `), first.output);
      const id = await findUserKey(description);
      ok(id !== undefined);
      match((await keyTimeout(id)) ?? "", /^(7h|8h)$/);
      const second = await runProgram(argv(steps[1].command), { env });
      equal(second.code, 0, second.stderr);
      const lock = await runProgram(argv(steps[2].command), { env });
      equal(lock.stdout, `${home(steps[2].output[0])}\n`);
    }).finally(() => fake.close());
  },
});

Deno.test({
  name: "guide: remembering the passphrase: the variable, the flag and lock",
  ignore: !!skip,
  async fn() {
    const block = docBlock("docs/guide.md", "guide-remember-passphrase");
    const lines = block.text.trim().split("\n").map((l) => l.replace(/\s{2,}#.*$/, ""));
    equal(lines[0], "export AWS_VAULT_FILE_PASSPHRASE_TTL=4h");
    const env = envFromRecord({ AWS_VAULT_FILE_PASSPHRASE_TTL: "4h" });
    const ttl = (args: string[]) => {
      const result = parseCommandLine(args, { app: appSpec(APP_GLOBAL_FLAGS), env });
      if (result.kind !== "run") throw new Error(`${args.join(" ")} does not run a command`);
      return readFlags(APP_GLOBAL_FLAGS, result.line).filePassphraseTtl;
    };
    equal(ttl(["export", "work"]), 4 * 3_600_000);
    const flagLine = lines[1].split(/\s+/).slice(1);
    equal(ttl(flagLine), 15 * 60_000);
    equal(lines[2], "aws-vault lock");
    const sb = await makeSandbox({ passphrase: null });
    try {
      const r = await runCli(["lock"], { env: sb.env });
      deepStrictEqual(r, {
        code: 0,
        stdout: `No vault passphrase was remembered for "${sb.home}/.awsvault/keys/".\n`,
        stderr: "",
      });
    } finally {
      await sb.cleanup();
    }
    notEqual(block.lang, "");
  },
});
