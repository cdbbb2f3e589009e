/**
 * Build script: `bundle` writes dist/aws-vault.js (one file, runs with `deno run -A`);
 * `compile` runs `deno compile` for every release target into dist/.
 *
 * `deno compile` needs the `denort` runtime of each target, which Deno downloads from its own servers.
 * Where that download is impossible, this says so per target and exits non-zero; a runtime can be
 * provided offline as `$DENO_DIR/dl/release/v<version>/denort-<target>.zip` (Deno's own cache) or,
 * for the host target, through `DENORT_BIN`.
 * @module
 */

const root = new URL("..", import.meta.url);
const dist = new URL("dist/", root);
const entry = new URL("main.ts", root).pathname;

/** Release targets: Deno target triple and the output file name. */
const TARGETS: readonly { triple: string; file: string }[] = [
  { triple: "x86_64-unknown-linux-gnu", file: "aws-vault-linux-x64" },
  { triple: "aarch64-unknown-linux-gnu", file: "aws-vault-linux-arm64" },
  { triple: "x86_64-apple-darwin", file: "aws-vault-darwin-x64" },
  { triple: "aarch64-apple-darwin", file: "aws-vault-darwin-arm64" },
  { triple: "x86_64-pc-windows-msvc", file: "aws-vault-windows-x64.exe" },
];

async function run(args: string[]): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, output: text };
}

/** The specifier `src/aws/clients.ts` loads the SDK with; the bundle replaces it with the embedded module. */
const SDK_IMPORT = 'import("./sdk.ts")';
/** The file URL the embedded SDK believes it was loaded from. */
const SDK_URL = "file:///aws-vault/sdk.js";

/**
 * A `deno bundle` of everything would hoist the Node built-ins the AWS SDK imports to the top of the one file,
 * adding ~60 ms to every run, even the ones that never call AWS. So the SDK module is bundled on its own (minified),
 * embedded in the main bundle as a string, and imported from a blob: URL only when a call is made. A blob module has
 * no `require`, which the SDK's CommonJS parts use for Node built-ins: one is made with `createRequire`.
 */
async function embedSdk(main: string, tmp: string): Promise<string | undefined> {
  const sdkOut = `${tmp}/sdk.js`;
  const sdkEntry = new URL("src/aws/sdk.ts", root).pathname;
  const result = await run(["bundle", "--quiet", "--minify", "--platform", "deno", "-o", sdkOut, sdkEntry]);
  if (!result.ok) {
    console.error(result.output);
    return undefined;
  }
  // A blob: module's import.meta.url is a blob: URL, which Node's createRequire (used by the SDK's CommonJS shims)
  // refuses: give it a file URL instead. Nothing in the SDK loads files relative to itself.
  const body = (await Deno.readTextFile(sdkOut)).replaceAll("import.meta.url", JSON.stringify(SDK_URL));
  const sdk = 'import { createRequire as __awsVaultCreateRequire } from "node:module";\n' +
    `var require = __awsVaultCreateRequire(${JSON.stringify(SDK_URL)});\n` + body;
  const uses = main.split(SDK_IMPORT).length - 1;
  if (uses !== 1) {
    console.error(`bundle: expected ${SDK_IMPORT} once in the bundle, found it ${uses} times`);
    return undefined;
  }
  // Gzipped and base64-encoded: every run loads the whole file, and a 600 KB string literal costs milliseconds
  // on each start; a quarter of that costs a quarter. It is unpacked only when an AWS call is made.
  const packed = await new Response(
    new Blob([new TextEncoder().encode(sdk)]).stream().pipeThrough(new CompressionStream("gzip")),
  ).bytes();
  return main.replace(SDK_IMPORT, "__awsVaultSdkUrl().then((url) => import(url))") +
    "\n// The AWS SDK, loaded on first use (see scripts/build.ts).\n" +
    "async function __awsVaultSdkUrl() {\n" +
    `  const packed = Uint8Array.fromBase64("${packed.toBase64()}");\n` +
    '  const text = await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip")))' +
    ".text();\n" +
    '  return URL.createObjectURL(new Blob([text], { type: "text/javascript" }));\n' +
    "}\n";
}

async function bundle(): Promise<boolean> {
  await Deno.mkdir(dist, { recursive: true });
  const out = new URL("aws-vault.js", dist).pathname;
  const tmp = await Deno.makeTempDir({ prefix: "aws-vault-build-" });
  try {
    const mainOut = `${tmp}/main.js`;
    // Minified (names kept, for readable errors): ~1 ms less to load on every run, measured.
    const result = await run([
      "bundle",
      "--quiet",
      "--minify",
      "--keep-names",
      "--platform",
      "deno",
      "--external",
      "./sdk.ts",
      "-o",
      mainOut,
      entry,
    ]);
    if (!result.ok) {
      console.error(result.output);
      return false;
    }
    const text = await embedSdk(await Deno.readTextFile(mainOut), tmp);
    if (text === undefined) return false;
    await Deno.writeTextFile(out, text);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  console.log(`bundle: wrote ${out} (${(await Deno.stat(out)).size} bytes)`);
  return true;
}

async function compile(): Promise<boolean> {
  await Deno.mkdir(dist, { recursive: true });
  let failures = 0;
  for (const target of TARGETS) {
    const out = new URL(target.file, dist).pathname;
    const result = await run(["compile", "-A", "--quiet", "--target", target.triple, "-o", out, entry]);
    if (result.ok) {
      console.log(`compile: ${target.triple} -> ${out}`);
      continue;
    }
    failures++;
    if (/error sending request|dns error|Connect/i.test(result.output)) {
      console.error(
        `compile: ${target.triple}: the denort runtime for this target could not be downloaded (no access to Deno's ` +
          `download server from here). Provide it as $DENO_DIR/dl/release/v${Deno.version.deno}/denort-${target.triple}.zip` +
          (target.triple.includes("linux") && Deno.build.target === target.triple ? " or set DENORT_BIN" : "") +
          ", then run again.",
      );
    } else {
      console.error(`compile: ${target.triple} failed:\n${result.output}`);
    }
  }
  if (failures > 0) console.error(`compile: ${failures} of ${TARGETS.length} targets not built.`);
  return failures === 0;
}

const mode = Deno.args[0];
const ok = mode === "bundle" ? await bundle() : mode === "compile" ? await compile() : (() => {
  console.error("usage: deno run -A scripts/build.ts bundle|compile");
  return false;
})();
Deno.exit(ok ? 0 : 1);
