import assert from "node:assert/strict";
import { docBlock, stripComment } from "./support/doc_examples.ts";
import { appSpec } from "../src/app.ts";
import { parseCommandLine } from "../src/cli/parser.ts";
import { completionOutput } from "../src/cli/completion.ts";
import { renderResult } from "../src/cli/render.ts";
import { envFromRecord } from "../src/core/env.ts";
import { PROMPT_DRIVERS } from "../src/prompt/drivers.ts";
import { AVAILABLE_BACKENDS } from "../src/vault/backends.ts";

/** The real command table. */
const APP = appSpec();
/** Profiles of the config the completion sees (in-process as the hint, in the shells as ~/.aws/config). */
const PROFILES = ["default", "dev", "prod-admin"];
const CONFIG =
  "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = eu-west-1\n\n[profile prod-admin]\nsource_profile = dev\n" +
  "\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n";

/** Candidates the program prints for `aws-vault --completion-bash <words…>`. */
function complete(...words: string[]): string[] {
  const result = parseCommandLine(["--completion-bash", ...words], { app: APP, env: envFromRecord({}) });
  assert.equal(result.kind, "complete");
  if (result.kind !== "complete") return [];
  return completionOutput(result.words, { app: APP, profiles: () => PROFILES, ssoSessions: () => ["corp", "lab"] })
    .split("\n").filter((l) => l !== "");
}

Deno.test("protocol: commands, flags, enum values, profiles, nothing after --", () => {
  assert.deepEqual(complete("ex"), ["exec", "export"]);
  const all = complete("");
  assert.ok(all.includes("help") && all.includes("migrate-backend") && all.includes("version"));
  assert.ok(!all.includes("proxy"), "hidden commands are not offered");
  assert.ok(!all.includes("rm"), "aliases are not offered");
  assert.deepEqual(complete("exec", "--re"), ["--region"]);
  const flags = complete("exec", "--");
  assert.ok(flags.includes("--duration") && flags.includes("--backend") && flags.includes("--help"));
  assert.ok(!flags.includes("--json") && !flags.includes("--completion-bash"), "hidden flags are not offered");
  assert.ok(complete("add", "--no").includes("--no-add-config"));
  assert.deepEqual(complete("exec", ""), PROFILES);
  assert.deepEqual(complete("rm", "d"), ["default", "dev"]);
  assert.deepEqual(complete("exec", "-d", "1h", "--region", "x", "p"), ["prod-admin"]);
  assert.deepEqual(complete("exec", "dev", ""), [], "the command arg is left to the shell");
  assert.deepEqual(complete("exec", "dev", "--", ""), []);
  assert.deepEqual(complete("help", "r"), ["remove", "rotate"]);
  assert.deepEqual(complete("add", ""), [], "add names a new profile");
  assert.deepEqual(complete("clear", ""), PROFILES);
});

Deno.test("protocol: flag values in every spelling shells send", () => {
  assert.deepEqual(complete("export", "--format", ""), ["env", "export-env", "json", "ini"]);
  assert.deepEqual(complete("export", "--format", "e"), ["env", "export-env"]);
  assert.deepEqual(complete("export", "--format=j"), ["--format=json"]);
  assert.deepEqual(complete("--backend", "=", ""), [...AVAILABLE_BACKENDS]);
  assert.deepEqual(complete("--backend", "="), [...AVAILABLE_BACKENDS]);
  assert.deepEqual(complete("--backend", "=", "p"), ["pass"]);
  assert.deepEqual(complete("--prompt", ""), [...PROMPT_DRIVERS]);
  assert.deepEqual(complete("--debug", "=", "true", "ex"), ["exec", "export"]);
  assert.deepEqual(complete("exec", "-nd", ""), [], "a duration has no candidates");
  assert.deepEqual(complete("--bogus", "ex"), ["exec", "export"], "an unknown flag is skipped");
  assert.deepEqual(complete("sso", "sync", "--sso-session", ""), ["corp", "lab"], "[sso-session NAME] names");
  assert.deepEqual(complete("sso", "--sso-session=c"), ["--sso-session=corp"]);
});

Deno.test("protocol: a failing profile source gives no candidates instead of an error", () => {
  const result = parseCommandLine(["--completion-bash", "exec", ""], { app: APP, env: envFromRecord({}) });
  assert.equal(result.kind, "complete");
  if (result.kind !== "complete") return;
  const profiles = () => {
    throw new Error("bad config");
  };
  assert.equal(completionOutput(result.words, { app: APP, profiles }), "");
});

// --- real shells, with the real program as `aws-vault` on PATH and a config that has the profiles ---

const bundle = new URL("../dist/aws-vault.js", import.meta.url).pathname;

/** The line README.md tells users to put in their shell's start-up file (comment stripped). */
function readmeLine(shell: string): string {
  const lines = docBlock("README.md", "readme-completion").text.split("\n").map(stripComment);
  const line = lines.find((l) => l.includes(`--completion-script-${shell}`));
  if (!line) throw new Error(`README.md shows no completion line for ${shell}`);
  return line;
}
const source = new URL("../main.ts", import.meta.url).pathname;
const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const has = (shell: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${shell}`], stdout: "null" }).outputSync().success;

async function withStub<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "cli_completion_" });
  try {
    // The bundle (scripts/test builds it first) starts faster than the sources; both are the same program.
    const program = await Deno.stat(bundle).then(() => bundle, () => source);
    const stub = `${dir}/aws-vault`;
    await Deno.writeTextFile(
      stub,
      `#!/bin/sh\nexec ${q(Deno.execPath())} run -A --quiet --no-config ${q(program)} "$@"\n`,
    );
    await Deno.chmod(stub, 0o755);
    await Deno.writeTextFile(`${dir}/config`, CONFIG);
    return await fn({
      PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      AWS_CONFIG_FILE: `${dir}/config`,
      HOME: dir,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `script` in `shell` and returns one list per `#case` marker line it prints. */
async function cases(shell: string, args: string[], script: string): Promise<string[][]> {
  return await withStub(async (env) => {
    const out = await new Deno.Command(shell, { args: [...args, script], env, clearEnv: true, stderr: "piped" })
      .output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, `${shell} failed: ${new TextDecoder().decode(out.stderr)}\n${stdout}`);
    return stdout.split("#case\n").slice(1).map((c) => c.split("\n").filter((l) => l !== ""));
  });
}

const BASH_CASES: [string[], (reply: string[]) => void][] = [
  [["aws-vault", "ex"], (r) => assert.deepEqual(r, ["exec", "export"])],
  [["aws-vault", ""], (r) => assert.ok(r.includes("login") && !r.includes("proxy"))],
  [["aws-vault", "exec", "--re"], (r) => assert.deepEqual(r, ["--region"])],
  [["aws-vault", "exec", ""], (r) => assert.deepEqual(r, PROFILES)],
  [["aws-vault", "rm", "pr"], (r) => assert.deepEqual(r, ["prod-admin"])],
  [["aws-vault", "export", "--format", "e"], (r) => assert.deepEqual(r, ["env", "export-env"])],
  // What bash makes of `aws-vault --backend=<TAB>` and `--backend=p<TAB>`: the shell's environment has no D-Bus
  // session, so neither secret-service nor kwallet is offered.
  [
    ["aws-vault", "--backend", "="],
    (r) => assert.deepEqual(r, AVAILABLE_BACKENDS.filter((b) => b !== "secret-service" && b !== "kwallet")),
  ],
  [["aws-vault", "--backend", "=", "p"], (r) => assert.deepEqual(r, ["pass"])],
  [["aws-vault", "sso", "sync", "--sso-session", ""], (r) => assert.deepEqual(r, ["corp"])],
  [["aws-vault", "exec", "dev", "--", "l"], (r) => assert.ok(r.includes("ls"), r.join(" "))],
  [["aws-vault", "exec", "dev", "--", "ls", ""], (r) => assert.deepEqual(r, [])],
];

Deno.test({
  name: "bash: the generated script completes through the program",
  ignore: !has("bash"),
  fn: async () => {
    const lines = [
      readmeLine("bash"),
      "complete -p aws-vault",
      't() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _aws-vault_bash_autocomplete; ' +
      `echo '#case'; printf '%s\\n' "\${COMPREPLY[@]}"; }`,
      ...BASH_CASES.map(([words]) => `t ${words.map(q).join(" ")}`),
    ];
    const script = lines.join("\n");
    const out = await withStub(async (env) => {
      const r = await new Deno.Command("bash", { args: ["-c", script], env, clearEnv: true }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      return new TextDecoder().decode(r.stdout);
    });
    assert.ok(out.startsWith("complete -o default -F _aws-vault_bash_autocomplete aws-vault\n"), out);
    const replies = out.split("#case\n").slice(1).map((c) => c.split("\n").filter((l) => l !== ""));
    assert.equal(replies.length, BASH_CASES.length);
    BASH_CASES.forEach(([, check], i) => check(replies[i]));
  },
});

Deno.test({
  name: "fish: the generated script completes through the program",
  ignore: !has("fish"),
  fn: async () => {
    const lines = [readmeLine("fish")];
    const inputs = [
      "aws-vault ex",
      "aws-vault exec ",
      "aws-vault export --format=j",
      "aws-vault exec --re",
      "aws-vault exec dev -- l",
    ];
    for (const input of inputs) lines.push("echo '#case'", `complete -C ${q(input)}`);
    const [ex, profiles, format, region, child] = await cases("fish", ["--no-config", "-c"], lines.join("\n"));
    assert.deepEqual(ex, ["exec", "export"]);
    assert.deepEqual(profiles, PROFILES);
    assert.deepEqual(format, ["--format=json"]);
    assert.deepEqual(region, ["--region"]);
    assert.ok(child.some((l) => l.split("\t")[0] === "ls"), child.join(" "));
  },
});

Deno.test({
  name: "zsh: the generated script parses and completes through the program",
  ignore: !has("zsh"),
  fn: async () => {
    const result = parseCommandLine(["--completion-script-zsh"], { app: APP, env: envFromRecord({}) });
    const text = result.kind === "script" ? renderResult(APP, result) : "";
    const check = await new Deno.Command("zsh", { args: ["-n", "-c", text] }).output();
    assert.ok(check.success, new TextDecoder().decode(check.stderr));
    // Outside a completion widget `words` and `CURRENT` are plain variables and the builtins can be stubbed.
    const lines = [
      'compdef() { echo "#case"; echo "compdef $*"; }',
      'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }',
      "_files() { echo _files; }",
      '_normal() { echo "_normal ${words[*]} $CURRENT"; }',
      readmeLine("zsh"),
      "t() { echo '#case'; words=(\"$@\"); CURRENT=$#; _aws-vault; }",
      "t aws-vault ex",
      "t aws-vault exec ''",
      "t aws-vault exec dev -- aws s3",
      "t aws-vault exec dev aws ''",
    ];
    const [registered, ex, profiles, child, files] = await cases("zsh", ["-f", "-c"], lines.join("\n"));
    assert.deepEqual(registered, ["compdef _aws-vault aws-vault"]);
    assert.deepEqual(ex, ["exec", "export"]);
    assert.deepEqual(profiles, PROFILES);
    assert.deepEqual(child, ["_normal aws s3 2"]);
    assert.deepEqual(files, ["_files"]);
    // README's line in a ~/.zshrc that never ran compinit (zsh -f reads none): the completion system starts and
    // aws-vault is registered, instead of "command not found: compdef".
    const [bare] = await cases("zsh", ["-f", "-c"], `${readmeLine("zsh")}\necho '#case'; echo $_comps[aws-vault]`);
    assert.deepEqual(bare, ["_aws-vault"]);
  },
});
