/**
 * Prompts on the controlling terminal (`/dev/tty`), so they work while stdout is captured
 * (`credential_process`, `$(aws-vault export …)`). Secrets are read with echo off.
 * When there is no terminal at all, lines are read from standard input instead, which lets scripts
 * pipe answers in; a secret is then never echoed because nothing is written back.
 * @module
 */

import { PromptCancelledError } from "../core/errors.ts";
import { NoTerminalError, type Prompter, type PromptIo } from "./prompter.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;

/** Reads one line from stdin without reading past it, so several prompts can share piped input. */
async function readStdinLine(stdin: PromptIo["stdin"], what: string): Promise<string> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (true) {
    const n = await stdin.read(one);
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
    if (n === null) {
      // Ctrl-D: the terminal echoed no newline, so end the prompt's line before anything else is printed. On an empty
      // line it cancels, as at a hidden prompt; after some text it ends the answer.
      tty.writeSync(encoder.encode("\n"));
      if (bytes.length === 0) throw new PromptCancelledError();
      break;
    }
    if (one[0] === 0x0a) break;
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
  io: PromptIo,
  message: string,
  options: { hidden: boolean; what: string; stdinFallback?: boolean },
): Promise<string> {
  const tty = io.openTty();
  if (!tty) {
    if (options.stdinFallback === false) {
      throw new NoTerminalError(`no terminal to ask for the ${options.what}`);
    }
    io.writeStderr(message);
    let line: string;
    try {
      line = await readStdinLine(io.stdin, options.what);
    } catch (e) {
      io.writeStderr("\n"); // the error starts on a line of its own, not after the unanswered prompt
      throw e;
    }
    if (options.hidden) io.writeStderr("\n");
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
 * The {@link Prompter} over `io`: the controlling terminal when there is one (secrets with echo off), else lines of
 * standard input with the prompt on standard error, which lets scripts pipe answers in.
 */
export function terminalPrompter(io: PromptIo): Prompter {
  return {
    visible: (message, options) => ask(io, message, { hidden: false, what: options.what }),
    secret: (message, options) =>
      ask(io, message, { hidden: true, what: options.what, stdinFallback: options.stdinFallback }),
    confirm: async (message) => {
      const answer = (await ask(io, message, { hidden: false, what: "confirmation" })).trim().toLowerCase();
      return answer === "y" || answer === "yes";
    },
  };
}
