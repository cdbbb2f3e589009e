/**
 * The cross-process SSO login lock: concurrent aws-vault processes needing the same SSO login wait for one of them
 * instead of each opening a browser tab.
 * @module
 */

import type { Env } from "../core/env.ts";
import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { lockFilePath } from "../os/file_lock.ts";

/** Waiting for another process's SSO login took too long. */
export class SsoLoginLockError extends AppError {}

/** Options of {@link withLoginLock}. */
export interface LoginLockOptions {
  /** Directory of the lock file (default `$XDG_RUNTIME_DIR`, else the temp directory). */
  dir?: string;
  /** The environment for the default directory . */
  env: Env;
  /** How long to wait for another process's login, in ms (default 11 minutes: a login times out after 10). */
  waitMs?: number;
  /** Debug lines; silent when not given. */
  log?: Logger;
}

/** A lock whose holder stopped refreshing it for this long is stale (the holder refreshes it every 5 s). */
const LOCK_STALE_MS = 30_000;
const LOCK_HEARTBEAT_MS = 5_000;
/** A login gives up after 10 minutes (`sso_login.ts`); one more minute outlasts the login being waited for. */
const DEFAULT_WAIT_MS = 660_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Tells this holder's lock file from a successor's, so only our own lock is removed. */
function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Whether a lock file was left behind: its holder is gone (Linux) or stopped refreshing it. */
async function isStale(path: string, content: string): Promise<boolean> {
  const pid = Number(content.split(" ")[0]);
  if (Deno.build.os === "linux" && pid > 0 && pid !== Deno.pid) {
    try {
      await Deno.stat(`/proc/${pid}`);
    } catch {
      return true;
    }
  }
  const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
  return Date.now() - mtime > LOCK_STALE_MS;
}

/**
 * Runs `fn` while holding a cross-process lock named after `name` (an SSO start URL), so that concurrent processes
 * needing the same login open one browser tab: the others wait, then find the fresh token in the vault.
 * The lock is a file created with O_EXCL holding `<pid> <nonce>`; a holder that died or stopped refreshing it for
 * 30 s is taken over. Waiting is bounded; a lock that cannot be created at all (read-only dir) is skipped.
 */
export async function withLoginLock<T>(name: string, fn: () => Promise<T>, options: LoginLockOptions): Promise<T> {
  const log = options.log ?? SILENT;
  const path = await lockFilePath("sso", name, { env: options.env, dir: options.dir });
  const content = `${Deno.pid} ${nonce()}`;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  for (let announced = false;;) {
    try {
      await Deno.writeTextFile(path, content, { createNew: true, mode: 0o600 });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        log.debug(`Cannot create the SSO login lock ${path} (${e instanceof Error ? e.message : e}), going without`);
        return await fn();
      }
    }
    const held = await Deno.readTextFile(path).catch(() => "");
    // Re-read right before removing, so a lock another waiter just took over is not removed too.
    if (
      held && await isStale(path, held).catch(() => false) && await Deno.readTextFile(path).catch(() => "") === held
    ) {
      log.debug(`Removing stale SSO login lock ${path}`);
      await Deno.remove(path).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new SsoLoginLockError(`another aws-vault process is still logging in to ${name} (lock file ${path})`);
    }
    if (!announced) log.debug(`Waiting for another aws-vault process to finish the SSO login for '${name}'`);
    announced = true;
    await delay(100 + Math.random() * 100);
  }
  const heartbeat = setInterval(() => Deno.utime(path, new Date(), new Date()).catch(() => {}), LOCK_HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    if (await Deno.readTextFile(path).catch(() => "") === content) await Deno.remove(path).catch(() => {});
  }
}
