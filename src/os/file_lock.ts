/**
 * Cross-process locks (docs/behaviour.md#cross-process-locks): an exclusive lock on a lock file through Deno's
 * `FsFile.lock` (flock on Unix, LockFileEx on Windows). The kernel releases it when its holder exits, however it exits,
 * so a dead holder never blocks anyone and nothing stale is left to clean up. Used to make concurrent aws-vault
 * processes fetch a session once (single flight) and to serialise writers of the config file.
 * @module
 */

import type { Env } from "../core/env.ts";
import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";

/** Waiting for another process's lock took longer than allowed. */
export class LockWaitError extends AppError {}

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** What the holder is doing, for messages: e.g. `GetSessionToken credentials for profile "work"`. */
  readonly what: string;
  /** Longest wait for another holder, in ms; default 5 minutes (a holder may be waiting for an MFA code). */
  readonly waitMs?: number;
  /** Debug lines (waiting, a lock that cannot be used); silent when not given. */
  readonly log?: Logger;
}

const DEFAULT_WAIT_MS = 300_000;
/** Waits shorter than this are not worth a debug line. */
const QUIET_WAIT_MS = 50;

/**
 * Where a lock named `name` of kind `kind` lives: `$XDG_RUNTIME_DIR` (private to the user), else the temporary
 * directory, as `aws-vault-<kind>-<uid>-<16 hex of SHA-256(name)>.lock`.
 */
export async function lockFilePath(kind: string, name: string, options: { env: Env; dir?: string }): Promise<string> {
  const env = options.env;
  const dir = options.dir || env.get("XDG_RUNTIME_DIR") || env.get("TMPDIR") || env.get("TEMP") ||
    (Deno.build.os === "windows" ? "." : "/tmp");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)));
  // Per user: in a shared /tmp another user's lock could neither be waited out nor removed.
  return `${dir}/aws-vault-${kind}-${Deno.uid() ?? "u"}-${digest.subarray(0, 8).toHex()}.lock`;
}

/**
 * Runs `fn` while holding the exclusive lock on the file at `path` (created if missing, never removed: removing a lock
 * file while another process waits on it would let a third one in). Waits at most `options.waitMs` for another holder.
 *
 * A lock file that is not this user's own regular file (another user planted a name in a shared /tmp, or a symlink)
 * is not used: `fn` runs without the lock, which costs only the sharing the lock would have given.
 * @throws LockWaitError naming the holder's process when the wait runs out
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions): Promise<T> {
  const log = options.log ?? SILENT;
  const file = await openOwnLockFile(path, log);
  if (!file) return await fn();
  let held = false;
  try {
    const locking = file.lock(true).then(() => held = true);
    locking.catch(() => {}); // a lock given up on may still fail later; nobody waits for it then
    if (!await settlesWithin(locking, QUIET_WAIT_MS)) {
      const holder = await readHolder(path);
      log.debug(`Waiting for ${holder ?? "another aws-vault process"}, which is getting ${options.what}`);
      const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
      if (!await settlesWithin(locking, waitMs)) {
        throw new LockWaitError(
          `gave up after ${Math.round(waitMs / 1000)}s waiting for ${
            holder ?? "another aws-vault process"
          }, which is ` +
            `getting ${options.what} (it may be waiting for an MFA code); try again once it has finished, or stop it`,
        );
      }
    }
    await locking;
    await writeHolder(file);
    return await fn();
  } finally {
    if (held) await file.unlock().catch(() => {});
    file.close();
  }
}

/** Opens the lock file if it is this user's own regular file (not a symlink, not someone else's). */
async function openOwnLockFile(path: string, log: Logger): Promise<Deno.FsFile | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    log.debug(`Cannot open the lock file ${path} (${e instanceof Error ? e.message : e}), going without`);
    return undefined;
  }
  try {
    const opened = await file.stat();
    const named = await Deno.lstat(path);
    const uid = Deno.uid();
    const own = opened.isFile && !named.isSymlink && named.ino === opened.ino && named.dev === opened.dev &&
      (uid === null || opened.uid === uid);
    if (own) return file;
    log.debug(`The lock file ${path} is not this user's own regular file, going without`);
  } catch (e) {
    log.debug(`Cannot check the lock file ${path} (${e instanceof Error ? e.message : e}), going without`);
  }
  file.close();
  return undefined;
}

/** Records who holds the lock, for the messages of those who wait. */
async function writeHolder(file: Deno.FsFile): Promise<void> {
  const text = new TextEncoder().encode(`${Deno.pid}\n`);
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  await file.write(text);
}

async function readHolder(path: string): Promise<string | undefined> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? `process ${pid}` : undefined;
}

/** Whether `promise` settles within `ms`; the timer is cleared either way. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
