/**
 * Answers as the credential servers' HTTP layer writes them (docs/behaviour.md#server-limits): the handler's status,
 * headers and body, then `content-length`, `date` and, when the connection ends, `connection: close`, as `Deno.serve`
 * wrote them. An answer that does not change between requests is serialized once ({@link prepareResponse}); the
 * common case, a GET on a kept-alive connection, is then served from one buffer per second of the Date header.
 * @module
 */

/** Response headers: a record, or pairs when a name repeats (a proxied answer). */
export type ResponseHeaders = Readonly<Record<string, string>> | readonly (readonly [string, string])[];

/** An answer. `content-length`, `date` and `connection` are the server's: a handler's own are dropped. */
export interface HttpResponse {
  readonly status: number;
  readonly headers?: ResponseHeaders;
  readonly body?: string | Uint8Array;
}

const encoder = new TextEncoder();

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

/** The Connection lines the server may add. */
export const CLOSE_LINE = encoder.encode("connection: close\r\n");
export const KEEP_ALIVE_LINE = encoder.encode("connection: keep-alive\r\n");
const CRLF = encoder.encode("\r\n");

// The whole answer to a GET on a kept-alive connection, the common case, kept per prepared answer for the second its
// Date line names: serving it again allocates nothing.
const wholeAnswers = new WeakMap<PreparedResponse, { dateLine: Uint8Array; bytes: Uint8Array }>();

/** The bytes of an answer: the prepared parts, then Date, Connection and the body (none for HEAD). */
export function responseBytes(
  response: PreparedResponse,
  options: { head: boolean; connection?: Uint8Array },
): Uint8Array {
  const date = currentDateLine();
  const common = !options.head && options.connection === undefined;
  if (common) {
    const kept = wholeAnswers.get(response);
    if (kept?.dateLine === date) return kept.bytes;
  }
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
  if (common) wholeAnswers.set(response, { dateLine: date, bytes: out });
  return out;
}
