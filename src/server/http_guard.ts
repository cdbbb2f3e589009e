/**
 * What the credential servers share above the HTTP layer: loopback and Host-header checks against DNS rebinding,
 * constant-time token comparison, Go `json.Encoder`-style bodies and request logging.
 * @module
 */

import { formatDuration } from "../config/duration.ts";
import type { Credentials } from "../core/credentials.ts";
import { AppError } from "../core/errors.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import { formatRfc3339 } from "../core/time.ts";
import type { HttpHandler, HttpResponse } from "./http_server.ts";

const encoder = new TextEncoder();

/** A random secret of `bytes` bytes (default 32 = 256 bits) from the platform CSPRNG, base64url without padding. */
export function randomToken(bytes = 32): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Compares a presented value with a secret in time that depends only on the secret's length, so the answer time
 * leaks neither a matching prefix nor the presented value's length.
 */
export function constantTimeEqual(presented: string, secret: string | Uint8Array): boolean {
  // A secret compared on every request is best encoded once by the caller.
  const b = typeof secret === "string" ? encoder.encode(secret) : secret;
  let ascii = true;
  for (let i = 0; i < b.length; i++) ascii &&= b[i] < 0x80;
  if (!ascii) {
    const a = encoder.encode(presented);
    let diff = a.length ^ b.length;
    for (let i = 0; i < b.length; i++) diff |= (a.length ? a[i % a.length] : 0) ^ b[i];
    return diff === 0;
  }
  // An ASCII secret (the tokens) is compared by UTF-16 code unit, with no allocation per request: a unit above 127
  // never equals one of its bytes, so any non-ASCII presented value differs.
  const n = presented.length;
  let diff = n ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (n ? presented.charCodeAt(i % n) : 0) ^ b[i];
  return diff === 0;
}

/** Whether an IP address literal (as Deno reports peers, or a Host name) is loopback: 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(address: string): boolean {
  const ip = address.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (ip === "::1" || ip === "0:0:0:0:0:0:0:1") return true;
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  const parts = v4.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** Whether `name` is a loopback literal or `localhost`, the names a Host header may carry for a loopback server. */
export function isLoopbackHostName(name: string): boolean {
  return name.toLowerCase() === "localhost" || isLoopbackAddress(name);
}

/** Splits a Host header into name and port (80 when absent, as for plain HTTP); undefined when malformed. */
export function parseHostHeader(host: string): { name: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return undefined;
  const port = m[2] === undefined ? 80 : Number(m[2]);
  return port > 65535 ? undefined : { name: m[1].toLowerCase(), port };
}

/**
 * Whether a Host header names this server: a loopback literal or one of `names`, with the server's port.
 * A web page that rebinds its own DNS name to 127.0.0.1 still sends its own name, so it is refused.
 */
export function isAllowedHost(host: string | null, options: { port: number; names?: readonly string[] }): boolean {
  const parsed = host === null ? undefined : parseHostHeader(host);
  if (!parsed || parsed.port !== options.port) return false;
  return isLoopbackHostName(parsed.name) || (options.names ?? []).some((n) => n.toLowerCase() === parsed.name);
}

// Go's json.Encoder escapes these so a body can be embedded in HTML safely; mirrored for byte-identical answers.
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JSON body as Go's `json.Encoder` writes a map: keys sorted, HTML characters escaped, trailing newline. */
export function goJson(value: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(value).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(sorted).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]) + "\n";
}

/** A response with a fixed body; `no-store` keeps credentials out of any HTTP cache on the way. */
export function textResponse(status: number, body: string, headers?: Record<string, string>): HttpResponse {
  return {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers },
    body,
  };
}

/**
 * The message of a failed credential fetch for an HTTP answer: user-facing errors as-is, anything else generic (its
 * text goes to `options.log`, silent when not given).
 */
export function safeErrorMessage(e: unknown, options?: { log?: Logger }): string {
  if (e instanceof AppError) return e.message;
  // An unexpected error's text was not written for users and might quote anything; it goes to the debug log only.
  (options?.log ?? SILENT).debug(`credential server: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
  return "internal error while retrieving credentials";
}

/** Go's `time.Duration` text for an elapsed time in ms, as the request log line shows it. */
function formatElapsed(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  return formatDuration(ms);
}

/** Logs one answered request to `log`: `http: <remote>: <status> <method> <path> (<elapsed>)`. */
export function logRequest(
  log: Logger,
  request: { remote: string; method: string; path: string; status: number; startedMs: number },
): void {
  const elapsed = formatElapsed(performance.now() - request.startedMs);
  log.debug(`http: ${request.remote}: ${request.status} ${request.method} ${request.path} (${elapsed})`);
}

/**
 * Wraps a server's request handler so that under `--debug` each request is logged ({@link logRequest}). With debug
 * off it returns the handler itself, so a synchronous answer stays synchronous.
 */
export function withRequestLog(log: Logger, handle: HttpHandler): HttpHandler {
  if (!log.enabled) return handle;
  return (request) => {
    const startedMs = performance.now();
    return Promise.resolve(handle(request)).then((response) => {
      const remote = formatRemote(request.remote);
      logRequest(log, { remote, method: request.method, path: request.path, status: response.status, startedMs });
      return response;
    });
  };
}

/** Logs credentials being served to `log`, with the key masked. */
export function logServing(log: Logger, creds: Credentials, options: { now: Date }): void {
  const { now } = options;
  const exp = creds.expiration;
  const tail = exp ? `expiration of ${formatRfc3339(exp)} (${formatDuration(exp.getTime() - now.getTime())})` : "";
  log.debug(`Serving credentials via http ${maskSecret(creds.accessKeyId)}${tail ? `, ${tail}` : ""}`);
}

/** `ip:port` of a peer for log lines, with IPv6 in brackets as Go prints `RemoteAddr`. */
export function formatRemote(addr: Deno.Addr): string {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return addr.transport;
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}
