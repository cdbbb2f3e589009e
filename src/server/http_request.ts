/**
 * Requests as the credential servers' HTTP layer reads them (docs/behaviour.md#server-limits): a request head is
 * checked whole, strictly, before anything acts on it, and its header values are cut out only when a handler asks for
 * them. The servers answer tens of thousands of requests a second; a parser that made a string and a map entry for
 * every header of every request kept the garbage collector busy enough to grow the heap by half.
 * @module
 */

/** The headers of a request, looked up by case-insensitive name; repeated headers are joined with ", ". */
export interface RequestHeaders {
  /** The value of `name` (any case), or null when absent. */
  get(name: string): string | null;
  /** Whether `name` (any case) is present. */
  has(name: string): boolean;
  /** Calls `fn` for each header line, in arrival order, with its name in lower case. */
  forEach(fn: (value: string, name: string) => void): void;
}

/** Headers made from a record or pairs, for requests built in code (tests, tools). */
export class HttpHeaders implements RequestHeaders {
  readonly #map = new Map<string, string>();

  /** Headers from `[name, value]` pairs or a record; names are lower-cased. */
  constructor(entries?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>) {
    if (!entries) return;
    const pairs = Symbol.iterator in entries ? entries as Iterable<readonly [string, string]> : Object.entries(entries);
    for (const [name, value] of pairs) {
      const key = name.toLowerCase();
      const old = this.#map.get(key);
      this.#map.set(key, old === undefined ? value : `${old}, ${value}`);
    }
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

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
  readonly headers: RequestHeaders;
  /** The body (empty without Content-Length). */
  readonly body: Uint8Array;
  /** The peer. */
  readonly remote: Deno.NetAddr;
}

// Character classes by code unit: token characters (RFC 9110 §5.6.2) and their lower-case forms.
const TCHAR = new Uint8Array(128);
const LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  TCHAR[c] = /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(ch) ? 1 : 0;
  LOWER[c] = ch.toLowerCase().charCodeAt(0);
}
const SP = 32;
const HTAB = 9;

/** Headers over the text of one request head: `offsets` holds name start, name end, value start, value end per line. */
class HeadHeaders implements RequestHeaders {
  readonly #head: string;
  readonly #offsets: readonly number[];

  constructor(head: string, offsets: readonly number[]) {
    this.#head = head;
    this.#offsets = offsets;
  }

  get(name: string): string | null {
    let found: string | null = null;
    for (let i = 0; i < this.#offsets.length; i += 4) {
      if (!this.#named(i, name)) continue;
      const value = this.#head.slice(this.#offsets[i + 2], this.#offsets[i + 3]);
      found = found === null ? value : `${found}, ${value}`;
    }
    return found;
  }

  has(name: string): boolean {
    for (let i = 0; i < this.#offsets.length; i += 4) if (this.#named(i, name)) return true;
    return false;
  }

  /** How many lines carry `name`. */
  count(name: string): number {
    let n = 0;
    for (let i = 0; i < this.#offsets.length; i += 4) if (this.#named(i, name)) n++;
    return n;
  }

  forEach(fn: (value: string, name: string) => void): void {
    const o = this.#offsets;
    for (let i = 0; i < o.length; i += 4) {
      fn(this.#head.slice(o[i + 2], o[i + 3]), this.#head.slice(o[i], o[i + 1]).toLowerCase());
    }
  }

  #named(i: number, name: string): boolean {
    const start = this.#offsets[i];
    if (this.#offsets[i + 1] - start !== name.length) return false;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c >= 128 || LOWER[this.#head.charCodeAt(start + k)] !== LOWER[c]) return false;
    }
    return true;
  }
}

/** A request head, parsed: what {@link parseHead} returns when the head is acceptable. */
export interface ParsedHead {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly version: "HTTP/1.1" | "HTTP/1.0";
  readonly headers: RequestHeaders;
  /** The Content-Length (0 when absent). */
  readonly contentLength: number;
  /** Whether the client lets the connection be kept after the answer. */
  readonly keepAlive: boolean;
}

/** Why a head is refused: the status and a short text for the answer. */
export interface Refusal {
  readonly status: 400 | 411;
  readonly reason: string;
}

/**
 * Parses a request head (without its final CRLF CRLF): request line, header lines, and the framing headers. Anything
 * a proxy in front might read differently is refused: a space before a colon, folded lines, control characters, a
 * repeated Host or Content-Length, any Transfer-Encoding.
 */
export function parseHead(head: string): ParsedHead | Refusal {
  const lineEnd = indexOfCrlf(head, 0);
  const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
  const line = parseRequestLine(requestLine);
  if (line === undefined) return bad("malformed request line");
  const offsets: number[] = [];
  for (let start = lineEnd < 0 ? head.length : lineEnd + 2; start < head.length;) {
    let end = indexOfCrlf(head, start);
    if (end < 0) end = head.length;
    const colon = head.indexOf(":", start);
    if (colon <= start || colon > end) return bad("malformed header line");
    for (let k = start; k < colon; k++) {
      const c = head.charCodeAt(k);
      if (c >= 128 || TCHAR[c] === 0) return bad("malformed header line");
    }
    let from = colon + 1;
    let to = end;
    while (from < to && isOws(head.charCodeAt(from))) from++;
    while (to > from && isOws(head.charCodeAt(to - 1))) to--;
    for (let k = from; k < to; k++) {
      const c = head.charCodeAt(k);
      if (c === 0 || c === 10 || c === 13) return bad("malformed header value");
    }
    offsets.push(start, colon, from, to);
    start = end + 2;
  }
  const headers = new HeadHeaders(head, offsets);
  if (headers.count("host") > 1) return bad("repeated Host header");
  if (line.version === "HTTP/1.1" && !headers.has("host")) return bad("missing required Host header");
  if (headers.has("transfer-encoding")) return { status: 411, reason: "Length Required" };
  if (headers.count("content-length") > 1) return bad("repeated Content-Length header");
  const length = headers.get("content-length");
  if (length !== null && !/^\d{1,15}$/.test(length)) return bad("Bad Content-Length");
  return {
    ...line,
    headers,
    contentLength: length === null ? 0 : Number(length),
    keepAlive: wantsKeepAlive(line.version, headers.get("connection")),
  };
}

function bad(reason: string): Refusal {
  return { status: 400, reason };
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

function indexOfCrlf(text: string, from: number): number {
  return text.indexOf("\r\n", from);
}

/** `METHOD SP target SP HTTP/1.x`; undefined when malformed. */
function parseRequestLine(line: string): Omit<ParsedHead, "headers" | "contentLength" | "keepAlive"> | undefined {
  const sp1 = line.indexOf(" ");
  const sp2 = line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0) return undefined;
  const version = line.slice(sp2 + 1);
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return undefined;
  for (let k = 0; k < sp1; k++) {
    const c = line.charCodeAt(k);
    if (c >= 128 || TCHAR[c] === 0) return undefined;
  }
  for (let k = sp1 + 1; k < sp2; k++) {
    const c = line.charCodeAt(k);
    if (c <= SP || c === 127) return undefined;
  }
  const target = requestTarget(line.slice(sp1 + 1, sp2));
  return target && { method: line.slice(0, sp1), ...target, version };
}

/** Splits an origin-form (`/p?q`) or absolute-form (`http://h/p?q`) target; undefined for anything else. */
function requestTarget(target: string): { path: string; query: string } | undefined {
  if (target.charCodeAt(0) === 47 /* / */) {
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

/** HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it. */
function wantsKeepAlive(version: string, connection: string | null): boolean {
  if (connection === null) return version === "HTTP/1.1";
  const tokens = connection.toLowerCase();
  return version === "HTTP/1.1" ? !/(^|,)\s*close\s*(,|$)/.test(tokens) : /(^|,)\s*keep-alive\s*(,|$)/.test(tokens);
}

/** The index just past the CRLF CRLF that ends a head in `buffer[from, used)`; -1 when it has not arrived yet. */
export function findHeadEnd(buffer: Uint8Array, from: number, used: number): number {
  for (let i = from + 3; i < used; i++) {
    if (buffer[i] === 10 && buffer[i - 1] === 13 && buffer[i - 2] === 10 && buffer[i - 3] === 13) return i + 1;
  }
  return -1;
}
