/**
 * The `pass` backend: one GnuPG-encrypted entry per item in a password store, read and written through the `pass`
 * program, in aws-vault's layout (`<prefix>/<key>.gpg` holding the item JSON), so entries move freely between the two.
 * @module
 */

import type { Env } from "../core/env.ts";
import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import { withoutSecrets } from "../os/child_env.ts";
import { expandHome, itemProblem, MAX_ITEM_BYTES } from "./file.ts";
import {
  CorruptItemError,
  InvalidDataError,
  itemFromJson,
  itemToJson,
  type Keyring,
  type VaultItem,
} from "./keyring.ts";
import { lookPath } from "../os/look_path.ts";

/** Options of {@link PassKeyring}. */
export interface PassKeyringOptions {
  /** Store directory (`--pass-dir`); default `$PASSWORD_STORE_DIR`, else `~/.password-store`. `~` is expanded. */
  passDir?: string;
  /** The pass executable (`--pass-cmd`), a name looked up on PATH or a path. Default `pass`. */
  passCmd?: string;
  /** Folder of aws-vault's entries inside the store (`--pass-prefix`). Default "" (the store's top level). */
  prefix?: string;
  /** The environment (PASSWORD_STORE_DIR, HOME, PATH), handed to `pass` too. */
  env: Env;
}

/** The pass program cannot be found: the backend cannot be opened. */
export class PassNotAvailableError extends VaultError {}

const EXT = ".gpg";
const MAX_STDERR_CHARS = 1000;
/** pass's stderr is kept up to this many bytes (its end), enough for {@link MAX_STDERR_CHARS}. */
const MAX_STDERR_BYTES = 64 * 1024;
const decoder = new TextDecoder();

/**
 * Splits a key or prefix into path segments as Go's `filepath.Join` would place them on disk (empty segments from
 * `//` or a trailing `/` vanish), refusing what could leave the store: `.`/`..` segments and absolute paths.
 */
function segments(value: string, what: string): string[] {
  if (value.startsWith("/")) {
    throw new VaultError(`invalid pass ${what} ${JSON.stringify(value)}: absolute paths are not allowed`);
  }
  const parts = value.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === ".." || p.includes("\0"))) {
    throw new VaultError(`invalid pass ${what} ${JSON.stringify(value)}: dot path segments are not allowed`);
  }
  return parts;
}

/**
 * On disk, `oidc:https://host/start` lives at `oidc:https:/host/start.gpg` (the `//` is a directory separator to
 * the file system, for aws-vault as for us). Listing puts the scheme's second slash back, so listed OIDC keys are
 * the real start URLs; get/remove with either form reach the same entry.
 */
function restoreKey(relative: string): string {
  return relative.replace(/^(oidc:[A-Za-z][A-Za-z0-9+.-]*:)\/(?!\/)/, "$1//");
}

/**
 * The `pass` keyring backend. Construction looks the pass program up on PATH and fails like aws-vault's open when
 * it is missing; nothing else runs until an item is read, written or removed.
 */
export class PassKeyring implements Keyring {
  /** Always `pass`. */
  readonly backend = "pass";
  /** The password store directory after home expansion. */
  readonly dir: string;
  /** The prefix as path segments joined with `/` ("" for the store's top level). */
  readonly prefix: string;
  #command: string;
  #env: Env;

  constructor(options: PassKeyringOptions) {
    this.#env = options.env;
    const get = (name: string) => this.#env.get(name);
    this.dir = expandHome(options.passDir || get("PASSWORD_STORE_DIR") || "~/.password-store", this.#env);
    this.prefix = segments(options.prefix ?? "", "prefix").join("/");
    const name = options.passCmd || "pass";
    const found = lookPath(name, { path: get("PATH") });
    if (found === undefined) {
      throw new PassNotAvailableError(
        `The pass program is not available: ${JSON.stringify(name)} was not found` +
          `${name.includes("/") ? "" : " on PATH"}; install pass (https://www.passwordstore.org/) ` +
          `or name its executable with --pass-cmd or AWS_VAULT_PASS_CMD`,
      );
    }
    this.#command = found;
  }

  /** The pass entry name of `key` (`<prefix>/<key>`), or undefined when the key cannot be an entry. */
  #entry(key: string): string | undefined {
    try {
      const parts = segments(key, "key");
      return parts.length === 0 ? undefined : [this.prefix, ...parts].filter((p) => p !== "").join("/");
    } catch {
      return undefined;
    }
  }

  /**
   * The entry file's status (symbolic links followed, as pass and gpg follow them), or undefined when there is no
   * such entry (nothing, or a folder); checked before running pass, as aws-vault does.
   */
  async #stat(entry: string): Promise<Deno.FileInfo | undefined> {
    try {
      const info = await Deno.stat(`${this.dir}/${entry}${EXT}`);
      return info.isDirectory ? undefined : info;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
      throw new VaultError(`cannot access the pass store ${JSON.stringify(this.dir)}: ${(e as Error).message}`);
    }
  }

  /**
   * Returns the item stored under `key` (`pass show`); a missing entry fails without running pass, and so does one
   * that is not a regular file of at most 1 MiB (gpg would wait on a FIFO or read a device for ever). What pass prints
   * is read up to the same bound.
   */
  async get(key: string): Promise<VaultItem> {
    const entry = this.#entry(key);
    const info = entry === undefined ? undefined : await this.#stat(entry);
    if (entry === undefined || info === undefined) throw new ItemNotFoundError(key);
    const problem = itemProblem(info);
    if (problem !== undefined) throw new CorruptItemError(`pass entry ${entry}`, `its file ${problem}`);
    const output = await this.#run(["show", entry], { key, maxStdout: MAX_ITEM_BYTES });
    if (output === undefined) {
      throw new CorruptItemError(`pass entry ${entry}`, "pass printed more than the 1 MiB an item may be");
    }
    try {
      const item = itemFromJson(decoder.decode(output));
      return item.key === "" ? { ...item, key } : item;
    } catch (e) {
      if (e instanceof InvalidDataError) throw new CorruptItemError(`pass entry ${entry}`, e.message);
      throw e;
    }
  }

  /** Creates or replaces the item (`pass insert -m -f`); the item JSON goes through stdin, never the command line. */
  async set(item: VaultItem): Promise<void> {
    const entry = this.#entry(item.key);
    if (entry === undefined) {
      throw new VaultError(`the key ${JSON.stringify(item.key)} cannot be stored by the pass backend`);
    }
    await this.#run(["insert", "-m", "-f", entry], { key: item.key, stdin: itemToJson(item) });
  }

  /** Deletes the item (`pass rm -f`); a missing entry fails without running pass. */
  async remove(key: string): Promise<void> {
    const entry = this.#entry(key);
    if (entry === undefined || await this.#stat(entry) === undefined) throw new ItemNotFoundError(key);
    await this.#run(["rm", "-f", entry], { key });
  }

  /**
   * Every `*.gpg` below `<dir>/<prefix>`, as keys, sorted; no entry is decrypted. Hidden files and folders (`.git`,
   * `.extensions`) are skipped, as `pass ls` does. With an empty prefix this is every entry of the store, as in
   * aws-vault: entries that are not aws-vault items fail on `get` with a CorruptItemError naming them.
   */
  async keys(): Promise<string[]> {
    const root = this.prefix === "" ? this.dir : `${this.dir}/${this.prefix}`;
    const keys: string[] = [];
    try {
      const info = await Deno.stat(root);
      if (!info.isDirectory) throw new VaultError(`${root} is not a directory`);
      await this.#walk(root, "", keys);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      if (e instanceof VaultError) throw e;
      throw new VaultError(`cannot list the pass store ${JSON.stringify(root)}: ${(e as Error).message}`);
    }
    return keys.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  }

  async #walk(dir: string, relative: string, out: string[]): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".")) continue;
      const rel = relative === "" ? entry.name : `${relative}/${entry.name}`;
      // Symlinked folders are not followed (no cycles); symlinked entries are, like pass does.
      if (entry.isDirectory) await this.#walk(`${dir}/${entry.name}`, rel, out);
      else if (entry.name.endsWith(EXT) && entry.name.length > EXT.length) {
        out.push(restoreKey(rel.slice(0, -EXT.length)));
      }
    }
  }

  /**
   * Runs pass with the store directory set; failures become VaultErrors carrying pass's own (secret-free) stderr.
   * Standard output is read up to `maxStdout` bytes (default unbounded): past it pass is killed and the result is
   * undefined.
   */
  async #run(
    args: string[],
    options: { key: string; stdin?: string; maxStdout?: number },
  ): Promise<Uint8Array | undefined> {
    // A name starting with "-" would be read as an option; pass (getopt) accepts "--" before it.
    const last = args.length - 1;
    const argv = args[last].startsWith("-") ? [...args.slice(0, last), "--", args[last]] : args;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#command, {
        args: argv,
        // Not this tool's own secrets (the file vault's passphrase) nor credentials: pass and gpg need neither.
        env: { ...withoutSecrets(this.#env.toObject()), PASSWORD_STORE_DIR: this.dir },
        clearEnv: true,
        stdin: options.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      throw new PassNotAvailableError(
        `The pass program is not available: cannot run ${this.#command}: ${(e as Error).message}`,
      );
    }
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      // pass may exit before reading everything (bad store); its exit status tells the story, not EPIPE.
      await writer.write(new TextEncoder().encode(options.stdin)).catch(() => {});
      await writer.close().catch(() => {});
    }
    const out = collect(child.stdout, options.maxStdout ?? Infinity, "head");
    const err = collect(child.stderr, MAX_STDERR_BYTES, "tail");
    const stdout = await out.done;
    if (stdout === undefined) {
      // Too much output (a store file that is no item): stop pass; gpg, if still writing, gets SIGPIPE.
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await err.cancel();
      await err.done;
      await child.status;
      return undefined;
    }
    const stderrBytes = await err.done;
    const result = await child.status;
    if (result.success) return stdout;
    const stderr = decoder.decode(stderrBytes).trim();
    if (args[0] !== "insert" && /is not in the password store/.test(stderr)) throw new ItemNotFoundError(options.key);
    const shown = stderr.length > MAX_STDERR_CHARS ? "…" + stderr.slice(-MAX_STDERR_CHARS) : stderr;
    throw new VaultError(
      `pass ${args[0]} ${JSON.stringify(args[last])} failed (exit status ${result.code})${shown ? `: ${shown}` : ""}`,
    );
  }
}

/**
 * Reads `stream` to its end, keeping its first `limit` bytes ("head": more cancels the stream and yields undefined)
 * or about its last `limit` bytes ("tail": the rest is read and dropped, so the writer never blocks).
 */
function collect(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  keep: "head" | "tail",
): { done: Promise<Uint8Array | undefined>; cancel(): Promise<void> } {
  const reader = stream.getReader();
  const done = (async () => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (keep === "head" && total > limit) {
        await reader.cancel();
        return undefined;
      }
      while (keep === "tail" && chunks.length > 1 && total - chunks[0].length >= limit) total -= chunks.shift()!.length;
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  })();
  return { done, cancel: () => reader.cancel().catch(() => {}) };
}
