/**
 * The EC2 metadata proxy, the loopback alias and the Docker container proxy: unit tests on loopback, and end to end
 * inside network namespaces standing in for a host with 169.254.169.254 and for a container network (there is no
 * Docker engine here). Namespace tests are skipped, with the reason printed, when not root or `ip netns` fails.
 */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { AssumeRoleProvider } from "../src/credentials/assume_role_provider.ts";
import type { CredentialsProvider } from "../src/credentials/provider.ts";
import type { ProfileConfig } from "../src/config/profile_config.ts";
import { startEcsServer } from "../src/server/ecs_server.ts";
import { addVeth, CLIENT_SOURCE, createNetns, ECHO_SERVER_SOURCE, ip, netnsUnavailable } from "./support/netns.ts";
import type { Netns } from "./support/netns.ts";
import { cliCommand } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import {
  addLoopbackAlias,
  aliasCommand,
  type CommandResult,
  LoopbackAliasError,
  removeLoopbackAlias,
  RUN_AS_ADMINISTRATOR_MESSAGE,
} from "../src/server/loopback_alias.ts";
import {
  isProxyRunning,
  PROXY_NOT_RUNNING_MESSAGE,
  proxyLaunchCommand,
  selfCommand,
  startEc2Proxy,
  startProxyProcess,
} from "../src/server/ec2_proxy.ts";
import { parseListenAddress, parseTarget, startContainerProxy } from "../src/server/container_proxy.ts";
import http from "node:http";
import { envFromRecord } from "../src/core/env.ts";

const skip = await netnsUnavailable();
if (skip) console.log(`netns tests skipped: ${skip}`);

const baseEnv = (home: string): Record<string, string> => ({
  HOME: home,
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
  NO_COLOR: "1",
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: timeout`)), ms)
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

Deno.test({
  name: "docker path: app in a 'container' namespace gets role credentials through container-proxy, no keys inside",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "avt-ctr-" });
  let ns: Netns | undefined;
  const closers: (() => Promise<void>)[] = [];
  try {
    ns = await createNetns("ctr");
    const veth = await addVeth(ns);
    await ip("-n", ns.name, "addr", "add", "169.254.170.2/32", "dev", "lo");
    const fake = await startFakeAws({ hostname: veth.hostAddress });
    closers.push(() => fake.close());
    fake.addUser({ userName: "alice", accessKeyId: "AKIAALICENETNS000001", secretAccessKey: "alice-netns-secret" });
    const roleArn = `arn:aws:iam::${fake.accountId}:role/app-role`;
    fake.addRole({ arn: roleArn });
    const base: CredentialsProvider = {
      description: "alice's stored keys",
      retrieve: () => Promise.resolve({ accessKeyId: "AKIAALICENETNS000001", secretAccessKey: "alice-netns-secret" }),
    };
    const profile: ProfileConfig = {
      profileName: "base",
      region: "us-east-1",
      endpointUrl: fake.url,
      assumeRoleDuration: 3_600_000,
      nonChainedGetSessionTokenDuration: 3_600_000,
      chainedGetSessionTokenDuration: 28_800_000,
      getFederationTokenDuration: 3_600_000,
      ssoUseStdout: false,
    };
    const ecs = await startEcsServer({
      provider: base,
      roleProvider: (arn) =>
        new AssumeRoleProvider({ ...profile, roleArn: arn }, base, { env: envFromRecord({}), now: () => new Date() }),
      lazy: true,
      hostname: veth.hostAddress,
      allowNonLoopback: true,
      now: () => new Date(),
    });
    closers.push(() => ecs.close());

    const argv = [...cliCommand(), "container-proxy"];
    const proxy = ns.spawn([...argv, "--listen", "169.254.170.2:80"], {
      env: {
        ...baseEnv(dir),
        AWS_CONTAINER_CREDENTIALS_FULL_URI: ecs.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: ecs.token,
      },
    });
    const probe = () => ns!.run([...argv, "--check-running"], { env: baseEnv(dir) }).then((r) => r.code === 0);
    await waitFor("container-proxy", async () => {
      if (await Promise.race([proxy.done.then(() => true), new Promise((r) => setTimeout(r, 0, false))])) {
        throw new Error(`container-proxy exited: ${(await proxy.done).stderr}`);
      }
      return await probe();
    });
    const cmdline = await Deno.readTextFile(`/proc/${proxy.pid}/cmdline`);
    ok(!cmdline.includes(ecs.token), "the token must not be on the proxy's command line");

    const appEnv = {
      ...baseEnv(dir),
      AWS_PAGER: "",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: `/role-arn/${roleArn}`,
    };
    const dump = await ns.run(["env"], { env: appEnv });
    for (
      const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION"]
    ) {
      ok(!dump.stdout.includes(name), `${name} in the app's environment`);
    }
    ok(!dump.stdout.includes(ecs.token), "the token in the app's environment");

    const aws = ["/usr/bin/aws", "sts", "get-caller-identity", "--endpoint-url", fake.url, "--region", "us-east-1"];
    const result = await ns.run([...aws, "--output", "json"], { env: appEnv, timeoutMs: 60_000 });
    equal(result.code, 0, result.stderr);
    const identity = JSON.parse(result.stdout);
    ok(identity.Arn.startsWith(`arn:aws:sts::${fake.accountId}:assumed-role/app-role/`), identity.Arn);
    const assumed = fake.callsTo("AssumeRole");
    equal(assumed.length, 1);
    equal(assumed[0].accessKeyId, "AKIAALICENETNS000001");
    equal(assumed[0].params.RoleArn, roleArn);
    ok(fake.callsTo("GetCallerIdentity")[0].accessKeyId?.startsWith("ASIA"));

    // The ECS server itself refuses the container without the token: only the proxy holds it.
    const direct = await ns.run([
      "curl",
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `${ecs.url}/role-arn/${roleArn}`,
    ], {
      env: appEnv,
    }).catch(() => undefined);
    if (direct && direct.code === 0) equal(direct.stdout, "403");
  } finally {
    await ns?.close();
    for (const close of closers.reverse()) await close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "ec2 proxy in a namespace: forwards to 127.0.0.1:9099 keeping Host and IMDSv2 headers; --stop and SIGTERM",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "avt-imds-" });
  let ns: Netns | undefined;
  try {
    ns = await createNetns("imds");
    await Deno.writeTextFile(`${dir}/echo.ts`, ECHO_SERVER_SOURCE);
    await Deno.writeTextFile(`${dir}/client.ts`, CLIENT_SOURCE);
    const env = baseEnv(dir);
    const deno = [Deno.execPath(), "run", "-A", "--quiet", "--no-check"];
    const client = async (requests: unknown[]) => {
      const r = await ns!.run([...deno, `${dir}/client.ts`, JSON.stringify(requests)], { env });
      equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { status: number; headers: Record<string, string>; body: string }[];
    };
    const hasAlias = async () => (await ns!.addresses()).includes("169.254.169.254/24");
    ns.spawn([...deno, `${dir}/echo.ts`], { env });
    const proxy = ns.spawn([...cliCommand(), "proxy"], { env });

    const meta = "http://169.254.169.254/latest/meta-data/iam/security-credentials/?a=1";
    const [first, put, get, moved] = await client([
      { url: meta },
      {
        method: "PUT",
        url: "http://169.254.169.254/latest/api/token",
        headers: { "X-aws-ec2-metadata-token-ttl-seconds": "21600" },
        body: "payload",
      },
      { url: meta, headers: { "X-aws-ec2-metadata-token": "tok-123" } },
      { url: "http://169.254.169.254/redirect" },
    ]);
    equal(first.status, 200, JSON.stringify(first));
    const seen = JSON.parse(first.body);
    deepStrictEqual([seen.method, seen.path, seen.host], [
      "GET",
      "/latest/meta-data/iam/security-credentials/?a=1",
      "169.254.169.254",
    ]);
    const putSeen = JSON.parse(put.body);
    deepStrictEqual([putSeen.method, putSeen.ttl, putSeen.body], ["PUT", "21600", "payload"]);
    equal(JSON.parse(get.body).token, "tok-123");
    deepStrictEqual([moved.status, moved.headers.location], [301, "/latest/"]);
    ok(await hasAlias(), "alias present while the proxy runs");

    const stop = await ns.run([...cliCommand(), "proxy", "--stop"], { env });
    equal(stop.code, 0, stop.stderr);
    const stopped = await within(proxy.done, 10_000, "proxy after --stop");
    equal(stopped.code, 0, stopped.stderr);
    ok(!(await hasAlias()), "alias removed after --stop");

    const again = ns.spawn([...cliCommand(), "proxy"], { env });
    equal((await client([{ url: "http://169.254.169.254/latest/meta-data/" }]))[0].status, 200);
    ok(await hasAlias());
    again.kill("SIGTERM");
    const terminated = await within(again.done, 10_000, "proxy after SIGTERM");
    equal(terminated.code, 0, terminated.stderr);
    ok(!(await hasAlias()), "alias removed after SIGTERM");
  } finally {
    await ns?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "proxy without rights to add the alias fails with ip's message and exit 1",
  ignore: skip !== undefined,
}, async () => {
  // Dropping CAP_NET_ADMIN is hard here; a missing `ip` on PATH exercises the same failure path instead.
  const dir = await Deno.makeTempDir({ prefix: "avt-noip-" });
  let ns: Netns | undefined;
  try {
    ns = await createNetns("noip");
    const r = await ns.run([...cliCommand(), "proxy"], { env: { ...baseEnv(dir), PATH: dir } });
    equal(r.code, 1);
    ok(r.stderr.includes("ip addr add 169.254.169.254/24 dev lo label lo:0 exited with status 127"), r.stderr);
  } finally {
    await ns?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- unit tests (no namespace needed) ----

const fakeRunner = (result: Partial<CommandResult>) => {
  const calls: string[][] = [];
  const full = { success: false, code: 1, output: "", ...result };
  return { calls, run: (argv: readonly string[]) => (calls.push([...argv]), Promise.resolve(full)) };
};

Deno.test("loopback alias: the exact argv per OS", () => {
  deepStrictEqual(aliasCommand("add", "linux"), [
    "ip",
    "addr",
    "add",
    "169.254.169.254/24",
    "dev",
    "lo",
    "label",
    "lo:0",
  ]);
  deepStrictEqual(aliasCommand("remove", "linux"), [
    "ip",
    "addr",
    "del",
    "169.254.169.254/24",
    "dev",
    "lo",
    "label",
    "lo:0",
  ]);
  deepStrictEqual(aliasCommand("add", "darwin"), ["ifconfig", "lo0", "alias", "169.254.169.254"]);
  deepStrictEqual(aliasCommand("remove", "freebsd"), ["ifconfig", "lo0", "-alias", "169.254.169.254"]);
  const netsh = ["netsh", "interface", "ipv4"];
  const rest = ["address", "Loopback Pseudo-Interface 1", "169.254.169.254", "255.255.0.0"];
  deepStrictEqual(aliasCommand("add", "windows"), [...netsh, "add", ...rest]);
  deepStrictEqual(aliasCommand("remove", "windows"), [...netsh, "delete", ...rest]);
});

Deno.test("loopback alias: already-there, not-found, administrator and failure messages", async () => {
  for (
    const text of [
      "The object already exists.",
      "Das Objekt ist bereits vorhanden.",
      "El objeto ya existe.",
      "Objektet findes allerede.",
    ]
  ) {
    const r = fakeRunner({ output: `\r\n${text}\r\n` });
    equal(await addLoopbackAlias({ os: "windows", run: r.run }), false, text);
    equal(r.calls[0][0], "netsh");
  }
  for (
    const text of [
      "Run as administrator",
      "Als Administrator ausführen",
      "Ejecutar como administrador",
      "Kør som administrator",
    ]
  ) {
    for (const change of [addLoopbackAlias, removeLoopbackAlias]) {
      const error = await change({
        os: "windows",
        run: fakeRunner({ output: `The requested operation requires elevation (${text}).` }).run,
      })
        .then(() => undefined, (e) => e);
      ok(error instanceof LoopbackAliasError, text);
      equal(error.message, RUN_AS_ADMINISTRATOR_MESSAGE);
    }
  }
  equal(
    await addLoopbackAlias({ os: "windows", run: fakeRunner({ success: true, code: 0, output: "Ok.\r\n" }).run }),
    true,
  );
  equal(
    await addLoopbackAlias({
      os: "linux",
      run: fakeRunner({ code: 2, output: "RTNETLINK answers: File exists\n" }).run,
    }),
    false,
  );
  equal(
    await addLoopbackAlias({
      os: "linux",
      run: fakeRunner({ code: 2, output: "Error: ipv4: Address already assigned.\n" }).run,
    }),
    false,
  );
  equal(
    await removeLoopbackAlias({
      os: "linux",
      run: fakeRunner({ code: 2, output: "Error: ipv4: Address not found.\n" }).run,
    }),
    false,
  );
  equal(await removeLoopbackAlias({ os: "darwin", run: fakeRunner({ success: true, code: 0 }).run }), true);
  await rejects(
    addLoopbackAlias({
      os: "darwin",
      run: fakeRunner({ output: "ifconfig: ioctl (SIOCAIFADDR): Permission denied\n" }).run,
    }),
    {
      message:
        "ifconfig: ioctl (SIOCAIFADDR): Permission denied: ifconfig lo0 alias 169.254.169.254 exited with status 1",
    },
  );
  // "already exists" wording of Windows means nothing elsewhere.
  await rejects(
    addLoopbackAlias({ os: "linux", run: fakeRunner({ output: "The object already exists" }).run }),
    LoopbackAliasError,
  );
});

Deno.test("proxy launch: sudo -b unless root or Windows; self command for deno run", () => {
  deepStrictEqual(proxyLaunchCommand(["/bin/av"], { os: "linux" }), ["sudo", "-b", "/bin/av", "proxy"]);
  deepStrictEqual(proxyLaunchCommand(["/bin/av"], { os: "darwin", root: true }), ["/bin/av", "proxy"]);
  deepStrictEqual(proxyLaunchCommand(["av.exe"], { os: "windows" }), ["av.exe", "proxy"]);
  deepStrictEqual(selfCommand(), [Deno.execPath(), "run", "-A", Deno.mainModule]);
});

Deno.test("startProxyProcess: reports a proxy that never answers, returns once one does", async () => {
  await rejects(
    startProxyProcess(["/bin/true"], { os: "linux", uid: 0, isRunning: () => Promise.resolve(false) }),
    { message: PROXY_NOT_RUNNING_MESSAGE },
  );
  let probes = 0;
  await startProxyProcess(["/bin/true"], { os: "linux", uid: 0, isRunning: () => Promise.resolve(++probes > 0) });
  equal(probes, 1);
});

function nodeRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      let body = "";
      res.on("data", (c) => body += c);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

Deno.test("ec2 proxy on loopback: method, path, query, body, Host and IMDSv2 headers; 301 kept; 502; /stop", async () => {
  const seen: {
    method: string;
    path: string;
    host: string | null;
    token: string | null;
    ttl: string | null;
    body: string;
  }[] = [];
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/latest") return new Response("", { status: 301, headers: { location: "/latest/" } });
    seen.push({
      method: req.method,
      path: url.pathname + url.search,
      host: req.headers.get("host"),
      token: req.headers.get("x-aws-ec2-metadata-token"),
      ttl: req.headers.get("x-aws-ec2-metadata-token-ttl-seconds"),
      body: await req.text(),
    });
    return new Response("answer", { headers: { "x-from": "target" } });
  });
  let stops = 0;
  const proxy = await startEc2Proxy({
    listen: { hostname: "127.0.0.1", port: 0 },
    target: `http://127.0.0.1:${target.addr.port}`,
    onStop: () => stops++,
  });
  const base = `http://127.0.0.1:${proxy.addr.port}`;
  try {
    const r = await nodeRequest(`${base}/latest/api/token?x=1`, {
      method: "PUT",
      headers: { host: "169.254.169.254", "X-aws-ec2-metadata-token-ttl-seconds": "60" },
      body: "b0dy",
    });
    deepStrictEqual([r.status, r.body, r.headers["x-from"]], [200, "answer", "target"]);
    await nodeRequest(`${base}/latest/meta-data/`, {
      headers: { host: "169.254.169.254:80", "X-aws-ec2-metadata-token": "t" },
    });
    deepStrictEqual(seen, [
      { method: "PUT", path: "/latest/api/token?x=1", host: "169.254.169.254", token: null, ttl: "60", body: "b0dy" },
      { method: "GET", path: "/latest/meta-data/", host: "169.254.169.254:80", token: "t", ttl: null, body: "" },
    ]);
    const moved = await nodeRequest(`${base}/latest`);
    deepStrictEqual([moved.status, moved.headers.location], [301, "/latest/"]);
    equal(await isProxyRunning({ address: proxy.addr }), true);
    equal((await nodeRequest(`${base}/stop`)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 10));
    equal(stops, 1);
    await target.shutdown();
    equal((await nodeRequest(`${base}/latest/meta-data/`)).status, 502);
  } finally {
    await proxy.close();
    await target.shutdown().catch(() => {});
  }
  equal(await isProxyRunning({ address: proxy.addr }), false);
});

Deno.test("container proxy on loopback: token added, Host rewritten, only GET / and /role-arn/, /health local", async () => {
  const seen: { path: string; auth: string | null; host: string | null }[] = [];
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    seen.push({
      path: url.pathname + url.search,
      auth: req.headers.get("authorization"),
      host: req.headers.get("host"),
    });
    if (url.pathname.includes("denied")) return Response.json({ Message: "AccessDenied" }, { status: 500 });
    return Response.json({ AccessKeyId: "ASIAX" });
  });
  const targetHost = `127.0.0.1:${target.addr.port}`;
  const proxy = await startContainerProxy({
    listen: { hostname: "127.0.0.1", port: 0 },
    target: `http://${targetHost}/`,
    token: "secret-token",
  });
  const base = `http://127.0.0.1:${proxy.addr.port}`;
  const arn = "arn:aws:iam::111111111111:role/app";
  try {
    const r = await fetch(`${base}/role-arn/${arn}`, { headers: { authorization: "client-supplied" } });
    deepStrictEqual([r.status, await r.json()], [200, { AccessKeyId: "ASIAX" }]);
    equal(await (await fetch(`${base}/`)).text(), '{"AccessKeyId":"ASIAX"}');
    const denied = await fetch(`${base}/role-arn/denied`);
    deepStrictEqual([denied.status, await denied.json()], [500, { Message: "AccessDenied" }]);
    deepStrictEqual(seen, [
      { path: `/role-arn/${arn}`, auth: "secret-token", host: targetHost },
      { path: "/", auth: "secret-token", host: targetHost },
      { path: "/role-arn/denied", auth: "secret-token", host: targetHost },
    ]);
    const health = await fetch(`${base}/health`);
    deepStrictEqual([health.status, await health.text()], [200, "ok\n"]);
    const other = await fetch(`${base}/latest/meta-data/`);
    deepStrictEqual([other.status, (await other.json()).Message], [404, "no credentials at /latest/meta-data/"]);
    const post = await fetch(`${base}/`, { method: "POST", body: "x" });
    deepStrictEqual([post.status, post.headers.get("allow")], [405, "GET"]);
    await post.body?.cancel();
    const rebound = await nodeRequest(`${base}/`, { headers: { host: "evil.example" } });
    deepStrictEqual([rebound.status, JSON.parse(rebound.body).Message], [403, "Access denied for host 'evil.example'"]);
    equal(seen.length, 3, "refused requests never reach the host");
    await target.shutdown();
    const down = await fetch(`${base}/`);
    equal(down.status, 502);
    ok(!(await down.text()).includes("secret-token"));
  } finally {
    await proxy.close();
    await target.shutdown().catch(() => {});
  }
});

Deno.test("container proxy: listen addresses and targets", () => {
  deepStrictEqual(parseListenAddress("169.254.170.2:80"), { hostname: "169.254.170.2", port: 80 });
  deepStrictEqual(parseListenAddress(":8080"), { hostname: "0.0.0.0", port: 8080 });
  deepStrictEqual(parseListenAddress("[::1]:80"), { hostname: "::1", port: 80 });
  for (const bad of ["169.254.170.2", "host:99999", "a:b", "::1:80"]) {
    let threw = false;
    try {
      parseListenAddress(bad);
    } catch {
      threw = true;
    }
    ok(threw, bad);
  }
  equal(parseTarget("http://172.17.0.1:4321").host, "172.17.0.1:4321");
  let message = "";
  try {
    parseTarget("ftp://x");
  } catch (e) {
    message = (e as Error).message;
  }
  equal(message, "the target must be an http or https URL, not ftp:");
});
