/**
 * Network namespaces for tests that need addresses the host must not have (169.254.169.254, 169.254.170.2) or a
 * "container" network: each namespace has a unique name, every process started in it is tracked, and `close()`
 * ends those processes and deletes the namespace (and with it the veth pair) even after a failed assertion.
 * Linux and root only; {@link netnsUnavailable} says why not otherwise.
 * @module
 */

let counter = 0;

/** iproute2 by absolute path: tests may run commands with a PATH that has no `ip` on it. */
const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}) ?? "ip";

/** The result of a finished command. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ip` with `args` on the host. @throws Error with ip's output when it fails */
export async function ip(...args: string[]): Promise<string> {
  const out = await new Deno.Command(IP, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${dec.decode(out.stderr).trim()}`);
  return dec.decode(out.stdout);
}

/** Why namespace tests cannot run here, or `undefined` when they can (tries creating and deleting one). */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  if (Deno.uid() !== 0) return "network namespaces need root";
  const name = `avt-probe-${Deno.pid}`;
  try {
    await ip("netns", "add", name);
    await ip("netns", "del", name);
    return undefined;
  } catch (error) {
    return `ip netns does not work here: ${(error as Error).message}`;
  }
}

/** A process started in a namespace. */
export interface Spawned {
  readonly pid: number;
  kill(signal?: Deno.Signal): void;
  /** Resolves when it exits, with everything it wrote. */
  readonly done: Promise<RunResult>;
}

/** A network namespace owned by one test. */
export interface Netns {
  readonly name: string;
  /** Starts `argv` inside the namespace (tracked: `close()` ends it). */
  spawn(argv: readonly string[], options: { env: Record<string, string> }): Spawned;
  /** Runs `argv` inside the namespace to completion, killed after `timeoutMs` (default 30 s). */
  run(argv: readonly string[], options: { env: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** `ip -4 addr` output of the namespace. */
  addresses(): Promise<string>;
  /** Registers cleanup to run when the namespace is closed (after its processes end). */
  onClose(cleanup: () => Promise<unknown>): void;
  /** Ends tracked processes (TERM, then KILL after 2 s) and deletes the namespace. Safe to call twice. */
  close(): Promise<void>;
}

/** A veth pair between the host and a namespace, on its own /30. */
export interface Veth {
  readonly hostAddress: string;
  readonly nsAddress: string;
}

function command(name: string, argv: readonly string[], env: Record<string, string>, signal?: AbortSignal) {
  return new Deno.Command(IP, {
    args: ["netns", "exec", name, ...argv],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  });
}

function result(out: Deno.CommandOutput): RunResult {
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function stop(process: Spawned): Promise<void> {
  try {
    process.kill("SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill("SIGKILL");
    } catch { /* gone in the meantime */ }
  }, 2000);
  await process.done.catch(() => {});
  clearTimeout(timer);
}

/** Creates a namespace named `avt-<label>-<pid>-<n>-<random>` with `lo` up. */
export async function createNetns(label: string): Promise<Netns> {
  // The random part: test modules running in parallel share this process's pid and each has its own counter.
  const name = `avt-${label}-${Deno.pid}-${counter++}-${crypto.getRandomValues(new Uint8Array(3)).toHex()}`;
  await ip("netns", "add", name);
  const children = new Set<Spawned>();
  const cleanups: (() => Promise<unknown>)[] = [];
  let closed = false;
  const ns: Netns = {
    name,
    spawn(argv, options) {
      const child = command(name, argv, options.env).spawn();
      const spawned: Spawned = {
        pid: child.pid,
        kill: (signal) => child.kill(signal),
        done: child.output().then(result),
      };
      children.add(spawned);
      return spawned;
    },
    async run(argv, options) {
      return result(await command(name, argv, options.env, AbortSignal.timeout(options.timeoutMs ?? 30_000)).output());
    },
    addresses: () => ip("-n", name, "-4", "addr"),
    onClose: (cleanup) => void cleanups.push(cleanup),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...children].map(stop));
      // Anything still inside was started by this test (through a tracked child): end it before deleting.
      const pids = await ip("netns", "pids", name).catch(() => "");
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch { /* exited meanwhile */ }
      }
      for (const cleanup of cleanups) await cleanup();
      await ip("netns", "del", name).catch(() => {});
    },
  };
  try {
    await ip("-n", name, "link", "set", "lo", "up");
  } catch (error) {
    await ns.close();
    throw error;
  }
  return ns;
}

/** Picks a 10.213.N.0/30 that no host interface uses yet. */
async function freeSubnet(): Promise<number> {
  const used = await ip("-4", "-o", "addr", "show");
  // A random start: test modules running in parallel share this process's pid and each has its own counter.
  const start = crypto.getRandomValues(new Uint32Array(1))[0];
  for (let i = 0; i < 250; i++) {
    const n = (start + counter + i) % 250 + 1;
    if (!used.includes(`10.213.${n}.`)) return n;
  }
  throw new Error("no free 10.213.N.0/30 subnet for a veth pair");
}

/**
 * Connects `ns` to the host with a veth pair: host `10.213.N.1/30`, namespace `10.213.N.2/30`. `ns.close()`
 * deletes the host end itself: a deleted namespace can linger (TIME_WAIT sockets inside keep it alive), and with it
 * the pair and its subnet.
 */
export async function addVeth(ns: Netns): Promise<Veth> {
  const n = await freeSubnet();
  // Random, not pid-based: ids built from pid and a counter can repeat across runs while an old pair lingers.
  const id = crypto.getRandomValues(new Uint8Array(5)).toHex();
  const hostIf = `avh${id}`.slice(0, 15);
  const nsIf = `avn${id}`.slice(0, 15);
  await ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
  try {
    await ip("link", "set", nsIf, "netns", ns.name);
    await ip("addr", "add", `10.213.${n}.1/30`, "dev", hostIf);
    await ip("link", "set", hostIf, "up");
    await ip("-n", ns.name, "addr", "add", `10.213.${n}.2/30`, "dev", nsIf);
    await ip("-n", ns.name, "link", "set", nsIf, "up");
  } catch (error) {
    await ip("link", "del", hostIf).catch(() => {});
    throw error;
  }
  ns.onClose(() => ip("link", "del", hostIf).catch(() => {}));
  return { hostAddress: `10.213.${n}.1`, nsAddress: `10.213.${n}.2` };
}

/**
 * A stand-in for the EC2 credentials server on 127.0.0.1:9099, run inside a namespace: answers every request with
 * what it received as JSON, and `/redirect` with a 301 (to see redirects passed through, not followed).
 */
export const ECHO_SERVER_SOURCE = `
Deno.serve({ hostname: "127.0.0.1", port: 9099, onListen() {} }, async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/redirect") return new Response("moved", { status: 301, headers: { location: "/latest/" } });
  return Response.json({
    method: req.method,
    path: url.pathname + url.search,
    host: req.headers.get("host"),
    token: req.headers.get("x-aws-ec2-metadata-token"),
    ttl: req.headers.get("x-aws-ec2-metadata-token-ttl-seconds"),
    body: await req.text(),
  });
});
`;

/**
 * An HTTP client run inside a namespace: \`deno run -A client.ts '<JSON list of {method,url,headers,body}>'\`.
 * Retries the first request while the connection is refused (up to 15 s), then prints [{status, headers, body}].
 */
export const CLIENT_SOURCE = `
const requests = JSON.parse(Deno.args[0]);
const results = [];
const deadline = Date.now() + 15000;
for (const [i, r] of requests.entries()) {
  for (;;) {
    try {
      const res = await fetch(r.url, { method: r.method ?? "GET", headers: r.headers, body: r.body, redirect: "manual" });
      results.push({ status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
      break;
    } catch (e) {
      if (i > 0 || Date.now() > deadline) { results.push({ status: 0, error: String(e) }); break; }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
}
console.log(JSON.stringify(results));
`;
