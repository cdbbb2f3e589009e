/**
 * The `file` backend: one JWE-encrypted file per item in a directory (default `~/.awsvault/keys/`), compatible with
 * aws-vault's, hardened: atomic writes, the passphrase checked before the first write, foreign entries reported.
 * @module
 */

import type { Env } from "../core/env.ts";
import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import {
  CREDENTIAL_PBES2_COUNT,
  decryptJwe,
  DEFAULT_PBES2_COUNT,
  encryptJwe,
  InvalidJweError,
  MAX_PBES2_COUNT,
  readJweHeader,
} from "./jwe.ts";
import {
  CorruptItemError,
  InvalidDataError,
  itemFromJson,
  itemToJson,
  type KeyListing,
  type KeyProblem,
  type Keyring,
  type VaultItem,
  WrongPassphraseError,
} from "./keyring.ts";
import { isOidcKey } from "./oidc_keyring.ts";
import { decode, encode } from "./percent.ts";
import { isSessionKey } from "./session_keyring.ts";
import { NoTerminalError } from "../prompt/prompter.ts";

/** Directory used when none is configured (`--file-dir`, `AWS_VAULT_FILE_DIR`). */
export const DEFAULT_FILE_DIR = "~/.awsvault/keys/";
/** Name prefix of this backend's in-flight temporary files; such entries are never listed as keys. */
export const TEMP_PREFIX = ".aws-vault-tmp-";
/** Temporary files older than this are left over from a killed writer and removed on the next write. */
const STALE_TEMP_MS = 60_000;
/**
 * No item comes near this size (items are a few KB); bigger entries are refused before they are read. Shared with
 * the pass backend, which bounds its entries and gpg's output by it.
 */
export const MAX_ITEM_BYTES = 1 << 20;
const SEP = Deno.build.os === "windows" ? "\\" : "/";
/** A passphrase typed at a terminal may be wrong this many times in all before the vault gives up, like sudo. */
export const MAX_PASSPHRASE_TRIES = 3;
const encoder = new TextEncoder();
/** The environment variable that sets the PBKDF2 iteration count of long-term credential items. */
export const KDF_ITERATIONS_ENV = "AWS_VAULT_FILE_KDF_ITERATIONS";
/** Fewer iterations than the Go aws-vault writes would make this tool's items the weakest in the store. */
const MIN_CREDENTIAL_PBES2_COUNT = DEFAULT_PBES2_COUNT;

/** `AWS_VAULT_FILE_KDF_ITERATIONS` is not a whole number within the accepted range. */
export class KdfIterationsError extends VaultError {}

/**
 * The environment variable that sets the PBKDF2 iteration count of sessions and SSO tokens. Off by default: each cached
 * credential_process run reads one, but while one is in the vault a stolen copy can be guessed at its cost
 * (docs/threat-model.md), so a user may choose to pay that on every run.
 */
export const SESSION_KDF_ITERATIONS_ENV = "AWS_VAULT_FILE_SESSION_KDF_ITERATIONS";

/**
 * The PBKDF2 iteration count for long-term credential items: `AWS_VAULT_FILE_KDF_ITERATIONS` when set and not empty,
 * else {@link CREDENTIAL_PBES2_COUNT}.
 * @throws KdfIterationsError when the value is not a whole number from {@link MIN_CREDENTIAL_PBES2_COUNT} to
 *   {@link MAX_PBES2_COUNT} (the most this tool, and jose2go since v1.6.0, will read back)
 */
export function credentialPbes2Count(env: Env): number {
  return iterationsFrom(env, KDF_ITERATIONS_ENV, CREDENTIAL_PBES2_COUNT);
}

/**
 * The PBKDF2 iteration count for sessions and SSO tokens: `AWS_VAULT_FILE_SESSION_KDF_ITERATIONS` when set and not
 * empty, else the Go tool's {@link DEFAULT_PBES2_COUNT}.
 * @throws KdfIterationsError as {@link credentialPbes2Count}
 */
export function cachedItemPbes2Count(env: Env): number {
  return iterationsFrom(env, SESSION_KDF_ITERATIONS_ENV, DEFAULT_PBES2_COUNT);
}

function iterationsFrom(env: Env, name: string, fallback: number): number {
  const text = env.get(name);
  if (text === undefined || text === "") return fallback;
  const count = /^[0-9]{1,8}$/.test(text) ? Number(text) : NaN;
  if (!(count >= MIN_CREDENTIAL_PBES2_COUNT && count <= MAX_PBES2_COUNT)) {
    throw new KdfIterationsError(
      `${name}: invalid value ${JSON.stringify(text)}: must be a whole number from ` +
        `${MIN_CREDENTIAL_PBES2_COUNT} to ${MAX_PBES2_COUNT}; nothing was written`,
    );
  }
  return count;
}

/**
 * Whether the item under `key` is cached (a session or an SSO token) rather than long-term credentials: the rule that
 * makes a key a credential name (`CredentialKeyring.keys`), so every path that writes long-term keys (`add`, `rotate`,
 * `migrate-backend` and its rollback) gets their cost without having to ask for it.
 */
function isCachedItemKey(key: string): boolean {
  return isSessionKey(key) || isOidcKey(key);
}

/** Options of {@link FileKeyring}. */
export interface FileKeyringOptions {
  /** Store directory; `~` and `~/…` expand to the home directory. Default {@link DEFAULT_FILE_DIR}. */
  dir?: string;
  /**
   * The environment: HOME, USERPROFILE, AWS_VAULT_FILE_PASSPHRASE, AWS_VAULT_FILE_KDF_ITERATIONS,
   * AWS_VAULT_FILE_SESSION_KDF_ITERATIONS.
   */
  env: Env;
  /** Asks the user for the passphrase when `AWS_VAULT_FILE_PASSPHRASE` is unset. */
  promptPassphrase?: (message: string) => Promise<string>;
  /** Largest PBES2 iteration count accepted when decrypting. Default 1,300,000. */
  maxPbes2Count?: number;
  /** Debug lines (directory mode warning, stale temporary files); silent when not given. */
  log?: Logger;
  /**
   * Where a passphrase answered at the prompt may be remembered for later processes, and recalled from (the Linux
   * kernel keyring: `keyctl_passphrase.ts`). None when not given.
   */
  passphraseMemory?: PassphraseMemory;
}

/** A passphrase recalled from a {@link PassphraseMemory}. */
export interface RememberedPassphrase {
  /** The passphrase. */
  readonly passphrase: string;
  /** Forgets exactly this remembered passphrase (one remembered later by another process is kept). */
  forget(): Promise<void>;
}

/**
 * Remembers the vault passphrase between processes (docs/behaviour.md#file-backend): recalled before the prompt is
 * shown, remembered after a passphrase answered at the prompt opened the vault. Implementations never throw: a store
 * that cannot be used recalls nothing and remembers nothing.
 */
export interface PassphraseMemory {
  /** The passphrase remembered for the vault in `dir`, or undefined. */
  recall(dir: string): Promise<RememberedPassphrase | undefined>;
  /** Remembers `passphrase`, which opened the vault in `dir` (when the user asked for it: a TTL was given). */
  remember(dir: string, passphrase: string): Promise<void>;
  /** Forgets the passphrase remembered for `dir`; whether there was one. */
  forget(dir: string): Promise<boolean>;
}

/** Where the passphrase in use came from. */
type PassphraseSource = "environment" | "prompt" | "memory";

/** The passphrase in use and where it came from. */
interface Unlock {
  readonly passphrase: string;
  readonly source: PassphraseSource;
  readonly remembered?: RememberedPassphrase;
}

/** Expands a leading `~` or `~/` (`~\` on Windows) to the home directory from HOME or USERPROFILE. */
export function expandHome(dir: string, env: Env): string {
  if (dir !== "~" && !dir.startsWith("~/") && !(SEP === "\\" && dir.startsWith("~\\"))) return dir;
  const home = env.get("HOME") || env.get("USERPROFILE");
  if (!home) throw new VaultError(`cannot expand ${JSON.stringify(dir)}: the home directory is unknown (HOME unset)`);
  return home + dir.slice(1);
}

const errorText = (e: unknown) => e instanceof Error ? e.message : String(e);

/** `2 MiB`, `300 MiB`, `1.5 GiB`; a size that would round to the limit itself is given in bytes. */
function formatSize(bytes: number): string {
  const [unit, scale] = bytes >= 1 << 30 ? ["GiB", 1 << 30] : ["MiB", 1 << 20];
  const shown = `${Number((bytes / scale).toFixed(1))} ${unit}`;
  return shown === "1 MiB" ? `${bytes} bytes` : shown;
}

/** Why a file of `size` bytes is refused, in the words of {@link itemProblem}. */
function tooLargeReason(size: number): string {
  return `is ${formatSize(size)}, more than the 1 MiB an item may be`;
}

/**
 * Why an entry with this (l)stat cannot be an item, or undefined for a regular file of at most
 * {@link MAX_ITEM_BYTES}. The reason reads after the entry's name ("is a FIFO, not a regular file").
 */
export function itemProblem(info: Deno.FileInfo): string | undefined {
  if (info.isFile) return info.size > MAX_ITEM_BYTES ? tooLargeReason(info.size) : undefined;
  if (info.isDirectory) return "is a directory";
  const kind = info.isFifo
    ? "a FIFO"
    : info.isCharDevice
    ? "a character device"
    : info.isBlockDevice
    ? "a block device"
    : info.isSocket
    ? "a socket"
    : info.isSymlink
    ? "a symbolic link"
    : undefined;
  return kind ? `is ${kind}, not a regular file` : "is not a regular file";
}

/** The file to open for an entry, why the entry is no item, or that it does not exist. */
type Located = { file: string } | { reason: string } | { missing: true };

/** The `file` keyring backend. Items are cached nowhere: every call reads the directory anew. */
export class FileKeyring implements Keyring {
  /** Always `file`. */
  readonly backend = "file";
  /** The store directory after home expansion. */
  readonly dir: string;
  #env: Env;
  #prompt?: (message: string) => Promise<string>;
  #maxPbes2Count?: number;
  #passphrase?: Promise<Unlock>;
  #verified = false;
  #memory?: PassphraseMemory;
  /** The memory is asked once per process: a remembered passphrase that failed is not recalled again. */
  #recalled = false;
  /** A passphrase answered at the prompt is offered to the memory once. */
  #rememberOffered = false;
  /** Typed passphrases that opened nothing so far. */
  #wrongTries = 0;
  #tempsCleaned = false;
  #modeChecked = false;
  #log: Logger;

  constructor(options: FileKeyringOptions) {
    this.#env = options.env;
    this.#log = options.log ?? SILENT;
    this.#prompt = options.promptPassphrase;
    this.#maxPbes2Count = options.maxPbes2Count;
    this.#memory = options.passphraseMemory;
    this.dir = expandHome(options.dir ?? DEFAULT_FILE_DIR, this.#env);
  }

  #join(name: string): string {
    return /[\\/]$/.test(this.dir) ? this.dir + name : this.dir + SEP + name;
  }

  /** Path of the file holding `key`, or undefined when the key cannot be a file name here. */
  #path(key: string): string | undefined {
    const name = encode(key, "/");
    if (name === "" || name === "." || name === ".." || name.startsWith(TEMP_PREFIX) || name.includes("\0")) return;
    if (SEP === "\\" && /[\\<>:"|?*]/.test(name)) return;
    return this.#join(name);
  }

  /** Returns the item stored under `key`, asking for the passphrase on first use. */
  async get(key: string): Promise<VaultItem> {
    const path = this.#path(key);
    if (path === undefined) throw new ItemNotFoundError(key);
    let read: { text: string } | { reason: string } | { missing: true };
    try {
      read = this.#readEntry(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new ItemNotFoundError(key);
      throw new VaultError(`cannot read ${JSON.stringify(path)}: ${errorText(e)}`, { cause: e });
    }
    if ("missing" in read) throw new ItemNotFoundError(key);
    if ("reason" in read) throw new CorruptItemError(path, `it ${read.reason}`);
    const token = read.text;
    try {
      readJweHeader(token); // a damaged file fails before anyone is asked for a passphrase
      const plaintext = await this.#withPassphrase(async (passphrase) => {
        try {
          return await this.#decrypt(token, passphrase);
        } catch (e) {
          // Another item opened with this passphrase: this one was stored with a different one (a split store).
          if (e instanceof WrongPassphraseError && this.#verified) {
            throw new WrongPassphraseError(
              `wrong passphrase: the passphrase that opens the vault in ${JSON.stringify(this.dir)} ` +
                `does not decrypt ${JSON.stringify(path)}, which was stored with another one`,
            );
          }
          throw e;
        }
      });
      const item = itemFromJson(new TextDecoder().decode(plaintext));
      return item.key === "" ? { ...item, key } : item;
    } catch (e) {
      if (e instanceof InvalidJweError) throw new CorruptItemError(path, e.message);
      if (e instanceof InvalidDataError) throw new CorruptItemError(path, `decrypted content: ${e.message}`);
      throw e;
    }
  }

  /**
   * Stores `item` atomically. Before the first write to a non-empty store the passphrase must decrypt an item.
   * Long-term credentials are encrypted with {@link credentialPbes2Count} PBKDF2 iterations, sessions and SSO tokens
   * with {@link cachedItemPbes2Count} (the Go tool's 8,192 unless chosen): those are read on every cached
   * credential_process run. An item keeps the count it was
   * written with until it is written again; reading never rewrites it.
   */
  async set(item: VaultItem): Promise<void> {
    const path = this.#path(item.key);
    if (path === undefined) {
      throw new VaultError(`the key ${JSON.stringify(item.key)} cannot be stored by the file backend`);
    }
    // Checked before the passphrase is asked for: a bad setting costs the user no typing and writes nothing.
    const p2c = isCachedItemKey(item.key) ? cachedItemPbes2Count(this.#env) : this.#credentialCount();
    const passphrase = await this.#verifyPassphrase(item.key);
    const token = await encryptJwe(encoder.encode(itemToJson(item)), passphrase, { p2c });
    await this.#ensureDir();
    await this.#cleanStaleTemps();
    await this.#writeAtomic(path, encoder.encode(token));
  }

  /** Deletes the item stored under `key`; needs no passphrase. */
  async remove(key: string): Promise<void> {
    const path = this.#path(key);
    if (path === undefined) throw new ItemNotFoundError(key);
    try {
      if ((await Deno.lstat(path)).isDirectory) throw new ItemNotFoundError(key);
      await Deno.remove(path);
    } catch (e) {
      if (e instanceof ItemNotFoundError) throw e;
      if (e instanceof Deno.errors.NotFound) throw new ItemNotFoundError(key);
      throw new VaultError(`cannot remove ${JSON.stringify(path)}: ${errorText(e)}`, { cause: e });
    }
    await syncDir(this.dir);
  }

  /**
   * Keys of the store's files, sorted, from the directory listing alone: no file is opened, so this stays cheap on
   * the credential_process path. Subdirectories, temp files and names that are not encoded keys are left out;
   * a damaged file still counts here ({@link scan} checks contents, and `get` reports it by name).
   */
  keys(): Promise<string[]> {
    try {
      return Promise.resolve(this.#listNames());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #listNames(): string[] {
    const keys: string[] = [];
    try {
      // Synchronous on purpose: cheaper than the blocking-I/O pool for one small directory on the hot path.
      for (const entry of Deno.readDirSync(this.dir)) {
        if (entry.isDirectory || entry.name.startsWith(TEMP_PREFIX)) continue;
        // Most names hold no escape at all (a file name cannot contain "/"), so skip the codec for them: decoding
        // every long session key costs milliseconds on a cold start.
        if (!entry.name.includes("%")) keys.push(entry.name);
        else if (encode(decode(entry.name), "/") === entry.name) keys.push(decode(entry.name));
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      if (e instanceof Deno.errors.NotADirectory) throw this.#notADirectory();
      throw new VaultError(`cannot list ${JSON.stringify(this.dir)}: ${errorText(e)}`, { cause: e });
    }
    return keys.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  }

  /**
   * Lists the directory without the passphrase: every file that holds a PBES2 JWE is a key (file name
   * percent-decoded); anything else (subdirectories, `.DS_Store`, damaged files) is a problem named by its file name.
   * A missing directory is an empty store.
   */
  scan(): Promise<KeyListing> {
    try {
      return Promise.resolve(this.#scanSync());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #scanSync(): KeyListing {
    const names: string[] = [];
    try {
      for (const entry of Deno.readDirSync(this.dir)) names.push(entry.name);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { keys: [], problems: [] };
      if (e instanceof Deno.errors.NotADirectory) throw this.#notADirectory();
      throw new VaultError(`cannot list ${JSON.stringify(this.dir)}: ${errorText(e)}`, { cause: e });
    }
    this.#checkDirMode();
    const entries = names.filter((n) => !n.startsWith(TEMP_PREFIX));
    const results = entries.map((n) => this.#inspect(n));
    const keys: string[] = [];
    const problems: KeyProblem[] = [];
    results.forEach((reason, i) => {
      if (reason === undefined) keys.push(decode(entries[i]));
      else if (reason !== null) problems.push({ name: entries[i], reason });
    });
    const byCode = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;
    return { keys: keys.sort(byCode), problems: problems.sort((a, b) => byCode(a.name, b.name)) };
  }

  /** undefined: a good item; null: vanished meanwhile; string: why the entry is not an item. */
  #inspect(name: string): string | undefined | null {
    const path = this.#join(name);
    const canonical = encode(decode(name), "/");
    if (canonical !== name) return `the file name is not an encoded key (that would be ${canonical})`;
    try {
      const read = this.#readEntry(path);
      if ("missing" in read) return null;
      if ("reason" in read) return read.reason;
      readJweHeader(read.text);
      return undefined;
    } catch (e) {
      if (e instanceof InvalidJweError) return `not an aws-vault item: ${e.message}`;
      if (e instanceof Deno.errors.NotFound) return null;
      return `unreadable: ${errorText(e)}`;
    }
  }

  /**
   * Where the entry at `path` may be read from, checked without opening anything: a regular file of at most
   * {@link MAX_ITEM_BYTES}, or a symbolic link whose final target is such a file directly in this directory (then the
   * target itself is opened). FIFOs, devices, sockets, directories and links leading elsewhere are refused, so that
   * opening never blocks and never reaches outside the store.
   */
  #locate(path: string): Located {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { missing: true };
      throw e;
    }
    if (!info.isSymlink) {
      const reason = itemProblem(info);
      return reason === undefined ? { file: path } : { reason };
    }
    let target: string;
    let storeDir: string;
    try {
      target = Deno.realPathSync(path);
      storeDir = Deno.realPathSync(this.dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { reason: "is a broken symbolic link" };
      return { reason: `is a symbolic link that cannot be followed: ${errorText(e)}` };
    }
    const cut = target.lastIndexOf(SEP);
    const name = target.slice(cut + 1);
    if (target.slice(0, cut) !== storeDir.replace(/[\\/]+$/, "")) {
      return { reason: `is a symbolic link to ${JSON.stringify(target)}, outside the vault directory` };
    }
    const reason = itemProblem(Deno.lstatSync(target));
    return reason === undefined ? { file: target } : { reason: `links to ${JSON.stringify(name)}, which ${reason}` };
  }

  /**
   * The text of the entry at `path` after {@link #locate}'s checks; the opened file is checked again (a swap after the
   * check) and at most {@link MAX_ITEM_BYTES} + 1 bytes are read, whatever its size claims.
   */
  #readEntry(path: string): { text: string } | { reason: string } | { missing: true } {
    const located = this.#locate(path);
    if (!("file" in located)) return located;
    // Synchronous on purpose, like every small read here: an asynchronous one goes through Deno's blocking-I/O
    // thread pool, which costs more than the read on the credential_process path (docs/performance.md).
    const file = Deno.openSync(located.file, { read: true });
    try {
      const info = file.statSync();
      const reason = itemProblem(info);
      if (reason !== undefined) return { reason };
      let buffer = new Uint8Array(info.size + 1);
      let length = 0;
      for (;;) {
        if (length === buffer.length) {
          if (length > MAX_ITEM_BYTES) return { reason: tooLargeReason(length) };
          const grown = new Uint8Array(Math.min(buffer.length * 2, MAX_ITEM_BYTES + 1));
          grown.set(buffer);
          buffer = grown;
        }
        const n = file.readSync(buffer.subarray(length));
        if (n === null) break;
        length += n;
      }
      return { text: new TextDecoder().decode(buffer.subarray(0, length)) };
    } finally {
      file.close();
    }
  }

  /**
   * The readable items among `keys`, each read once, ordered by the PBKDF2 iteration count in their headers, lowest
   * first, `first` ahead of its equals. An entry that vanished, is no item or has no readable header is left out (as
   * the check that reads them skipped them); one that cannot be read is a {@link VaultError}.
   */
  #byCost(keys: string[], first: string): { path: string; token: string }[] {
    const items: { path: string; token: string; cost: number; rank: number }[] = [];
    for (const key of keys) {
      const path = this.#path(key);
      if (path === undefined) continue;
      try {
        const read = this.#readEntry(path);
        if (!("text" in read)) continue;
        items.push({ path, token: read.text, cost: readJweHeader(read.text).p2c, rank: key === first ? 0 : 1 });
      } catch (e) {
        if (e instanceof InvalidJweError || e instanceof Deno.errors.NotFound) continue;
        throw new VaultError(`cannot read ${JSON.stringify(path)}: ${errorText(e)}`, { cause: e });
      }
    }
    return items.sort((a, b) => a.cost - b.cost || a.rank - b.rank);
  }

  /** The passphrase in use; `recall: false` skips the memory (a store with nothing to check a recalled one against). */
  #getPassphrase(recall = true): Promise<Unlock> {
    this.#passphrase ??= this.#askPassphrase(recall).catch((e) => {
      this.#passphrase = undefined;
      throw e;
    });
    return this.#passphrase;
  }

  async #askPassphrase(recall: boolean): Promise<Unlock> {
    const fromEnv = this.#env.get("AWS_VAULT_FILE_PASSPHRASE");
    if (fromEnv !== undefined) {
      this.#log.debug(`Vault passphrase for ${JSON.stringify(this.dir)} from AWS_VAULT_FILE_PASSPHRASE`);
      return { passphrase: fromEnv, source: "environment" };
    }
    if (recall && this.#memory && !this.#recalled) {
      this.#recalled = true;
      const remembered = await this.#memory.recall(this.dir);
      if (remembered) {
        this.#log.debug(`Vault passphrase for ${JSON.stringify(this.dir)} from the kernel keyring`);
        return { passphrase: remembered.passphrase, source: "memory", remembered };
      }
    }
    this.#log.debug(`Vault passphrase for ${JSON.stringify(this.dir)} asked at the terminal`);
    if (!this.#prompt) {
      throw new VaultError(
        `a passphrase is needed to unlock ${JSON.stringify(this.dir)}: set AWS_VAULT_FILE_PASSPHRASE or use a terminal`,
      );
    }
    try {
      const again = this.#wrongTries > 0 ? "Wrong passphrase, try again. " : "";
      const passphrase = await this.#prompt(`${again}Enter passphrase to unlock ${JSON.stringify(this.dir)}: `);
      return { passphrase, source: "prompt" };
    } catch (e) {
      if (!(e instanceof NoTerminalError)) throw e;
      throw new NoTerminalError(`${e.message}; set AWS_VAULT_FILE_PASSPHRASE or run it in a terminal`, { cause: e });
    }
  }

  /** Decrypts `token` with `passphrase`; success marks the passphrase verified. */
  async #decrypt(token: string, passphrase: string): Promise<Uint8Array> {
    const plaintext = await decryptJwe(token, passphrase, { maxPbes2Count: this.#maxPbes2Count });
    this.#verified = true;
    return plaintext;
  }

  /**
   * Runs `use` with the passphrase. When it throws {@link WrongPassphraseError} for a passphrase not yet verified, a
   * typed one is asked for again, up to {@link MAX_PASSPHRASE_TRIES} in all; one from `AWS_VAULT_FILE_PASSPHRASE` is
   * not. A remembered one that fails is forgotten and the prompt shown, without counting as a try: the vault's
   * passphrase was changed since. The final error names the vault directory and where the passphrase came from, never
   * an item file. A typed passphrase that worked is offered to the memory (which keeps it only when asked to).
   */
  async #withPassphrase<T>(use: (passphrase: string) => Promise<T>, suffix = "", recall = true): Promise<T> {
    const vault = JSON.stringify(this.dir);
    for (;;) {
      // Once the tries are used up, later calls fail at once rather than prompting again.
      if (this.#wrongTries >= MAX_PASSPHRASE_TRIES) {
        throw new WrongPassphraseError(
          `wrong passphrase: ${this.#wrongTries} tries did not open the vault in ${vault}${suffix}`,
        );
      }
      const pending = this.#getPassphrase(recall);
      const unlock = await pending;
      let result: T;
      try {
        result = await use(unlock.passphrase);
      } catch (e) {
        if (!(e instanceof WrongPassphraseError) || this.#verified) throw e;
        if (unlock.source === "environment") {
          throw new WrongPassphraseError(
            `wrong passphrase: the one in AWS_VAULT_FILE_PASSPHRASE does not open the vault in ${vault}${suffix}; ` +
              `correct or unset the variable`,
          );
        }
        // Concurrent callers share one passphrase: only the first to find it wrong counts it and asks again.
        if (this.#passphrase === pending) {
          this.#passphrase = undefined;
          if (unlock.source === "memory") {
            this.#log.debug(`The vault passphrase remembered for ${vault} does not open it: forgotten`);
            await unlock.remembered?.forget();
          } else this.#wrongTries++;
        }
        continue;
      }
      if (unlock.source === "prompt" && this.#verified && this.#memory && !this.#rememberOffered) {
        this.#rememberOffered = true;
        await this.#memory.remember(this.dir, unlock.passphrase);
      }
      return result;
    }
  }

  /**
   * aws-vault writes with whatever passphrase was typed, so a typo silently splits a store. Here the passphrase
   * must decrypt an existing item first; a store without readable items accepts it. Any item proves the passphrase
   * is the store's (the items share one), so the cheapest is tried first: a session item costs 8,192 iterations where
   * a long-term key may cost 600,000 (~75 ms). Among equals, the item being replaced comes first.
   */
  async #verifyPassphrase(targetKey: string): Promise<string> {
    if (this.#verified) return (await this.#getPassphrase()).passphrase;
    const { keys } = await this.scan();
    const candidates = this.#byCost(keys, targetKey);
    // A new (or emptied) store asks: a passphrase remembered for an earlier store there cannot be checked, and the
    // first write chooses the passphrase of the store.
    const recall = candidates.length > 0;
    return await this.#withPassphrase(
      async (passphrase) => {
        let rejected = false;
        for (const { token } of candidates) {
          try {
            await this.#decrypt(token, passphrase);
            return passphrase; // #decrypt marked the passphrase verified
          } catch (e) {
            if (!(e instanceof WrongPassphraseError)) throw e;
            rejected = true;
          }
        }
        if (rejected) throw new WrongPassphraseError("wrong passphrase");
        this.#verified = true; // no readable item: nothing to check against
        return passphrase;
      },
      "; nothing was written",
      recall,
    );
  }

  #credentialCount(): number {
    const count = credentialPbes2Count(this.#env);
    if (count < CREDENTIAL_PBES2_COUNT) {
      this.#log.debug(
        `${KDF_ITERATIONS_ENV}=${count}: long-term keys are written with fewer PBKDF2 iterations than the ` +
          `default ${CREDENTIAL_PBES2_COUNT}`,
      );
    }
    return count;
  }

  #notADirectory(): VaultError {
    return new VaultError(`${JSON.stringify(this.dir)} is a file, not a directory`);
  }

  async #ensureDir(): Promise<void> {
    const info = await Deno.stat(this.dir).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new VaultError(`cannot access ${JSON.stringify(this.dir)}: ${errorText(e)}`, { cause: e });
    });
    if (info && !info.isDirectory) throw this.#notADirectory();
    if (info) return this.#checkDirMode();
    try {
      await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VaultError(`cannot create ${JSON.stringify(this.dir)}: ${errorText(e)}`, { cause: e });
    }
  }

  /** A group- or world-readable store is the user's choice (shared machines, ACLs): warn, never chmod it. */
  #checkDirMode(): void {
    if (this.#modeChecked) return;
    this.#modeChecked = true;
    let mode: number | null | undefined;
    try {
      mode = Deno.statSync(this.dir).mode;
    } catch {
      mode = undefined;
    }
    if (mode != null && (mode & 0o077) !== 0) {
      this.#log.debug(
        `warning: ${this.dir} is accessible by other users (mode ${(mode & 0o777).toString(8)}); 700 is advised`,
      );
    }
  }

  async #cleanStaleTemps(): Promise<void> {
    if (this.#tempsCleaned) return;
    this.#tempsCleaned = true;
    for await (const entry of Deno.readDir(this.dir)) {
      if (!entry.isFile || !entry.name.startsWith(TEMP_PREFIX)) continue;
      const path = this.#join(entry.name);
      const mtime = (await Deno.lstat(path).catch(() => undefined))?.mtime;
      if (mtime && Date.now() - mtime.getTime() > STALE_TEMP_MS) {
        await Deno.remove(path).then(() => this.#log.debug(`removed stale temporary file ${path}`), () => {});
      }
    }
  }

  /** Temp file in the same directory, fsync, rename over the target, fsync the directory: all or nothing. */
  async #writeAtomic(path: string, data: Uint8Array): Promise<void> {
    const tmp = this.#join(TEMP_PREFIX) + crypto.getRandomValues(new Uint8Array(8)).toHex();
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
      await file.sync();
      file.close();
      file = undefined;
      await Deno.rename(tmp, path);
    } catch (e) {
      file?.close();
      await Deno.remove(tmp).catch(() => {});
      throw new VaultError(`cannot write ${JSON.stringify(path)}: ${errorText(e)}`, { cause: e });
    }
    await syncDir(this.dir);
  }
}

/** Makes a rename or unlink durable. Directories cannot be opened on Windows, where this is skipped. */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
