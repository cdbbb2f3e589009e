/**
 * What users run: the bundle built by scripts/build.ts, installed by scripts/install from a copy of this checkout
 * (as a fresh clone would have it, in a path with a space), then run from `/` with an empty DENO_DIR, no deno.json
 * or package.json that Deno may read, and a proxy that records any connection the run makes.
 */
import { docBlock, stripComment } from "./support/doc_examples.ts";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { makeSandbox } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";

const root = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], options: { env: Record<string, string>; cwd?: string }): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env,
    clearEnv: true,
    cwd: options.cwd ?? "/",
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The files a clone of this checkout has (tracked, plus new files not ignored), copied to `dest`. */
async function copyCheckout(dest: string): Promise<void> {
  const listed = await new Deno.Command("git", {
    args: ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    stdout: "piped",
  }).output();
  for (const path of decoder.decode(listed.stdout).split("\0").filter(Boolean)) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(`${root}${path}`);
    } catch {
      continue; // deleted in the working tree
    }
    const target = `${dest}/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${root}${path}`, target);
    if (info.mode !== null) await Deno.chmod(target, info.mode & 0o777);
  }
  // The pinned Deno comes from npm into .tools/; link the one already installed instead of fetching it again.
  await Deno.symlink(`${root}.tools`, `${dest}/.tools`);
}

/** A TCP listener that counts connections: given as HTTP(S)_PROXY, it sees every request a program makes. */
function recordingProxy(): { url: string; connections: () => number; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  (async () => {
    for await (const conn of listener) {
      count++;
      conn.close();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    connections: () => count,
    close: () => listener.close(),
  };
}

/** Whether dist/ was built from the current sources, by the rule scripts/install uses (`build.ts fresh`). */
async function bundleIsFresh(): Promise<boolean> {
  const fresh = await run(Deno.execPath(), ["run", "-A", "--quiet", `${root}scripts/build.ts`, "fresh"], {
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/" },
    cwd: root,
  });
  return fresh.code === 0;
}

Deno.test("the bundle: one entry, its modules beside it, dynamic imports hidden from Deno's graph, a real version", async () => {
  // scripts/test has just built the bundle; build it here only when it is missing or older than the sources, with the
  // same rule scripts/install uses.
  const env = { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/", NO_COLOR: "1" };
  if (!await bundleIsFresh()) {
    const build = await run(Deno.execPath(), ["run", "-A", `${root}scripts/build.ts`, "bundle"], { env, cwd: root });
    equal(build.code, 0, build.stderr);
  }
  ok(await bundleIsFresh(), "the bundle matches the sources and the version");
  const entry = await Deno.readTextFile(`${root}dist/aws-vault.js`);
  const specifiers = /(?:from|import)\s*(?:\(String\()?"((?:\.|node:|npm:|jsr:|https?:)[^"]*)"/g;
  for (const [, specifier] of entry.matchAll(specifiers)) {
    match(specifier, /^\.\/aws-vault\/[\w-]+\.js$/, "the entry imports only its own modules");
  }
  for (const { name } of Deno.readDirSync(`${root}dist/aws-vault`)) {
    const text = await Deno.readTextFile(`${root}dist/aws-vault/${name}`);
    ok(!/\bimport\("/.test(text), `${name}: a literal dynamic import would be loaded at start-up`);
  }
  const version = await run(Deno.execPath(), ["run", "-A", `${root}dist/aws-vault.js`, "--version"], {
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/" },
  });
  const commit = (await run("git", ["-C", root, "rev-parse", "--short=12", "HEAD"], { env: {} })).stdout.trim();
  match(version.stderr, new RegExp(`^v\\d+\\.\\d+\\.\\d+(-[\\w.]+)?\\+${commit}(\\.dirty)?\\n$`));
});

Deno.test({
  name: "scripts/install from a copy of the checkout: runs anywhere, offline, without Deno config; uninstalls cleanly",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "aws-vault-install-" });
    const checkout = `${work}/my checkout/aws-vault`;
    const prefix = `${work}/bin`;
    const fake = await startFakeAws();
    const proxy = recordingProxy();
    const sb = await makeSandbox({
      config: "[profile base]\nregion = eu-west-1\n\n[profile role]\nsource_profile = base\n" +
        "role_arn = arn:aws:iam::111111111111:role/r\n",
    });
    try {
      await copyCheckout(checkout);
      // README's Install section: install (with --prefix, as its comment offers), the PATH line, --version.
      const shown = docBlock("README.md", "readme-install").text.trim().split("\n").map(stripComment);
      deepEqual(shown, ["scripts/install", 'export PATH="$HOME/.local/bin:$PATH"', "aws-vault --version"]);
      const pathLine = shown[1].replace("$HOME/.local/bin", prefix);
      const installed = await run(`${checkout}/scripts/install`, ["--prefix", prefix], {
        env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/" },
        cwd: checkout,
      });
      equal(installed.code, 0, installed.stderr);
      match(installed.stdout, /installed aws-vault v\S+ as .*\/bin\/aws-vault/);
      match(installed.stdout, /is not on your PATH/);
      // The line README shows is the one scripts/install suggests, and with it the command is found.
      ok(installed.stdout.includes(pathLine), installed.stdout);
      const viaPath = await run("sh", ["-c", `${pathLine} && ${shown[2]}`], {
        env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/" },
        cwd: work,
      });
      equal(viaPath.code, 0, viaPath.stderr);
      match(viaPath.stderr, /^v\d+\.\d+\.\d+\S*\n$/);
      const command = `${prefix}/aws-vault`;

      // Run where Deno would find configuration if it looked: a broken deno.json and package.json in the cwd.
      const cwd = `${work}/elsewhere`;
      await Deno.mkdir(cwd);
      await Deno.writeTextFile(`${cwd}/deno.json`, "{ not json");
      await Deno.writeTextFile(`${cwd}/package.json`, "{ not json");
      const denoDir = `${work}/empty-deno-dir`;
      await Deno.mkdir(denoDir);
      fake.addUser({ userName: "u", accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x/y+z" });
      fake.addRole({ arn: "arn:aws:iam::111111111111:role/r" });
      const env = {
        ...sb.env,
        DENO_DIR: denoDir,
        HTTPS_PROXY: proxy.url,
        HTTP_PROXY: proxy.url,
        AWS_ENDPOINT_URL: fake.url,
        NO_PROXY: "127.0.0.1", // the fake AWS itself is reached directly
      };
      for (const dir of ["/", cwd]) {
        const version = await run(command, ["--version"], { env, cwd: dir });
        equal(version.code, 0, version.stderr);
        match(version.stderr, /^v\d+\.\d+\.\d+\S*\n$/);
      }
      const added = await run(command, ["add", "--env", "base"], {
        env: { ...env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "x/y+z" },
        cwd,
      });
      equal(added.code, 0, added.stderr);
      // A real STS round trip through the SDK module, then the same credentials from the session cache.
      const first = await run(command, ["export", "--format=json", "role"], { env, cwd });
      equal(first.code, 0, first.stderr);
      match(JSON.parse(first.stdout).AccessKeyId, /^ASIA/);
      const connectionsBefore = proxy.connections();
      const cached = await run(command, ["export", "--format=json", "role"], { env, cwd });
      deepEqual(JSON.parse(cached.stdout), JSON.parse(first.stdout));
      equal(fake.callsTo("AssumeRole").length, 1, "the second export is served from the cache");
      const completion = await run(command, ["--completion-bash", "exec", ""], { env, cwd });
      equal(completion.stdout, "base\nrole\n");
      const list = await run(command, ["list"], { env, cwd });
      match(list.stdout, /\nbase +base +/);
      equal(
        proxy.connections(),
        connectionsBefore,
        "no connection from --version, list, completion or a cached export",
      );
      equal(proxy.connections(), 0, "nothing at all went through the proxy (Deno's update check is off)");

      // The launcher's DENO_* settings do not reach the commands aws-vault runs.
      const child = await run(command, ["exec", "base", "--", "env"], { env, cwd });
      equal(child.code, 0, child.stderr);
      ok(
        !/^(DENO_NO_UPDATE_CHECK|DENO_NO_PACKAGE_JSON|DENO_TLS_CA_STORE|AWS_VAULT_LAUNCHER_ADDED)=/m.test(child.stdout),
        child.stdout,
      );
      // What the launcher asks of Deno (tests/tls_proxy_test.ts shows what the system store does).
      const launcher = await Deno.readTextFile(command);
      ok(launcher.includes("DENO_TLS_CA_STORE=mozilla,system") && launcher.includes("DENO_NO_UPDATE_CHECK=1"));
      ok(child.stdout.includes(`DENO_DIR=${denoDir}\n`), "a variable the user set is passed on");

      const removed = await run(`${checkout}/scripts/install`, ["--uninstall", "--prefix", prefix], { env: sb.env });
      equal(removed.code, 0, removed.stderr);
      deepEqual([...Deno.readDirSync(prefix)], [], "--uninstall leaves the prefix as it found it");

      // A checkout that moved: the launcher says so in one line.
      equal((await run(`${checkout}/scripts/install`, ["--prefix", prefix], { env: sb.env, cwd: checkout })).code, 0);
      await Deno.rename(`${work}/my checkout`, `${work}/moved`);
      const gone = await run(command, ["--version"], { env, cwd });
      equal(gone.code, 127);
      equal(gone.stdout, "");
      equal(gone.stderr.trimEnd().split("\n").length, 1, gone.stderr);
      // The line docs/install.md shows, with this checkout's path.
      const [goneLine] = docBlock("docs/install.md", "install-moved-checkout").text.split("\n");
      equal(gone.stderr, `${goneLine.replace("/home/me/src/aws-vault-deno", checkout)}\n`);
    } finally {
      proxy.close();
      await fake.close();
      await sb.cleanup();
      await Deno.remove(work, { recursive: true });
    }
  },
});
