/**
 * aws-vault entry point: runs the command line and turns errors into messages and exit codes.
 * This is the only place that writes an error to the user or exits.
 * @module
 */

import { runCli } from "./src/cli/app.ts";
import { AppError } from "./src/errors.ts";
import { isDebug } from "./src/log.ts";

const encoder = new TextEncoder();
const realOutput = {
  stdout: (text: string) => writeAll(Deno.stdout, text),
  stderr: (text: string) => writeAll(Deno.stderr, text),
};

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += stream.writeSync(bytes.subarray(off));
}

let code: number;
try {
  code = await runCli(Deno.args, { env: Deno.env, out: realOutput });
} catch (e) {
  if (e instanceof AppError) {
    realOutput.stderr(`aws-vault: error: ${e.message}${e.suggestHelp ? ", try --help" : ""}\n`);
    code = e.exitCode;
  } else if (e instanceof Deno.errors.BrokenPipe) {
    code = 141; // a closed pipe (`aws-vault list | head`) is not an error worth a stack trace
  } else {
    // A bug, not a user error: keep the stack for the report, but only with --debug.
    const err = e as Error;
    realOutput.stderr(`aws-vault: internal error: ${err?.message ?? String(e)}\n`);
    if (isDebug() && err?.stack) realOutput.stderr(err.stack + "\n");
    code = 70;
  }
}
Deno.exit(code);
