/**
 * scripts/licenses.ts: the npm packages in the shipped bundle, their versions (from deno.lock) and licences (from each
 * package's own package.json in Deno's npm cache), the allow-list that fails a run, and THIRD_PARTY_NOTICES.md.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { denoNpmCache, licenseAllowed, licenseReport, noticesText } from "../scripts/licenses.ts";

const root = new URL("../", import.meta.url).pathname;
/** The report for this checkout, made once: each one bundles the program again. */
let bundled: ReturnType<typeof licenseReport> | undefined;
const bundleReport = () => bundled ??= licenseReport();

/** Whether dist/ was built from the current sources (scripts/build.ts fresh), so the shipped SDK can be compared. */
async function bundleIsFresh(): Promise<boolean> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${root}scripts/build.ts`, "fresh"],
    cwd: root,
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

Deno.test("the bundle's packages are the AWS SDK's, at the versions deno.lock pins, each with an allowed licence", async () => {
  const report = await bundleReport();
  equal(report.source, "bundle");
  deepEqual(report.problems, []);
  const lock = JSON.parse(await Deno.readTextFile(`${root}deno.lock`));
  const version = (name: string) => report.packages.find((p) => p.name === name)?.version;
  // What src/aws/sdk.ts imports, at the versions deno.json asks for and deno.lock resolves.
  for (
    const name of ["@aws-sdk/client-sts", "@aws-sdk/client-iam", "@aws-sdk/client-sso", "@aws-sdk/client-sso-oidc"]
  ) {
    const specifier = Object.keys(lock.specifiers).find((s) => s.startsWith(`npm:${name}@`));
    ok(specifier, `deno.lock pins ${name}`);
    equal(version(name), lock.specifiers[specifier], name);
  }
  for (const p of report.packages) {
    ok(`${p.name}@${p.version}` in lock.npm, `${p.name}@${p.version} is in deno.lock`);
    ok(p.allowed && p.license !== "", `${p.name}: ${p.license}`);
    ok(p.files > 0, `${p.name} has files in the bundle`);
  }
  // Type-only and test-only packages are in the lock but not in the bundle.
  ok(report.notBundled.some((id) => id.startsWith("@aws-sdk/credential-providers@")), "test-only package not listed");
  ok(report.notBundled.some((id) => id.startsWith("@aws-sdk/types@")), "type-only package not listed");
  if (await bundleIsFresh()) equal(report.matchesDist, true, "the analysed SDK bundle is dist/aws-vault/sdk.js");
  else console.log("licenses_test: dist/ is not built from these sources: the comparison with dist/ skipped");
});

/** A lock file and an npm cache holding `packages` (`name@version` → package.json fields, plus a LICENSE flag). */
async function fakeCache(packages: Record<string, { manifest: Record<string, unknown>; licenseFile?: boolean }>) {
  const dir = await Deno.makeTempDir({ prefix: "licenses_test_" });
  const npm: Record<string, unknown> = {};
  for (const [id, { manifest, licenseFile }] of Object.entries(packages)) {
    npm[id] = { integrity: "sha512-fake" };
    const at = id.lastIndexOf("@");
    const folder = `${dir}/npm/registry.npmjs.org/${id.slice(0, at)}/${id.slice(at + 1)}`;
    await Deno.mkdir(folder, { recursive: true });
    await Deno.writeTextFile(`${folder}/package.json`, JSON.stringify({ name: id.slice(0, at), ...manifest }));
    if (licenseFile) await Deno.writeTextFile(`${folder}/LICENSE`, `${id} licence text\n`);
  }
  await Deno.writeTextFile(`${dir}/deno.lock`, JSON.stringify({ version: "5", specifiers: {}, npm }));
  return { dir, args: ["--from-lock", "--lock", `${dir}/deno.lock`, "--npm-cache", `${dir}/npm`] };
}

async function runScript(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}scripts/licenses.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("a package with a licence outside the allow-list, or none, fails the run and is named", async () => {
  const { dir, args } = await fakeCache({
    "good@1.0.0": { manifest: { license: "MIT" }, licenseFile: true },
    "@scope/either@0.1.0": { manifest: { license: "(GPL-3.0-only OR Apache-2.0)" }, licenseFile: true },
    "old-style@2.0.0": { manifest: { licenses: [{ type: "ISC" }] }, licenseFile: true },
    "copyleft@2.0.0": { manifest: { license: "GPL-3.0-only" }, licenseFile: true },
    "unlicensed@1.2.3": { manifest: {} },
  });
  try {
    const run = await runScript(args);
    equal(run.code, 1, run.stderr);
    match(run.stderr, /copyleft@2\.0\.0: licence GPL-3\.0-only is not on the allow-list/);
    match(run.stderr, /unlicensed@1\.2\.3: no licence in its package\.json/);
    for (const fine of ["good@", "@scope/either@", "old-style@"]) ok(!run.stderr.includes(fine), run.stderr);
    match(run.stdout, /^copyleft\s+2\.0\.0\s+GPL-3\.0-only\s+LICENSE$/m);
    match(run.stdout, /^unlicensed\s+1\.2\.3\s+\(none\)\s+\(none\)$/m);
    match(run.stdout, /licenses: no LICENSE file shipped by unlicensed@1\.2\.3/);

    const json = await runScript([...args, "--json"]);
    equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    deepEqual(
      report.packages.map((p: { name: string; allowed: boolean }) => [p.name, p.allowed]),
      [["@scope/either", true], ["copyleft", false], ["good", true], ["old-style", true], ["unlicensed", false]],
    );
    equal(report.problems.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("only allowed licences: exit 0, and a package missing from the cache is a failure, not a pass", async () => {
  const { dir, args } = await fakeCache({ "good@1.0.0": { manifest: { license: "MIT" }, licenseFile: true } });
  try {
    const run = await runScript(args);
    equal(run.code, 0, run.stderr);
    match(run.stdout, /licenses: 1 packages in the lock file \(MIT 1\)/);
    await Deno.remove(`${dir}/npm`, { recursive: true });
    const missing = await runScript(args);
    equal(missing.code, 1);
    match(missing.stderr, /good@1\.0\.0: cannot read .*package\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SPDX expressions: OR needs one allowed side, AND both; WITH, empty and free text are refused", () => {
  ok(licenseAllowed("MIT"));
  ok(licenseAllowed("Apache-2.0"));
  ok(licenseAllowed("(MIT OR GPL-3.0-only)"));
  ok(licenseAllowed("MIT AND (ISC OR GPL-2.0)"));
  ok(!licenseAllowed("MIT AND GPL-3.0-only"));
  ok(!licenseAllowed("GPL-2.0 WITH Classpath-exception-2.0"));
  // WITH is refused even after an allowed licence (the line above would fail on GPL-2.0 alone).
  ok(licenseAllowed("Apache-2.0"));
  ok(!licenseAllowed("Apache-2.0 WITH LLVM-exception"));
  ok(!licenseAllowed(""));
  ok(!licenseAllowed("SEE LICENSE IN LICENSE.txt"));
  ok(!licenseAllowed("(MIT"));
  ok(!licenseAllowed("UNLICENSED"));
});

Deno.test("THIRD_PARTY_NOTICES.md is what scripts/licenses.ts --notices writes for the current bundle", async () => {
  const report = await bundleReport();
  const expected = await noticesText(report, await denoNpmCache());
  const actual = await Deno.readTextFile(`${root}THIRD_PARTY_NOTICES.md`);
  ok(
    actual === expected,
    "THIRD_PARTY_NOTICES.md is out of date: run deno run -A scripts/licenses.ts --notices THIRD_PARTY_NOTICES.md",
  );
  for (const p of report.packages) ok(actual.includes(`- ${p.name}@${p.version}`), `${p.name} is in the notices`);
});
