/**
 * Runs `runCommand` (subprocess or replace mode) with the given command line and exits with its status, so tests
 * can signal a real parent process. usage: exec_harness.ts subprocess|replace CMD ARGS…
 */
import { runCommand } from "../../src/os/exec_process.ts";

const [mode, cmd, ...args] = Deno.args;
console.error("harness ready");
const code = await runCommand(cmd, { args, env: Deno.env.toObject(), replace: mode === "replace" });
Deno.exit(code);
