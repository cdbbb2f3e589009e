/**
 * The privileged half of `exec --ec2-server` (docs/behaviour.md#ec2-metadata-server): an HTTP forwarder on
 * 169.254.169.254:80 that hands every request to the unprivileged credentials server on 127.0.0.1:9099, plus the
 * helpers `exec` uses to start, probe and stop it. Forwarding goes through `node:http` because `fetch` cannot send a
 * chosen Host header, and the credentials server checks Host against DNS rebinding; it is imported on first use to keep
 * it off every other command's start-up.
 * @module
 */

import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import {
  type HttpRequest,
  type HttpResponse,
  type HttpServer,
  listen,
  prepareResponse,
  ServerError,
} from "./http_server.ts";
import { METADATA_ADDRESS } from "./loopback_alias.ts";

/** A TCP listen address. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** Where the proxy listens in real use. */
export const EC2_PROXY_LISTEN: ListenAddress = { hostname: METADATA_ADDRESS, port: 80 };

/** The unprivileged EC2 credentials server the proxy forwards to (fixed port, as in aws-vault). */
export const EC2_CREDENTIALS_SERVER_URL = "http://127.0.0.1:9099";

/** The message `exec --ec2-server` fails with when the proxy does not come up. */
export const PROXY_NOT_RUNNING_MESSAGE =
  "The EC2 Instance Metadata endpoint proxy server isn't running. Run `aws-vault proxy` as Administrator or root " +
  "in the background and then try this command again";

/** Starting, binding or launching the proxy failed. */
export class Ec2ProxyError extends AppError {}

/** Options of {@link startEc2Proxy}. */
export interface Ec2ProxyOptions {
  /** Default {@link EC2_PROXY_LISTEN}. */
  readonly listen?: ListenAddress;
  /** Base URL requests are forwarded to; default {@link EC2_CREDENTIALS_SERVER_URL}. */
  readonly target?: string;
  /** Called (once the `/stop` answer is queued) when a client requests `/stop`. */
  readonly onStop?: () => void;
  /** Debug lines (start, forwarding failures); silent when not given. */
  readonly log?: Logger;
}

/** A running proxy. */
export interface Ec2Proxy {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: ListenAddress;
  /** Stops accepting connections and waits for answers in flight (the `/stop` answer among them). */
  close(): Promise<void>;
}

// Headers that describe one connection, not the message (RFC 9110 §7.6.1); a proxy must not forward them.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

type NodeHttp = typeof import("node:http");
let nodeHttp: Promise<NodeHttp> | undefined;

function joinPath(base: string, path: string): string {
  return base.endsWith("/") ? base.slice(0, -1) + path : base + path;
}

/** Forwards one request as Go's `httputil.NewSingleHostReverseProxy` does: Host kept, X-Forwarded-For added. */
const BAD_GATEWAY = prepareResponse({ status: 502 });
const STOPPING = prepareResponse({ status: 200 });

/** Forwards one request as Go's `httputil.NewSingleHostReverseProxy` does: Host kept, X-Forwarded-For added. */
async function forward(request: HttpRequest, target: URL, options: { log: Logger }): Promise<HttpResponse> {
  const remote = request.remote.hostname;
  const http = await (nodeHttp ??= import("node:http"));
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  });
  headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${remote}` : remote;
  const body = request.body.length > 0 ? request.body : undefined;
  if (body) headers["content-length"] = String(body.length);
  return await new Promise<HttpResponse>((resolve) => {
    const outgoing = http.request({
      hostname: target.hostname,
      port: Number(target.port || 80),
      method: request.method,
      path: joinPath(target.pathname, request.path) + request.query,
      headers,
    }, (incoming) => {
      const chunks: Uint8Array[] = [];
      incoming.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      incoming.on("error", () => resolve(BAD_GATEWAY));
      incoming.on("end", () => {
        const out: [string, string][] = [];
        const raw = incoming.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) {
          if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push([raw[i].toLowerCase(), raw[i + 1]]);
        }
        const status = incoming.statusCode ?? 502;
        resolve({ status, headers: out, body: concat(chunks) });
      });
    });
    // Go's reverse proxy answers 502 with no body when the target cannot be reached.
    outgoing.on("error", (error: Error) => {
      options.log.debug(`ec2 proxy: ${request.method} ${request.path}: ${error.message}`);
      resolve(BAD_GATEWAY);
    });
    outgoing.end(body);
  });
}

function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * Starts the proxy: `/stop` answers 200 and calls `onStop`; every other path is forwarded to `target` with its
 * method, path, query, body and headers (Host and the IMDSv2 token headers among them).
 * @throws Ec2ProxyError when the address cannot be bound
 */
export function startEc2Proxy(options: Ec2ProxyOptions = {}): Promise<Ec2Proxy> {
  const address = options.listen ?? EC2_PROXY_LISTEN;
  const target = new URL(options.target ?? EC2_CREDENTIALS_SERVER_URL);
  const log = options.log ?? SILENT;
  let stopping = false;
  const handler = (request: HttpRequest): Promise<HttpResponse> | HttpResponse => {
    if (request.path === "/stop") {
      if (!stopping && options.onStop) {
        stopping = true;
        setTimeout(options.onStop, 0);
      }
      return STOPPING;
    }
    return forward(request, target, { log });
  };
  let listener: HttpServer;
  try {
    // The shared server bounds what any local process can hold open and survives running out of descriptors.
    listener = listen({ hostname: address.hostname, port: address.port }, handler, { log });
  } catch (error) {
    const cause = error instanceof ServerError ? error.cause : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return Promise.reject(
      new Ec2ProxyError(`listen tcp ${address.hostname}:${address.port}: ${reason}`, { cause }),
    );
  }
  log.debug(`EC2 Instance Metadata endpoint proxy server running on ${address.hostname}:${listener.port}`);
  return Promise.resolve({ addr: { hostname: address.hostname, port: listener.port }, close: () => listener.close() });
}

/**
 * Whether something accepts TCP connections on the proxy address. The connect attempt is abandoned (not cancelled:
 * Deno cannot) after `timeoutMs`. Only call it where 169.254.169.254 is local, or a SYN goes to the default route.
 */
export async function isProxyRunning(
  options: { address?: ListenAddress; timeoutMs?: number } = {},
): Promise<boolean> {
  const { hostname, port } = options.address ?? EC2_PROXY_LISTEN;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Deno.connect({ hostname, port }).then((conn) => {
    conn.close();
    return true;
  }, () => false);
  const timeout = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), options.timeoutMs ?? 100));
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks a running proxy to stop (`GET /stop`); every error is ignored, as in aws-vault. */
export async function stopProxy(options: { address?: ListenAddress } = {}): Promise<void> {
  const { hostname, port } = options.address ?? EC2_PROXY_LISTEN;
  try {
    const response = await fetch(`http://${hostname}:${port}/stop`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
  } catch {
    // Not running, or already gone: nothing to stop.
  }
}

/**
 * How this program was started, to start it again: `[Deno.execPath()]` for a `deno compile` binary (its entry module
 * lives under a virtual `deno-compile-<name>` directory), else `[deno, "run", "-A", <main module URL>]` for source or
 * the bundle. Runtime flags other than permissions (`--config`, `--cached-only`, …) are not carried over.
 */
export function selfCommand(): string[] {
  const main = Deno.mainModule;
  if (/[\\/]deno-compile-/.test(main)) return [Deno.execPath()];
  return [Deno.execPath(), "run", "-A", main];
}

/** The argv that starts `proxy`: directly when root or on Windows, else through `sudo -b` (it backgrounds itself). */
export function proxyLaunchCommand(
  self: readonly string[],
  options: { os?: typeof Deno.build.os; root?: boolean } = {},
): string[] {
  const argv = [...self, "proxy"];
  return (options.os ?? Deno.build.os) === "windows" || options.root ? argv : ["sudo", "-b", ...argv];
}

/** Options of {@link startProxyProcess}. */
export interface StartProxyOptions {
  readonly os?: typeof Deno.build.os;
  /** The effective user id (default `Deno.uid()`); 0 starts the proxy without sudo. */
  readonly uid?: number | null;
  /** How long to wait for the proxy to answer; default 1 s on Windows (as aws-vault), 5 s elsewhere. */
  readonly readyTimeoutMs?: number;
  /** Readiness probe (default {@link isProxyRunning}). */
  readonly isRunning?: () => Promise<boolean>;
  /** Debug lines; silent when not given. */
  readonly log?: Logger;
  /** The proxy's whole environment (it gets nothing else: no vault passphrase, no keys); default inherited. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Starts `aws-vault proxy` in the background and waits until it answers. With sudo, sudo's password prompt uses the
 * terminal and this waits for sudo to return; unlike aws-vault it then also waits for the proxy to listen.
 * @param self how to run this program, default {@link selfCommand}
 * @throws Ec2ProxyError with {@link PROXY_NOT_RUNNING_MESSAGE} when it does not come up
 */
export async function startProxyProcess(
  self: readonly string[] = selfCommand(),
  options: StartProxyOptions = {},
): Promise<void> {
  const os = options.os ?? Deno.build.os;
  const root = os !== "windows" && (options.uid === undefined ? Deno.uid() : options.uid) === 0;
  const [cmd, ...args] = proxyLaunchCommand(self, { os, root });
  (options.log ?? SILENT).debug(`Starting \`aws-vault proxy\`${cmd === "sudo" ? " with sudo" : ""}`);
  let exited: Promise<Deno.CommandStatus> | undefined;
  try {
    if (cmd === "sudo") {
      const status = await new Deno.Command(cmd, {
        args,
        ...(options.env ? { env: { ...options.env }, clearEnv: true } : {}),
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn().status;
      if (!status.success) throw new Ec2ProxyError(`${PROXY_NOT_RUNNING_MESSAGE} (sudo exited with ${status.code})`);
    } else {
      const child = new Deno.Command(cmd, {
        args,
        ...(options.env ? { env: { ...options.env }, clearEnv: true } : {}),
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
        detached: os !== "windows",
      }).spawn();
      child.unref();
      exited = child.status;
    }
  } catch (error) {
    if (error instanceof Ec2ProxyError) throw error;
    throw new Ec2ProxyError(`${PROXY_NOT_RUNNING_MESSAGE} (${(error as Error).message})`, { cause: error });
  }
  const isRunning = options.isRunning ?? (() => isProxyRunning());
  const deadline = Date.now() + (options.readyTimeoutMs ?? (os === "windows" ? 1000 : 5000));
  let gone = false;
  exited?.then(() => gone = true);
  for (;;) {
    if (await isRunning()) return;
    if (gone || Date.now() >= deadline) throw new Ec2ProxyError(PROXY_NOT_RUNNING_MESSAGE);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
