/**
 * Prompts on the controlling terminal (`/dev/tty`), so they work while stdout is captured
 * (`credential_process`, `$(aws-vault export …)`). Secrets are read with echo off.
 * When there is no terminal at all, lines are read from standard input instead, which lets scripts
 * pipe answers in; a secret is then never echoed because nothing is written back.
 * @module
 */

import { AppError, PromptCancelledError } from "../core/errors.ts";

/** No terminal and no piped input to answer a prompt. */
export class NoTerminalError extends AppError {}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;

function openTty(): Deno.FsFile | undefined {
  if (Deno.build.os === "windows") return undefined;
  try {
    return Deno.openSync("/dev/tty", { read: true, write: true });
  } catch {
    return undefined; // no controlling terminal (CI, cron, detached)
  }
}

/** Reads one line from stdin without reading past it, so several prompts can share piped input. */
async function readStdinLine(what: string): Promise<string> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const n = await Deno.stdin.read(one);
    if (n === null) {
      if (bytes.length === 0) {
        throw new NoTerminalError(`no terminal to ask for the ${what}, and standard input is closed`);
      }
      break;
    }
    if (one[0] === 0x0a) break;
    bytes.push(one[0]);
  }
  if (bytes.at(-1) === 0x0d) bytes.pop();
  return decoder.decode(new Uint8Array(bytes));
}

async function readVisible(tty: Deno.FsFile): Promise<string> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const n = await tty.read(one);
    if (n === null || one[0] === 0x0a) break;
    bytes.push(one[0]);
  }
  if (bytes.at(-1) === 0x0d) bytes.pop();
  return decoder.decode(new Uint8Array(bytes));
}

async function readHidden(tty: Deno.FsFile): Promise<string> {
  // Raw mode turns echo off; we handle line editing ourselves. Ctrl-C arrives as a byte, not a signal.
  tty.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    outer: while (true) {
      const n = await tty.read(buf);
      if (n === null) break;
      for (const b of buf.subarray(0, n)) {
        if (b === 0x0d || b === 0x0a) break outer;
        if (b === CTRL_C) throw new PromptCancelledError();
        if (b === CTRL_D) {
          if (bytes.length === 0) throw new PromptCancelledError();
          break outer;
        }
        if (b === CTRL_U) bytes.length = 0;
        else if (b === DELETE || b === BACKSPACE) {
          // Drop one whole UTF-8 character, not one byte.
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80);
        } else bytes.push(b);
      }
    }
  } finally {
    tty.setRaw(false);
    tty.writeSync(encoder.encode("\n"));
  }
  return decoder.decode(new Uint8Array(bytes));
}

async function ask(
  message: string,
  options: { hidden: boolean; what: string; stdinFallback?: boolean },
): Promise<string> {
  const tty = openTty();
  if (!tty) {
    if (options.stdinFallback === false) {
      throw new NoTerminalError(`no terminal to ask for the ${options.what}`);
    }
    Deno.stderr.writeSync(encoder.encode(message));
    const line = await readStdinLine(options.what);
    if (options.hidden) Deno.stderr.writeSync(encoder.encode("\n"));
    return line;
  }
  try {
    tty.writeSync(encoder.encode(message));
    return options.hidden ? await readHidden(tty) : await readVisible(tty);
  } finally {
    tty.close();
  }
}

/**
 * Asks for a value that may be shown while typed (an access key ID, a yes/no answer).
 * @param message the prompt, e.g. `Enter Access Key ID: `
 * @param options.what names the value in errors when nobody can answer
 */
export function promptVisible(message: string, options?: { what?: string }): Promise<string> {
  return ask(message, { hidden: false, what: options?.what ?? "answer" });
}

/**
 * Asks for a secret with echo off (a secret access key, a passphrase, an MFA code).
 * @param message the prompt, e.g. `Enter Secret Access Key: `
 * @param options.what names the value in errors when nobody can answer
 * @param options.stdinFallback read standard input when there is no terminal (default true); prompts that may run
 *   under another program (MFA codes under credential_process) turn it off rather than read someone else's pipe
 */
export function promptSecret(message: string, options?: { what?: string; stdinFallback?: boolean }): Promise<string> {
  return ask(message, { hidden: true, what: options?.what ?? "secret", stdinFallback: options?.stdinFallback });
}

/** Asks a yes/no question; only `y` or `yes` (any case) count as yes, as in aws-vault. */
export async function confirm(message: string): Promise<boolean> {
  const answer = (await promptVisible(message, { what: "confirmation" })).trim().toLowerCase();
  return answer === "y" || answer === "yes";
}
