/**
 * A TLS-inspecting HTTPS proxy, as corporate networks run them: it answers `CONNECT host:port`, terminates the
 * client's TLS with a certificate signed by its own CA (tests/fixtures/tls), and passes the decrypted bytes to the
 * fake AWS unchanged (so the Host header the client signed is what the fake verifies). Give it as `HTTPS_PROXY`; a
 * client trusts it only if it trusts `CA_FILE`.
 * @module
 */

const fixtures = new URL("../fixtures/tls/", import.meta.url).pathname;

/** The proxy's CA certificate (PEM file). */
export const CA_FILE = `${fixtures}ca.pem`;

/** A running proxy. */
export interface InterceptingProxy {
  /** `http://127.0.0.1:<port>`, for `HTTPS_PROXY`. */
  readonly url: string;
  /** The `host:port` of every CONNECT so far. */
  readonly connects: readonly string[];
  close(): Promise<void>;
}

async function pipeBoth(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  await Promise.all([a.readable.pipeTo(b.writable), b.readable.pipeTo(a.writable)]).catch(() => {});
}

/** Reads one HTTP request head (up to the blank line) from `conn`; what follows stays unread. */
async function readHead(conn: Deno.Conn): Promise<string> {
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  while (!(bytes.length >= 4 && bytes.slice(-4).join() === "13,10,13,10")) {
    if (await conn.read(one) === null) break;
    bytes.push(one[0]);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Starts the proxy in front of the plain-HTTP server at `target` (`http://127.0.0.1:<port>`). */
export function startInterceptingProxy(target: string): InterceptingProxy {
  const cert = Deno.readTextFileSync(`${fixtures}leaf.pem`);
  const key = Deno.readTextFileSync(`${fixtures}leaf.key`);
  const targetPort = Number(new URL(target).port);
  const front = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connects: string[] = [];
  const tasks: Promise<unknown>[] = [];
  tasks.push(
    (async () => {
      for await (const tls of front) {
        Deno.connect({ hostname: "127.0.0.1", port: targetPort }).then((plain) => pipeBoth(tls, plain)).catch(() => {});
      }
    })().catch(() => {}),
  );
  tasks.push(
    (async () => {
      for await (const conn of listener) {
        (async () => {
          const head = await readHead(conn);
          const m = /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head);
          if (!m) {
            await conn.write(new TextEncoder().encode("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"));
            conn.close();
            return;
          }
          connects.push(m[1]);
          await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
          await pipeBoth(conn, await Deno.connect({ hostname: "127.0.0.1", port: front.addr.port }));
        })().catch(() => {});
      }
    })().catch(() => {}),
  );
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    connects,
    async close() {
      listener.close();
      front.close();
      await Promise.all(tasks);
    },
  };
}
