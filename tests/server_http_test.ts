// The HTTP/1.1 layer under every credential server: keep-alive answers as Deno.serve gave them, and the bounds a
// local process meets (header timeout, connection cap, size limits, a listener that goes away).

import assert from "node:assert/strict";
import {
  type HttpRequest,
  type HttpResponse,
  listen,
  prepareResponse,
  serve,
  type ServeOptions,
  ServerError,
} from "../src/server/http_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function start(handler: (request: HttpRequest) => HttpResponse | Promise<HttpResponse>, options?: ServeOptions) {
  return listen({ hostname: "127.0.0.1", port: 0 }, handler, options);
}

/** Sends raw bytes on a new connection and reads until the server closes it (or `until` matches). */
async function exchange(port: number, raw: string, until?: RegExp): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(raw));
    let text = "";
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return text;
      text += decoder.decode(buffer.subarray(0, n));
      if (until?.test(text)) return text;
    }
  } finally {
    conn.close();
  }
}

/** Resolves "closed" when the server ends the connection, "data" if it sends anything. */
function ended(conn: Deno.Conn): Promise<string> {
  return conn.read(new Uint8Array(64)).then((n) => n === null ? "closed" : "data", () => "closed");
}

const echo = (request: HttpRequest): HttpResponse => ({
  status: 200,
  headers: { "content-type": "text/plain", "x-path": request.path, "x-query": request.query },
  body: `${request.method} ${request.headers.get("x-thing") ?? "-"} ${request.body.length}`,
});

Deno.test("http: answers keep-alive requests with the handler's headers, content-length and date; HEAD has no body", async () => {
  const server = start(echo);
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/a/b?x=1`, { headers: { "X-Thing": "t" } });
    assert.equal(await res.text(), "GET t 0");
    assert.equal(res.headers.get("x-path"), "/a/b");
    assert.equal(res.headers.get("x-query"), "?x=1");
    assert.equal(res.headers.get("content-length"), "7");
    assert.match(res.headers.get("date") ?? "", /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    const posted = await fetch(`http://127.0.0.1:${server.port}/`, { method: "PUT", body: "12345" });
    assert.equal(await posted.text(), "PUT - 5");

    // Two pipelined requests on one connection, then a HEAD that closes it: three answers, in order.
    const raw = await exchange(
      server.port,
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n" +
        "HEAD /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    assert.deepEqual(answers.map((a) => /x-path: (\S+)/.exec(a)?.[1]), ["/1", "/2", "/3"]);
    assert.ok(answers[2].endsWith("\r\n\r\n"), "HEAD: headers only");
    assert.match(answers[2], /content-length: 8\r\n/, "the length of the body a GET would get");
    assert.match(answers[2], /connection: close\r\n/);
  } finally {
    await server.close();
  }
});

Deno.test("http: malformed, oversized and chunked requests are refused and the connection closed", async () => {
  const server = start(echo, { maxHeaderBytes: 1024, maxBodyBytes: 100 });
  try {
    const status = async (raw: string) => (await exchange(server.port, raw)).split("\r\n")[0];
    assert.equal(await status("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request", "no Host");
    assert.equal(await status("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(await status("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(await status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(await status("GET /x HTTP/2.0\r\nHost: h\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(await status("GET x HTTP/1.1\r\nHost: h\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(
      await status(`GET / HTTP/1.1\r\nHost: h\r\nX: ${"a".repeat(2000)}\r\n\r\n`),
      "HTTP/1.1 431 Request Header Fields Too Large",
    );
    assert.equal(
      await status("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n"),
      "HTTP/1.1 413 Content Too Large",
    );
    assert.equal(
      await status("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
      "HTTP/1.1 411 Length Required",
    );
    assert.equal(await status("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    // The server is unharmed.
    assert.equal(await fetch(`http://127.0.0.1:${server.port}/`).then((r) => r.text()), "GET - 0");
  } finally {
    await server.close();
  }
});

Deno.test("http: a connection that does not complete its request head in time is closed", async () => {
  const server = start(echo, { headerTimeoutMs: 200 });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const partial = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await partial.write(encoder.encode("GET / HTTP/1.1\r\nHo"));
    assert.equal(await ended(silent), "closed", "nothing sent");
    assert.equal(await ended(partial), "closed", "part of a head sent");
  } finally {
    silent.close();
    partial.close();
    await server.close();
  }
});

Deno.test("http: past the connection cap the longest-waiting connection makes room; busy ones are never dropped", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const server = start(async (request) => {
    if (request.path === "/slow") await held;
    return { status: 200, body: request.path };
  }, { maxConnections: 3 });
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    const first = ended(idle[0]);
    // A fourth client is answered; the first idle connection was closed to make room for it.
    const answer = await exchange(server.port, "GET /new HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert.match(answer, /\r\n\r\n\/new$/);
    assert.equal(await first, "closed");

    // Three connections waiting for their answers: a fourth is refused, none of the three is dropped.
    const slow = [0, 1, 2].map(() => exchange(server.port, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n", /\/slow$/));
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the three reach the handler
    assert.equal(await exchange(server.port, "GET /late HTTP/1.1\r\nHost: h\r\n\r\n"), "", "refused");
    release();
    for (const text of await Promise.all(slow)) assert.match(text, /^HTTP\/1\.1 200 OK/);
  } finally {
    for (const conn of idle) conn.close();
    release();
    await server.close();
  }
});

Deno.test("http: a handler that throws is a 500 and the connection goes on", async () => {
  const server = start((request) => {
    if (request.path === "/boom") throw new Error("secret detail");
    return prepareResponse({ status: 204 });
  });
  try {
    const raw = await exchange(
      server.port,
      "GET /boom HTTP/1.1\r\nHost: h\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert.match(raw, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.doesNotMatch(raw, /secret detail/);
    assert.match(raw, /HTTP\/1\.1 204 No Content\r\n/);
  } finally {
    await server.close();
  }
});

Deno.test("http: a listener that goes away under the server aborts `failed` with a ServerError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serve(listener, echo);
  const failed = new Promise<unknown>((resolve) =>
    server.failed.addEventListener("abort", () => resolve(server.failed.reason))
  );
  listener.close();
  const reason = await failed;
  assert.ok(reason instanceof ServerError);
  assert.match((reason as ServerError).message, /stopped accepting connections/);
  await server.close();
});

Deno.test("http: a port in use is a ServerError naming the address", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.throws(() => listen({ hostname: "127.0.0.1", port: taken.addr.port }, echo), (e) => {
      assert.ok(e instanceof ServerError);
      assert.match(
        e.message,
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken.addr.port}: the address is already`),
      );
      return true;
    });
  } finally {
    taken.close();
  }
});

Deno.test("http: a connection never sees what an earlier one sent (head buffers are reused)", async () => {
  const server = start((request) => {
    const names: string[] = [];
    request.headers.forEach((_value, name) => names.push(name));
    return { status: 200, body: names.join(",") };
  });
  try {
    const secret = `GET / HTTP/1.1\r\nHost: h\r\nX-Secret: ${"s".repeat(500)}\r\nConnection: close\r\n\r\n`;
    assert.match(await exchange(server.port, secret), /\r\n\r\nhost,x-secret,connection$/);
    for (let i = 0; i < 3; i++) {
      const short = await exchange(server.port, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assert.match(short, /\r\n\r\nhost,connection$/);
    }
  } finally {
    await server.close();
  }
});
