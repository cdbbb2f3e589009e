/**
 * Running the command of `exec`: find it on PATH, then replace this process with it (Unix), or run it as a child
 * whose exit status and signals are passed through faithfully (Windows, or when exec fails).
 * @module
 */

import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { lookPath, lookPathFailure } from "./look_path.ts";
import { execve, guardSigusr1, SIGNALS } from "./libc.ts";

/**
 * Signals passed on to the command. INT is not: a terminal sends it to the whole process group, the command included.
 * USR1 is ignored by this process (see `guardSigusr1`).
 */
const FORWARDED: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? []
  : ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2", "SIGWINCH"];

/**
 * Console interrupts this process outlives while the command runs: the terminal (the Windows console) delivers them to
 * the command too, which decides; this process then reports the command's status, as aws-vault does.
 */
const INTERRUPTS: readonly Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT"];

/**
 * The path of the command `exec` runs, with Go's error when it cannot be found.
 * @throws AppError `exec: "<cmd>": executable file not found in $PATH` for a bare name; for a path, Go's reason
 * (`exec: "/etc/passwd": permission denied`, `exec: "./nope": stat ./nope: no such file or directory`)
 */
export function resolveCommand(command: string, options: { path?: string }): string {
  const path = lookPath(command, options);
  if (path === undefined) throw new AppError(`exec: ${JSON.stringify(command)}: ${lookPathFailure(command)}`);
  return path;
}

/**
 * Runs `command` with `args` and `env`, with this program's stdin, stdout, stderr and terminal.
 * On Unix this process is replaced (exit status and signals then belong to the command, as with aws-vault);
 * otherwise, or if that fails, the command runs as a child and its status is returned: its exit code, or 128+N
 * when a signal ended it.
 * @throws AppError when the command cannot be found
 */
export async function runCommand(
  command: string,
  options: { args: readonly string[]; env: Readonly<Record<string, string>>; replace?: boolean; log?: Logger },
): Promise<number> {
  const log = options.log ?? SILENT;
  const path = resolveCommand(command, { path: options.env.PATH });
  log.debug(`Exec command ${command} ${options.args.length} args`);
  if (options.replace !== false && Deno.build.os !== "windows") {
    execve(path, [command, ...options.args], options.env);
    log.debug(`execve of ${path} failed, running it as a subprocess`);
  }
  return await runSubprocess(path, options);
}

/** Options of {@link runSubprocess}. */
export interface SubprocessOptions {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly log?: Logger;
  /**
   * When aborted (the credential server the command relies on went down), the command is sent TERM, and once it has
   * ended the abort reason is thrown: it must not run on without its credential source.
   */
  readonly stop?: AbortSignal;
}

/**
 * Runs the command as a child, forwarding the signals a terminal or supervisor sends, surviving INT, returning its
 * status.
 * @throws the reason of `options.stop` when it was aborted, after the child has ended
 */
export async function runSubprocess(path: string, options: SubprocessOptions): Promise<number> {
  const child = new Deno.Command(path, {
    args: [...options.args],
    env: { ...options.env },
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // After the spawn, so the child keeps the default SIGUSR1 disposition.
  guardSigusr1({ log: options.log });
  const listeners = FORWARDED.map((sig) => {
    const forward = () => {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    };
    Deno.addSignalListener(sig, forward);
    return [sig, forward] as const;
  });
  // Ctrl-C (and Ctrl-Break) reach the child from the terminal; the parent must outlive them to report its status.
  const swallow = () => {};
  for (const sig of INTERRUPTS) Deno.addSignalListener(sig, swallow);
  const stop = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  options.stop?.addEventListener("abort", stop, { once: true });
  if (options.stop?.aborted) stop();
  try {
    const status = await child.status;
    if (options.stop?.aborted) throw options.stop.reason;
    if (status.signal) return 128 + ((SIGNALS as Record<string, number>)[status.signal] ?? 0);
    return status.code;
  } finally {
    options.stop?.removeEventListener("abort", stop);
    for (const [sig, forward] of listeners) Deno.removeSignalListener(sig, forward);
    for (const sig of INTERRUPTS) Deno.removeSignalListener(sig, swallow);
  }
}
