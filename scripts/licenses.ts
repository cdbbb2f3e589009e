/**
 * Lists every third-party package whose code ships in the bundle (`dist/aws-vault.js` and `dist/aws-vault/*.js`, built
 * by scripts/build.ts), with its version and licence, and fails when a licence is missing or not on the allow-list.
 *
 * Which packages are in the bundle is read from the bundler itself, not guessed from the lock file: the bundle's two
 * entries are bundled again into a temporary folder with the flags scripts/build.ts uses plus `--sourcemap`, and every
 * source file the source maps name is mapped to its npm package (`…/registry.npmjs.org/<name>/<version>/…`). The
 * lock's dependency closure is a superset (type-only packages, the Node-only or browser-only half of the SDK, test-only
 * packages), so it would list code we do not ship. When `dist/aws-vault/sdk.js` exists, the SDK bundle analysed here
 * is compared with it byte for byte, so the listing is known to describe the shipped file.
 *
 * Versions are checked against deno.lock, licences come from each package's own package.json in Deno's npm cache
 * (`$DENO_DIR/npm/registry.npmjs.org/<name>/<version>/`), and a package without a LICENSE file is reported. It reads
 * only local files and runs `deno bundle` on cached packages: offline once the bundle step has run.
 *
 * Usage: `deno run -A scripts/licenses.ts [--json] [--notices FILE] [--lock FILE] [--npm-cache DIR] [--from-lock]`
 * - `--json`: the result as JSON on stdout instead of the table.
 * - `--notices FILE`: also write a notices file with every shipped package's licence text.
 * - `--lock`, `--npm-cache`: another lock file and npm cache folder (the one holding `registry.npmjs.org/`), for tests.
 * - `--from-lock`: take every npm package of the lock instead of bundling (no `deno bundle`; for tests and audits).
 *
 * Exit status: 0 when every package has an allowed licence, 1 otherwise (the packages are named on stderr), 2 on a
 * usage error or when the bundle cannot be analysed.
 * @module
 */

const root = new URL("..", import.meta.url);
/** A file URL as a path (the checkout's path may hold spaces, which URLs escape). */
const path = (url: URL) => decodeURIComponent(url.pathname);

/**
 * Licences the shipped bundle may contain: permissive ones that ask for nothing beyond keeping the notice, which
 * `--notices` collects. Anything else (copyleft, "SEE LICENSE IN", no licence) needs a human decision first.
 */
export const ALLOWED_LICENSES: readonly string[] = [
  "MIT",
  "ISC",
  "Apache-2.0",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "0BSD",
  "Unlicense",
  "CC0-1.0",
];

/** One third-party package in the bundle. */
export interface PackageLicense {
  readonly name: string;
  readonly version: string;
  /** The package.json licence as written (an SPDX expression), or "" when it has none. */
  readonly license: string;
  /** Whether the licence expression is satisfied by {@link ALLOWED_LICENSES}. */
  readonly allowed: boolean;
  /** The package's licence file (LICENSE, LICENCE, COPYING, with any extension), or "" when it ships none. */
  readonly licenseFile: string;
  /** How many of the package's source files the bundle contains; 0 with `--from-lock`. */
  readonly files: number;
}

/** The whole answer, as `--json` prints it. */
export interface LicenseReport {
  /** `bundle` (read from the bundler's source maps) or `lock` (every npm package of the lock). */
  readonly source: "bundle" | "lock";
  readonly packages: readonly PackageLicense[];
  /** Packages of the lock whose code is not in the bundle (types, other platforms, tests); with `bundle` only. */
  readonly notBundled: readonly string[];
  /** Whether the analysed SDK bundle equals `dist/aws-vault/sdk.js`; null when there is none to compare. */
  readonly matchesDist: boolean | null;
  /** Every problem that fails the check, one line each, naming the package. */
  readonly problems: readonly string[];
}

/**
 * Whether an SPDX licence expression is satisfied by `allowed`: `A OR B` needs one side, `A AND B` both, parentheses
 * group, `WITH` exceptions are refused (none is expected). An empty or unparsable expression is not allowed.
 */
export function licenseAllowed(expression: string, allowed: readonly string[] = ALLOWED_LICENSES): boolean {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  const primary = (): boolean => {
    const token = tokens[at++];
    if (token === "(") {
      const inner = or();
      if (tokens[at++] !== ")") throw new Error("unbalanced");
      return inner;
    }
    if (token === undefined || /^(AND|OR|WITH|\))$/i.test(token)) throw new Error("operand expected");
    return allowed.includes(token.replace(/\+$/, ""));
  };
  const and = (): boolean => {
    let value = primary();
    while (/^AND$/i.test(tokens[at] ?? "")) {
      at++;
      value = primary() && value;
    }
    return value;
  };
  const or = (): boolean => {
    let value = and();
    while (/^OR$/i.test(tokens[at] ?? "")) {
      at++;
      value = and() || value;
    }
    return value;
  };
  try {
    const value = or();
    return at === tokens.length && value;
  } catch {
    return false;
  }
}

/** The licence a package.json declares: `license` (string or `{type}`), else the old `licenses` array (all of them). */
function declaredLicense(manifest: Record<string, unknown>): string {
  const one = (value: unknown) =>
    typeof value === "string" ? value : (value as { type?: unknown } | null)?.type?.toString() ?? "";
  if (manifest.license !== undefined) return one(manifest.license).trim();
  if (Array.isArray(manifest.licenses)) {
    const all = manifest.licenses.map(one).filter((l) => l !== "");
    return all.length > 1 ? all.map((l) => `(${l})`).join(" AND ") : all[0] ?? "";
  }
  return "";
}

/** Splits `name@version` (the name may be scoped: `@aws-sdk/core@3.981.0`). */
function splitId(id: string): { name: string; version: string } {
  const at = id.lastIndexOf("@");
  return { name: id.slice(0, at), version: id.slice(at + 1) };
}

/** Deno's npm cache folder (holding `registry.npmjs.org/`), as `deno info` reports it. */
export async function denoNpmCache(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info --json failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)).npmCache;
}

/** Matches the package part of a path in Deno's npm cache: `registry.npmjs.org/<name>/<version>/`. */
const NPM_CACHE_PATH = /\/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\/([^/]+)\//;

/** `import(String("./x.js"))`, as scripts/build.ts hides dynamic imports from Deno, read back as `import("./x.js")`. */
const hiddenImports = (code: string) => code.replace(/\bimport\(String\(("[^"]+")\)\)/g, "import($1)");

/**
 * The npm packages the bundle contains (`name@version` → number of files), by bundling its two entries again with
 * source maps: `main.ts` (code-split, the SDK external) and `src/aws/sdk.ts`, as scripts/build.ts does.
 * @throws Error when bundling fails or a bundled source is neither in the checkout nor in the npm cache
 */
async function bundledPackages(): Promise<{ packages: Map<string, number>; matchesDist: boolean | null }> {
  const tmp = await Deno.makeTempDir({ prefix: "aws-vault-licenses-" });
  try {
    // The flags of scripts/build.ts's bundle() and bundleSdk(), plus source maps (which change no code).
    const common = ["bundle", "--quiet", "--minify", "--platform", "deno", "--sourcemap", "external"];
    const runs = [
      [...common, "--code-splitting", "--external", "./sdk.ts", "--outdir", `${tmp}/app`, "main.ts"],
      [...common, "-o", `${tmp}/sdk/sdk.js`, "src/aws/sdk.ts"],
    ];
    for (const args of runs) {
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: path(root),
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`deno ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
    }
    const packages = new Map<string, number>();
    const checkout = path(root);
    for (const dir of [`${tmp}/app`, `${tmp}/sdk`]) {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.name.endsWith(".map")) continue;
        const map = JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`)) as { sources: string[] };
        for (const source of map.sources) {
          // Sources are relative to the map's folder.
          const absolute = path(new URL(source, `file://${dir}/`));
          const npm = NPM_CACHE_PATH.exec(absolute);
          if (npm) {
            const id = `${npm[1]}@${npm[2]}`;
            packages.set(id, (packages.get(id) ?? 0) + 1);
          } else if (!absolute.startsWith(checkout)) {
            throw new Error(`the bundle contains ${absolute}, which is neither ours nor an npm package`);
          }
        }
      }
    }
    const shipped = await Deno.readTextFile(new URL("dist/aws-vault/sdk.js", root)).catch(() => undefined);
    let matchesDist: boolean | null = null;
    if (shipped !== undefined) {
      const analysed = (await Deno.readTextFile(`${tmp}/sdk/sdk.js`)).replace(/\n\/\/# sourceMappingURL=\S+\n?$/, "\n");
      matchesDist = hiddenImports(analysed) === hiddenImports(shipped);
    }
    return { packages, matchesDist };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Options of {@link licenseReport}; each defaults to this checkout's. */
export interface ReportOptions {
  /** The lock file (default: deno.lock of the checkout). */
  readonly lock?: string;
  /** The npm cache folder holding `registry.npmjs.org/` (default: `deno info`'s `npmCache`). */
  readonly npmCache?: string;
  /** Every npm package of the lock instead of those the bundler puts in the bundle. */
  readonly fromLock?: boolean;
}

/** Finds the bundle's packages and reads their licences; see the module comment. */
export async function licenseReport(options: ReportOptions = {}): Promise<LicenseReport> {
  const lock = JSON.parse(await Deno.readTextFile(options.lock ?? path(new URL("deno.lock", root)))) as {
    npm?: Record<string, unknown>;
  };
  const locked = new Set(Object.keys(lock.npm ?? {}));
  const npmCache = options.npmCache ?? await denoNpmCache();
  const problems: string[] = [];
  let ids: Map<string, number>;
  let matchesDist: boolean | null = null;
  if (options.fromLock) {
    ids = new Map([...locked].map((id) => [id, 0]));
  } else {
    ({ packages: ids, matchesDist } = await bundledPackages());
    if (matchesDist === false) {
      problems.push("dist/aws-vault/sdk.js was not built from these sources: run deno task bundle, then this again");
    }
  }
  const packages: PackageLicense[] = [];
  // By name, then version: `@aws-sdk/client-sso` before `@aws-sdk/client-sso-oidc`.
  const order = [...ids.keys()].map(splitId).sort((a, b) =>
    a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1
  );
  for (const { name, version } of order) {
    const id = `${name}@${version}`;
    if (!locked.has(id)) problems.push(`${id}: in the bundle but not in the lock file`);
    const dir = `${npmCache}/registry.npmjs.org/${name}/${version}`;
    let license = "";
    try {
      license = declaredLicense(JSON.parse(await Deno.readTextFile(`${dir}/package.json`)));
    } catch (e) {
      problems.push(`${id}: cannot read ${dir}/package.json (${e instanceof Error ? e.message : e})`);
    }
    const licenseFile = [...(await Array.fromAsync(Deno.readDir(dir)).catch(() => []))]
      .map((e) => e.name)
      .filter((n) => /^(licen[cs]e|copying)([.-]|$)/i.test(n))
      .sort()[0] ?? "";
    const allowed = licenseAllowed(license);
    if (license === "") problems.push(`${id}: no licence in its package.json`);
    else if (!allowed) problems.push(`${id}: licence ${license} is not on the allow-list`);
    packages.push({ name, version, license, allowed, licenseFile, files: ids.get(id)! });
  }
  const notBundled = options.fromLock ? [] : [...locked].filter((id) => !ids.has(id)).sort();
  return { source: options.fromLock ? "lock" : "bundle", packages, notBundled, matchesDist, problems };
}

/** The report as a table and summary lines, as scripts/test prints it. */
export function formatReport(report: LicenseReport): string {
  const rows = [["Package", "Version", "Licence", "Licence file"]];
  for (const p of report.packages) {
    rows.push([p.name, p.version, p.license || "(none)", p.licenseFile || "(none)"]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const counts = new Map<string, number>();
  for (const p of report.packages) counts.set(p.license || "(none)", (counts.get(p.license || "(none)") ?? 0) + 1);
  const byLicense = [...counts].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n}`).join(", ");
  const where = report.source === "bundle" ? "in the bundle" : "in the lock file";
  lines.push("", `licenses: ${report.packages.length} packages ${where} (${byLicense})`);
  const withoutFile = report.packages.filter((p) => p.licenseFile === "").map((p) => `${p.name}@${p.version}`);
  if (withoutFile.length) lines.push(`licenses: no LICENSE file shipped by ${withoutFile.join(", ")}`);
  if (report.source === "bundle") {
    lines.push(
      `licenses: ${report.notBundled.length} packages of deno.lock are not in the bundle (types, tests, ` +
        `other platforms)`,
    );
    if (report.matchesDist === true) {
      lines.push("licenses: the analysed SDK bundle is dist/aws-vault/sdk.js, byte for byte");
    }
  }
  return lines.join("\n");
}

/**
 * The notices file: for each licence text (packages sharing one identical text are listed together), the packages
 * that carry it and the text. Packages without a licence file are listed with their declared licence.
 */
export async function noticesText(report: LicenseReport, npmCache: string): Promise<string> {
  const texts = new Map<string, string[]>();
  const missing: string[] = [];
  for (const p of report.packages) {
    const id = `${p.name}@${p.version}`;
    if (!p.licenseFile) {
      missing.push(`- ${id} (${p.license || "no licence"})`);
      continue;
    }
    const file = `${npmCache}/registry.npmjs.org/${p.name}/${p.version}/${p.licenseFile}`;
    // Trailing spaces and surrounding blank lines dropped: the file stays as `deno fmt` leaves it.
    const text = (await Deno.readTextFile(file)).replace(/\r\n?/g, "\n").replace(/[ \t]+$/gm, "").trim();
    texts.set(text, [...(texts.get(text) ?? []), id]);
  }
  const out = [
    "# Third-party notices",
    "",
    // One line per paragraph, each shorter than deno fmt's line width, so the file is as `deno fmt` leaves it.
    "The bundle (`dist/aws-vault.js`, `dist/aws-vault/`) and the binaries built from it contain these npm packages.",
    "",
    "Written by `deno run -A scripts/licenses.ts --notices THIRD_PARTY_NOTICES.md`; a test checks that it is up to date.",
    "",
  ];
  for (const [text, ids] of texts) {
    out.push(...ids.map((id) => `- ${id}`), "", "```text", text, "```", "");
  }
  // Apache-2.0 §4(d): a NOTICE file a package ships travels with it.
  for (const p of report.packages) {
    const dir = `${npmCache}/registry.npmjs.org/${p.name}/${p.version}`;
    const names = (await Array.fromAsync(Deno.readDir(dir)).catch(() => [])).map((e) => e.name);
    for (const name of names.filter((n) => /^notice([.-]|$)/i.test(n)).sort()) {
      const text = (await Deno.readTextFile(`${dir}/${name}`)).replace(/\r\n?/g, "\n").replace(/[ \t]+$/gm, "").trim();
      out.push(`${p.name}@${p.version} ${name}:`, "", "```text", text, "```", "");
    }
  }
  if (missing.length) {
    out.push("These packages ship no licence file; their package.json declares the licence shown:", "", ...missing, "");
  }
  return out.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const options: { lock?: string; npmCache?: string; fromLock?: boolean } = {};
  let json = false;
  let notices: string | undefined;
  const value = (flag: string) => {
    const v = args.shift();
    if (v === undefined) {
      console.error(`licenses: ${flag} needs a value`);
      Deno.exit(2);
    }
    return v;
  };
  while (args.length) {
    const arg = args.shift()!;
    if (arg === "--json") json = true;
    else if (arg === "--from-lock") options.fromLock = true;
    else if (arg === "--lock") options.lock = value(arg);
    else if (arg === "--npm-cache") options.npmCache = value(arg);
    else if (arg === "--notices") notices = value(arg);
    else {
      console.error(
        "usage: deno run -A scripts/licenses.ts [--json] [--notices FILE] [--lock FILE] [--npm-cache DIR] [--from-lock]",
      );
      Deno.exit(2);
    }
  }
  let report: LicenseReport;
  try {
    options.npmCache ??= await denoNpmCache();
    report = await licenseReport(options);
  } catch (e) {
    console.error(`licenses: ${e instanceof Error ? e.message : e}`);
    Deno.exit(2);
  }
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (notices) await Deno.writeTextFile(notices, await noticesText(report, options.npmCache));
  for (const problem of report.problems) console.error(`licenses: ${problem}`);
  Deno.exit(report.problems.length ? 1 : 0);
}
