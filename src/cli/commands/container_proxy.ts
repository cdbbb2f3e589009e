/**
 * `container-proxy` (hidden): runs the ECS credentials reverse proxy inside a container network (see
 * docs/docker/README.md). The token comes from the environment or a file, never from a flag: any local user can read
 * a process's argv.
 * @module
 */

import {
  ContainerProxyError,
  DEFAULT_CONTAINER_PROXY_LISTEN,
  parseListenAddress,
  startContainerProxy,
} from "../../server/container_proxy.ts";
import type { CommandContext } from "../command.ts";
import type { containerProxySpec } from "./specs.ts";
import { guardSigusr1 } from "../../os/libc.ts";

const TOKEN_ENV = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
const TOKEN_FILE_ENV = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

type Context = CommandContext<typeof containerProxySpec>;

/** `--token-file`, then `$AWS_CONTAINER_AUTHORIZATION_TOKEN`, then `$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`. */
async function readToken(context: Context): Promise<string> {
  const file = context.flags.tokenFile ||
    (context.env.get(TOKEN_ENV) ? undefined : context.env.get(TOKEN_FILE_ENV));
  let token = context.env.get(TOKEN_ENV) ?? "";
  if (file) {
    try {
      token = (await Deno.readTextFile(file)).trim();
    } catch (error) {
      throw new ContainerProxyError(`cannot read the token file ${file}: ${(error as Error).message}`);
    }
  }
  if (!token) throw new ContainerProxyError(`no Authorization token: set ${TOKEN_ENV} or pass --token-file`);
  // A line break would let the token end the header early; fetch refuses it with a message quoting the value.
  if (/[\r\n]/.test(token)) throw new ContainerProxyError("the Authorization token contains a line break");
  return token;
}

/** `--check-running`: a health probe for container orchestrators. Exit 0 when the proxy answers `/health`. */
async function checkRunning(listen: string): Promise<number> {
  const { hostname, port } = parseListenAddress(listen);
  const host = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
  try {
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/health`;
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok ? 0 : 1;
  } catch {
    return 1;
  }
}

/** Runs `container-proxy`. */
export async function run(context: Context): Promise<number> {
  const listenText = context.flags.listen || DEFAULT_CONTAINER_PROXY_LISTEN;
  if (context.flags.checkRunning) return await checkRunning(listenText);
  const listen = parseListenAddress(listenText);
  const target = context.flags.target;
  if (!target) {
    throw new ContainerProxyError("no target: set AWS_CONTAINER_CREDENTIALS_FULL_URI or pass --target");
  }
  const token = await readToken(context);
  guardSigusr1({ log: context.log });
  const proxy = await startContainerProxy({ listen, target, token, log: context.log });
  // As PID 1 in a container, SIGTERM has no default action: without a listener `docker stop` waits 10 s and kills.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGHUP"];
  await new Promise<void>((resolve) => {
    for (const signal of signals) Deno.addSignalListener(signal, resolve);
  });
  context.log.debug("container-proxy: shutting down");
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([proxy.close(), new Promise((resolve) => timer = setTimeout(resolve, 2000))]);
  clearTimeout(timer);
  return 0;
}
