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
 * - accept errors are retried with a pause that grows from 5 ms to 1 s, as Go's `http.Server` does, and noted under
 *   `--debug` at most once a minute; only a listener that is gone for good stops the server, and then
 *   {@link HttpServer.failed} says so.
 *
 * Handlers get a parsed {@link HttpRequest} (src/server/http_request.ts) and return an {@link HttpResponse}
 * (src/server/http_response.ts); an answer that does not change between requests is made once with
 * {@link prepareResponse}.
 * @module
 */

import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { findHeadEnd, type HttpRequest, parseHead } from "./http_request.ts";
import {
  CLOSE_LINE,
  type HttpResponse,
  KEEP_ALIVE_LINE,
  PreparedResponse,
  prepareResponse,
  responseBytes,
} from "./http_response.ts";

export { HttpHeaders, type HttpRequest, type RequestHeaders } from "./http_request.ts";
export { type HttpResponse, PreparedResponse, prepareResponse, type ResponseHeaders } from "./http_response.ts";

/** A credential server could not start (port taken, bad bind address, first credentials fetch failed) or went down. */
export class ServerError extends AppError {}

/** Answers one request; may be synchronous, which saves a turn of the event loop on the hot path. */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

const decoder = new TextDecoder();
const EMPTY = new Uint8Array();
/** Head buffers kept for reuse (16 KiB each). */
const SPARE_BUFFERS = 64;
const INTERNAL_ERROR = prepareResponse({ status: 500, body: "internal error\n" });

/** Options of {@link serve} and {@link listen}. */
export interface ServeOptions {
  /** Where accept failures and failing handlers are noted (`--debug`). */
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

  /** Writes an answer; the deadline covers a peer that stops reading. */
  const write = async (c: Connection, bytes: Uint8Array): Promise<void> => {
    c.phase = "write";
    c.deadline = performance.now() + headerTimeoutMs;
    let offset = await c.conn.write(bytes);
    while (offset < bytes.length) offset += await c.conn.write(bytes.subarray(offset));
  };

  /** Answers a request that cannot be served (bad, too large) and ends the connection. */
  const refuse = (c: Connection, status: number, text: string): Promise<void> => {
    const response = prepareResponse({
      status,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: `${text}\n`,
    });
    return write(c, responseBytes(response, { head: false, connection: CLOSE_LINE }));
  };

  const failed = (request: HttpRequest, e: unknown): PreparedResponse => {
    log.debug(`http: ${request.method} ${request.path}: handler failed: ${errorText(e)}`);
    return INTERNAL_ERROR;
  };

  /** The handler's answer: synchronous ones are used as they come, without a promise. */
  const answer = (request: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    try {
      const response = handler(request);
      return response instanceof Promise ? response.catch((e) => failed(request, e)) : response;
    } catch (e) {
      return failed(request, e);
    }
  };

  // Head buffers are reused across connections: a buffer per connection made and dropped at every connect grew the
  // process by ~20 kB per short-lived connection until the next full collection.
  const spare: Uint8Array[] = [];

  const converse = async (c: Connection): Promise<void> => {
    const buffer = spare.pop() ?? new Uint8Array(maxHeaderBytes);
    try {
      await exchange(c, buffer);
    } finally {
      // Only once every read into it has settled; what a previous connection sent is never read back ([0, used) only).
      if (spare.length < SPARE_BUFFERS) spare.push(buffer);
    }
  };

  const exchange = async (c: Connection, buffer: Uint8Array): Promise<void> => {
    let used = 0;
    let scanned = 0;
    for (;;) {
      // Find the end of the head in what has arrived; read more until it is there.
      let end = findHeadEnd(buffer, scanned, used);
      while (end < 0) {
        if (used === buffer.length) return await refuse(c, 431, "Request Header Fields Too Large");
        scanned = Math.max(0, used - 3);
        const n = await c.conn.read(used === 0 ? buffer : buffer.subarray(used));
        if (n === null) return;
        if (used === 0 && c.phase === "idle") wait(c, "head", headerTimeoutMs);
        used += n;
        end = findHeadEnd(buffer, scanned, used);
      }
      const parsed = parseHead(decoder.decode(buffer.subarray(0, end - 4)));
      if ("reason" in parsed) return await refuse(c, parsed.status, parsed.reason);
      const length = parsed.contentLength;
      if (length > maxBodyBytes) return await refuse(c, 413, "Content Too Large");
      // The body: what followed the head in the buffer, then the rest from the connection.
      let body = EMPTY;
      const inBuffer = Math.min(length, used - end);
      if (length > 0) {
        body = buffer.slice(end, end + inBuffer);
        if (inBuffer < length) {
          const whole = new Uint8Array(length);
          whole.set(body);
          for (let got = inBuffer; got < length;) {
            const n = await c.conn.read(whole.subarray(got));
            if (n === null) return;
            got += n;
          }
          body = whole;
        }
      }
      const consumed = end + inBuffer;
      if (consumed < used) buffer.copyWithin(0, consumed, used);
      used -= consumed;
      scanned = 0;

      c.phase = "handler";
      c.deadline = Infinity;
      waiting.delete(c);
      const { method, path, query, headers, version } = parsed;
      const request: HttpRequest = { method, path, query, headers, body, remote: c.conn.remoteAddr };
      let response = answer(request);
      if (response instanceof Promise) response = await response;
      const prepared = response instanceof PreparedResponse ? response : prepareOrFail(request, response);
      const keepAlive = parsed.keepAlive && !closing;
      const connection = keepAlive ? (version === "HTTP/1.0" ? KEEP_ALIVE_LINE : undefined) : CLOSE_LINE;
      await write(c, responseBytes(prepared, { head: method === "HEAD", connection }));
      if (!keepAlive || c.closed) return;
      if (used > 0) wait(c, "head", headerTimeoutMs);
      else wait(c, "idle", idleTimeoutMs);
    }
  };

  /** Serializes a handler's answer; one with a header that could split the response is a 500 instead. */
  const prepareOrFail = (request: HttpRequest, response: HttpResponse): PreparedResponse => {
    try {
      return prepareResponse(response);
    } catch (e) {
      return failed(request, e);
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

  // A flood makes accept fail again and again; one debug line per minute says so, with how often.
  let failures = 0;
  let notedAt = -Infinity;
  const noteFailure = (e: unknown): void => {
    failures++;
    const at = performance.now();
    if (at - notedAt < 60_000) return;
    const times = failures > 1 ? `, ${failures} times since the last note` : "";
    log.debug(`http: accepting on port ${port} failed (${errorText(e)}${times}); retrying`);
    notedAt = at;
    failures = 0;
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
        noteFailure(e);
        makeRoom();
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
