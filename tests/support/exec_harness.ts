/**
 * Runs `runCommand` (subprocess or replace mode) with the given command line and exits with its status, so tests
 * can signal a real parent process. usage: exec_harness.ts subprocess|replace CMD ARGS…
 */
import { debugLogger } from "../../src/core/log.ts";
import { runCommand } from "../../src/os/exec_process.ts";

const [mode, cmd, ...args] = Deno.args;
console.error("harness ready");
// Debug lines on stderr, so a test can wait for the SIGUSR1 guard to finish.
const log = debugLogger((text) => console.error(text.trimEnd()), { now: () => new Date() });
const code = await runCommand(cmd, { args, env: Deno.env.toObject(), replace: mode === "replace", log });
Deno.exit(code);
