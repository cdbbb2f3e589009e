/**
 * Who started aws-vault, for the audit log's `requester` of `export` (so of `credential_process`) and `login`: the
 * parent's pid and the basename of its argv[0], read from `/proc/<ppid>/cmdline` on Linux. Only basenames are kept:
 * a parent's arguments may carry secrets (a token on a command line), its executable's name does not.
 * @module
 */

import type { AuditRequester } from "./audit_log.ts";
import { baseName } from "./handout.ts";

/** Interpreters whose first argument names the program that really runs (`python3 /usr/bin/aws`). */
const INTERPRETER = /^(python[\d.]*|node|nodejs|deno|bun|ruby[\d.]*|perl[\d.]*|php[\d.]*|java|sh|bash|dash|zsh|pwsh)$/;

/**
 * The requester for `argv` (a process's command line, as `/proc/<pid>/cmdline` splits it): the basename of argv[0],
 * and for an interpreter the basename of the script it runs (not an option such as `-c`, whose text is code).
 */
export function requesterFromArgv(pid: number, argv: readonly string[]): AuditRequester {
  const command = argv[0] ? baseName(argv[0]) : undefined;
  const first = argv[1];
  // A script is a file name; an option (`-c`) or a bare number (a descriptor a shell was handed) is not.
  const script = command && INTERPRETER.test(command) && first && !first.startsWith("-") && /[A-Za-z]/.test(first)
    ? baseName(first)
    : undefined;
  return { pid, ...(command ? { command } : {}), ...(script ? { script } : {}) };
}

/**
 * The parent process of aws-vault. On Linux its command comes from `/proc/<ppid>/cmdline`; elsewhere (or when that
 * cannot be read: the parent has exited, /proc is hidden) only its pid is known.
 */
export function parentProcess(options?: { ppid?: number; os?: typeof Deno.build.os }): AuditRequester {
  const pid = options?.ppid ?? Deno.ppid;
  if ((options?.os ?? Deno.build.os) !== "linux") return { pid };
  try {
    // A few hundred bytes: a synchronous read is cheaper than a trip through the blocking-I/O pool.
    const raw = new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/cmdline`));
    return requesterFromArgv(pid, raw.split("\0").filter((_, i, all) => i < all.length - 1 || all[i] !== ""));
  } catch {
    return { pid };
  }
}
