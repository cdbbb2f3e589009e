/**
 * `proxy` (hidden, alias `server`): the privileged 169.254.169.254 forwarder for `exec --ec2-server` (spec §1.9, §5.1).
 * It owns the loopback alias for its lifetime: added at start, removed on `/stop`, SIGINT, SIGTERM or SIGHUP.
 * @module
 */

import { debug } from "../log.ts";
import { startEc2Proxy, stopProxy } from "../server/ec2_proxy.ts";
import { addLoopbackAlias, removeLoopbackAlias } from "../server/loopback_alias.ts";
import { boolFlag, type CommandContext } from "./command.ts";
import { guardSigusr1 } from "./libc.ts";

/** The signals that end the proxy; Windows only delivers SIGINT and SIGBREAK to Deno. */
function stopSignals(): Deno.Signal[] {
  return Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGHUP"];
}

/** Waits at most `ms` for `promise`; a client holding a connection open must not keep the alias alive. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

async function runProxy(): Promise<number> {
  guardSigusr1();
  const created = await addLoopbackAlias();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  let proxy;
  try {
    proxy = await startEc2Proxy({ onStop: () => stop() });
  } catch (error) {
    // An alias that was already there may belong to a proxy that is still running: leave it.
    if (created) await removeLoopbackAlias().catch(() => {});
    throw error;
  }
  const signals = stopSignals();
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  await stopped;
  debug("Shutting down the EC2 metadata proxy");
  for (const signal of signals) Deno.removeSignalListener(signal, stop);
  await within(proxy.close(), 2000);
  await removeLoopbackAlias();
  return 0;
}

/** Runs `proxy`. */
export async function run(context: CommandContext): Promise<number> {
  if (boolFlag(context.flags, "stop")) {
    await stopProxy();
    return 0;
  }
  return await runProxy();
}
