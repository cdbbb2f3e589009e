/**
 * Running the command of `exec`: find it on PATH, then replace this process with it (Unix), or run it as a child
 * whose exit status and signals are passed through faithfully (Windows, or when exec fails).
 * @module
 */

import { AppError } from "../errors.ts";
import { debug } from "../log.ts";
import { execve, guardSigusr1 } from "./libc.ts";

/** Signal numbers by name (Linux and macOS agree for these), for the 128+N exit status of a killed child. */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Signals passed on to the child. SIGINT is not: the terminal already sends it to the child's process group. */
const FORWARDED: readonly Deno.Signal[] = ["SIGTERM", "SIGHUP"];

/** Finds `command` like Go's `exec.LookPath`: a name with a slash is used as is, otherwise PATH is searched. */
export function lookPath(command: string, options: { path?: string }): string | undefined {
  const sep = Deno.build.os === "windows" ? ";" : ":";
  const isExecutable = (p: string) => {
    try {
      const info = Deno.statSync(p);
      return info.isFile && (Deno.build.os === "windows" || ((info.mode ?? 0) & 0o111) !== 0);
    } catch {
      return false;
    }
  };
  if (command.includes("/") || (Deno.build.os === "windows" && command.includes("\\"))) {
    return isExecutable(command) ? command : undefined;
  }
  const exts = Deno.build.os === "windows" ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of (options.path ?? "").split(sep)) {
    for (const ext of exts) {
      const candidate = `${dir === "" ? "." : dir}/${command}${ext}`;
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
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
  options: { args: readonly string[]; env: Readonly<Record<string, string>>; replace?: boolean },
): Promise<number> {
  const path = lookPath(command, { path: options.env.PATH });
  if (path === undefined) throw new AppError(`exec: ${JSON.stringify(command)}: executable file not found in $PATH`);
  debug(`Exec command ${command} ${options.args.length} args`);
  if (options.replace !== false && Deno.build.os !== "windows") {
    execve(path, [command, ...options.args], options.env);
    debug(`execve of ${path} failed, running it as a subprocess`);
  }
  return await runSubprocess(path, options);
}

/** Runs the command as a child, forwarding TERM and HUP, surviving INT, returning its status. */
export async function runSubprocess(
  path: string,
  options: { args: readonly string[]; env: Readonly<Record<string, string>> },
): Promise<number> {
  const child = new Deno.Command(path, {
    args: [...options.args],
    env: { ...options.env },
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // After the spawn, so the child keeps the default SIGUSR1 disposition.
  guardSigusr1();
  const listeners = FORWARDED.map((sig) => {
    const forward = () => {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    };
    Deno.addSignalListener(sig, forward);
    return [sig, forward] as const;
  });
  // Ctrl-C reaches the child from the terminal; the parent must outlive it to report its status.
  const swallow = () => {};
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGINT", swallow);
  try {
    const status = await child.status;
    if (status.signal) return 128 + (SIGNAL_NUMBERS[status.signal] ?? 0);
    return status.code;
  } finally {
    for (const [sig, forward] of listeners) Deno.removeSignalListener(sig, forward);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGINT", swallow);
  }
}
