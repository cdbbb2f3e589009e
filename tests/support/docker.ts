/**
 * A private Docker engine for tests, and what they need around it. Linux and root only.
 *
 * - {@link startPrivateDocker}: Debian's `dockerd` (package docker.io) with its own data-root, exec-root, socket, pid
 *   file, trust key and cgroup parent under a temp dir, started with `--bridge=none --iptables=false
 *   --ip-forward=false`: it adds no bridge, no firewall rule and no sysctl to the host, and reaches no registry.
 * - {@link buildRootfsImage}: an image built locally `FROM scratch` out of the host's own binaries and the shared
 *   libraries `ldd` says they load, so no registry is needed.
 * - {@link attachContainerNetns}, {@link addVethPair}, {@link freeLinkLocal30}: containers run with `--network none`
 *   and the test wires their network namespaces itself with veth pairs on link-local (169.254.0.0/16) addresses, as
 *   tests/support/netns.ts does for plain namespaces.
 * @module
 */

import { ip, netnsUnavailable, type RunResult } from "./netns.ts";

const decoder = new TextDecoder();

function firstFile(paths: readonly string[]): string | undefined {
  return paths.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/** Debian's daemon and its runtime pieces. */
const DOCKERD = firstFile(["/usr/sbin/dockerd", "/usr/bin/dockerd"]);
const CONTAINERD = firstFile(["/usr/bin/containerd", "/usr/sbin/containerd"]);
const RUNC = firstFile(["/usr/sbin/runc", "/usr/bin/runc"]);
/** docker.io's own client first: it speaks the daemon's API version; another client on PATH second. */
const DOCKER_CLI = firstFile(["/usr/bin/docker", "/usr/local/bin/docker"]);

/** The effective capability set of this process has bit `n`. */
async function hasCapability(n: number): Promise<boolean> {
  const status = await Deno.readTextFile("/proc/self/status");
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex !== undefined && ((BigInt(`0x${hex}`) >> BigInt(n)) & 1n) === 1n;
}

/** Cgroup v2 (a `cgroup.controllers` file) or v1 with the controllers runc needs. */
function cgroupsMounted(): boolean {
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  return exists("/sys/fs/cgroup/cgroup.controllers") ||
    (exists("/sys/fs/cgroup/memory") && exists("/sys/fs/cgroup/devices") && exists("/sys/fs/cgroup/pids"));
}

/**
 * Why a private Docker engine cannot run here, or `undefined` when it can: checks the OS, root, the capabilities,
 * cgroups, the packages and network namespaces, then starts a daemon and stops it again (about a second).
 */
export async function dockerUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "a Docker engine needs Linux";
  if (Deno.uid() !== 0) return "starting dockerd needs root";
  if (!(await hasCapability(21)) || !(await hasCapability(12))) {
    return "starting dockerd needs CAP_SYS_ADMIN and CAP_NET_ADMIN (an unprivileged container?)";
  }
  if (!cgroupsMounted()) return "no cgroups mounted at /sys/fs/cgroup (runc needs them)";
  const missing = [["dockerd", DOCKERD], ["containerd", CONTAINERD], ["runc", RUNC], ["docker", DOCKER_CLI]]
    .filter(([, path]) => path === undefined).map(([name]) => name);
  if (missing.length > 0) return `${missing.join(", ")} not installed (Debian package docker.io)`;
  const netns = await netnsUnavailable();
  if (netns) return netns;
  try {
    const probe = await startPrivateDocker();
    await probe.close();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A running private Docker engine. */
export interface PrivateDocker {
  /** `unix:///tmp/avt-docker-…/docker.sock`. */
  readonly host: string;
  /** The docker client. */
  readonly cli: string;
  /** The temp dir holding everything of this engine; build contexts may go under it. */
  readonly dir: string;
  /** Environment for the client: DOCKER_HOST, a private DOCKER_CONFIG, no BuildKit. */
  readonly env: Record<string, string>;
  /** Runs the client with `args` (killed after `timeoutMs`, default 60 s). */
  run(args: readonly string[], options?: { timeoutMs?: number }): Promise<RunResult>;
  /** Runs the client and returns its trimmed stdout. @throws Error with stderr when it fails */
  ok(args: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
  /** The daemon's log so far (warnings and errors). */
  log(): string;
  /** Removes every container, stops the daemon, unmounts and deletes everything under `dir`. Safe to call twice. */
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Mount points at or under `dir` (this mount namespace), deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await Deno.readTextFile("/proc/self/mountinfo");
  return info.split("\n").map((line) => line.split(" ")[4]).filter((p) => p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .sort((a, b) => b.length - a.length);
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/**
 * Starts a private dockerd and waits until it answers (at most 30 s).
 * @throws Error naming why it did not start, with the end of its log
 */
export async function startPrivateDocker(): Promise<PrivateDocker> {
  if (!DOCKERD || !DOCKER_CLI) throw new Error("dockerd or docker not installed (Debian package docker.io)");
  const dir = await Deno.makeTempDir({ prefix: "avt-docker-" });
  const id = crypto.getRandomValues(new Uint8Array(4)).toHex();
  const cgroupParent = `avt-docker-${id}`;
  const host = `unix://${dir}/docker.sock`;
  // daemon.json only for the trust key, which would otherwise be written to /etc/docker/key.json.
  await Deno.writeTextFile(`${dir}/daemon.json`, JSON.stringify({ "deprecated-key-path": `${dir}/key.json` }));
  await Deno.mkdir(`${dir}/client`);
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    DOCKER_HOST: host,
    DOCKER_CONFIG: `${dir}/client`,
    DOCKER_BUILDKIT: "0",
    DOCKER_CLI_HINTS: "false",
  };
  const daemon = new Deno.Command(DOCKERD, {
    args: [
      "--config-file",
      `${dir}/daemon.json`,
      "--data-root",
      `${dir}/data`,
      "--exec-root",
      `${dir}/exec`,
      "--pidfile",
      `${dir}/dockerd.pid`,
      "--host",
      host,
      // Nothing on the host's network: no docker0, no iptables rules, no ip_forward; containers get --network none
      // (or host) and the tests wire their namespaces themselves.
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-masq=false",
      "--ip-forward=false",
      "--userland-proxy=false",
      "--cgroup-parent",
      cgroupParent,
      "--exec-opt",
      "native.cgroupdriver=cgroupfs",
      "--log-level",
      "warn",
    ],
    env: { PATH: env.PATH },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let logText = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) logText = (logText + decoder.decode(chunk)).slice(-65536);
  };
  const pumped = Promise.all([pump(daemon.stdout), pump(daemon.stderr)]).catch(() => {});
  let exited: Deno.CommandStatus | undefined;
  const status = daemon.status.then((s) => exited = s);

  const run = async (args: readonly string[], options?: { timeoutMs?: number }): Promise<RunResult> => {
    const out = await new Deno.Command(DOCKER_CLI, {
      args: [...args],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options?.timeoutMs ?? 60_000),
    }).output();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  };
  const ok = async (args: readonly string[], options?: { timeoutMs?: number }): Promise<string> => {
    const r = await run(args, options);
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (!exited) {
      const ids = (await run(["ps", "-aq"], { timeoutMs: 15_000 }).catch(() => undefined))?.stdout.split(/\s+/)
        .filter(Boolean) ?? [];
      if (ids.length > 0) await run(["rm", "-f", "-v", ...ids], { timeoutMs: 30_000 }).catch(() => {});
      try {
        daemon.kill("SIGTERM");
      } catch { /* exited meanwhile */ }
      const timer = setTimeout(() => {
        try {
          daemon.kill("SIGKILL");
        } catch { /* gone */ }
      }, 15_000);
      await status;
      clearTimeout(timer);
    }
    await pumped;
    // dockerd stops the containerd it started; after a SIGKILL that containerd would be left behind.
    const containerdPid = Number(await Deno.readTextFile(`${dir}/exec/containerd/containerd.pid`).catch(() => ""));
    if (containerdPid > 0 && alive(containerdPid)) {
      try {
        Deno.kill(containerdPid, "SIGTERM");
      } catch { /* gone */ }
      if (!(await waitGone(containerdPid, 5000))) Deno.kill(containerdPid, "SIGKILL");
    }
    for (const mount of await mountsUnder(dir)) {
      await new Deno.Command("umount", { args: ["-l", mount], stdout: "null", stderr: "null" }).output();
    }
    // runc removes each container's cgroup; the parent it created under every hierarchy stays behind.
    for (const entry of await Array.fromAsync(Deno.readDir("/sys/fs/cgroup")).catch(() => [])) {
      const parent = `/sys/fs/cgroup/${entry.name}/${cgroupParent}`;
      if (entry.isDirectory && await exists(parent)) await Deno.remove(parent).catch(() => {});
    }
    await Deno.remove(`/sys/fs/cgroup/${cgroupParent}`).catch(() => {}); // cgroup v2: one hierarchy
    if ((await mountsUnder(dir)).length === 0) await Deno.remove(dir, { recursive: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await close();
      throw new Error(`dockerd exited with status ${exited.code}: ${logText.trim().split("\n").slice(-5).join(" | ")}`);
    }
    if (await exists(`${dir}/docker.sock`)) {
      const version = await run(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 10_000 })
        .catch(() => undefined);
      if (version?.code === 0) break;
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`dockerd did not answer within 30 s: ${logText.trim().split("\n").slice(-5).join(" | ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { host, cli: DOCKER_CLI, dir, env, run, ok, log: () => logText, close };
}

/** The shared libraries `ldd` lists for `binary` (the loader included), as absolute paths. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await new Deno.Command("ldd", { args: [binary], stdout: "piped", stderr: "piped" }).output();
  const text = decoder.decode(out.stdout);
  if (!out.success) {
    if (/not a dynamic executable/.test(text + decoder.decode(out.stderr))) return [];
    throw new Error(`ldd ${binary}: ${decoder.decode(out.stderr).trim()}`);
  }
  const libraries: string[] = [];
  for (const line of text.split("\n")) {
    const path = / => (\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+) \(/.exec(line)?.[1];
    if (path) libraries.push(path);
    else if (/ => not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  return libraries;
}

/** What goes into an image built by {@link buildRootfsImage}. */
export interface RootfsSpec {
  /** Host binaries and where they go in the image; their shared libraries go to the paths `ldd` names. */
  readonly binaries: readonly { readonly from: string; readonly to: string }[];
  /** Text files by path in the image (/etc/passwd, …). */
  readonly files?: Readonly<Record<string, string>>;
  /** Empty directories and their modes (/tmp 0o1777, …). */
  readonly dirs?: Readonly<Record<string, number>>;
  /** Dockerfile lines after `FROM scratch` and `COPY rootfs/ /` (ENV, USER, …). */
  readonly dockerfile?: readonly string[];
}

/** Copies a file, or hard-links it when it is large and on the same file system (deno is ~100 MB). */
async function place(from: string, to: string): Promise<void> {
  const real = await Deno.realPath(from);
  if ((await Deno.stat(real)).size > 8 << 20) {
    try {
      await Deno.link(real, to);
      return;
    } catch { /* another file system: copy */ }
  }
  await Deno.copyFile(real, to);
}

/**
 * Builds `tag` with `docker build` from a root file system assembled under the engine's dir: no base image, no
 * registry. Returns the build context directory (deleted with the engine).
 */
export async function buildRootfsImage(docker: PrivateDocker, tag: string, spec: RootfsSpec): Promise<string> {
  const context = await Deno.makeTempDir({ dir: docker.dir, prefix: "context-" });
  const rootfs = `${context}/rootfs`;
  const put = async (path: string, write: (target: string) => Promise<void>) => {
    const target = `${rootfs}${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    if (!(await exists(target))) await write(target);
  };
  for (const { from, to } of spec.binaries) {
    await put(to, (target) => place(from, target));
    for (const library of await sharedLibraries(from)) await put(library, (target) => place(library, target));
  }
  for (const [path, text] of Object.entries(spec.files ?? {})) {
    await put(path, (target) => Deno.writeTextFile(target, text));
  }
  for (const [path, mode] of Object.entries(spec.dirs ?? {})) {
    await Deno.mkdir(`${rootfs}${path}`, { recursive: true });
    await Deno.chmod(`${rootfs}${path}`, mode);
  }
  const dockerfile = ["FROM scratch", "COPY rootfs/ /", ...(spec.dockerfile ?? [])].join("\n") + "\n";
  await Deno.writeTextFile(`${context}/Dockerfile`, dockerfile);
  await docker.ok(["build", "--quiet", "--tag", tag, context], { timeoutMs: 120_000 });
  return context;
}

/** The host pid of a running container's first process. */
export async function containerPid(docker: PrivateDocker, name: string): Promise<number> {
  const pid = Number(await docker.ok(["inspect", "--format", "{{.State.Pid}}", name]));
  if (!(pid > 0)) throw new Error(`container ${name} is not running`);
  return pid;
}

/**
 * Names the network namespace of the container's process `pid` (`ip netns attach`), so `ip -n NAME` reaches it.
 * Returns the name; `ip netns del NAME` later only removes the name.
 */
export async function attachContainerNetns(pid: number, label: string): Promise<string> {
  const name = `avt-${label}-${crypto.getRandomValues(new Uint8Array(4)).toHex()}`;
  await ip("netns", "attach", name, String(pid));
  return name;
}

/** One end of a veth pair: a namespace name (`undefined` for the host) and its address with prefix length. */
export interface VethEnd {
  readonly netns?: string;
  readonly address: string;
}

/**
 * Connects two namespaces (or a namespace and the host) with a veth pair and brings both ends up. Returns a cleanup
 * that deletes the pair (deleting one end deletes both; a container's exit deletes its end too).
 */
export async function addVethPair(a: VethEnd, b: VethEnd): Promise<() => Promise<void>> {
  const id = crypto.getRandomValues(new Uint8Array(5)).toHex();
  const ends = [{ ...a, name: `ava${id}` }, { ...b, name: `avb${id}` }];
  await ip("link", "add", ends[0].name, "type", "veth", "peer", "name", ends[1].name);
  const del = async () => {
    for (const end of ends) {
      await ip(...(end.netns ? ["-n", end.netns] : []), "link", "del", end.name).catch(() => {});
    }
  };
  try {
    for (const end of ends) {
      const inNs = end.netns ? ["-n", end.netns] : [];
      if (end.netns) await ip("link", "set", end.name, "netns", end.netns);
      await ip(...inNs, "addr", "add", end.address, "dev", end.name);
      await ip(...inNs, "link", "set", end.name, "up");
    }
  } catch (error) {
    await del();
    throw error;
  }
  return del;
}

/** Third octets handed out by this module: two calls before either pair exists must not collide. */
const handedOut = new Set<number>();

/**
 * A link-local /30 no host interface uses: `169.254.X.Y/30` with X outside 0, 169 (instance metadata), 170 (ECS
 * container credentials) and 255. Returns the two usable addresses.
 */
export async function freeLinkLocal30(): Promise<{ first: string; second: string }> {
  const used = await ip("-4", "-o", "addr", "show");
  const start = crypto.getRandomValues(new Uint32Array(1))[0];
  for (let i = 0; i < 254; i++) {
    const x = (start + i) % 254 + 1;
    if (x === 169 || x === 170 || handedOut.has(x) || used.includes(`169.254.${x}.`)) continue;
    handedOut.add(x);
    const y = (start >>> 8) % 64 * 4;
    return { first: `169.254.${x}.${y + 1}`, second: `169.254.${x}.${y + 2}` };
  }
  throw new Error("no free 169.254.X.0/24 for a veth pair");
}
