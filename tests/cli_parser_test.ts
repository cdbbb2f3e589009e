import assert from "node:assert/strict";
import { APP_GLOBAL_FLAGS, appSpec } from "../src/app.ts";
import { GLOBAL_FLAGS, globalOptionsFrom } from "../src/cli/global.ts";
import { parseCommandLine, type ParseResult, readArgs, readFlags } from "../src/cli/parser.ts";
import { renderResult } from "../src/cli/render.ts";
import { type AppSpec, type CommandSpec, defineCommandSpec } from "../src/cli/spec.ts";
import { envFromRecord } from "../src/core/env.ts";
import { UsageError } from "../src/core/errors.ts";
import { DEFAULT_BACKEND } from "../src/vault/backends.ts";

// The real command table. Shapes it does not have (a required positional, an enum flag with an env var) are declared
// below with the same types, on top of it.
const REAL = appSpec();
const REQUIRED_ARG = defineCommandSpec({
  name: "needs-arg",
  help: "A command with a required positional.",
  hidden: true,
  flags: {},
  args: [{ name: "thing", help: "Required", required: true }],
});
const APP: AppSpec = {
  ...REAL,
  // --backend is a string checked by the vault layer; as an enum it covers the parser's env-sourced enum errors.
  flags: { ...REAL.flags, backend: { ...REAL.flags.backend, kind: "enum" } },
  commands: [...REAL.commands, REQUIRED_ARG],
};

function parse(argv: string[], env: Record<string, string> = {}): ParseResult {
  return parseCommandLine(argv, { app: APP, env: envFromRecord(env) });
}

/** A parsed run with the values its command would receive, global and command flags in one object. */
function run(argv: string[], env: Record<string, string> = {}) {
  const result = parse(argv, env);
  if (result.kind !== "run") throw new Error(`expected a run for ${argv.join(" ")}, got ${result.kind}`);
  const command: CommandSpec = result.command;
  // In the order the program reads them: arguments, global flags, the command's flags.
  const args = readArgs(command.args, result.line);
  const globals = readFlags(APP.flags, result.line);
  return {
    command,
    flags: { ...globals, ...readFlags(command.flags, result.line) },
    global: readFlags(APP_GLOBAL_FLAGS, result.line),
    args,
  };
}

function fails(argv: string[], message: string, env: Record<string, string> = {}): void {
  assert.throws(() => run(argv, env), (e) => {
    assert.ok(e instanceof UsageError, `not a UsageError: ${e}`);
    assert.equal(e.message, message);
    assert.equal(e.suggestHelp, true);
    return true;
  });
}

/** What the program prints for `argv` when it prints help, its version or a completion script. */
function text(argv: string[], kind: ParseResult["kind"], env: Record<string, string> = {}): string {
  const result = parse(argv, env);
  assert.equal(result.kind, kind);
  if (result.kind === "run" || result.kind === "complete") throw new Error(`${argv.join(" ")} is a ${result.kind}`);
  return renderResult(APP, result);
}

Deno.test("a command gets its args, its flags and the global flags with their defaults", () => {
  const r = run(["add", "work"]);
  assert.equal(r.command.name, "add");
  assert.deepEqual(r.args, { profile: "work" });
  assert.equal(r.flags.addConfig, true);
  assert.equal(r.flags.env, false);
  assert.equal(r.flags.debug, false);
  assert.equal(r.flags.backend, DEFAULT_BACKEND);
  assert.equal(r.flags.keychain, "aws-vault");
  assert.equal(r.flags.fileDir, "~/.awsvault/keys/");
  assert.equal(r.flags.prompt, undefined);
});

Deno.test("aliases select their command", () => {
  assert.equal(run(["rm", "p"]).command.name, "remove");
  assert.equal(run(["ls"]).command.name, "list");
  assert.equal(run(["server", "--stop"]).command.name, "proxy");
});

Deno.test("flags may come anywhere, including after positionals", () => {
  const r = run(["exec", "prof", "aws", "s3", "ls", "--region", "x"]);
  assert.equal(r.flags.region, "x");
  assert.deepEqual(r.args, { profile: "prof", cmd: "aws", args: ["s3", "ls"] });
  assert.equal(run(["--debug", "exec", "p"]).flags.debug, true);
  assert.equal(run(["exec", "p", "--debug"]).flags.debug, true);
  fails(["--region", "x", "exec", "p"], "unknown long flag '--region'");
});

Deno.test("-- ends flag parsing and feeds the repeated arg", () => {
  const r = run(["exec", "p", "--", "aws", "s3", "ls", "--region", "x"]);
  assert.equal(r.flags.region, undefined);
  assert.deepEqual(r.args, { profile: "p", cmd: "aws", args: ["s3", "ls", "--region", "x"] });
  assert.deepEqual(run(["exec", "--", "p", "-x"]).args, { profile: "p", cmd: "-x", args: [] });
  assert.deepEqual(run(["exec", "p"]).args, { profile: "p", cmd: undefined, args: [] });
  assert.deepEqual(run(["exec", "p", "--", "cat", "-"]).args.args, ["-"]);
  assert.equal(run(["exec", "p", "cat", "-"]).args.args?.[0], "-");
});

Deno.test("values: --flag=value, --flag value, -d1h, -d 1h, -d=1h", () => {
  for (const argv of [["--duration=1h"], ["--duration", "1h"], ["-d1h"], ["-d", "1h"], ["-d=1h"]]) {
    assert.equal(run(["exec", ...argv, "p"]).flags.duration, 3_600_000, argv.join(" "));
  }
  assert.equal(run(["exec", "p", "-t123456"]).flags.mfaToken, "123456");
  assert.equal(run(["exec", "p", "--mfa-token=a=b"]).flags.mfaToken, "a=b");
  assert.equal(run(["exec", "--duration=1h30m", "p"]).flags.duration, 5_400_000);
});

Deno.test("clustered short flags: bools, then a value-taking flag that eats the rest", () => {
  const r = run(["rm", "-fs", "p"]);
  assert.equal(r.flags.force, true);
  assert.equal(r.flags.sessionsOnly, true);
  const e = run(["exec", "-nd30m", "p"]);
  assert.equal(e.flags.noSession, true);
  assert.equal(e.flags.duration, 1_800_000);
  assert.equal(run(["exec", "-nd", "30m", "p"]).flags.duration, 1_800_000);
  fails(["exec", "-dn", "p"], '--duration: invalid duration "n": not a duration (use a unit, e.g. 1h, 90m, 3600s)');
  fails(["rm", "-fx", "p"], "unknown short flag '-x'");
});

Deno.test("bools: --no-<name>, --name=true|false, bad values", () => {
  const r = run(["add", "--no-add-config", "p"]);
  assert.equal(r.flags.addConfig, false);
  assert.equal(run(["add", "--add-config=false", "p"]).flags.addConfig, false);
  assert.equal(run(["add", "--no-add-config=false", "p"]).flags.addConfig, true);
  assert.equal(run(["--debug=true", "ls"]).flags.debug, true);
  assert.equal(run(["--debug=0", "ls"]).flags.debug, false);
  fails(["--debug=nope", "ls"], '--debug: invalid boolean "nope" (use true or false)');
  assert.throws(() => run(["exec", "--no-region", "p"]), /unknown long flag '--no-region', did you mean/);
});

Deno.test("enum flags reject unknown values with kingpin's message", () => {
  assert.equal(run(["export", "--format", "json", "p"]).flags.format, "json");
  assert.equal(run(["export", "p"]).flags.format, "env");
  fails(["export", "--format", "xml", "p"], "enum value must be one of env,export-env,json,ini, got 'xml'");
  fails(["--backend=keyctl", "ls"], "enum value must be one of secret-service,kwallet,pass,file, got 'keyctl'");
  fails(["ls"], "$AWS_VAULT_BACKEND: enum value must be one of secret-service,kwallet,pass,file, got 'x'", {
    AWS_VAULT_BACKEND: "x",
  });
});

Deno.test("errors: unknown flags and commands, missing and extra args, missing values", () => {
  fails(["--foo"], "unknown long flag '--foo'");
  fails(["add", "--foo=bar", "p"], "unknown long flag '--foo'");
  fails(["-x"], "unknown short flag '-x'");
  fails(["needs-arg"], "required argument 'thing' not provided");
  fails(["add", "a", "b"], "unexpected b");
  fails(["list", "x"], "unexpected x");
  fails(["frobnicate"], 'expected command but got "frobnicate"');
  fails(["exec", "p", "--region"], "expected argument for flag '--region'");
  fails(["exec", "p", "--region", "--debug"], "expected argument for flag '--region'");
  fails(["exec", "p", "-d"], "expected argument for flag '-d'");
  fails(["migrate-backend", "--from", "file"], "required flag --to not provided");
});

Deno.test("a flag given twice: the last one wins", () => {
  assert.equal(run(["exec", "--region", "a", "p", "--region", "b"]).flags.region, "b");
});

Deno.test("durations are milliseconds; bad ones name the flag or the variable", () => {
  fails(["exec", "-d", "5", "p"], '--duration: invalid duration "5": missing unit (use a unit, e.g. 1h, 90m, 3600s)');
  fails(["exec", "p"], '$AWS_VAULT_DURATION: invalid duration "5": missing unit (use a unit, e.g. 1h, 90m, 3600s)', {
    AWS_VAULT_DURATION: "5",
  });
  assert.equal(run(["exec", "p"]).flags.duration, undefined);
});

Deno.test("precedence: flag > env > default, and explicit lists only command-line flags", () => {
  const env = { AWS_VAULT_DURATION: "2h", AWS_VAULT_STDOUT: "true", AWS_VAULT_KEYCHAIN_NAME: "k2" };
  const fromEnv = run(["exec", "p"], env);
  assert.equal(fromEnv.flags.duration, 7_200_000);
  assert.equal(fromEnv.flags.stdout, true);
  assert.equal(fromEnv.flags.keychain, "k2");
  const fromFlag = run(["exec", "-d", "1h", "--no-stdout", "--keychain", "k3", "p"], env);
  assert.equal(fromFlag.flags.duration, 3_600_000);
  assert.equal(fromFlag.flags.stdout, false);
  assert.equal(fromFlag.flags.keychain, "k3");
  // An empty variable counts as unset, as in kingpin.
  assert.equal(run(["exec", "p"], { AWS_VAULT_KEYCHAIN_NAME: "" }).flags.keychain, "aws-vault");
  assert.equal(run(["ls"], { AWS_VAULT_BACKEND: "file" }).flags.backend, "file");
});

Deno.test("hidden flags and commands work but are not shown", () => {
  assert.equal(run(["exec", "-j", "p"]).flags.json, true);
  assert.equal(run(["proxy", "--stop"]).flags.stop, true);
  const app = text(["--help"], "help");
  assert.ok(!app.includes("proxy"));
  assert.ok(!app.includes("completion"));
  assert.doesNotMatch(app, /--help-long +Generate/);
  assert.ok(!text(["exec", "--help"], "help").includes("--json"));
  assert.ok(!text(["rm", "--help"], "help").includes("sessions-only"));
});

Deno.test("app help: --help, -h, help, and no command at all", () => {
  const help = text(["--help"], "help");
  assert.ok(help.startsWith("usage: aws-vault [<flags>] <command> [<args> ...]\n\nA vault for securely storing"));
  assert.ok(help.includes("\nFlags:\n  -h, --help  "));
  assert.ok(help.includes("\n  -v, --version  "));
  assert.ok(help.includes("\n      --debug  "));
  assert.match(
    help,
    new RegExp(
      String
        .raw`\n {6}--backend=${DEFAULT_BACKEND} +Secret backend to use \[secret-service kwallet\n +pass file\] \(\$AWS_VAULT_BACKEND\)\n`,
    ),
  );
  assert.ok(help.includes('--keychain="aws-vault"'));
  assert.ok(
    help.includes(
      "\nCommands:\n  help [<command>...]\n    Show help.\n\n  add [<flags>] [<profile>]\n    Add credentials",
    ),
  );
  assert.ok(help.includes("\n  exec [<flags>] [<profile>] [<cmd>] [<args>...]\n"));
  assert.ok(help.includes("\n  clear [<profile>]\n"));
  assert.ok(help.includes("\n  migrate-backend --from=BACKEND --to=BACKEND [<flags>]\n"));
  assert.ok(help.endsWith("  version\n    Show the version.\n"));
  assert.equal(text(["-h"], "help"), help);
  assert.equal(text(["help"], "help"), help);
  assert.equal(text([], "help"), help);
  assert.equal(text(["--debug"], "help"), help);
});

Deno.test("command help: exec --help, help exec, --help anywhere before --", () => {
  const help = text(["exec", "--help"], "help");
  assert.ok(help.startsWith("usage: aws-vault exec [<flags>] [<profile>] [<cmd>] [<args>...]\n\nExecute a command"));
  const flags = help.indexOf("Flags:\n  -d, --duration=DURATION  ");
  assert.ok(flags > 0);
  assert.ok(help.indexOf("-n, --no-session") < help.indexOf("-h, --help"), "command flags before global ones");
  assert.ok(help.includes("($AWS_VAULT_DURATION)"));
  assert.ok(
    help.includes(
      "\nArgs:\n  [<profile>]  Name of the profile (default: $AWS_PROFILE)\n  [<cmd>]      Command to execute",
    ),
  );
  assert.equal(text(["help", "exec"], "help"), help);
  assert.equal(text(["exec", "p", "aws", "--help"], "help"), help);
  assert.equal(text(["exec", "-h"], "help"), help);
  assert.equal(text(["--help", "exec"], "help"), help);
  assert.equal(text(["exec", "--bogus", "--help"], "help"), help, "help wins over a parse error");
  assert.equal(text(["help", "exec", "--help"], "help"), help);
  assert.equal(text(["help", "rm"], "help"), text(["remove", "-h"], "help"));
  assert.equal(text(["exec", "--help"], "help", { AWS_VAULT_DURATION: "5" }), help, "env unchecked");
  assert.deepEqual(run(["exec", "p", "--", "aws", "--help"]).args.args, ["--help"]);
  fails(["help", "bogus"], 'expected command but got "bogus"');
  assert.ok(text(["add", "--help"], "help").includes("--[no-]add-config"));
  assert.ok(text(["clear", "--help"], "help").startsWith("usage: aws-vault clear [<profile>]\n"));
});

Deno.test("--help-long lists every command's flags", () => {
  const help = text(["--help-long"], "help");
  assert.ok(
    help.includes("  exec [<flags>] [<profile>] [<cmd>] [<args>...]\n    Execute a command with AWS credentials.\n"),
  );
  assert.match(help, /\n {4}-d, --duration=DURATION +Duration of the temporary/);
  assert.ok(help.includes("    --[no-]add-config"));
  // exec's hidden -j/--json is not listed (log's own --json is).
  assert.ok(!help.includes("-j, --json"));
});

Deno.test("help layout is kingpin's two columns, wrapped at 80", () => {
  const app: AppSpec = {
    name: "tool",
    help: "Does things.",
    version: "1",
    flags: { veryLong: { name: "very-long-flag-name-for-layout", kind: "string", help: "Long one" } },
    commands: [{
      name: "go",
      help: "Go somewhere.",
      flags: { fast: { name: "fast", short: "f", kind: "bool", help: "Hurry" } },
      args: [{ name: "where", help: "Destination", required: true }],
    }],
  };
  const result = parseCommandLine(["go", "--help"], { app, env: envFromRecord({}) });
  assert.equal(
    result.kind === "help" ? renderResult(app, result) : "",
    [
      "usage: tool go [<flags>] <where>",
      "",
      "Go somewhere.",
      "",
      "Flags:",
      "  -f, --fast     Hurry",
      "  -h, --help     Show context-sensitive help (also try --help-long).",
      "  -v, --version  Show application version.",
      "      --very-long-flag-name-for-layout=VERY-LONG-FLAG-NAME-FOR-LAYOUT",
      "                 Long one",
      "",
      "Args:",
      "  <where>  Destination",
      "",
    ].join("\n"),
  );
});

Deno.test("--version and -v print the version; the version command is the app's", () => {
  assert.equal(text(["--version"], "version"), `${REAL.version}\n`);
  assert.equal(text(["-v"], "version"), `${REAL.version}\n`);
  assert.equal(text(["exec", "p", "-v"], "version"), `${REAL.version}\n`);
  assert.equal(run(["version"]).command.name, "version");
});

Deno.test("--completion-script-* print scripts", () => {
  assert.ok(
    text(["--completion-script-bash"], "script").includes(
      "complete -F _aws-vault_bash_autocomplete -o default aws-vault\n",
    ),
  );
  assert.ok(text(["--completion-script-zsh"], "script").includes("compdef _aws-vault aws-vault"));
  assert.ok(text(["--completion-script-fish"], "script").includes("complete -c aws-vault -f -a"));
});

Deno.test("globalOptionsFrom types the global flags", () => {
  const r = run(["--debug", "--prompt", "ykman", "--pass-dir=/p", "ls"], { AWS_VAULT_FILE_DIR: "/keys" });
  assert.deepEqual(globalOptionsFrom(r.global), {
    debug: true,
    backend: DEFAULT_BACKEND,
    prompt: "ykman",
    keychain: "aws-vault",
    secretServiceCollection: "awsvault",
    passDir: "/p",
    passCmd: undefined,
    passPrefix: undefined,
    fileDir: "/keys",
    filePassphraseTtl: 0,
    backendChosen: false,
  });
  assert.deepEqual(Object.values(GLOBAL_FLAGS).map((f) => f.name), [
    "debug",
    "backend",
    "prompt",
    "keychain",
    "secret-service-collection",
    "pass-dir",
    "pass-cmd",
    "pass-prefix",
    "file-dir",
    "file-passphrase-ttl",
  ]);
  // --prompt is validated by the prompt layer, not here.
  assert.equal(run(["--prompt=pass", "ls"]).flags.prompt, "pass");
});
