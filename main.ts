/**
 * aws-vault entry point: runs the command line and turns errors into messages and exit codes.
 * This is the only place that writes an error to the user or exits.
 * @module
 */

import { runCli } from "./src/app.ts";
import { AppError } from "./src/core/errors.ts";
import { processTerminal } from "./src/os/terminal.ts";

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

/** Runs the command line and resolves to the exit code; every error becomes a message here. */
async function main(): Promise<number> {
  removeLauncherVariables();
  try {
    return await runCli(Deno.args, {
      env: Deno.env,
      out: realOutput,
      terminal: processTerminal(),
      now: () => new Date(),
    });
  } catch (e) {
    if (e instanceof AppError) {
      const where = e.command ? `${e.command}: ` : "";
      realOutput.stderr(`aws-vault: error: ${where}${e.message}${e.suggestHelp ? ", try --help" : ""}\n`);
      return e.exitCode;
    }
    if (e instanceof Deno.errors.BrokenPipe) return 141; // `aws-vault list | head` is not an error worth a trace
    // A bug, not a user error (runCli has logged its stack under --debug).
    realOutput.stderr(`aws-vault: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 70;
  }
}

// No top-level await: Deno stores a module's V8 code cache only after the module has finished evaluating (and the event
// loop has turned, which every command that loads its implementation does), and later runs that load the code from
// that cache start several milliseconds sooner. Deno.exit skips the runtime's teardown (docs/performance.md).
main().then((code) => Deno.exit(code));
