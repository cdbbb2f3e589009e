/**
 * The MFA prompt drivers' names and the plumbing they share (docs/behaviour.md#mfa-prompt-drivers, #global-flags):
 * which drivers this machine can run (their program is on PATH), the automatic choice, `--prompt` validation, and
 * running a driver's program. The drivers themselves live in `gui_drivers.ts` and `ykman.ts`; `registry.ts` maps names
 * to them.
 * @module
 */

import type { Prompter } from "./prompter.ts";
import type { Env } from "../core/env.ts";
import { AppError, UsageError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { lookPath } from "../os/look_path.ts";

/** Every driver name aws-vault knows, alphabetically (the order automatic selection walks). */
export const PROMPT_DRIVERS: readonly string[] = Deno.build.os === "windows"
  ? ["kdialog", "osascript", "terminal", "wincredui", "ykman", "zenity"]
  : ["kdialog", "osascript", "terminal", "ykman", "zenity"];

/** The program each external driver runs; a driver is available only when its program is on PATH. */
export const DRIVER_PROGRAMS: Readonly<Record<string, string>> = {
  kdialog: "kdialog",
  osascript: "osascript",
  ykman: "ykman",
  zenity: "zenity",
};

/** A prompt driver's program failed, was cancelled or could not be started: `zenity: cancelled`. */
export class PromptDriverError extends AppError {}

/** Where drivers look for their programs and settings. */
export interface PromptDriverContext {
  /** The environment: `PATH` and the ykman variables . */
  env: Env;
  /** Debug lines; silent when not given. */
  log?: Logger;
  /** The prompter the `terminal` driver asks through; without one there is no terminal to ask on. */
  prompter?: Prompter;
}

/** The text every driver shows, as in aws-vault. */
export function mfaPromptMessage(mfaSerial: string): string {
  return `Enter MFA code for ${mfaSerial}: `;
}

/** Options of {@link availablePromptDrivers}. */
export interface AvailabilityOptions {
  /** The search path (`$PATH`). */
  path: string | undefined;
}

/**
 * The drivers usable here, sorted: `terminal` always, the others when their program is on PATH
 * (`osascript` only on macOS, where its dialog exists).
 */
export function availablePromptDrivers(options: AvailabilityOptions): string[] {
  const { path } = options;
  return PROMPT_DRIVERS.filter((name) => {
    if (name === "terminal") return true;
    if (name === "osascript" && Deno.build.os !== "darwin") return false;
    const program = DRIVER_PROGRAMS[name];
    return program !== undefined && lookPath(program, { path }) !== undefined;
  });
}

/** Options of {@link choosePromptDriver}. */
export interface ChoosePromptDriverOptions extends AvailabilityOptions {
  /** `--prompt` / `AWS_VAULT_PROMPT`, when given; it wins. */
  requested?: string;
  /** The terminal should not be used: stdout is not a terminal, or a credential server shares it with a command. */
  avoidTerminal?: boolean;
  /** Debug lines; silent when not given. */
  log?: Logger;
  /** The prompter the `terminal` driver asks through; without one there is no terminal to ask on. */
  prompter?: Prompter;
}

/**
 * The driver to use (aws-vault's `PromptDriver(avoidTerminal)`): the requested one, else `terminal`, else, when
 * the terminal is to be avoided, the first other available driver alphabetically, else `terminal` after all.
 */
export function choosePromptDriver(options: ChoosePromptDriverOptions): string {
  let driver = options.requested || "terminal";
  if (!options.requested && options.avoidTerminal) {
    driver = availablePromptDrivers(options).find((d) => d !== "terminal") ?? "terminal";
  }
  (options.log ?? SILENT).debug(`Using prompt driver: ${driver}`);
  return driver;
}

const PASS_REMOVED = "--prompt=pass (or AWS_VAULT_PROMPT=pass) has been removed from aws-vault as using TOTPs " +
  "without a dedicated device goes against security best practices. If you wish to continue using pass, add " +
  "`mfa_process = pass otp <your mfa_serial>` to profiles in your ~/.aws/config file.";

/**
 * Checks a `--prompt` value against the drivers available here; `undefined` (automatic choice) is always valid.
 * @throws UsageError with aws-vault's messages for `pass` and for unknown or unavailable drivers
 */
export function validatePromptDriver(name: string | undefined, options: AvailabilityOptions): void {
  if (name === undefined || name === "") return;
  const available = availablePromptDrivers(options);
  if (available.includes(name)) return;
  if (name === "pass") throw new UsageError(PASS_REMOVED);
  throw new UsageError(`--prompt value must be one of ${available.join(",")}, got '${name}'`);
}

/** Options of {@link runPromptProgram}. */
export interface RunPromptProgramOptions extends PromptDriverContext {
  /**
   * Attach the program's stdin and stderr to the controlling terminal when there is one (ykman: touch and
   * password prompts reach the user even when our streams are pipes); otherwise stdin is empty and stderr is
   * ours. Without it (dialogs) stdin is empty and stderr is discarded, as Go's `cmd.Output()` does.
   */
  tty?: boolean;
  /** Exit status 1 means the user cancelled the dialog (zenity, kdialog, osascript). */
  cancelOnExit1?: boolean;
}

/** Whether the controlling terminal can be opened. */
export function ttyAvailable(): boolean {
  if (Deno.build.os === "windows") return false;
  try {
    Deno.openSync("/dev/tty", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs driver `name`'s program with `args` and returns its trimmed stdout (the code: never log it).
 * @throws PromptDriverError `<name>: cancelled`, `<name>: exit status N`, `<name>: executable file not found in $PATH`
 */
export async function runPromptProgram(
  name: string,
  args: readonly string[],
  options: RunPromptProgramOptions,
): Promise<string> {
  const program = DRIVER_PROGRAMS[name] ?? name;
  const path = lookPath(program, { path: options.env.get("PATH") });
  if (!path) throw new PromptDriverError(`${name}: exec: "${program}": executable file not found in $PATH`);
  let command = path;
  let argv = [...args];
  const tty = options.tty === true && ttyAvailable();
  if (tty) {
    // Deno cannot hand a file to a child's stdin, so a shell redirects and then execs the program unchanged.
    command = "/bin/sh";
    argv = ["-c", 'exec "$0" "$@" </dev/tty 2>/dev/tty', path, ...args];
  }
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, {
      args: argv,
      env: options.env.toObject(),
      clearEnv: true,
      stdin: tty ? "inherit" : "null",
      stdout: "piped",
      stderr: options.tty ? "inherit" : "null",
    }).output();
  } catch (e) {
    throw new PromptDriverError(`${name}: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  if (!out.success) {
    if (options.cancelOnExit1 && out.code === 1) throw new PromptDriverError(`${name}: cancelled`);
    throw new PromptDriverError(`${name}: ${out.signal ? `signal: ${out.signal}` : `exit status ${out.code}`}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}
