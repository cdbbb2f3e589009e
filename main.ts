/**
 * aws-vault entry point: runs the command line and turns errors into messages and exit codes.
 * This is the only place that writes an error to the user or exits.
 * @module
 */

import { runCli } from "./src/app.ts";
import type { Output } from "./src/cli/command.ts";
import { AppError } from "./src/core/errors.ts";
import { processTerminal } from "./src/os/terminal.ts";
import { lazyPrompter } from "./src/prompt/lazy_prompter.ts";
import { processPromptIo } from "./src/prompt/prompter.ts";

const encoder = new TextEncoder();
const realOutput = {
  stdout: (text: string) => writeAll(Deno.stdout, text),
  stderr: (text: string) => writeAll(Deno.stderr, text),
};

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += stream.writeSync(bytes.subarray(off));
}

/**
 * The installed launcher (scripts/install) sets a few DENO_* variables for Deno itself and names the ones it added in
 * AWS_VAULT_LAUNCHER_ADDED. Deno has read them by now; removing them here means every command aws-vault runs (exec,
 * credential_process, prompt programs) sees exactly the environment the user gave it.
 */
function removeLauncherVariables(): void {
  const added = Deno.env.get("AWS_VAULT_LAUNCHER_ADDED");
  if (added === undefined) return;
  for (const name of added.split(" ")) if (name.startsWith("DENO_")) Deno.env.delete(name);
  Deno.env.delete("AWS_VAULT_LAUNCHER_ADDED");
}

/**
 * Prints an error that ended a run as aws-vault does and returns the exit code: a user-facing `AppError` as
 * `aws-vault: error: <command>: <message>`, a closed pipe silently, anything else as an internal error.
 */
export function reportError(error: unknown, out: Output): number {
  if (error instanceof AppError) {
    const where = error.command ? `${error.command}: ` : "";
    // kingpin's ", try --help" follows the message; a message that is whole sentences gives up its last full stop.
    const message = error.suggestHelp ? `${error.message.replace(/\.$/, "")}, try --help` : error.message;
    out.stderr(`aws-vault: error: ${where}${message}\n`);
    return error.exitCode;
  }
  if (error instanceof Deno.errors.BrokenPipe) return 141; // `aws-vault list | head` is not an error worth a trace
  // A bug, not a user error (runCli has logged its stack under --debug).
  out.stderr(`aws-vault: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 70;
}

/** Runs the command line and resolves to the exit code; every error becomes a message here. */
async function main(): Promise<number> {
  removeLauncherVariables();
  try {
    return await runCli(Deno.args, {
      env: Deno.env,
      out: realOutput,
      terminal: processTerminal(),
      prompter: lazyPrompter(processPromptIo(realOutput.stderr)),
      now: () => new Date(),
    });
  } catch (e) {
    return reportError(e, realOutput);
  }
}

// No top-level await: Deno stores a module's V8 code cache only after the module has finished evaluating (and the event
// loop has turned, which every command that loads its implementation does), and later runs that load the code from
// that cache start several milliseconds sooner. Deno.exit skips the runtime's teardown (docs/performance.md).
// Tests import reportError from this module without running it.
if (import.meta.main) main().then((code) => Deno.exit(code));
