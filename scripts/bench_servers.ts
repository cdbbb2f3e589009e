/**
 * Throughput of the credential servers (`deno run -A scripts/bench_servers.ts [--seconds N] [--rounds N]`): wrk with
 * 2 threads and 50 connections on loopback against the ECS server (`GET /` with the token) and the EC2 metadata
 * server's credentials path (with an IMDSv2 token), each serving cached credentials, and against a bare `Deno.serve`
 * returning a constant body of the same size, the reference. Each server runs in its own process; the rounds are
 * interleaved and the table shows medians and ratios to the reference. Needs `wrk` (Debian package `wrk`).
 * `--go PATH` adds the Go aws-vault's ECS server code (scripts/bench/go_ecs_server, built by its build.sh) to the
 * rotation.
 * @module
 */

import { startEc2Server } from "../src/server/ec2_server.ts";
import { startEcsServer } from "../src/server/ecs_server.ts";

/** The V8 flags the installed command runs with (scripts/install), so the servers measured are the ones users run. */
const V8_FLAGS = "--v8-flags=--no-lazy,--max-semi-space-size=2";

const CREDENTIALS = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE00",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjE".padEnd(900, "x"),
};

/** Runs as one of the servers and prints `<url> [header]` for wrk on its first line. */
async function serve(mode: string): Promise<void> {
  const now = () => new Date();
  const expiration = new Date(Date.now() + 12 * 3_600_000);
  const provider = { description: "bench", retrieve: () => Promise.resolve({ ...CREDENTIALS, expiration }) };
  if (mode === "ecs") {
    const server = await startEcsServer({ provider, roleProvider: () => provider, now });
    console.log(`${server.url}/ Authorization: ${server.token}`);
  } else if (mode === "ec2") {
    const server = await startEc2Server({ provider, port: 0, region: "eu-west-1", now });
    const token = await (await fetch(`${server.url}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
    })).text();
    console.log(
      `${server.url}/latest/meta-data/iam/security-credentials/local-credentials X-aws-ec2-metadata-token: ${token}`,
    );
  } else {
    const body = JSON.stringify({
      AccessKeyId: CREDENTIALS.accessKeyId,
      Expiration: expiration.toISOString(),
      ...CREDENTIALS,
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(body, { headers: { "content-type": "application/json" } }),
    );
    console.log(`http://127.0.0.1:${server.addr.port}/`);
  }
}

interface Figure {
  readonly rps: number;
  readonly p99Ms: number;
}

async function wrk(target: string, seconds: number): Promise<Figure> {
  const [url, ...header] = target.split(" ");
  const args = ["-t2", "-c50", `-d${seconds}s`, "--latency", ...(header.length ? ["-H", header.join(" ")] : []), url];
  const out = new TextDecoder().decode((await new Deno.Command("wrk", { args, stdout: "piped" }).output()).stdout);
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
  const p99 = out.match(/ 99%\s+([\d.]+)(us|ms|s)/);
  const unit = { us: 0.001, ms: 1, s: 1000 }[p99?.[2] ?? "ms"] ?? 1;
  if (!rps || !p99 || /Non-2xx/.test(out)) throw new Error(`wrk against ${url} failed:\n${out}`);
  return { rps, p99Ms: Number(p99[1]) * unit };
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const at = Deno.args.indexOf(name);
    return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
  };
  const seconds = arg("--seconds", 5);
  const rounds = arg("--rounds", 3);
  const goAt = Deno.args.indexOf("--go");
  const go = goAt >= 0 ? Deno.args[goAt + 1] : undefined;
  const modes = go ? ["bare", "ecs", "ec2", "go"] : ["bare", "ecs", "ec2"];
  const children = new Map<string, { child: Deno.ChildProcess; target: string }>();
  try {
    for (const mode of modes) {
      const self = ["run", "-A", "--quiet", V8_FLAGS, new URL(import.meta.url).pathname, "--serve", mode];
      const child = new Deno.Command(mode === "go" ? go! : Deno.execPath(), {
        args: mode === "go" ? [] : self,
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`${mode} server did not start`);
        text += value;
      }
      children.set(mode, { child, target: text.split("\n")[0] });
    }
    const results = new Map<string, Figure[]>(modes.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) results.get(mode)!.push(await wrk(children.get(mode)!.target, seconds));
    }
    const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
    const bare = {
      rps: median(results.get("bare")!.map((f) => f.rps)),
      p99: median(results.get("bare")!.map((f) => f.p99Ms)),
    };
    console.log(`deno ${Deno.version.deno}; wrk -t2 -c50 -d${seconds}s, medians of ${rounds} interleaved rounds`);
    console.log("server             req/s  ratio   p99 (ms)  ratio");
    for (const mode of modes) {
      const rps = median(results.get(mode)!.map((f) => f.rps));
      const p99 = median(results.get(mode)!.map((f) => f.p99Ms));
      const names: Record<string, string> = {
        bare: "bare Deno.serve",
        ecs: "ECS server",
        ec2: "EC2 credentials",
        go: "Go aws-vault ECS",
      };
      console.log(
        `${names[mode].padEnd(17)} ${rps.toFixed(0).padStart(6)}  ${(rps / bare.rps).toFixed(2)}x  ${
          p99.toFixed(2).padStart(8)
        }  ${(p99 / bare.p99).toFixed(2)}x`,
      );
    }
  } finally {
    for (const { child } of children.values()) {
      child.kill();
      await child.status;
    }
  }
}

const serveAt = Deno.args.indexOf("--serve");
if (serveAt >= 0) await serve(Deno.args[serveAt + 1]);
else await main();
