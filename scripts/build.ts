/**
 * Build script.
 *
 * - `bundle` writes the program that `scripts/install` installs: `dist/aws-vault.js` (the entry: command table,
 *   parser, help, completion) and `dist/aws-vault/` (one module per command and the code they share, plus the AWS
 *   SDK). Runs with `deno run -A dist/aws-vault.js`.
 * - `compile` runs `deno compile` on that bundle for every release target into `dist/`.
 * - `version` prints the version the build embeds.
 *
 * Why the bundle is split (measured, see docs/performance.md): every byte of JavaScript Deno loads costs start-up
 * time, whether it runs or not, and a command like a cached `export` needs about a third of the program. So each
 * command's implementation is its own module, loaded when that command runs, and code shared by several commands sits
 * in shared modules. Dynamic imports are written so that Deno cannot see their targets before they run
 * (`import(String("./x.js"))`): Deno otherwise loads every statically named dynamic import at start-up.
 *
 * The AWS SDK is bundled on its own (it needs Node built-ins and a `require`), loaded on the first AWS call.
 *
 * `deno compile` needs the `denort` runtime of each target, which Deno downloads from its own servers. Where that
 * download is impossible, this says so per target and exits non-zero; a runtime can be provided offline as
 * `$DENO_DIR/dl/release/v<version>/denort-<target>.zip` (Deno's own cache) or, for the host target, through
 * `DENORT_BIN`.
 * @module
 */

const root = new URL("..", import.meta.url);
const dist = new URL("dist/", root);
/** A file URL as a path (the checkout's path may hold spaces, which URLs escape). */
const path = (url: URL) => decodeURIComponent(url.pathname);
/** The entry `scripts/install` runs. */
const ENTRY = "aws-vault.js";
/** The folder beside the entry that holds the modules it loads. */
const MODULES = "aws-vault";

/** Release targets: Deno target triple and the output file name. */
const TARGETS: readonly { triple: string; file: string }[] = [
  { triple: "x86_64-unknown-linux-gnu", file: "aws-vault-linux-x64" },
  { triple: "aarch64-unknown-linux-gnu", file: "aws-vault-linux-arm64" },
  { triple: "x86_64-apple-darwin", file: "aws-vault-darwin-x64" },
  { triple: "aarch64-apple-darwin", file: "aws-vault-darwin-arm64" },
  { triple: "x86_64-pc-windows-msvc", file: "aws-vault-windows-x64.exe" },
];

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; output: string; stdout: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: path(root),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  })
    .output()
    .catch((e) => ({ success: false, stdout: new Uint8Array(), stderr: new TextEncoder().encode(String(e)) }));
  const stdout = new TextDecoder().decode(out.stdout);
  return { ok: out.success, output: stdout + new TextDecoder().decode(out.stderr), stdout };
}

const deno = (args: string[]) => run(Deno.execPath(), args);

/** The version string `src/core/version.ts` carries from source; the build replaces it (once) in the bundle. */
const SOURCE_VERSION_LITERAL = /export const VERSION = "([^"]+)";/;

/**
 * The version to embed: `$AWS_VAULT_VERSION` (the release workflow sets it from the tag), else the tag `vX.Y.Z` at
 * HEAD, else `<source version>+<commit>` (with `.dirty` when the tree has changes), else the source version.
 */
export async function buildVersion(): Promise<{ source: string; version: string }> {
  const text = await Deno.readTextFile(new URL("src/core/version.ts", root));
  const source = text.match(SOURCE_VERSION_LITERAL)?.[1];
  if (!source) throw new Error("src/core/version.ts does not declare VERSION as a string literal");
  const given = Deno.env.get("AWS_VAULT_VERSION");
  if (given) return { source, version: given.replace(/^v/, "") };
  const git = (...args: string[]) => run("git", ["-C", path(root), ...args]);
  const tag = await git("describe", "--tags", "--exact-match", "--match", "v[0-9]*");
  if (tag.ok) return { source, version: tag.stdout.trim().replace(/^v/, "") };
  const commit = await git("rev-parse", "--short=12", "HEAD");
  if (!commit.ok) return { source, version: source };
  const dirty = (await git("status", "--porcelain", "--untracked-files=no")).stdout.trim() !== "";
  return { source, version: `${source}+${commit.stdout.trim()}${dirty ? ".dirty" : ""}` };
}

/** Matches a dynamic import with a literal specifier, as the bundler writes it: `import("./x.js")`. */
const LITERAL_DYNAMIC_IMPORT = /\bimport\("((?:\.\/|node:)[^"]+)"\)/g;

/** Hides dynamic import targets from Deno's module graph (see the module comment). */
function deferDynamicImports(code: string): string {
  return code.replace(LITERAL_DYNAMIC_IMPORT, (_, specifier) => `import(String(${JSON.stringify(specifier)}))`);
}

/** The specifier `src/aws/clients.ts` loads the SDK with; the bundle points it at `sdk.js` beside it. */
const SDK_IMPORT = 'import("./sdk.ts")';

async function bundleSdk(out: string): Promise<boolean> {
  const result = await deno(["bundle", "--quiet", "--minify", "--platform", "deno", "-o", out, "src/aws/sdk.ts"]);
  if (!result.ok) console.error(result.output);
  return result.ok;
}

async function bundle(): Promise<boolean> {
  const { source, version } = await buildVersion();
  const tmp = await Deno.makeTempDir({ prefix: "aws-vault-build-" });
  try {
    // Minified: fewer bytes to load on every run. Not --keep-names, which adds a call per function and class to every
    // run; no code here depends on a function's or class's name.
    const result = await deno([
      "bundle",
      "--quiet",
      "--minify",
      "--platform",
      "deno",
      "--code-splitting",
      "--external",
      "./sdk.ts",
      "--outdir",
      `${tmp}/app`,
      "main.ts",
    ]);
    if (!result.ok) {
      console.error(result.output);
      return false;
    }
    if (!await bundleSdk(`${tmp}/app/sdk.js`)) return false;

    const files = [...Deno.readDirSync(`${tmp}/app`)].map((e) => e.name).sort();
    let sdkUses = 0;
    let versionUses = 0;
    for (const name of files) {
      let code = await Deno.readTextFile(`${tmp}/app/${name}`);
      if (name === "sdk.js") {
        await Deno.writeTextFile(`${tmp}/app/${name}`, deferDynamicImports(code));
        continue;
      }
      sdkUses += code.split(SDK_IMPORT).length - 1;
      code = code.replaceAll(SDK_IMPORT, 'import("./sdk.js")');
      versionUses += code.split(JSON.stringify(source)).length - 1;
      code = code.replaceAll(JSON.stringify(source), JSON.stringify(version));
      code = deferDynamicImports(code);
      if (name === "main.js") {
        // The entry sits one level up from the modules it imports.
        code = code.replace(/(from|import)\s*(\(String\()?"\.\//g, `$1$2"./${MODULES}/`);
      }
      await Deno.writeTextFile(`${tmp}/app/${name}`, code);
    }
    if (sdkUses !== 1 || versionUses !== 1) {
      console.error(
        `bundle: expected ${SDK_IMPORT} and the version literal once each, found ${sdkUses} and ${versionUses}`,
      );
      return false;
    }

    // Replace the previous build as a whole, so no module of an older build lingers.
    await Deno.mkdir(dist, { recursive: true });
    const modules = path(new URL(`${MODULES}/`, dist));
    await Deno.remove(modules, { recursive: true }).catch(() => {});
    await Deno.mkdir(modules);
    let bytes = 0;
    for (const name of files) {
      const target = name === "main.js" ? path(new URL(ENTRY, dist)) : `${modules}${name}`;
      await Deno.copyFile(`${tmp}/app/${name}`, target);
      bytes += (await Deno.stat(target)).size;
    }
    // What scripts/install compares with the version a build would embed now, to know whether to rebuild.
    await Deno.writeTextFile(path(new URL(ENTRY.replace(/\.js$/, ".version"), dist)), `${version}\n`);
    console.log(
      `bundle: wrote dist/${ENTRY} and ${files.length - 1} modules in dist/${MODULES}/ (${bytes} bytes), ${version}`,
    );
    return true;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function compile(): Promise<boolean> {
  if (!await bundle()) return false;
  let failures = 0;
  const entry = path(new URL(ENTRY, dist));
  const modules = path(new URL(`${MODULES}/`, dist));
  // The compiled program is the bundle, so it runs the same code as the installed command. Its modules are loaded
  // through deferred imports that `deno compile` cannot follow, so each is included by name.
  const includes = [...Deno.readDirSync(modules)].flatMap((e) => ["--include", `${modules}${e.name}`]);
  for (const target of TARGETS) {
    const out = path(new URL(target.file, dist));
    const result = await deno([
      "compile",
      "-A",
      "--quiet",
      "--no-config",
      // As the launcher runs it (scripts/install): a bounded V8 nursery keeps a busy credential server's memory flat.
      "--v8-flags=--max-semi-space-size=2",
      ...includes,
      "--target",
      target.triple,
      "-o",
      out,
      entry,
    ]);
    if (result.ok) {
      console.log(`compile: ${target.triple} -> ${out}`);
      continue;
    }
    failures++;
    if (/error sending request|dns error|Connect/i.test(result.output)) {
      console.error(
        `compile: ${target.triple}: the denort runtime for this target could not be downloaded (no access to Deno's ` +
          `download server from here). Provide it as $DENO_DIR/dl/release/v${Deno.version.deno}/denort-${target.triple}.zip` +
          (Deno.build.target === target.triple ? " or set DENORT_BIN" : "") +
          ", then run again.",
      );
    } else {
      console.error(`compile: ${target.triple} failed:\n${result.output}`);
    }
  }
  if (failures > 0) console.error(`compile: ${failures} of ${TARGETS.length} targets not built.`);
  return failures === 0;
}

/** What the bundle is built from: a file or folder newer than `dist/aws-vault.js` means it is out of date. */
const BUNDLE_SOURCES = ["main.ts", "deno.json", "deno.lock", "src", "scripts/build.ts"];

/**
 * Whether `dist/` was built from the current sources: it carries the version {@link buildVersion} gives now and no
 * source file is newer than it. `scripts/install` and the bundle test use this to build only when needed.
 */
export async function bundleIsFresh(): Promise<boolean> {
  const built = await Deno.readTextFile(new URL("dist/aws-vault.version", root)).catch(() => undefined);
  if (built?.trim() !== (await buildVersion()).version) return false;
  const bundled = (await Deno.stat(new URL("dist/aws-vault.js", root)).catch(() => undefined))?.mtime?.getTime();
  if (bundled === undefined) return false;
  const newest = async (url: URL): Promise<number> => {
    const info = await Deno.stat(url).catch(() => undefined);
    if (!info?.isDirectory) return info?.mtime?.getTime() ?? 0;
    let latest = 0;
    for await (const entry of Deno.readDir(url)) {
      latest = Math.max(latest, await newest(new URL(entry.name + (entry.isDirectory ? "/" : ""), url)));
    }
    return latest;
  };
  for (const source of BUNDLE_SOURCES) {
    if (await newest(new URL(source + (source.includes(".") ? "" : "/"), root)) > bundled) return false;
  }
  return true;
}

if (import.meta.main) {
  const mode = Deno.args[0];
  let ok = false;
  if (mode === "bundle") ok = await bundle();
  else if (mode === "compile") ok = await compile();
  else if (mode === "version") {
    console.log((await buildVersion()).version);
    ok = true;
  } else if (mode === "fresh") {
    ok = await bundleIsFresh(); // exit status only
  } else console.error("usage: deno run -A scripts/build.ts bundle|compile|version|fresh");
  Deno.exit(ok ? 0 : 1);
}
