/**
 * The audit trail (docs/behaviour.md#audit-log): one JSON line per hand-out of credentials, appended to a per-user file
 * under the XDG state directory. What goes into a line is decided by the callers through {@link AuditEntry}, which has
 * no field that could hold a secret; this module decides where the file is, keeps it private (0600 in a 0700
 * directory), appends each line in one O_APPEND write, rotates it by size under a lock, and makes sure a failed write
 * never stops a hand-out.
 * @module
 */

import type { Env } from "../core/env.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { VERSION_TEXT } from "../core/version.ts";
import { LockWaitError, withFileLock } from "../os/file_lock.ts";
import type { AuditEvent } from "./events.ts";

export { AUDIT_EVENTS, type AuditEvent } from "./events.ts";

/** Who asked for the credentials: a process (its pid and executable name) or a network peer. */
export interface AuditRequester {
  /** The process id: exec's command (which keeps aws-vault's pid on Unix), or export's and login's parent. */
  readonly pid?: number;
  /** The basename of the process's argv[0] (`terraform`, `python3`): never its arguments, which may hold secrets. */
  readonly command?: string;
  /** For an interpreter (`python3 /usr/bin/aws …`), the basename of the script it runs (`aws`). */
  readonly script?: string;
  /** A server's peer, `address:port`. */
  readonly peer?: string;
  /** A server's `X-Forwarded-For` hops (the EC2 proxy's clients). */
  readonly forwardedFor?: string;
}

/**
 * One line of the audit log, as the callers describe the hand-out. No field takes a secret: keys are masked, the
 * sign-in URL and the command's arguments have no place here.
 */
export interface AuditEntry {
  readonly event: AuditEvent;
  /** The profile asked for (`(environment)` for `login` without one). */
  readonly profile: string;
  /** The role the credentials are for, where known (a role profile, `/role-arn/<ARN>`, a web identity role). */
  readonly roleArn?: string;
  /** The IAM Identity Center account and permission set, `<account>/<role name>`. */
  readonly ssoRole?: string;
  /** The caller's ARN where aws-vault asked STS for it (`login` of an IAM user, an SSO or web identity session). */
  readonly callerArn?: string;
  /** Where the credentials came from: `sts.AssumeRole`, `sts.GetSessionToken`, `sso.GetRoleCredentials`, … */
  readonly source: string;
  /** Whether they were served from the session cache (true) or made by this hand-out (false). */
  readonly cached?: boolean;
  /** When the credentials (or the console session) expire; absent for long-term keys. */
  readonly expiration?: Date;
  /** The access key ID handed out, masked as `--debug` masks it. */
  readonly accessKeyId?: string;
  /** `export`'s format. */
  readonly format?: string;
  /** exec's mode when the command gets no keys itself: `profile-env`. */
  readonly mode?: string;
  /** `login`: where the URL went, `stdout` or `browser`. */
  readonly output?: string;
  /** For the servers: the path asked for (`/role-arn/…`, the IMDS credentials path). */
  readonly path?: string;
  /** Who asked. */
  readonly requester?: AuditRequester;
  /** For the servers: the command exec runs beside them (basename of argv[0]). */
  readonly command?: string;
}

/** The file's size at which it is rotated: 5 MiB. */
export const ROTATE_BYTES = 5 * 1024 * 1024;

/** How many rotated files (`audit.log.1` … `audit.log.3`) are kept. */
export const KEEP_FILES = 3;

/** Longest wait for another writer's lock before writing without it (and without rotating): a hand-out waits no more. */
const LOCK_WAIT_MS = 2_000;

/** What the `[aws-vault]` section and `AWS_VAULT_AUDIT` may say; anything else keeps the log on, with a warning. */
const OFF = new Set(["off", "false", "0", "no"]);
const ON = new Set(["on", "true", "1", "yes"]);

/**
 * Where the audit log lives: `$XDG_STATE_HOME/aws-vault/audit.log` where that is set (any OS); otherwise
 * `~/.local/state/aws-vault/audit.log` (Linux and other Unix, XDG's default), `~/Library/Logs/aws-vault/audit.log`
 * (macOS, where Console.app shows user logs), `%LOCALAPPDATA%\aws-vault\audit.log` (Windows).
 * @returns undefined when there is no home directory to put it in
 */
export function auditLogPath(env: Env, options?: { os?: typeof Deno.build.os }): string | undefined {
  const os = options?.os ?? Deno.build.os;
  const sep = os === "windows" ? "\\" : "/";
  const state = env.get("XDG_STATE_HOME");
  // XDG requires an absolute path; a relative one is ignored, as the spec says.
  if (state && (state.startsWith("/") || /^[A-Za-z]:[\\/]/.test(state))) {
    return [state, "aws-vault", "audit.log"].join(sep);
  }
  const home = env.get("HOME") || env.get("USERPROFILE");
  if (os === "windows") {
    const local = env.get("LOCALAPPDATA") || (home ? `${home}\\AppData\\Local` : undefined);
    return local ? `${local}\\aws-vault\\audit.log` : undefined;
  }
  if (!home) return undefined;
  if (os === "darwin") return `${home}/Library/Logs/aws-vault/audit.log`;
  return `${home}/.local/state/aws-vault/audit.log`;
}

/**
 * Whether auditing is on, and the warning to give when a setting is neither on nor off: `AWS_VAULT_AUDIT` beats the
 * config's `[aws-vault]` `audit` key; the default is on.
 */
export function auditEnabled(
  env: Env,
  configValue: string | undefined,
): { enabled: boolean; warning?: string } {
  const fromEnv = env.get("AWS_VAULT_AUDIT");
  const [value, where] = fromEnv ? [fromEnv, "AWS_VAULT_AUDIT"] : [configValue, "audit in the [aws-vault] section"];
  if (value === undefined || value === "") return { enabled: true };
  const v = value.trim().toLowerCase();
  if (OFF.has(v)) return { enabled: false };
  if (ON.has(v)) return { enabled: true };
  // A mistyped off switch must not turn the trail off unnoticed, nor stop the hand-out: on, and say so.
  return { enabled: true, warning: `${where} is ${JSON.stringify(value)}, neither on nor off; the audit log stays on` };
}

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  /** The environment: the file's location and `AWS_VAULT_AUDIT`. */
  readonly env: Env;
  /** The `audit` key of the config's `[aws-vault]` section, if any. */
  readonly configValue?: string;
  /** Where the one warning of a run goes (the CLI's stderr). */
  readonly warn: (text: string) => void;
  /** The clock of the entries' `time`. */
  readonly now: () => Date;
  /** Debug lines (the path written, a write that failed). */
  readonly log?: Logger;
  /** The file, instead of {@link auditLogPath} (tests). */
  readonly path?: string;
  /** Rotation size in bytes; default {@link ROTATE_BYTES} (tests make it small). */
  readonly rotateBytes?: number;
  /** aws-vault's process id in the entries; default this process's. */
  readonly pid?: number;
}

/**
 * Appends audit entries for one run of aws-vault. Writes are queued (one at a time in this process; across processes
 * O_APPEND keeps lines whole); a write that fails is reported once per run on stderr and otherwise ignored, so the
 * hand-out proceeds whatever the disk says.
 */
export class AuditLog {
  /** The file written, or undefined when auditing is off or there is no home directory. */
  readonly path: string | undefined;
  #options: AuditLogOptions;
  #log: Logger;
  #queue: Promise<void> = Promise.resolve();
  /** The kinds of warning given so far: each is given once per run. */
  #warned = new Set<"setting" | "write">();

  /** @param options the environment, the config's setting, the warning sink and the clock */
  constructor(options: AuditLogOptions) {
    this.#options = options;
    this.#log = options.log ?? SILENT;
    const { enabled, warning } = auditEnabled(options.env, options.configValue);
    if (warning) this.#warnOnce("setting", warning);
    this.path = enabled ? options.path ?? auditLogPath(options.env) : undefined;
    if (enabled && !this.path) {
      this.#warnOnce("write", "no home directory to keep the audit log in; nothing is recorded");
    }
  }

  /** Whether entries are written at all. */
  get enabled(): boolean {
    return this.path !== undefined;
  }

  /**
   * Appends one entry. Never rejects: a failure becomes the run's one warning.
   * @returns when the line is written (or given up on)
   */
  record(entry: AuditEntry): Promise<void> {
    const path = this.path;
    if (!path) return Promise.resolve();
    const line = auditLine(entry, { now: this.#options.now(), pid: this.#options.pid ?? Deno.pid });
    const write = this.#queue.then(() => this.#append(path, line)).catch((e) => {
      this.#log.debug(`audit log ${path}: ${errorText(e)}`);
      this.#warnOnce(
        "write",
        `cannot write the audit log ${path} (${errorText(e)}); the credentials were handed out unrecorded`,
      );
    });
    this.#queue = write;
    return write;
  }

  /** Resolves once every entry recorded so far is written. */
  flushed(): Promise<void> {
    return this.#queue;
  }

  /**
   * Appends `line`. The usual case takes no lock and makes no trip through Deno's blocking-I/O pool (a hand-out is on
   * the start-up path of every `credential_process` call): open with O_APPEND, look at the size, one write. Only a
   * line that would take the file past the rotation size goes through the lock, where the file is rotated first.
   */
  async #append(path: string, line: string): Promise<void> {
    const bytes = new TextEncoder().encode(line);
    const rotateBytes = this.#options.rotateBytes ?? ROTATE_BYTES;
    const file = openForAppend(path);
    try {
      const size = file.statSync().size;
      if (size === 0 || size + bytes.length <= rotateBytes) return writeWhole(file, bytes);
    } finally {
      file.close();
    }
    try {
      // Rotation renames the file other writers append to: one process at a time looks and renames.
      await withFileLock(`${path}.lock`, () => {
        rotateIfFull(path, { incoming: bytes.length, rotateBytes });
        return Promise.resolve(appendOnce(path, bytes));
      }, { what: "the audit log", waitMs: LOCK_WAIT_MS, log: this.#log });
    } catch (e) {
      if (!(e instanceof LockWaitError)) throw e;
      // A writer stuck holding the lock: append anyway (O_APPEND keeps the line whole), rotate another time.
      appendOnce(path, bytes);
    }
  }

  #warnOnce(kind: "setting" | "write", text: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#options.warn(`aws-vault: warning: ${text}\n`);
  }
}

/** The JSON line of `entry`: `time` first, then the entry's fields in a fixed order, aws-vault's pid and version last. */
export function auditLine(entry: AuditEntry, options: { now: Date; pid: number }): string {
  const e = entry;
  const record = {
    time: options.now.toISOString(),
    event: e.event,
    profile: e.profile,
    roleArn: e.roleArn,
    ssoRole: e.ssoRole,
    callerArn: e.callerArn,
    source: e.source,
    cached: e.cached,
    // Second precision, as every other expiry aws-vault writes.
    expiration: e.expiration?.toISOString().replace(/\.\d{3}Z$/, "Z"),
    accessKeyId: e.accessKeyId,
    format: e.format,
    mode: e.mode,
    output: e.output,
    path: e.path,
    command: e.command,
    requester: e.requester,
    pid: options.pid,
    version: VERSION_TEXT,
  };
  // JSON.stringify leaves out the fields that are undefined.
  return `${JSON.stringify(record)}\n`;
}

/**
 * Opens the log for appending, creating it 0600 (and its directory 0700) when missing. O_APPEND makes every `write` go
 * to the end of the file as one piece, so lines of concurrent writers never interleave, with or without the lock.
 */
function openForAppend(path: string): Deno.FsFile {
  const options = { append: true, create: true, mode: 0o600 };
  try {
    return Deno.openSync(path, options);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    Deno.mkdirSync(path.slice(0, Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"))), {
      recursive: true,
      mode: 0o700,
    });
    return Deno.openSync(path, options);
  }
}

/** One `write` of the whole line: a short write would leave half a line for the next writer to continue. */
function writeWhole(file: Deno.FsFile, bytes: Uint8Array): void {
  const written = file.writeSync(bytes);
  if (written !== bytes.length) throw new Error(`short write (${written} of ${bytes.length} bytes)`);
}

function appendOnce(path: string, bytes: Uint8Array): void {
  const file = openForAppend(path);
  try {
    writeWhole(file, bytes);
  } finally {
    file.close();
  }
}

/**
 * Moves `audit.log` to `audit.log.1` (and each older file one up, dropping the last) when the line would take it past
 * the rotation size. Runs under the lock, so it looks again: another writer may have rotated meanwhile.
 */
function rotateIfFull(path: string, options: { incoming: number; rotateBytes: number }): void {
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (size === 0 || size + options.incoming <= options.rotateBytes) return;
  try {
    Deno.removeSync(`${path}.${KEEP_FILES}`);
  } catch { /* not there yet */ }
  for (let n = KEEP_FILES - 1; n >= 1; n--) {
    try {
      Deno.renameSync(`${path}.${n}`, `${path}.${n + 1}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  Deno.renameSync(path, `${path}.1`);
}

/**
 * The files of the log, oldest first: `audit.log.3`, `.2`, `.1`, then `audit.log`; those missing are left out.
 */
export function auditLogFiles(path: string): string[] {
  const names = [...Array.from({ length: KEEP_FILES }, (_, i) => `${path}.${KEEP_FILES - i}`), path];
  return names.filter((name) => {
    try {
      return Deno.statSync(name).isFile;
    } catch {
      return false;
    }
  });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
