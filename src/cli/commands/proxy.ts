/**
 * `proxy` (hidden, alias `server`): the privileged 169.254.169.254 forwarder for `exec --ec2-server`
 * (docs/behaviour.md#proxy, #ec2-metadata-server).
 * It owns the loopback alias for its lifetime: added at start, removed on `/stop`, SIGINT, SIGTERM or SIGHUP.
 * @module
 */

import type { Logger } from "../../core/log.ts";
import { startEc2Proxy, stopProxy } from "../../server/ec2_proxy.ts";
import { addLoopbackAlias, removeLoopbackAlias } from "../../server/loopback_alias.ts";
import type { CommandContext } from "../command.ts";
import type { proxySpec } from "./specs.ts";
import { guardSigusr1 } from "../../os/libc.ts";

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

async function runProxy(log: Logger): Promise<number> {
  guardSigusr1({ log });
  const created = await addLoopbackAlias();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  let proxy;
  try {
    proxy = await startEc2Proxy({ onStop: () => stop(), log });
  } catch (error) {
    // An alias that was already there may belong to a proxy that is still running: leave it.
    if (created) await removeLoopbackAlias().catch(() => {});
    throw error;
  }
  const signals = stopSignals();
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  await stopped;
  log.debug("Shutting down the EC2 metadata proxy");
  for (const signal of signals) Deno.removeSignalListener(signal, stop);
  await within(proxy.close(), 2000);
  await removeLoopbackAlias();
  return 0;
}

/** Runs `proxy`. */
export async function run(context: CommandContext<typeof proxySpec>): Promise<number> {
  if (context.flags.stop) {
    await stopProxy();
    return 0;
  }
  return await runProxy(context.log);
}
