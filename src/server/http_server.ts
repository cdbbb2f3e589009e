/**
 * The HTTP/1.1 server under every credential server (ECS, EC2 metadata, the 169.254.169.254 proxy, the container
 * proxy), written over `Deno.listen` because `Deno.serve` cannot bound what a local process may hold open: it has no
 * header timeout, no connection cap, and its accept loop ends the process when descriptors run out
 * (docs/behaviour.md#server-limits).
 *
 * What it guarantees, whoever connects:
 * - a request head must arrive complete within {@link ServeOptions.headerTimeoutMs} (5 s) of the connection opening or
 *   of its first byte; a kept-alive connection may idle for {@link ServeOptions.idleTimeoutMs} (60 s) between requests;
 * - at most {@link ServeOptions.maxConnections} (1,024) connections are held: past that, or when accepting fails for
 *   want of descriptors, the connection that has waited longest for a request is closed to make room, and a new one
 *   is refused only when every held connection is being answered;
 * - a head is at most 16 KiB (431) and a body at most 64 KiB (413); chunked bodies are refused (411);
 * - accept errors are retried with a pause that grows from 5 ms to 1 s, as Go's `http.Server` does, and noted once
 *   under `--debug`; only a listener that is gone for good stops the server, and then {@link HttpServer.failed} says so.
 *
 * Handlers get a parsed {@link HttpRequest} and return an {@link HttpResponse}; an answer that does not change between
 * requests is made once with {@link prepareResponse}, so serving it is one buffer copy.
 * @module
 */

import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";

/** A credential server could not start (port taken, bad bind address, first credentials fetch failed) or went down. */
export class ServerError extends AppError {}

/** The headers of a request, by lower-case name; repeated headers are joined with ", " as `Headers` does. */
export class HttpHeaders {
  readonly #map: Map<string, string>;

  /** Headers from `[name, value]` pairs or a record; names are lower-cased. */
  constructor(entries?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>) {
    this.#map = new Map();
    if (!entries) return;
    const pairs = Symbol.iterator in entries ? entries as Iterable<readonly [string, string]> : Object.entries(entries);
    for (const [name, value] of pairs) this.append(name, value);
  }

  /** The value of `name` (any case), or null when absent. */
  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  /** Whether `name` (any case) is present. */
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  /** Adds a value, joined to an existing one with ", ". */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const old = this.#map.get(key);
    this.#map.set(key, old === undefined ? value : `${old}, ${value}`);
  }

  /** Calls `fn` for each header, in arrival order, with its lower-case name. */
  forEach(fn: (value: string, name: string) => void): void {
    this.#map.forEach(fn);
  }
}

/** A parsed request. */
export interface HttpRequest {
  /** `GET`, `PUT`, … as sent (methods are case-sensitive). */
  readonly method: string;
  /** The path of the request target, as sent (still percent-encoded). */
  readonly path: string;
  /** The query including its `?`, or "". */
  readonly query: string;
  readonly headers: HttpHeaders;
  /** The body (empty without Content-Length). */
  readonly body: Uint8Array;
  /** The peer. */
  readonly remote: Deno.NetAddr;
}

/** Response headers: a record, or pairs when a name repeats (a proxied answer). */
export type ResponseHeaders = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

/** An answer. `content-length`, `date` and `connection` are the server's: a handler's own are dropped. */
export interface HttpResponse {
  readonly status: number;
  readonly headers?: ResponseHeaders;
  readonly body?: string | Uint8Array;
}

/** Answers one request; may be synchronous, which saves a turn of the event loop on the hot path. */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The headers this server writes itself; a handler's copies of them are dropped. */
const SERVER_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "date"]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\0\r\n]/;

/** An answer serialized once: its status line, headers and body as bytes, ready to be written again and again. */
export class PreparedResponse implements HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Uint8Array;
  /** Status line, the handler's headers and `content-length`, each line ending in CRLF. */
  readonly head: Uint8Array;

  /** @throws TypeError for a header name or value that could split the response */
  constructor(response: HttpResponse) {
    this.status = response.status;
    this.headers = response.headers ?? {};
    this.body = typeof response.body === "string" ? encoder.encode(response.body) : response.body ?? new Uint8Array();
    this.head = encoder.encode(headText(this.status, this.headers, this.body.length));
  }
}

/** Makes `response` once so that every request it answers costs one copy (the answer for a credentials value). */
export function prepareResponse(response: HttpResponse): PreparedResponse {
  return new PreparedResponse(response);
}

function headText(status: number, headers: ResponseHeaders, bodyLength: number): string {
  let text = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`;
  for (const [name, value] of Array.isArray(headers) ? headers : Object.entries(headers)) {
    if (SERVER_HEADERS.has(name.toLowerCase())) continue; // a proxied answer's framing is not this connection's
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new TypeError(`invalid response header ${name}`);
    text += `${name}: ${value}\r\n`;
  }
  // 1xx, 204 and 304 answers carry no body and no length.
  return status < 200 || status === 204 || status === 304 ? text : `${text}content-length: ${bodyLength}\r\n`;
}

// The Date header changes once a second; its line is made once per second. Transport time is the real clock.
let dateSecond = -1;
let dateLine = new Uint8Array();
function currentDateLine(): Uint8Array {
  const ms = Date.now();
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = encoder.encode(`date: ${new Date(ms).toUTCString()}\r\n`);
  }
  return dateLine;
}

const CLOSE_LINE = encoder.encode("connection: close\r\n");
const KEEP_ALIVE_LINE = encoder.encode("connection: keep-alive\r\n");
const CRLF = encoder.encode("\r\n");

/** The bytes of an answer: the prepared parts, then Date, Connection and the body (none for HEAD). */
function responseBytes(response: PreparedResponse, options: { head: boolean; connection?: Uint8Array }): Uint8Array {
  const date = currentDateLine();
  const connection = options.connection ?? new Uint8Array();
  const body = options.head ? new Uint8Array() : response.body;
  const out = new Uint8Array(response.head.length + date.length + connection.length + 2 + body.length);
  out.set(response.head);
  let offset = response.head.length;
  out.set(date, offset);
  offset += date.length;
  out.set(connection, offset);
  offset += connection.length;
  out.set(CRLF, offset);
  out.set(body, offset + 2);
  return out;
}

/** Options of {@link serve} and {@link listen}. */
export interface ServeOptions {
  /** Where accept failures, recoveries and dropped connections are noted (`--debug`). */
  readonly log?: Logger;
  /** Connections held at once; default 1,024. */
  readonly maxConnections?: number;
  /** Time to receive a complete request head, from the connection opening or the head's first byte; default 5 s. */
  readonly headerTimeoutMs?: number;
  /** Time a kept-alive connection may wait for its next request; default 60 s. */
  readonly idleTimeoutMs?: number;
  /** Largest request head (request line and headers); default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** Largest request body; default 64 KiB. */
  readonly maxBodyBytes?: number;
}

/** A running server. */
export interface HttpServer {
  /** The port bound (the random one when 0 was asked). */
  readonly port: number;
  /**
   * Aborted, with a {@link ServerError} as its reason, if the server stops serving without being closed (its listener
   * is gone). The caller stops what depends on it: `exec` tells its command with TERM and exits with the error.
   */
  readonly failed: AbortSignal;
  /** Stops accepting, closes idle connections, lets answers in progress finish; resolves when all are closed. */
  close(): Promise<void>;
}

/** Where a connection is: waiting for (part of) a request, in the handler, or writing the answer. */
type Phase = "idle" | "head" | "handler" | "write";

interface Connection {
  readonly conn: Deno.TcpConn;
  phase: Phase;
  /** When the current wait ends (performance.now() ms); Infinity in the handler. */
  deadline: number;
  closed: boolean;
}

/** Binds `hostname:port` and serves `handler` with the limits of {@link serve}. @throws ServerError naming the address */
export function listen(
  address: { hostname: string; port: number },
  handler: HttpHandler,
  options?: ServeOptions,
): HttpServer {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: address.hostname, port: address.port, transport: "tcp" });
  } catch (e) {
    const shown = address.hostname.includes(":")
      ? `[${address.hostname}]:${address.port}`
      : `${address.hostname}:${address.port}`;
    const why = e instanceof Deno.errors.AddrInUse
      ? "the address is already in use (is another credential server running?)"
      : errorText(e);
    throw new ServerError(`cannot listen on ${shown}: ${why}`, { cause: e });
  }
  return serve(listener, handler, options);
}

/** The longest pause between accept attempts after a failure, as Go's `http.Server`. */
const MAX_ACCEPT_PAUSE_MS = 1000;

/** Serves `handler` on a bound listener, which it owns from now on (it closes it). */
export function serve(listener: Deno.TcpListener, handler: HttpHandler, options?: ServeOptions): HttpServer {
  const log = options?.log ?? SILENT;
  const maxConnections = options?.maxConnections ?? 1024;
  const headerTimeoutMs = options?.headerTimeoutMs ?? 5000;
  const idleTimeoutMs = options?.idleTimeoutMs ?? 60_000;
  const maxHeaderBytes = options?.maxHeaderBytes ?? 16 * 1024;
  const maxBodyBytes = options?.maxBodyBytes ?? 64 * 1024;
  const port = listener.addr.port;
  const failure = new AbortController();
  const connections = new Set<Connection>();
  /** Connections waiting for a request, longest-waiting first: the ones closed to make room. */
  const waiting = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  const drop = (c: Connection): void => {
    if (c.closed) return;
    c.closed = true;
    connections.delete(c);
    waiting.delete(c);
    try {
      c.conn.close();
    } catch { /* already closed by the peer's reset */ }
  };

  const wait = (c: Connection, phase: "idle" | "head", timeoutMs: number): void => {
    c.phase = phase;
    c.deadline = performance.now() + timeoutMs;
    waiting.delete(c);
    waiting.add(c);
  };

  /** Closes the connection that has waited longest for a request; false when every connection is busy. */
  const makeRoom = (): boolean => {
    const oldest = waiting.values().next().value;
    if (oldest === undefined) return false;
    drop(oldest);
    return true;
  };

  // One sweep a second closes every connection past its deadline: a timer per request would cost more.
  const sweeper = setInterval(() => {
    const at = performance.now();
    for (const c of connections) if (c.deadline <= at) drop(c);
  }, 1000);

  const write = async (c: Connection, bytes: Uint8Array): Promise<void> => {
    c.phase = "write";
    c.deadline = performance.now() + headerTimeoutMs;
    for (let offset = 0; offset < bytes.length;) offset += await c.conn.write(bytes.subarray(offset));
  };

  /** Answers a request that cannot be served (bad, too large) and ends the connection. */
  const refuse = async (c: Connection, status: number, text: string): Promise<void> => {
    const response = prepareResponse({
      status,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: `${text}\n`,
    });
    await write(c, responseBytes(response, { head: false, connection: CLOSE_LINE }));
  };

  const answer = async (request: HttpRequest): Promise<PreparedResponse> => {
    let response: HttpResponse;
    try {
      response = await handler(request);
      return response instanceof PreparedResponse ? response : prepareResponse(response);
    } catch (e) {
      log.debug(`http: ${request.method} ${request.path}: handler failed: ${errorText(e)}`);
      return prepareResponse({ status: 500, body: "internal error\n" });
    }
  };

  const converse = async (c: Connection): Promise<void> => {
    let buffer = new Uint8Array(maxHeaderBytes);
    let used = 0;
    let scanned = 0;
    for (;;) {
      // Find the end of the head in what has arrived; read more until it is there.
      let end = findHeadEnd(buffer, scanned, used);
      while (end < 0) {
        if (used === buffer.length) return await refuse(c, 431, "Request Header Fields Too Large");
        scanned = Math.max(0, used - 3);
        const n = await c.conn.read(buffer.subarray(used));
        if (n === null) return;
        if (used === 0 && c.phase === "idle") wait(c, "head", headerTimeoutMs);
        used += n;
        end = findHeadEnd(buffer, scanned, used);
      }
      const parsed = parseHead(decoder.decode(buffer.subarray(0, end - 4)));
      if (typeof parsed === "string") return await refuse(c, 400, parsed);
      const { headers } = parsed;
      if (headers.has("transfer-encoding")) return await refuse(c, 411, "Length Required");
      const length = contentLength(headers.get("content-length"));
      if (length === undefined) return await refuse(c, 400, "Bad Content-Length");
      if (length > maxBodyBytes) return await refuse(c, 413, "Content Too Large");
      // The body: what followed the head in the buffer, then the rest from the connection.
      let body: Uint8Array<ArrayBuffer> = new Uint8Array(length);
      const inBuffer = Math.min(length, used - end);
      body.set(buffer.subarray(end, end + inBuffer));
      for (let got = inBuffer; got < length;) {
        const n = await c.conn.read(body.subarray(got));
        if (n === null) return;
        got += n;
      }
      if (length === 0) body = EMPTY;
      const consumed = end + inBuffer;
      buffer.copyWithin(0, consumed, used);
      used -= consumed;
      scanned = 0;

      c.phase = "handler";
      c.deadline = Infinity;
      waiting.delete(c);
      const request: HttpRequest = { ...parsed.request, headers, body, remote: c.conn.remoteAddr };
      const response = await answer(request);
      const keepAlive = !closing && wantsKeepAlive(parsed.version, headers.get("connection"));
      const connection = keepAlive ? (parsed.version === "HTTP/1.0" ? KEEP_ALIVE_LINE : undefined) : CLOSE_LINE;
      await write(c, responseBytes(response, { head: request.method === "HEAD", connection }));
      if (!keepAlive || c.closed) return;
      if (used > 0) wait(c, "head", headerTimeoutMs);
      else wait(c, "idle", idleTimeoutMs);
      // A long head moved the buffer past its usual size only for that request.
      if (buffer.length !== maxHeaderBytes) buffer = new Uint8Array(maxHeaderBytes);
    }
  };

  const open = (conn: Deno.TcpConn): void => {
    const c: Connection = { conn, phase: "head", deadline: 0, closed: false };
    connections.add(c);
    wait(c, "head", headerTimeoutMs);
    try {
      conn.setNoDelay(true);
    } catch { /* reset before it was set up */ }
    const task = converse(c).catch(() => {/* reset, timed out or closed under it: nothing to answer */}).finally(
      () => {
        drop(c);
        tasks.delete(task);
      },
    );
    tasks.add(task);
  };

  const acceptLoop = async (): Promise<void> => {
    let pause = 0;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closing) return;
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) throw e;
        // Out of descriptors (or a connection reset before it was accepted): make room, pause, try again.
        pause = pause === 0 ? 5 : Math.min(pause * 2, MAX_ACCEPT_PAUSE_MS);
        if (pause === 5) log.debug(`http: accepting on port ${port} failed (${errorText(e)}); retrying`);
        makeRoom();
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      if (pause !== 0) log.debug(`http: accepting on port ${port} again`);
      pause = 0;
      if (closing) {
        conn.close();
        return;
      }
      if (connections.size >= maxConnections && !makeRoom()) {
        conn.close(); // every held connection is being answered: this one is refused
        continue;
      }
      open(conn);
    }
  };

  const accepting = acceptLoop().catch((e) => {
    if (closing) return;
    const error = new ServerError(
      `the credential server on port ${port} stopped accepting connections: ${errorText(e)}`,
      {
        cause: e,
      },
    );
    log.debug(`http: ${error.message}`);
    failure.abort(error);
  });

  let closed: Promise<void> | undefined;
  return {
    port,
    failed: failure.signal,
    close: () =>
      closed ??= (async () => {
        closing = true;
        try {
          listener.close();
        } catch { /* already gone */ }
        await accepting;
        for (const c of [...connections]) if (c.phase === "idle" || c.phase === "head") drop(c);
        while (tasks.size > 0) await Promise.allSettled([...tasks]);
        clearInterval(sweeper);
      })(),
  };
}

const EMPTY = new Uint8Array();

/** The index just past the CRLFCRLF that ends a head, searching `buffer[from, used)`; -1 when not there yet. */
function findHeadEnd(buffer: Uint8Array, from: number, used: number): number {
  for (let i = from + 3; i < used; i++) {
    if (buffer[i] === 10 && buffer[i - 1] === 13 && buffer[i - 2] === 10 && buffer[i - 3] === 13) return i + 1;
  }
  return -1;
}

interface ParsedHead {
  readonly request: Pick<HttpRequest, "method" | "path" | "query">;
  readonly version: "HTTP/1.1" | "HTTP/1.0";
  readonly headers: HttpHeaders;
}

/** Parses a request line and its headers; a string is the reason the request is refused (400). */
function parseHead(head: string): ParsedHead | string {
  const lines = head.split("\r\n");
  const line = lines[0];
  const sp1 = line.indexOf(" ");
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(" ", sp2 + 1) >= 0) return "malformed request line";
  const method = line.slice(0, sp1);
  const version = line.slice(sp2 + 1);
  if (!TOKEN.test(method)) return "malformed method";
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return "unsupported HTTP version";
  const target = requestTarget(line.slice(sp1 + 1, sp2));
  if (target === undefined) return "malformed request target";
  const headers = new HttpHeaders();
  for (let i = 1; i < lines.length; i++) {
    const text = lines[i];
    const colon = text.indexOf(":");
    const name = text.slice(0, colon);
    // No space before the colon, no folded lines, no control characters: anything a proxy might read differently.
    if (colon <= 0 || !TOKEN.test(name)) return "malformed header line";
    const value = text.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) return "malformed header value";
    const key = name.toLowerCase();
    if ((key === "host" || key === "content-length") && headers.has(key)) return `repeated ${name} header`;
    headers.append(key, value);
  }
  if (version === "HTTP/1.1" && !headers.has("host")) return "missing required Host header";
  return { request: { method, ...target }, version, headers };
}

/** Splits an origin-form (`/p?q`) or absolute-form (`http://h/p?q`) target; undefined for anything else. */
function requestTarget(target: string): { path: string; query: string } | undefined {
  if (target.startsWith("/")) {
    const q = target.indexOf("?");
    return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q) };
  }
  if (!/^http:\/\//i.test(target)) return undefined;
  try {
    const url = new URL(target);
    return { path: url.pathname, query: url.search };
  } catch {
    return undefined;
  }
}

/** A Content-Length value as a number (0 when absent); undefined when malformed. */
function contentLength(value: string | null): number | undefined {
  if (value === null) return 0;
  return /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it. */
function wantsKeepAlive(version: string, connection: string | null): boolean {
  const tokens = connection?.toLowerCase() ?? "";
  return version === "HTTP/1.1" ? !/(^|,)\s*close\s*(,|$)/.test(tokens) : /(^|,)\s*keep-alive\s*(,|$)/.test(tokens);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
