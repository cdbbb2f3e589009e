/**
 * The release documents: README's "Differences from aws-vault" and CHANGELOG.md's first version list the same
 * differences, README's rebuild example matches what the release workflow does, the bundle it calls reproducible is,
 * and the files SECURITY.md and CHANGELOG.md link to exist.
 */
import { deepEqual, equal, fail, ok } from "node:assert/strict";
import { docBlock, stripComment } from "./support/doc_examples.ts";

const root = new URL("../", import.meta.url).pathname;
const read = (file: string) => Deno.readTextFileSync(`${root}${file}`);

/** The lines of `text` from the heading `start` (exclusive) to the next heading of the same or a higher level. */
function section(text: string, start: string): string {
  const lines = text.split("\n");
  const from = lines.indexOf(start);
  if (from < 0) throw new Error(`no heading ${JSON.stringify(start)}`);
  const level = start.indexOf(" ");
  const to = lines.findIndex((l, i) => i > from && /^#+ /.test(l) && l.indexOf(" ") <= level);
  return lines.slice(from + 1, to < 0 ? undefined : to).join("\n");
}

/**
 * The differences a section names, one entry per item: the bold lead of each top-level bullet (`- **lead**`) and the
 * first cell of each row of a feature table. Sorted, duplicates kept (README lists `list` twice, for two differences).
 */
function leads(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const bullet = /^- \*\*(.+?)\*\*/.exec(line);
    if (bullet) found.push(bullet[1]);
    const row = /^\| ([^|]+?) +\|/.exec(line);
    if (row && !/^-+$/.test(row[1]) && row[1] !== "Feature") found.push(row[1]);
  }
  return found.sort();
}

Deno.test("README's Differences from aws-vault and CHANGELOG's first version list the same differences", () => {
  const readme = leads(section(read("README.md"), "## Differences from aws-vault"));
  const changelog = leads(section(read("CHANGELOG.md"), "## [Unreleased]"));
  ok(readme.length > 40, `README lists ${readme.length} differences`);
  const missing = (from: string[], other: string[]) => {
    const left = [...other];
    return from.filter((lead) => {
      const at = left.indexOf(lead);
      if (at < 0) return true;
      left.splice(at, 1);
      return false;
    });
  };
  const notInChangelog = missing(readme, changelog);
  const notInReadme = missing(changelog, readme);
  if (notInChangelog.length || notInReadme.length) {
    fail(
      `README.md's Differences and CHANGELOG.md disagree (each bold lead or feature must be in both):\n` +
        notInChangelog.map((l) => `  only in README.md: ${l}`).concat(
          notInReadme.map((l) => `  only in CHANGELOG: ${l}`),
        )
          .join("\n"),
    );
  }
});

Deno.test("the changelog entry has Keep a Changelog's shape: Unreleased with Added, Changed from aws-vault, Not yet", () => {
  const text = read("CHANGELOG.md");
  const headings = text.split("\n").filter((l) => /^##+ /.test(l));
  deepEqual(headings, ["## [Unreleased]", "### Added", "### Changed from aws-vault", "### Not yet"]);
  // The PBKDF2 cost of credential items is stated as the file vault writes it (tests/vault_kdf_cost_test.ts).
  const flat = text.replace(/\s+/g, " ");
  ok(flat.includes("are written with 600,000 PBKDF2 iterations (Go: 8,192)"), "the PBKDF2 line");
  ok(flat.includes("still readable by the Go aws-vault"), "the PBKDF2 line says Go still reads them");
});

Deno.test("readme-rebuild: the checksum check and the rebuild are the release workflow's", () => {
  const [check, vars, compile, compare] = docBlock("README.md", "readme-rebuild").text.trimEnd().split("\n").map(
    stripComment,
  );
  const workflow = read(".github/workflows/release.yml");
  // The smoke job checks downloads with exactly this line; the build job writes SHA256SUMS in dist/.
  equal(check, "sha256sum -c --ignore-missing SHA256SUMS");
  ok(workflow.includes(`then ${check}`), "release.yml checks the sums this way");
  ok(workflow.includes("cd dist && sha256sum aws-vault-* >SHA256SUMS"), "release.yml writes dist/SHA256SUMS");
  equal(compare, "(cd dist && sha256sum -c --ignore-missing ../SHA256SUMS)");
  // What the build job sets: the version from the tag and the certificate stores recorded in each binary.
  equal(vars, "export AWS_VAULT_VERSION=v1.2.3 DENO_TLS_CA_STORE=mozilla,system");
  ok(workflow.includes('AWS_VAULT_VERSION="$GITHUB_REF_NAME" "$deno" task compile'), "release.yml compiles so");
  ok(workflow.includes("DENO_TLS_CA_STORE: mozilla,system"), "release.yml sets DENO_TLS_CA_STORE");
  equal(compile, '"$(scripts/bootstrap)" task compile');
  equal(JSON.parse(read("deno.json")).tasks.compile, "deno run -A scripts/build.ts compile");
});

/** Copies what the bundle is built from (scripts/build.ts's BUNDLE_SOURCES and the scripts deno.json names). */
async function copySources(to: string): Promise<void> {
  for (const path of ["main.ts", "deno.json", "deno.lock", "src", "scripts"]) {
    const out = await new Deno.Command("cp", { args: ["-R", `${root}${path}`, `${to}/`] }).output();
    ok(out.success, `cp ${path}`);
  }
}

/** Every file under `dir`, relative, with its bytes. */
function files(dir: string, prefix = ""): Map<string, Uint8Array> {
  const all = new Map<string, Uint8Array>();
  for (const entry of Deno.readDirSync(`${dir}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) { for (const [p, b] of files(dir, `${path}/`)) all.set(p, b); }
    else all.set(path, Deno.readFileSync(`${dir}/${path}`));
  }
  return all;
}

Deno.test("the bundle is reproducible: two builds of the same sources in two folders are the same bytes", async () => {
  const base = await Deno.makeTempDir({ prefix: "docs_release_bundle_" });
  try {
    // One snapshot of the sources, copied again, so an edit in the checkout meanwhile cannot make the two differ.
    await Deno.mkdir(`${base}/a`);
    await copySources(`${base}/a`);
    const copy = await new Deno.Command("cp", { args: ["-R", `${base}/a`, `${base}/elsewhere-b`] }).output();
    ok(copy.success);
    for (const dir of ["a", "elsewhere-b"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "scripts/build.ts", "bundle"],
        cwd: `${base}/${dir}`,
        // A fixed version: the copies are no git checkouts, and the version is the one input besides the sources.
        env: { AWS_VAULT_VERSION: "v9.8.7", NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      ok(out.success, new TextDecoder().decode(out.stderr));
    }
    const a = files(`${base}/a/dist`);
    const b = files(`${base}/elsewhere-b/dist`);
    deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    ok(a.has("aws-vault.js") && [...a.keys()].some((k) => k.startsWith("aws-vault/")), [...a.keys()].join(" "));
    for (const [name, bytes] of a) ok(bytes.length > 0 && equalBytes(bytes, b.get(name)!), `${name} differs`);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("SECURITY.md and CHANGELOG.md link only files that exist, and SECURITY.md links the threat model", () => {
  const security = read("SECURITY.md");
  ok(security.includes("(docs/threat-model.md)"), "SECURITY.md links docs/threat-model.md");
  for (const file of ["SECURITY.md", "CHANGELOG.md"]) {
    for (const m of read(file).matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)) {
      ok(Deno.statSync(`${root}${m[1]}`).isFile, `${file} links ${m[1]}`);
    }
  }
});
