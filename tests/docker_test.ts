/**
 * Docker for real (docs/docker/README.md): a private dockerd (Debian's docker.io) with its own data-root, exec-root and
 * socket, an image built locally from the host's own binaries (no registry), the proxy image built from
 * docs/docker/Dockerfile on top of it, and the real `aws-vault exec --ecs-server` on the host:
 *
 * 1. an app container with only `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` fetches role credentials from the
 *    `container-proxy` container at 169.254.170.2 and calls the fake STS with them (curl --aws-sigv4);
 * 2. a `--network host` container does the same with the ECS server's URL and token;
 * 3. no key or token is in the app container's environment (docker inspect) or on any command line on the host;
 * 4. once aws-vault exits, the app container's next fetch fails.
 *
 * The daemon runs with `--bridge=none --iptables=false --ip-forward=false`: containers get `--network none` and the test
 * wires their namespaces with veth pairs on link-local addresses (tests/support/docker.ts). Skipped, with the reason
 * printed, where the daemon cannot run (not Linux, not root, no capabilities or cgroups, docker.io not installed).
 */
import { awsVaultCommands, docBlock, shellWords } from "./support/doc_examples.ts";
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  addVethPair,
  attachContainerNetns,
  buildRootfsImage,
  containerPid,
  dockerUnavailable,
  freeLinkLocal30,
  type PrivateDocker,
  startPrivateDocker,
} from "./support/docker.ts";
import { ip } from "./support/netns.ts";
import { cliCommand, makeSandbox, runCli } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";

const root = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();
const ACCOUNT = "111111111111";
const DEV_KEY = "AKIADEVDOCKER0000001";
const DEV_SECRET = "dev-docker/secret-key";

/** curl in the image signs the STS call itself: it needs --aws-sigv4 (curl 7.75+). */
async function curlUnavailable(): Promise<string | undefined> {
  const help = await new Deno.Command("curl", { args: ["--help", "all"], stdout: "piped", stderr: "null" }).output()
    .catch(() => undefined);
  if (!help?.success) return "curl is not installed";
  return decoder.decode(help.stdout).includes("--aws-sigv4") ? undefined : "curl has no --aws-sigv4 (needs 7.75+)";
}

const skip = await curlUnavailable() ?? await dockerUnavailable();
if (skip) console.log(`docker tests skipped: ${skip}`);

/** The local image: sh, curl and sleep for apps, deno as denoland/deno has it (a stand-in for that image). */
const BASE_IMAGE = "avt-local/deno-curl:test";
/** docs/docker/Dockerfile built with DENO_IMAGE=BASE_IMAGE. */
const PROXY_IMAGE = "avt-local/aws-vault-proxy:test";

/**
 * What an AWS SDK does in a container, in sh: fetch the credentials (from 169.254.170.2 for a relative URI, else from
 * the full URI with the token), print the access key id, then call STS GetCallerIdentity at "$1" signed with them.
 * Keys and token go to curl through its config on stdin, never on a command line.
 */
const APP_SCRIPT = `set -eu
if [ -n "\${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" ]; then
  url="http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; auth=""
else
  url="$AWS_CONTAINER_CREDENTIALS_FULL_URI"; auth="header = \\"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\\""
fi
echo "credentials-url $url"
creds=$(printf '%s\\n' "$auth" | curl -sS --fail-with-body --max-time 20 -K - "$url")
field() { v=\${creds#*\\"$1\\":\\"}; printf %s "\${v%%\\"*}"; }
echo "access-key-id $(field AccessKeyId)"
printf 'user = "%s:%s"\\nheader = "x-amz-security-token: %s"\\n' \\
  "$(field AccessKeyId)" "$(field SecretAccessKey)" "$(field Token)" |
  curl -sS --fail-with-body --max-time 20 -K - --aws-sigv4 aws:amz:us-east-1:sts \\
    --data 'Action=GetCallerIdentity&Version=2011-06-15' "$1"
`;

/** Waits, inside the app container, until the proxy answers /health (30 s at most). */
const WAIT_FOR_PROXY = `n=0
until curl -fs -o /dev/null --max-time 2 http://169.254.170.2/health; do
  n=$((n+1)); [ "$n" -lt 300 ] || exit 1; sleep 0.1
done`;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** dist/ built from the current sources (scripts/test builds it first); built here only when missing or stale. */
async function freshBundle(): Promise<void> {
  const build = (what: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${root}scripts/build.ts`, what],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
  if ((await build("fresh")).success) return;
  const built = await build("bundle");
  if (!built.success) throw new Error(`bundle: ${decoder.decode(built.stderr)}`);
}

/** The images: the local base from host binaries, then docs/docker/Dockerfile on it, in a copy of its context. */
async function buildImages(docker: PrivateDocker): Promise<void> {
  await buildRootfsImage(docker, BASE_IMAGE, {
    binaries: [
      { from: "/bin/sh", to: "/bin/sh" },
      { from: "/bin/sleep", to: "/bin/sleep" },
      { from: "/usr/bin/curl", to: "/usr/bin/curl" },
      { from: Deno.execPath(), to: "/usr/bin/deno" },
    ],
    files: {
      "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndeno:x:1993:1993:deno:/home/deno:/bin/sh\n",
      "/etc/group": "root:x:0:\ndeno:x:1993:\n",
    },
    dirs: { "/tmp": 0o1777, "/deno-dir": 0o1777, "/home/deno": 0o1777, "/root": 0o700 },
    dockerfile: ["ENV PATH=/usr/local/bin:/usr/bin:/bin DENO_DIR=/deno-dir/"],
  });
  await freshBundle();
  // The Dockerfile's context is the repository root; only what it copies is put into this one.
  const context = await Deno.makeTempDir({ dir: docker.dir, prefix: "proxy-context-" });
  await Deno.mkdir(`${context}/dist/aws-vault`, { recursive: true });
  await Deno.mkdir(`${context}/docs/docker`, { recursive: true });
  await Deno.copyFile(`${root}dist/aws-vault.js`, `${context}/dist/aws-vault.js`);
  for await (const entry of Deno.readDir(`${root}dist/aws-vault`)) {
    await Deno.copyFile(`${root}dist/aws-vault/${entry.name}`, `${context}/dist/aws-vault/${entry.name}`);
  }
  await Deno.copyFile(`${root}docs/docker/Dockerfile`, `${context}/docs/docker/Dockerfile`);
  await docker.ok([
    "build",
    "--quiet",
    "--file",
    `${context}/docs/docker/Dockerfile`,
    "--build-arg",
    `DENO_IMAGE=${BASE_IMAGE}`,
    "--tag",
    PROXY_IMAGE,
    context,
  ], { timeoutMs: 120_000 });
}

/**
 * aws-vault as a process, its output collected. `done` follows the process itself, not its pipes: a child it leaves
 * behind (a docker client) may hold them open.
 */
function spawnAwsVault(args: readonly string[], env: Record<string, string>) {
  const [cmd, ...rest] = cliCommand();
  const child = new Deno.Command(cmd, {
    args: [...rest, ...args],
    env,
    clearEnv: true,
    cwd: env.HOME,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = { stdout: "", stderr: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    for await (const chunk of stream) output[key] += decoder.decode(chunk);
  };
  const pumped = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]).catch(() => {});
  const done = child.status.then(async (status) => {
    await within(pumped, 2000, "aws-vault's output").catch(() => {});
    return { code: status.code, signal: status.signal, ...output };
  });
  return { pid: child.pid, done, output, kill: (signal: Deno.Signal) => child.kill(signal) };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: timeout`)), ms)
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Command lines of every process on the host (their argv as one string each, NULs as spaces). */
async function allCommandLines(): Promise<Map<number, string>> {
  const lines = new Map<number, string>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const bytes = await Deno.readFile(`/proc/${entry.name}/cmdline`).catch(() => undefined);
    if (bytes) lines.set(Number(entry.name), decoder.decode(bytes).replaceAll("\0", " "));
  }
  return lines;
}

/** `NAME=value` pairs of a container's configured environment. */
async function containerEnv(docker: PrivateDocker, name: string): Promise<string[]> {
  return JSON.parse(await docker.ok(["inspect", "--format", "{{json .Config.Env}}", name]));
}

/**
 * A command the docs show, with this machine's parts swapped in: each `[from, to]` replaces the first run of words
 * equal to `from`. A documented command that no longer has one fails the test, so the docs and the test move together.
 */
function substitute(argv: readonly string[], swaps: readonly [string[], string[]][]): string[] {
  const out = [...argv];
  for (const [from, to] of swaps) {
    const at = out.findIndex((_, i) => from.every((w, j) => out[i + j] === w));
    if (at < 0) throw new Error(`the documented command has no ${from.join(" ")}: ${argv.join(" ")}`);
    out.splice(at, from.length, ...to);
  }
  return out;
}

const keyIdIn = (output: string) => /^access-key-id (\S+)$/m.exec(output)?.[1];
const arnIn = (xml: string) => /<Arn>([^<]+)<\/Arn>/.exec(xml)?.[1] ?? `(no Arn in: ${xml})`;

Deno.test({
  name: "docker: containers get role credentials from aws-vault (container-proxy at 169.254.170.2, host network)",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const forwarding = () => Deno.readTextFile("/proc/sys/net/ipv4/ip_forward");
  const forwardingBefore = await forwarding();
  const cleanups: (() => Promise<unknown>)[] = [];
  const docker = await startPrivateDocker();
  cleanups.push(() => docker.close());
  try {
    await buildImages(docker);
    const id = crypto.getRandomValues(new Uint8Array(3)).toHex();
    const holder = `avt-proxynet-${id}`;
    const app = `avt-app-${id}`;
    const proxy = `avt-proxy-${id}`;
    const appRole = `arn:aws:iam::${ACCOUNT}:role/app-role`;

    // The "aws-vault" network of docs/docker: the proxy at 169.254.170.2 and the app beside it. The proxy's
    // namespace belongs to a holder container, so 169.254.170.2 exists before the proxy starts in it (as a network
    // created with `docker network create` would); the app's is wired while it runs.
    await docker.ok(["run", "-d", "--name", holder, "--network", "none", BASE_IMAGE, "sleep", "600"]);
    await docker.ok([
      "run",
      "-d",
      "--name",
      app,
      "--network",
      "none",
      "-e",
      `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/role-arn/${appRole}`,
      BASE_IMAGE,
      "sleep",
      "600",
    ]);
    const proxyNs = await attachContainerNetns(await containerPid(docker, holder), "dkproxy");
    cleanups.push(() => ip("netns", "del", proxyNs));
    const appNs = await attachContainerNetns(await containerPid(docker, app), "dkapp");
    cleanups.push(() => ip("netns", "del", appNs));
    // Proxy to host: the host end is where the ECS server listens (docker0's 172.17.0.1 in the docs).
    const toHost = await freeLinkLocal30();
    cleanups.push(
      await addVethPair({ address: `${toHost.first}/30` }, { netns: proxyNs, address: `${toHost.second}/30` }),
    );
    cleanups.push(
      await addVethPair({ netns: proxyNs, address: "169.254.170.2/24" }, { netns: appNs, address: "169.254.170.3/24" }),
    );
    // App to host: its way to "AWS" (the fake), like the default network in docs/docker/docker-compose.yml.
    const toAws = await freeLinkLocal30();
    cleanups.push(await addVethPair({ address: `${toAws.first}/30` }, { netns: appNs, address: `${toAws.second}/30` }));

    const fake = await startFakeAws({ hostname: toAws.first });
    cleanups.push(() => fake.close());
    fake.addUser({ userName: "dev", accessKeyId: DEV_KEY, secretAccessKey: DEV_SECRET });
    fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/base` });
    fake.addRole({ arn: appRole });
    const sb = await makeSandbox({
      config: `[profile dev]\nregion = us-east-1\n[profile base]\nsource_profile = dev\n` +
        `role_arn = arn:aws:iam::${ACCOUNT}:role/base\n`,
    });
    cleanups.push(() => sb.cleanup());
    const env = { ...sb.env, ...docker.env, AWS_ENDPOINT_URL: fake.url };
    const added = await runCli(["add", "--env", "dev"], {
      env: { ...env, AWS_ACCESS_KEY_ID: DEV_KEY, AWS_SECRET_ACCESS_KEY: DEV_SECRET },
    });
    equal(added.code, 0, added.stderr);
    const stsUrl = `${fake.url}/`;

    await t.step(
      "container-proxy: an app with only the relative URI calls STS as the role; nothing secret leaks; access ends with aws-vault",
      async () => {
        // What docs/docker/README.md has users run, with `docker run` in place of compose.
        const [shown] = awsVaultCommands(docBlock("docs/docker/README.md", "docker-proxy-run").text);
        const vault = spawnAwsVault(
          substitute(shown, [
            [["172.17.0.1"], [toHost.first]],
            [["docker"], [docker.cli]],
            [["--name", "aws-vault-proxy"], ["--name", proxy]],
            [["--network", "aws-vault", "--ip", "169.254.170.2"], ["--network", `container:${holder}`]],
            [["aws-vault-proxy"], [PROXY_IMAGE]],
          ]),
          env,
        );
        let vaultExited = false;
        vault.done.then(() => vaultExited = true);
        try {
          const first = await Promise.race([
            docker.run(["exec", app, "sh", "-c", WAIT_FOR_PROXY]).then((ready) => ({ ready })),
            vault.done.then((exited) => ({ exited })),
          ]);
          if ("exited" in first) throw new Error(`aws-vault exited first: ${JSON.stringify(first.exited)}`);
          equal(first.ready.code, 0, "the proxy answers /health at 169.254.170.2");

          // The app of docs/docker ("docker-app-run"): on the proxy's network, with only the relative URI of a role.
          const appShown = shellWords(
            docBlock("docs/docker/README.md", "docker-app-run").text.replace(/\\\n\s*/g, " "),
          );
          deepStrictEqual(appShown.slice(0, 5), ["docker", "run", "--rm", "--network", "aws-vault"]);
          match(appShown[6], /^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=\/role-arn\/arn:aws:iam::\d{12}:role\/[\w-]+$/);
          const call = await docker.run(["exec", app, "sh", "-c", APP_SCRIPT, "sh", stsUrl]);
          equal(call.code, 0, `${call.stdout}\n${call.stderr}`);
          ok(call.stdout.startsWith(`credentials-url http://169.254.170.2/role-arn/${appRole}\n`), call.stdout);
          match(arnIn(call.stdout), new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/app-role/`));
          deepStrictEqual(
            fake.callsTo("AssumeRole").map((c) => [c.params.RoleArn, c.status]),
            [[`arn:aws:iam::${ACCOUNT}:role/base`, 200], [appRole, 200]],
          );
          ok(fake.callsTo("AssumeRole")[1].accessKeyId?.startsWith("ASIA"), "app-role assumed with base's session");
          const identity = fake.callsTo("GetCallerIdentity");
          equal(identity.length, 1);
          equal(identity[0].status, 200);
          ok(identity[0].accessKeyId?.startsWith("ASIA"), "signed with the role's session keys");
          equal(identity[0].accessKeyId, keyIdIn(call.stdout), "signed with the keys the proxy handed out");

          // The token, as the proxy container has it (docs/docker: visible to docker inspect there, by design).
          const proxyEnv = await containerEnv(docker, proxy);
          const token = proxyEnv.find((e) => e.startsWith("AWS_CONTAINER_AUTHORIZATION_TOKEN="))?.split("=")[1] ?? "";
          const ecsUrl = proxyEnv.find((e) => e.startsWith("AWS_CONTAINER_CREDENTIALS_FULL_URI="))?.split("=")[1] ?? "";
          ok(token.length >= 32, "the proxy got the token through its environment");
          equal(ecsUrl.replace(/:\d+$/, ""), `http://${toHost.first}`);
          ok(!JSON.stringify(proxyEnv).includes(DEV_SECRET) && !JSON.stringify(proxyEnv).includes(DEV_KEY));

          // No key or token in the app container: its configuration is the image's plus the relative URI.
          const imageEnv: string[] = JSON.parse(
            await docker.ok(["image", "inspect", "--format", "{{json .Config.Env}}", BASE_IMAGE]),
          );
          deepStrictEqual(
            (await containerEnv(docker, app)).sort(),
            [...imageEnv, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/role-arn/${appRole}`].sort(),
          );
          const inspectApp = await docker.ok(["inspect", app]);
          for (const secret of [token, DEV_SECRET, DEV_KEY, "ASIA"]) ok(!inspectApp.includes(secret), secret);
          const exported = await docker.ok(["exec", app, "sh", "-c", "export -p"]);
          deepStrictEqual(exported.split("\n").filter((l) => /AWS_/.test(l)), [
            `export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI='/role-arn/${appRole}'`,
          ]);
          // Nor on any command line: the container-proxy's (as the host sees it), aws-vault's, docker's.
          const proxyPid = await containerPid(docker, proxy);
          const argv = decoder.decode(await Deno.readFile(`/proc/${proxyPid}/cmdline`)).split("\0").filter(Boolean);
          deepStrictEqual(argv, ["deno", "run", "-A", "/opt/aws-vault/aws-vault.js", "container-proxy"]);
          const lines = await allCommandLines();
          ok(lines.get(vault.pid)?.includes("--ecs-server"), "aws-vault's own command line was read");
          for (const [pid, line] of lines) {
            ok(!line.includes(token), `the token on the command line of pid ${pid}`);
            ok(!line.includes(DEV_SECRET), `the stored secret on the command line of pid ${pid}`);
          }
          // Only the proxy reaches the ECS server: the app has no route to it.
          const direct = await docker.run(["exec", app, "curl", "-sS", "--max-time", "3", `${ecsUrl}/`]);
          ok(direct.code !== 0, `the app reached the ECS server directly: ${direct.stdout}`);

          // docs/docker/Dockerfile's HEALTHCHECK (container-proxy --check-running, every 5 s) passes.
          await waitFor("the proxy container to be healthy", async () => {
            return (await docker.ok(["inspect", "--format", "{{.State.Health.Status}}", proxy])) === "healthy";
          }, 20_000);

          // aws-vault exits (SIGTERM, passed on to docker run and the proxy): the app's next fetch fails.
          vault.kill("SIGTERM");
          const ended = await within(vault.done, 30_000, "aws-vault after SIGTERM");
          equal(ended.code, 0, ended.stderr);
          equal(await docker.ok(["ps", "-aq", "--filter", `name=^/${proxy}$`]), "", "the proxy container is gone");
          const after = await docker.run([
            "exec",
            app,
            "curl",
            "-sS",
            "--max-time",
            "5",
            `http://169.254.170.2/role-arn/${appRole}`,
          ]);
          equal(after.code, 7, `the app still got an answer: ${after.stdout}${after.stderr}`);
          const server = await fetch(`${ecsUrl}/`, { headers: { authorization: token } })
            .then((r) => (r.body?.cancel(), `answered ${r.status}`), () => "refused");
          equal(server, "refused", "the ECS server stopped with aws-vault");
          equal(fake.callsTo("GetCallerIdentity").length, 1);
        } catch (error) {
          console.error(
            `aws-vault:\n${vault.output.stdout}${vault.output.stderr}\ndockerd:\n${docker.log().slice(-4000)}`,
          );
          throw error;
        } finally {
          if (!vaultExited) vault.kill("SIGKILL");
          await vault.done;
        }
      },
    );

    await t.step(
      "host network: the ECS server on 127.0.0.1 with the full URI and token; gone when aws-vault exits",
      async () => {
        fake.clearCalls();
        const [shown] = awsVaultCommands(docBlock("docs/docker/README.md", "docker-host-network").text);
        const vault = spawnAwsVault(
          substitute(shown, [
            [["docker"], [docker.cli]],
            [["amazon/aws-cli", "sts", "get-caller-identity"], [BASE_IMAGE, "sh", "-c", APP_SCRIPT, "sh", stsUrl]],
          ]),
          env,
        );
        const r = await within(vault.done, 60_000, "aws-vault exec … docker run --network host");
        equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        const url = /^credentials-url (http:\/\/127\.0\.0\.1:\d+)\n/.exec(r.stdout)?.[1];
        ok(url, r.stdout);
        match(arnIn(r.stdout), new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/base/`));
        const identity = fake.callsTo("GetCallerIdentity");
        deepStrictEqual(identity.map((c) => [c.status, c.accessKeyId]), [[200, keyIdIn(r.stdout)]]);
        ok(keyIdIn(r.stdout)?.startsWith("ASIA"), r.stdout);
        const after = await docker.run([
          "run",
          "--rm",
          "--network",
          "host",
          BASE_IMAGE,
          "curl",
          "-sS",
          "--max-time",
          "5",
          url,
        ]);
        equal(after.code, 7, `the server still answered: ${after.stdout}${after.stderr}`);
      },
    );
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error) => console.error(`docker test cleanup: ${(error as Error).message}`));
    }
  }
  equal(await forwarding(), forwardingBefore, "the engine left net.ipv4.ip_forward as it was");
});
