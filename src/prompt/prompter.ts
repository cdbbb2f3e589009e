/**
 * How commands ask the user something: an injected {@link Prompter}, so the CLI decides where prompts go (the
 * controlling terminal, else standard input) and tests can answer them in-process. The terminal implementation loads
 * only when a prompt is actually shown (`lazy_prompter.ts`).
 * @module
 */

import { AppError } from "../core/errors.ts";

/** No terminal and no piped input to answer a prompt. */
export class NoTerminalError extends AppError {}

/**
 * Asks the user. Every method rejects with `PromptCancelledError` on Ctrl-C and `NoTerminalError` when nobody can
 * answer.
 */
export interface Prompter {
  /** Asks for a value that may be shown while typed; `what` names it in errors. */
  visible(message: string, options: { what: string }): Promise<string>;
  /**
   * Asks for a secret with echo off. `stdinFallback: false` refuses to read standard input when there is no terminal
   * (MFA codes under credential_process, whose stdin belongs to another program).
   */
  secret(message: string, options: { what: string; stdinFallback?: boolean }): Promise<string>;
  /** Asks a yes/no question; only `y` or `yes` (any case) count as yes, as in aws-vault. */
  confirm(message: string): Promise<boolean>;
}

/** What a prompter reads from and writes to. */
export interface PromptIo {
  /** Opens the controlling terminal, or `undefined` when there is none (CI, cron, `setsid`). */
  openTty(): Deno.FsFile | undefined;
  /** Standard input, read line by line when there is no terminal. */
  readonly stdin: { read(buffer: Uint8Array): Promise<number | null> };
  /** Where the prompt text goes when there is no terminal (standard error). */
  writeStderr(text: string): void;
}

/** The controlling terminal, if this process has one. */
export function openTty(): Deno.FsFile | undefined {
  if (Deno.build.os === "windows") return undefined;
  try {
    return Deno.openSync("/dev/tty", { read: true, write: true });
  } catch {
    return undefined; // no controlling terminal (CI, cron, detached)
  }
}

/** This process's own terminal and standard input (for `main.ts`); prompt text without a terminal goes to `writeStderr`. */
export function processPromptIo(writeStderr: (text: string) => void): PromptIo {
  return {
    openTty,
    get stdin() {
      return Deno.stdin;
    },
    writeStderr,
  };
}
