/**
 * The examples of docs/install.md, docs/windows.md, docs/macos-keychain.md and docs/behaviour.md
 * (tests/support/doc_examples.ts). What runs on Linux is run; what belongs to another OS is checked as far as this
 * machine can: the macOS review script type-checks against the modules it imports, the Windows commands name the files
 * the Windows lane (scripts/test_windows) runs.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type DocBlock, docBlock, stripComment } from "./support/doc_examples.ts";
import { makeSandbox, runCli } from "./support/cli.ts";

const root = new URL("../", import.meta.url).pathname;
const lines = (block: DocBlock) => block.text.trimEnd().split("\n").map(stripComment);

Deno.test("install-from-clone: clone, scripts/install (or with --prefix), the installed command's --version", () => {
  const [clone, install, path, version] = lines(docBlock("docs/install.md", "install-from-clone"));
  equal(clone, "git clone <this repository> aws-vault-deno && cd aws-vault-deno");
  // tests/install_test.ts runs these two, from a copy of the checkout, with --prefix.
  deepEqual([install, path, version], lines(docBlock("README.md", "readme-install")));
  const alternative = docBlock("docs/install.md", "install-from-clone").text.split("\n")[1];
  ok(alternative.includes("# or: scripts/install --prefix "), alternative);
  ok(Deno.readTextFileSync(`${root}scripts/install`).includes("--prefix"), "scripts/install takes --prefix");
});

Deno.test("install-moved-checkout: the launcher's line, as tests/install_test.ts produces it", () => {
  const [line] = lines(docBlock("docs/install.md", "install-moved-checkout"));
  const launcher = Deno.readTextFileSync(`${root}scripts/install`);
  // The text is written into the launcher by scripts/install; the install test runs it with a moved checkout.
  const shown = line.replace("/home/me/src/aws-vault-deno", "%s");
  const [before, after] = shown.split("%s");
  ok(launcher.includes(before) && launcher.includes(after.split(";")[0]), `${before} … ${after}`);
});

Deno.test("install-windows: the installer and the Deno path the Windows lane uses", () => {
  const [install, version] = lines(docBlock("docs/install.md", "install-windows"));
  const [deno, ...args] = install.split(" ");
  equal(deno, "node_modules\\@deno\\win32-x64\\deno.exe");
  deepEqual(args, ["run", "-A", "scripts\\windows\\install.ts"]);
  ok(Deno.statSync(`${root}scripts/windows/install.ts`).isFile);
  ok(Deno.readTextFileSync(`${root}scripts/test_windows`).includes("node_modules/@deno/win32-x64"));
  // tests/windows/install_test.ts runs that installer under Wine and then the installed aws-vault.cmd.
  ok(Deno.readTextFileSync(`${root}tests/windows/install_test.ts`).includes("scripts\\\\windows\\\\install.ts"));
  equal(version, "aws-vault --version");
});

Deno.test("windows-lane: scripts/test_windows runs the suite and passes further arguments to deno test", () => {
  const [all, filtered] = lines(docBlock("docs/windows.md", "windows-lane"));
  equal(all, "scripts/test_windows");
  equal(filtered, "scripts/test_windows --filter wincred");
  const script = Deno.readTextFileSync(`${root}scripts/test_windows`);
  match(script, /test -A [^\n]*tests\/windows\/ "\$@"/);
  ok(Deno.readTextFileSync(`${root}tests/windows/wincred_test.ts`).includes('windowsSuite("wincred")'));
});

Deno.test({
  name: "keychain-review-script: the macOS review program type-checks against the modules it imports",
  sanitizeResources: false,
  fn: async () => {
    const text = docBlock("docs/macos-keychain.md", "keychain-review-script").text;
    const program = /<<'EOF'\n([\s\S]*?)\nEOF\n/.exec(text)?.[1];
    ok(program, "the heredoc with kc_review.ts");
    // Beside src/ and tests/, as the sheet has it (run from the checkout), under a name no one else uses.
    const path = `${root}kc_review_${crypto.randomUUID().slice(0, 8)}.ts`;
    await Deno.writeTextFile(path, program);
    try {
      const r = await new Deno.Command(Deno.execPath(), { args: ["check", "--quiet", path], cwd: root }).output();
      equal(r.code, 0, new TextDecoder().decode(r.stderr));
    } finally {
      await Deno.remove(path);
    }
    // The steps the sheet runs are the ones the program implements.
    const steps = [...text.matchAll(/\$[RB] (\w+)/g)].map((m) => m[1]);
    for (const step of new Set(steps)) ok(program.includes(`step === "${step}"`), step);
  },
});

Deno.test("duration-error-example and duration-error-shape: the message for -d 1ns, and the form of every such message", async () => {
  const sb = await makeSandbox({ config: "[profile work]\n" });
  try {
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };
    equal((await runCli(["add", "--env", "work"], { env })).code, 0);
    const r = await runCli(["export", "-d", "1ns", "work"], { env: sb.env });
    equal(r.code, 1);
    const [example] = lines(docBlock("docs/behaviour.md", "duration-error-example"));
    equal(r.stderr, `aws-vault: error: export: ${example}\n`);
    const [shape] = lines(docBlock("docs/behaviour.md", "duration-error-shape"));
    const pattern = shape.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<[A-Za-z]+>/g, ".+?")
      .replace(/900 to 43200 seconds \\\(15m to 12h\\\)$/, "\\d+ to \\d+ seconds \\(\\S+ to \\S+\\)");
    match(example, new RegExp(`^${pattern}$`));
  } finally {
    await sb.cleanup();
  }
});

Deno.test("list-table-layout: list's header, rule and rows have the documented columns", async () => {
  const sb = await makeSandbox({ config: "[profile work]\n[profile other]\n" });
  try {
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };
    equal((await runCli(["add", "--env", "work"], { env })).code, 0);
    equal((await runCli(["add", "--env", "--no-add-config", "orphan"], { env })).code, 0);
    const r = await runCli(["list"], { env: sb.env });
    const real = r.stdout.trimEnd().split("\n");
    const shown = lines(docBlock("docs/behaviour.md", "list-table-layout"));
    deepEqual(real.slice(0, 2).map((l) => l.trimEnd()), shown.slice(0, 2));
    // Every row is 25-wide cells, each tab-stop padded as the header's.
    for (const line of real) match(line, /^(\S.{0,23}\s{2,}|\S{24,}\s{2})/);
    // Rows: a profile with its credentials, one without, then a credential without a profile.
    const cell = (l: string) => l.trim().split(/\s{2,}/);
    deepEqual(real.slice(2).map(cell), [["work", "work", "-"], ["other", "-", "-"], ["-", "orphan", "-"]]);
    match(shown[2], /^<profile> +<profile or -> +<labels joined ", " or ->$/);
    match(shown[3], /^- +<credential without profile> +-$/);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("export-json-shape: export --format=json prints these fields, in this order, indented by two", async () => {
  const sb = await makeSandbox({ config: "[profile work]\n" });
  try {
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };
    equal((await runCli(["add", "--env", "work"], { env })).code, 0);
    // The fields without a session (--no-session: no token, no expiration), then the documented full set by name.
    const r = await runCli(["export", "--format=json", "--no-session", "work"], { env: sb.env });
    equal(r.code, 0, r.stderr);
    const real = JSON.parse(r.stdout);
    equal(r.stdout, `${JSON.stringify(real, null, 2)}\n`);
    const shownText = docBlock("docs/behaviour.md", "export-json-shape").text;
    const shown = JSON.parse(shownText);
    equal(shownText, `${JSON.stringify(shown, null, 2)}\n`);
    deepEqual(Object.keys(real), ["Version", "AccessKeyId", "SecretAccessKey"]);
    deepEqual(Object.keys(shown), [...Object.keys(real), "SessionToken", "Expiration"]);
    equal(shown.Version, real.Version);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("prompt-pass-removed: --prompt=pass gives aws-vault's message", async () => {
  const sb = await makeSandbox();
  try {
    const [message] = lines(docBlock("docs/behaviour.md", "prompt-pass-removed"));
    const r = await runCli(["--prompt=pass", "list"], { env: sb.env });
    equal(r.code, 1);
    // kingpin's suffix takes the place of the message's final full stop.
    equal(r.stderr, `aws-vault: error: ${message.replace(/\.$/, "")}, try --help\n`);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("docs/docker set-up: the bundle task, the base profile, the compose services and the diagram's flags", async () => {
  const [bundle] = lines(docBlock("docs/docker/README.md", "docker-bundle"));
  equal(bundle, '"$(scripts/bootstrap)" task bundle');
  ok(JSON.parse(Deno.readTextFileSync(`${root}deno.json`)).tasks.bundle);
  const compose = Deno.readTextFileSync(`${root}docs/docker/docker-compose.yml`);
  for (const name of ["docker-compose-proxy", "docker-compose-app"] as const) {
    const text = name === "docker-compose-proxy"
      ? docBlock("docs/docker/README.md", "docker-compose-proxy").text
      : docBlock("docs/docker/README.md", "docker-compose-app").text;
    equal(text.split("\n")[0], "cd docs/docker");
    const service = /docker compose (?:up --build|run --no-deps) (\S+)/.exec(text)?.[1];
    ok(service && new RegExp(`^  ${service}:$`, "m").test(compose), `${name}: ${service}`);
  }
  // The base profile parses and resolves its role and MFA device (its source profile is the reader's).
  const sb = await makeSandbox({
    config: `[profile myprofile]\n${docBlock("docs/docker/README.md", "docker-base-profile").text}`,
  });
  try {
    const r = await runCli(["export", "--format=json", "base"], { env: sb.env });
    // No stored keys for myprofile: the error names it, after the profile resolved without a config error.
    equal(r.code, 1);
    match(r.stderr, /myprofile/);
  } finally {
    await sb.cleanup();
  }
  const diagram = docBlock("docs/docker/README.md", "docker-diagram").text;
  for (const word of ["--ecs-server", "--ecs-server-bind", "container-proxy", "169.254.170.2:80"]) {
    ok(diagram.includes(word), word);
  }
  const help = await runCli(["exec", "--help"], { env: {} });
  ok(help.stdout.includes("--ecs-server-bind"), help.stdout);
  equal((await runCli(["container-proxy", "--help"], { env: {} })).code, 0);
});
