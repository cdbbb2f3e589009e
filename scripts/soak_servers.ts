/**
 * A soak of a credential server
 * (`deno run -A scripts/soak_servers.ts [--server ecs|ec2] [--seconds N] [--store secret-service]`, default the ECS
 * server for 60 s): wrk keeps valid requests going while other clients send wrong tokens, foreign Host headers,
 * /role-arn/ (ECS) or other metadata (EC2) requests, hold half-open connections and trickle a request one byte a
 * second; the credentials expire during the run, so a refresh crosses it. The server runs in its own process.
 * `--store secret-service` makes every credentials fetch do what the real chain does in that backend (read the
 * long-term item, store the new session) against a real gnome-keyring on a private bus, to watch libsecret's memory.
 * Reported: whether valid requests were answered throughout, how many half-open connections the server closed, how
 * many credential fetches were made (one per lifetime is the goal), and the server's resident memory after 5 s and at
 * the end. Needs `wrk`. A benchmark, not a test.
 * @module
 */

import { envFromRecord } from "../src/core/env.ts";
import { startEc2Server } from "../src/server/ec2_server.ts";
import { startEcsServer } from "../src/server/ecs_server.ts";
import { SecretServiceKeyring } from "../src/vault/secret_service.ts";
import { startSecretService } from "../tests/support/secret_service.ts";

/** The V8 flags the installed command runs with (scripts/install), so the servers measured are the ones users run. */
const V8_FLAGS = "--v8-flags=--no-lazy,--max-semi-space-size=2";

/** Credentials last this long, so a run of a minute sees a few refreshes. */
const LIFETIME_MS = 20_000;

/** Runs the server and prints `<url> <auth header> <auth value> <credentials path>` on its first line. */
async function serve(kind: string, store: string | undefined): Promise<void> {
  let fetches = 0;
  const keyring = store === "secret-service"
    ? new SecretServiceKeyring({ env: envFromRecord(Deno.env.toObject()), collection: "login" })
    : undefined;
  const item = (key: string, data: string) => ({
    key,
    data: new TextEncoder().encode(data),
    label: key,
    description: "soak",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  });
  await keyring?.set(item("soak", '{"AccessKeyID":"AKIASOAK","SecretAccessKey":"soak"}'));
  const provider = {
    description: "soak",
    retrieve: async () => {
      fetches++;
      console.error(`fetch ${fetches}`);
      if (keyring) {
        await keyring.get("soak");
        await keyring.set(item(`sts.GetSessionToken,c29haw,,${Date.now()}`, "x".repeat(1200)));
      }
      return await Promise.resolve({
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
  const storeAt = Deno.args.indexOf("--store");
  const store = storeAt >= 0 ? Deno.args[storeAt + 1] : undefined;
  const bus = store === "secret-service" ? await startSecretService() : undefined;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      V8_FLAGS,
      new URL(import.meta.url).pathname,
      "--serve",
      kind,
      ...(store ? [store] : []),
    ],
    env: bus?.env,
    clearEnv: bus !== undefined,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let fetches = 0;
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      fetches += (text.match(/fetch \d+/g) ?? []).length;
      // Anything else the server says (an error at start) is passed on.
      const other = text.split("\n").filter((line) => line && !/^fetch \d+$/.test(line));
      if (other.length) console.error(other.join("\n"));
    }
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the server did not start (exit status ${(await child.status).code})`);
    first += value;
  }
  const [url, header, token, credentialsPath] = first.trim().split(" ");
  const { port } = new URL(url);
  const deadline = Date.now() + seconds * 1000;
  const counts = { ok: 0, failed: 0, refused: 0, halfOpen: 0, halfOpenClosed: 0 };

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
        // The server should end it (header timeout); anything it sends instead would be an answer to half a request.
        conn.read(new Uint8Array(16)).then((n) => n === null && counts.halfOpenClosed++, () => {/* closed here */});
      } catch { /* refused */ }
      if (open.length > 200) open.shift()?.close();
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

  // Resident memory every 5 s: the first sample is the reference, the series shows where it levels off.
  const series: number[] = [];
  const sampler = setInterval(() => series.push(rssKb(child.pid)), 5000);
  await new Promise((r) => setTimeout(r, 5000));
  const rssEarly = rssKb(child.pid);
  const [wrkOut] = await Promise.all([wrk, mixed, halfOpen, slow]);
  const rssEnd = rssKb(child.pid);
  clearInterval(sampler);
  const alive =
    (await fetch(`${url}${credentialsPath}`, { headers: { [header]: token } }).then((r) => (r.body?.cancel(), r.status))
      .catch(() => 0)) === 200;
  child.kill();
  await child.status;
  await bus?.stop();
  const out = new TextDecoder().decode(wrkOut.stdout);
  console.log(
    `soak of ${seconds} s against the ${kind.toUpperCase()} server (credentials live ${LIFETIME_MS / 1000} s` +
      `${store ? `; each fetch through ${store}` : ""})`,
  );
  console.log(
    `wrk (valid requests): ${out.match(/Requests\/sec:\s+[\d.]+/)?.[0] ?? "?"}; ` +
      `${out.match(/Non-2xx or 3xx responses: \d+/)?.[0] ?? "all 2xx"}; ${
        out.match(/Socket errors:.*/)?.[0] ?? "no socket errors"
      }`,
  );
  console.log(`mixed probes: ${counts.ok} as expected, ${counts.failed} unexpected, ${counts.refused} refused`);
  console.log(
    `half-open connections opened: ${counts.halfOpen}, closed by the server: ${counts.halfOpenClosed}; ` +
      `answering at the end: ${alive}`,
  );
  // Each value is replaced once, half-way between its fetch and minTtl (2 s) before its expiry: every 9 s here.
  const perCache = 1 + Math.floor(seconds * 1000 / ((LIFETIME_MS - 2_000) / 2));
  const caches = kind === "ec2" ? 1 : 2; // the ECS server's own, and one /role-arn/ role's
  console.log(`credential fetches: ${fetches} for ${caches} cache(s); one per value: ${caches * perCache}`);
  console.log(
    `resident memory: ${rssEarly} kB after 5 s, ${rssEnd} kB at the end (${(rssEnd / rssEarly).toFixed(2)}x)`,
  );
  console.log(`resident memory every 5 s (MB): ${series.map((kb) => (kb / 1024).toFixed(1)).join(" ")}`);
}

const serveAt = Deno.args.indexOf("--serve");
if (serveAt >= 0) await serve(Deno.args[serveAt + 1], Deno.args[serveAt + 2]);
else await main();
