/**
 * A soak of a credential server (`deno run -A scripts/soak_servers.ts [--server ecs|ec2] [--seconds N]`, default the
 * ECS server for 60 s): wrk keeps valid
 * requests going while other clients send wrong tokens, foreign Host headers, /role-arn/ (ECS) or other metadata (EC2)
 * requests, hold half-open
 * connections and trickle a request one byte a second; the credentials expire during the run, so a refresh crosses it.
 * The server runs in its own process. Reported: whether valid requests were answered throughout, how many credential
 * fetches were made (one per lifetime is the goal), and the server's resident memory after 5 s and at the end.
 * Needs `wrk`. A benchmark, not a test.
 * @module
 */

import { startEc2Server } from "../src/server/ec2_server.ts";
import { startEcsServer } from "../src/server/ecs_server.ts";

/** Credentials last this long, so a run of a minute sees a few refreshes. */
const LIFETIME_MS = 20_000;

/** Runs the server and prints `<url> <auth header> <auth value> <credentials path>` on its first line. */
async function serve(kind: string): Promise<void> {
  let fetches = 0;
  const provider = {
    description: "soak",
    retrieve: () => {
      fetches++;
      console.error(`fetch ${fetches}`);
      return Promise.resolve({
        accessKeyId: `ASIASOAK${String(fetches).padStart(12, "0")}`,
        secretAccessKey: "soak/secret",
        sessionToken: "soak-token".padEnd(900, "x"),
        expiration: new Date(Date.now() + LIFETIME_MS),
      });
    },
  };
  const now = () => new Date();
  if (kind === "ec2") {
    const server = await startEc2Server({ provider, port: 0, region: "eu-west-1", now, minTtl: 2_000 });
    const token = await (await fetch(`${server.url}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
    })).text();
    console.log(
      `${server.url} X-aws-ec2-metadata-token ${token} /latest/meta-data/iam/security-credentials/local-credentials`,
    );
  } else {
    const server = await startEcsServer({ provider, roleProvider: () => provider, now, minTtl: 2_000 });
    console.log(`${server.url} Authorization ${server.token} /`);
  }
}

function rssKb(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const at = Deno.args.indexOf("--seconds");
  const seconds = at >= 0 ? Number(Deno.args[at + 1]) : 60;
  const kindAt = Deno.args.indexOf("--server");
  const kind = kindAt >= 0 ? Deno.args[kindAt + 1] : "ecs";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, "--serve", kind],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let fetches = 0;
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      fetches += (text.match(/fetch \d+/g) ?? []).length;
    }
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) first += (await reader.read()).value ?? "";
  const [url, header, token, credentialsPath] = first.trim().split(" ");
  const { port } = new URL(url);
  const deadline = Date.now() + seconds * 1000;
  const counts = { ok: 0, failed: 0, refused: 0, halfOpen: 0 };

  const wrk = new Deno.Command("wrk", {
    args: ["-t1", "-c20", `-d${seconds}s`, "-H", `${header}: ${token}`, `${url}${credentialsPath}`],
    stdout: "piped",
  }).output();

  const probe = async (init: RequestInit & { path?: string }, expect: number) => {
    const response = await fetch(`${url}${init.path ?? "/"}`, init).catch(() => undefined);
    await response?.body?.cancel();
    if (!response) counts.refused++;
    else if (response.status === expect) counts.ok++;
    else counts.failed++;
  };
  // fetch() sends the URL's host whatever the headers say, so a foreign Host goes over a raw connection.
  const foreignHost = async () => {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      const request =
        `GET ${credentialsPath} HTTP/1.1\r\nHost: evil.example:${port}\r\n${header}: ${token}\r\nConnection: close\r\n\r\n`;
      await conn.write(new TextEncoder().encode(request));
      const buffer = new Uint8Array(64);
      const n = await conn.read(buffer);
      conn.close();
      if (new TextDecoder().decode(buffer.subarray(0, n ?? 0)).startsWith("HTTP/1.1 403")) counts.ok++;
      else counts.failed++;
    } catch {
      counts.refused++;
    }
  };
  const mixed = (async () => {
    while (Date.now() < deadline) {
      await probe({ headers: { [header]: token }, path: credentialsPath }, 200);
      await probe({ headers: { [header]: "wrong" }, path: credentialsPath }, kind === "ec2" ? 401 : 403);
      await foreignHost();
      const other = kind === "ec2" ? "/latest/meta-data/instance-id" : "/role-arn/arn:aws:iam::111111111111:role/soak";
      await probe({ headers: { [header]: token }, path: other }, 200);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const halfOpen = (async () => {
    const open: Deno.TcpConn[] = [];
    while (Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
        await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHo"));
        open.push(conn);
        counts.halfOpen++;
      } catch { /* refused */ }
      if (open.length > 50) open.shift()?.close();
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const conn of open) conn.close();
  })();
  const slow = (async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    const request = new TextEncoder().encode(
      `GET ${credentialsPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${header}: ${token}\r\n`,
    );
    for (let i = 0; i < request.length && Date.now() < deadline; i++) {
      await conn.write(request.subarray(i, i + 1)).catch(() => 0);
      await new Promise((r) => setTimeout(r, 1000));
    }
    conn.close();
  })();

  await new Promise((r) => setTimeout(r, 5000));
  const rssEarly = rssKb(child.pid);
  const [wrkOut] = await Promise.all([wrk, mixed, halfOpen, slow]);
  const rssEnd = rssKb(child.pid);
  const alive =
    (await fetch(`${url}${credentialsPath}`, { headers: { [header]: token } }).then((r) => (r.body?.cancel(), r.status))
      .catch(() => 0)) === 200;
  child.kill();
  await child.status;
  const out = new TextDecoder().decode(wrkOut.stdout);
  console.log(
    `soak of ${seconds} s against the ${kind.toUpperCase()} server (credentials live ${LIFETIME_MS / 1000} s)`,
  );
  console.log(
    `wrk (valid requests): ${out.match(/Requests\/sec:\s+[\d.]+/)?.[0] ?? "?"}; ` +
      `${out.match(/Non-2xx or 3xx responses: \d+/)?.[0] ?? "all 2xx"}; ${
        out.match(/Socket errors:.*/)?.[0] ?? "no socket errors"
      }`,
  );
  console.log(`mixed probes: ${counts.ok} as expected, ${counts.failed} unexpected, ${counts.refused} refused`);
  console.log(`half-open connections opened: ${counts.halfOpen}; answering at the end: ${alive}`);
  // Each value is refreshed once, half-way between its fetch and minTtl before its expiry (9 s early here).
  const perCache = 1 + Math.floor(seconds * 1000 / (LIFETIME_MS - (LIFETIME_MS - 2_000) / 2));
  const caches = kind === "ec2" ? 1 : 2; // the ECS server's own, and one /role-arn/ role's
  console.log(`credential fetches: ${fetches} for ${caches} cache(s); one per value: ${caches * perCache}`);
  console.log(
    `resident memory: ${rssEarly} kB after 5 s, ${rssEnd} kB at the end (${(rssEnd / rssEarly).toFixed(2)}x)`,
  );
}

const serveAt = Deno.args.indexOf("--serve");
if (serveAt >= 0) await serve(Deno.args[serveAt + 1]);
else await main();
