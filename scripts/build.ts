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

async function bundle(): Promise<boolean> {
  await Deno.mkdir(dist, { recursive: true });
  const out = new URL("aws-vault.js", dist).pathname;
  const result = await run(["bundle", "--quiet", "--platform", "deno", "-o", out, entry]);
  if (!result.ok) {
    console.error(result.output);
    return false;
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
