/**
 * Single flight across processes for cached sessions (docs/behaviour.md#cross-process-locks): a build tool, an IDE or
 * Terraform that starts many SDK processes at once, each running `credential_process = aws-vault export …`, makes one
 * MFA prompt and one STS call per session, not one per process. The first process to miss the cache takes a lock named
 * after the session's cache key; the others wait for it, then find its session in the vault.
 * @module
 */

import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import { lockFilePath, withFileLock } from "../os/file_lock.ts";
import type { SessionKeyLookup } from "../vault/session_keyring.ts";

/** Runs the making of a session so that processes needing the same one make it once. */
export interface SessionFlight {
  /** Runs `make` while no other process makes the session `lookup`; `what` describes it for waiting messages. */
  run<T>(lookup: SessionKeyLookup, what: string, make: () => Promise<T>): Promise<T>;
}

/** Options of {@link lockingSessionFlight}. */
export interface LockingSessionFlightOptions {
  readonly env: Env;
  /** Tells vaults apart, so that processes using different vaults never wait for each other (backend and home). */
  readonly scope: string;
  /** Directory of the lock files (default `$XDG_RUNTIME_DIR`, else the temporary directory). */
  readonly dir?: string;
  /** Longest wait for another process, in ms (default 5 minutes). */
  readonly waitMs?: number;
  readonly log?: Logger;
}

/** A {@link SessionFlight} over cross-process file locks, one lock file per vault and cache key. */
export function lockingSessionFlight(options: LockingSessionFlightOptions): SessionFlight {
  return {
    async run(lookup, what, make) {
      const name = JSON.stringify([options.scope, lookup.type, lookup.profileName, lookup.mfaSerial, lookup.settings]);
      const path = await lockFilePath("session", name, { env: options.env, dir: options.dir });
      return await withFileLock(path, make, { what, waitMs: options.waitMs, log: options.log });
    },
  };
}
