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
import { withRequestLog } from "./http_guard.ts";
import { type HttpRequest, type HttpResponse, type HttpServer, listen, ServerError } from "./http_server.ts";

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

function message(status: number, text: string): HttpResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ Message: text }) + "\n",
  };
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
): (request: HttpRequest) => Promise<HttpResponse> {
  const target = parseTarget(options.target);
  const base = target.pathname.replace(/\/+$/, "");
  const hosts = allowedHosts(options.listen);
  const timeoutMs = options.timeoutMs ?? 120_000;
  return async (request): Promise<HttpResponse> => {
    const host = request.headers.get("host") ?? "";
    // DNS rebinding: a web page in the container must not be able to read credentials through a name of its own.
    if (hosts.size > 0 && !hosts.has(host.toLowerCase())) return message(403, `Access denied for host '${host}'`);
    const path = request.path;
    if (request.method !== "GET" && !(request.method === "HEAD" && path === "/health")) {
      return {
        status: 405,
        headers: { "content-type": "application/json; charset=utf-8", allow: "GET" },
        body: JSON.stringify({ Message: "method not allowed" }) + "\n",
      };
    }
    if (path === "/health") return { status: 200, headers: { "content-type": "text/plain" }, body: "ok\n" };
    if (path !== "/" && !path.startsWith("/role-arn/")) return message(404, `no credentials at ${path}`);
    const headers = new Headers();
    request.headers.forEach((value, name) => {
      if (!DROP_REQUEST.has(name)) headers.set(name, value);
    });
    headers.set("authorization", options.token);
    const forwardTo = new URL(target);
    forwardTo.pathname = base + path;
    forwardTo.search = request.query;
    try {
      const response = await fetch(forwardTo, {
        headers,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      const out: [string, string][] = [];
      response.headers.forEach((value, name) => {
        if (!DROP_RESPONSE.has(name)) out.push([name, value]);
      });
      return { status: response.status, headers: out, body: new Uint8Array(await response.arrayBuffer()) };
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
  const bound: { handle?: (request: HttpRequest) => Promise<HttpResponse> } = {};
  const handler = withRequestLog(log, (request) => bound.handle ? bound.handle(request) : message(503, "starting"));
  const { hostname } = options.listen;
  let listener: HttpServer;
  try {
    // The shared server bounds what any local process can hold open and survives running out of descriptors.
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
