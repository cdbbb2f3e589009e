/**
 * Runs `runCommand` (subprocess or replace mode) with the given command line and exits with its status, so tests
 * can signal a real parent process. usage: exec_harness.ts subprocess|replace|server-fails CMD ARGS…
 *
 * `server-fails` runs the command as a subprocess beside a credential-server HTTP layer whose listener is taken away
 * once the file named by `HARNESS_READY_FILE` exists: the command must be told (TERM), and the harness prints the
 * error it got and exits 1.
 */
import { debugLogger } from "../../src/core/log.ts";
import { runCommand, runSubprocess } from "../../src/os/exec_process.ts";
import { lookPath } from "../../src/os/look_path.ts";
import { serve } from "../../src/server/http_server.ts";

const [mode, cmd, ...args] = Deno.args;
console.error("harness ready");
// Debug lines on stderr, so a test can wait for the SIGUSR1 guard to finish.
const log = debugLogger((text) => console.error(text.trimEnd()), { now: () => new Date() });
if (mode === "server-fails") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serve(listener, () => ({ status: 200 }), { log });
  const ready = Deno.env.get("HARNESS_READY_FILE")!;
  (async () => {
    while (!(await Deno.stat(ready).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 20));
    listener.close();
  })();
  try {
    const path = lookPath(cmd, { path: Deno.env.get("PATH") })!;
    await runSubprocess(path, { args, env: Deno.env.toObject(), log, stop: server.failed });
    console.error("the command ended by itself");
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
  }
  await server.close();
  Deno.exit(1);
}
const code = await runCommand(cmd, { args, env: Deno.env.toObject(), replace: mode === "replace", log });
Deno.exit(code);
