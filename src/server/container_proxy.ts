/**
 * The container-side half of the Docker set-up: a small reverse proxy on 169.254.170.2:80 (the ECS container
 * credentials address) that forwards credential requests to the host's ECS server with the Authorization token
 * added. App containers then set only `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/role-arn/<ARN>`: no keys and no
 * token live in them. It forwards nothing but `GET /` and `GET /role-arn/…`, so it is not a general way into the host.
 * @module
 */

import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import type { ListenAddress } from "./ec2_proxy.ts";
import { listen, type Listener, ServerError } from "./http_guard.ts";

export { DEFAULT_CONTAINER_PROXY_LISTEN, ECS_CONTAINER_ADDRESS } from "./addresses.ts";

/** A bad listen address, target or token source, or a port that cannot be bound. */
export class ContainerProxyError extends AppError {}

/** Options of {@link startContainerProxy}. */
export interface ContainerProxyOptions {
  readonly listen: ListenAddress;
  /** Base URL of the host's ECS server (`AWS_CONTAINER_CREDENTIALS_FULL_URI` as `exec --ecs-server` sets it). */
  readonly target: string;
  /** The ECS server's Authorization token. Never logged. */
  readonly token: string;
  /** How long to wait for the ECS server (it may be prompting for MFA with `--lazy`); default 120 s. */
  readonly timeoutMs?: number;
  /** Debug lines (start, each request, forwarding failures); silent when not given. */
  readonly log?: Logger;
}

/** A running container proxy. */
export interface ContainerProxy {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: ListenAddress;
  /** Stops accepting connections and waits for answers in flight. */
  close(): Promise<void>;
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);
const DROP_REQUEST = new Set(["host", "authorization", "connection", "keep-alive", "te", "upgrade", "content-length"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"]);

/** Parses `host:port`, `[v6]:port` or `:port` (all interfaces). @throws ContainerProxyError */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new ContainerProxyError(`invalid listen address ${JSON.stringify(text)}`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** Checks the target is an http(s) URL with no credentials in it. @throws ContainerProxyError */
export function parseTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ContainerProxyError("the target (AWS_CONTAINER_CREDENTIALS_FULL_URI or --target) is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ContainerProxyError(`the target must be an http or https URL, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new ContainerProxyError("the target URL must not contain credentials");
  return url;
}

function message(status: number, text: string): Response {
  return new Response(JSON.stringify({ Message: text }) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/** Host values a request may carry; empty when listening on every interface (no single name to check). */
function allowedHosts(listen: ListenAddress): Set<string> {
  if (WILDCARDS.has(listen.hostname)) return new Set();
  const host = listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname;
  const hosts = new Set([`${host}:${listen.port}`]);
  if (listen.port === 80) hosts.add(host);
  return hosts;
}

/**
 * The request handler, exported for tests: `/health` answers locally; `GET /` and `GET /role-arn/…` are forwarded
 * with the token; anything else is refused without reaching the host.
 */
export function containerProxyHandler(
  options: ContainerProxyOptions,
): (request: Request) => Promise<Response> {
  const target = parseTarget(options.target);
  const base = target.pathname.replace(/\/+$/, "");
  const hosts = allowedHosts(options.listen);
  const timeoutMs = options.timeoutMs ?? 120_000;
  return async (request) => {
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? "";
    // DNS rebinding: a web page in the container must not be able to read credentials through a name of its own.
    if (hosts.size > 0 && !hosts.has(host.toLowerCase())) return message(403, `Access denied for host '${host}'`);
    const path = url.pathname;
    if (request.method !== "GET" && !(request.method === "HEAD" && path === "/health")) {
      return new Response(JSON.stringify({ Message: "method not allowed" }) + "\n", {
        status: 405,
        headers: { "content-type": "application/json; charset=utf-8", allow: "GET" },
      });
    }
    if (path === "/health") return new Response("ok\n", { headers: { "content-type": "text/plain" } });
    if (path !== "/" && !path.startsWith("/role-arn/")) return message(404, `no credentials at ${path}`);
    const headers = new Headers();
    request.headers.forEach((value, name) => {
      if (!DROP_REQUEST.has(name)) headers.set(name, value);
    });
    headers.set("authorization", options.token);
    const forwardTo = new URL(target);
    forwardTo.pathname = base + path;
    forwardTo.search = url.search;
    try {
      const response = await fetch(forwardTo, {
        headers,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      const out = new Headers();
      response.headers.forEach((value, name) => {
        if (!DROP_RESPONSE.has(name)) out.set(name, value);
      });
      return new Response(await response.arrayBuffer(), { status: response.status, headers: out });
    } catch (error) {
      const reason = error instanceof DOMException && error.name === "TimeoutError"
        ? "timed out"
        : (error as Error).message;
      (options.log ?? SILENT).debug(`container-proxy: ${target.origin}: ${reason}`);
      return message(502, `cannot reach the aws-vault credentials server at ${target.origin}: ${reason}`);
    }
  };
}

/**
 * Starts the container proxy.
 * @throws ContainerProxyError for a bad target or an address that cannot be bound
 */
export function startContainerProxy(options: ContainerProxyOptions): Promise<ContainerProxy> {
  parseTarget(options.target);
  const log = options.log ?? SILENT;
  // The Host check needs the bound port, known only once listening (port 0 asks for any).
  const bound: { handle?: (request: Request) => Promise<Response> } = {};
  const handler = async (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    const started = Date.now();
    const response = bound.handle ? await bound.handle(request) : message(503, "starting");
    const path = new URL(request.url).pathname;
    log.debug(
      `http: ${info.remoteAddr.hostname}: ${response.status} ${request.method} ${path} (${Date.now() - started}ms)`,
    );
    return response;
  };
  const { hostname } = options.listen;
  let listener: Listener;
  try {
    // The shared listener survives a failing accept loop (a descriptor flood) by serving again after a pause.
    listener = listen({ hostname, port: options.listen.port }, handler, { log });
  } catch (error) {
    const cause = error instanceof ServerError ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return Promise.reject(
      new ContainerProxyError(`listen tcp ${hostname}:${options.listen.port}: ${reason}`, { cause }),
    );
  }
  bound.handle = containerProxyHandler({ ...options, listen: { hostname, port: listener.port } });
  log.debug(`container-proxy: listening on ${hostname}:${listener.port}, forwarding to ${options.target}`);
  return Promise.resolve({ addr: { hostname, port: listener.port }, close: () => listener.close() });
}
