/**
 * docs/guide.md, example by example: each fenced block is run against the real program (in-process through `runCli`,
 * or as a process where exec runs a command) with the fake AWS endpoint behind it, and what the program prints is
 * compared with the block. In shown output `…` stands for any text (keys, tokens, times) and `/home/me` for the
 * sandbox's home. Blocks for other systems (macOS, Windows), root-only servers and kwallet are checked as far as this
 * machine allows: they parse (tests/docs_examples_test.ts), every flag they use is in the command's `--help`, and the
 * backends they name are the ones the program knows. The guide's tables of config keys and environment variables are
 * checked against what the program reads.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import {
  assertShown,
  awsVaultCommands,
  type DocBlock,
  docBlock,
  shellWords,
  transcript,
} from "./support/doc_examples.ts";
import { cliCommand, type CliResult, makeSandbox, runCli, runProgram, type Sandbox } from "./support/cli.ts";
import { type GuideWorld, guideWorld, JON, JON_MFA_SERIAL } from "./support/guide_world.ts";
import { ssoFake } from "./support/fake_aws/sso.ts";
import { hasPass, makeGpgHome, makePassStore } from "./support/pass_store.ts";
import { PROFILE_KEYS } from "../src/config/config_file.ts";
import { APP_GLOBAL_FLAGS } from "../src/app.ts";
import { COMMANDS } from "../src/cli/commands/table.ts";
import type { FlagSpec } from "../src/cli/spec.ts";
import { AVAILABLE_BACKENDS, KNOWN_BACKENDS } from "../src/vault/backends.ts";

const GUIDE = "docs/guide.md";
const root = new URL("../", import.meta.url).pathname;
/** The home directory the guide shows in paths. */
const SHOWN_HOME = "/home/me";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A command line of a block: `VAR=value` assignments, then aws-vault's arguments. */
interface CommandLine {
  readonly assign: Record<string, string>;
  readonly args: string[];
}

/** Splits `VAR=v … aws-vault ARGS` (a `$ ` line of a transcript, or a line of an `sh` block). */
function commandLine(line: string): CommandLine {
  const words = shellWords(line);
  const assign: Record<string, string> = {};
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const word = words.shift()!;
    assign[word.slice(0, word.indexOf("="))] = word.slice(word.indexOf("=") + 1);
  }
  equal(words.shift(), "aws-vault", `not an aws-vault command line: ${line}`);
  return { assign, args: words };
}

/** The aws-vault lines of an `sh` block (comments stripped), with their assignments. */
function commandLines(block: DocBlock): CommandLine[] {
  const lines = block.text.split("\n").map((l) => l.replace(/\s{2,}#\s.*$/, "").trim());
  const found = lines.filter((l) => /^([A-Za-z_][A-Za-z0-9_]*=\S*\s+)*aws-vault\s/.test(l)).map(commandLine);
  // Cross-check with the harness's own extraction, so both see the same commands.
  deepStrictEqual(found.map((c) => c.args), awsVaultCommands(block.text).filter((a) => a.length > 0));
  return found;
}

/** Whether running `args` needs a real process: exec of a command replaces the process it runs in. */
function needsProcess(args: readonly string[]): boolean {
  return args.includes("exec") && args.includes("--") && !args.includes("--json");
}

/** Runs aws-vault as the block shows it, in-process when it can. */
function run(args: readonly string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  return needsProcess(args) ? runProgram(args, { env, stdin }) : runCli(args, { env, stdin });
}

/** Output as the guide shows it: the sandbox's home as /home/me, trailing spaces and blank lines dropped. */
function shown(text: string, sb: Sandbox): string[] {
  const lines = text.replaceAll(sb.home, SHOWN_HOME).split("\n").map((l) => l.replace(/\s+$/, ""));
  while (lines.length && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Runs every step of a transcript block and compares stderr then stdout with the step's lines. */
async function checkTranscript(
  block: DocBlock,
  env: Record<string, string>,
  sb: Sandbox,
  options: { assign?: (name: string, value: string) => string; replaceArg?: (arg: string) => string } = {},
): Promise<CliResult[]> {
  const results: CliResult[] = [];
  const steps = transcript(block.text);
  ok(steps.length > 0, `${block.name} shows no command`);
  for (const step of steps) {
    const { assign, args } = commandLine(step.command);
    const stepEnv = { ...env };
    for (const [name, value] of Object.entries(assign)) stepEnv[name] = options.assign?.(name, value) ?? value;
    const argv = options.replaceArg ? args.map(options.replaceArg) : args;
    const result = await run(argv, stepEnv);
    results.push(result);
    assertShown(shown(result.stderr + result.stdout, sb), step.output, `${block.name}: $ ${step.command}`);
  }
  return results;
}

/** Checks that every `--flag` of the block's command lines is in that command's `--help`. */
async function flagsInHelp(block: DocBlock): Promise<void> {
  const lines = awsVaultCommands(block.text);
  ok(lines.length > 0, `${block.name} shows no aws-vault command`);
  for (const argv of lines) {
    const end = argv.indexOf("--");
    const own = end < 0 ? argv : argv.slice(0, end);
    const command = own.find((w) => COMMANDS.some((c) => c.spec.name === w));
    ok(command, `${block.name}: no command in ${argv.join(" ")}`);
    const help = await runCli([command, "--help"], { env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent" } });
    equal(help.code, 0, help.stderr);
    for (const word of own.filter((w) => w.startsWith("--"))) {
      const flag = word.split("=")[0];
      ok(help.stdout.includes(flag), `${block.name}: ${flag} is not in "aws-vault ${command} --help"`);
    }
  }
}

/** A stand-in program on a PATH directory of the sandbox. */
async function standIn(sb: Sandbox, name: string, script: string): Promise<string> {
  const bin = `${sb.home}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(`${bin}/${name}`, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return bin;
}

/** A stand-in ykman that records its arguments and prints the code in `<home>/code`. */
async function ykmanStandIn(sb: Sandbox): Promise<string> {
  return await standIn(sb, "ykman", `echo "$*" >> "${sb.home}/ykman.args"\ncat "${sb.home}/code"`);
}

// ---------------------------------------------------------------------------------------------------------------
// Getting started

Deno.test("guide: the first run names the default file backend, once", async () => {
  const block = docBlock("docs/guide.md", "guide-first-run");
  const sb = await makeSandbox({ passphrase: null });
  try {
    const steps = transcript(block.text);
    equal(steps.length, 1);
    const { args } = commandLine(steps[0].command);
    // No backend chosen: neither --backend nor AWS_VAULT_BACKEND. A desktop session (its bus is not dialled here).
    const { AWS_VAULT_BACKEND: _, ...rest } = sb.env;
    const env = { ...rest, DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus" };
    const first = await runCli(args, { env });
    equal(first.code, 0, first.stderr);
    assertShown(shown(first.stderr + first.stdout, sb), steps[0].output, block.name);
    // "The line appears once".
    const again = await runCli(args, { env });
    equal(again.stderr, "");
    // The second line of the guide's first-run text names the backends as --backend accepts them.
    for (const b of /available: ([^)]*)\)/.exec(steps[0].output[0])![1].split(", ")) ok(KNOWN_BACKENDS.includes(b), b);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("guide: add --env, then list --credentials", async () => {
  const block = docBlock("docs/guide.md", "guide-add-env");
  const w = await guideWorld({ addJon: false });
  try {
    const real: Record<string, string> = {
      AWS_ACCESS_KEY_ID: JON.accessKeyId,
      AWS_SECRET_ACCESS_KEY: JON.secretAccessKey,
      AWS_VAULT_FILE_PASSPHRASE: w.sb.env.AWS_VAULT_FILE_PASSPHRASE,
    };
    await checkTranscript(block, w.env, w.sb, { assign: (name, value) => value.includes("…") ? real[name] : value });
    // add appended the section it says it does.
    match(await Deno.readTextFile(w.sb.configPath), /\[profile jon\]/);
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The config file

Deno.test("guide: the example config works as described (roles, MFA once, include_profile, [default]'s region)", async () => {
  docBlock("docs/guide.md", "guide-config"); // written by guideWorld() as ~/.aws/config
  const w = await guideWorld();
  try {
    const env = (r: CliResult) => Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split("=", 2)));
    // readonly: the role assumed with jon's keys, no MFA; the region from [default].
    const readonly = await runCli(["export", "readonly"], { env: w.env });
    equal(readonly.code, 0, readonly.stderr);
    equal(env(readonly).AWS_REGION, "eu-west-1");
    equal(w.fake.callsTo("AssumeRole").at(-1)?.params.RoleArn, "arn:aws:iam::222222222222:role/ReadOnly");
    equal(w.fake.callsTo("GetSessionToken").length, 0);
    // admin: an MFA session for jon, then the role with it.
    const admin = await runCli(["export", "--mfa-token", w.code(), "admin"], { env: w.env });
    equal(admin.code, 0, admin.stderr);
    equal(w.fake.callsTo("GetSessionToken").length, 1);
    equal(w.fake.callsTo("GetSessionToken")[0].params.SerialNumber, JON_MFA_SERIAL);
    equal(w.fake.callsTo("AssumeRole").at(-1)?.params.RoleArn, "arn:aws:iam::222222222222:role/Admin");
    // admin-frankfurt: admin's settings, its own region, and jon's MFA session reused without asking (no terminal
    // and no code given: a prompt would fail).
    const frankfurt = await runCli(["export", "admin-frankfurt"], { env: w.env });
    equal(frankfurt.code, 0, frankfurt.stderr);
    equal(env(frankfurt).AWS_REGION, "eu-central-1");
    equal(w.fake.callsTo("AssumeRole").at(-1)?.params.RoleArn, "arn:aws:iam::222222222222:role/Admin");
    equal(w.fake.callsTo("GetSessionToken").length, 1, "the MFA session was reused");
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: list --profiles of the example config", async () => {
  const w = await guideWorld({ addJon: false });
  try {
    await checkTranscript(docBlock("docs/guide.md", "guide-list-profiles"), w.env, w.sb);
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Using credentials

Deno.test("guide: exec, export and the region from the environment", async () => {
  const w = await guideWorld();
  try {
    await checkTranscript(docBlock("docs/guide.md", "guide-exec"), w.env, w.sb);
    await checkTranscript(docBlock("docs/guide.md", "guide-export"), w.env, w.sb);
    const code = w.code();
    await checkTranscript(docBlock("docs/guide.md", "guide-region-env"), w.env, w.sb, {
      replaceArg: (a) => a === "123456" ? code : a,
    });
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// MFA

Deno.test("guide: --mfa-token and --prompt=ykman", async () => {
  const block = docBlock("docs/guide.md", "guide-mfa-token");
  await flagsInHelp(block);
  const w = await guideWorld();
  try {
    const bin = await ykmanStandIn(w.sb);
    const env = { ...w.env, PATH: `${bin}:${w.env.PATH}` };
    for (const { args } of commandLines(block)) {
      const code = w.code();
      await Deno.writeTextFile(`${w.sb.home}/code`, code);
      // The command shown (aws s3 ls) is replaced by one that shows the credentials arrived.
      const argv = [
        ...args.slice(0, args.indexOf("--") + 1).map((a) => a === "123456" ? code : a),
        "sh",
        "-c",
        "echo $AWS_VAULT",
      ];
      const r = await runProgram(argv, { env });
      equal(r.code, 0, r.stderr);
      equal(r.stdout, "admin\n");
      equal((await runCli(["clear"], { env })).code, 0);
    }
    // Only the --prompt=ykman run asked ykman, with ykman 4's arguments and the MFA serial as the account.
    equal(await Deno.readTextFile(`${w.sb.home}/ykman.args`), `oath accounts code --single ${JON_MFA_SERIAL}\n`);
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: mfa_process with a YubiKey", async () => {
  const block = docBlock("docs/guide.md", "guide-mfa-process");
  const w = await guideWorld({ config: block.text });
  try {
    const bin = await ykmanStandIn(w.sb);
    await Deno.writeTextFile(`${w.sb.home}/code`, w.code());
    // No terminal, no code given: the code can only come from mfa_process.
    const r = await runCli(["export", "jon"], { env: { ...w.env, PATH: `${bin}:${w.env.PATH}` } });
    equal(r.code, 0, r.stderr);
    match(r.stdout, /^AWS_ACCESS_KEY_ID=ASIA/);
    equal(await Deno.readTextFile(`${w.sb.home}/ykman.args`), "oath accounts code --single aws-jon\n");
    equal(w.fake.callsTo("GetSessionToken")[0].params.SerialNumber, JON_MFA_SERIAL);
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// SSO

Deno.test("guide: IAM Identity Center: login through the browser, the token and session in list, clear", async () => {
  const config = docBlock("docs/guide.md", "guide-sso");
  const w = await guideWorld({ config: config.text, addJon: false });
  try {
    ssoFake(w.fake).assign("123456789012", "Developer");
    // The browser: a stand-in xdg-open that follows the sign-in page's redirect back to aws-vault, as a user who
    // clicks "Allow" would.
    const bin = await standIn(w.sb, "xdg-open", `exec curl -s -L -o /dev/null "$1"`);
    const env = { ...w.env, PATH: `${bin}:${w.env.PATH}` };
    const block = docBlock("docs/guide.md", "guide-sso-list");
    const steps = transcript(block.text);
    equal(steps.length, 2);
    const login = await run(commandLine(steps[0].command).args, env);
    equal(login.code, 0, login.stderr);
    assertShown(shown(login.stdout, w.sb), steps[0].output, `${block.name}: ${steps[0].command}`);
    equal(w.fake.callsTo("CreateToken").length, 1);
    const list = await run(commandLine(steps[1].command).args, env);
    assertShown(shown(list.stdout, w.sb), steps[1].output, `${block.name}: ${steps[1].command}`);
    // "clear dev removes both".
    equal((await runCli(["clear", "dev"], { env })).stdout, "Cleared 2 sessions.\n");
    equal((await runCli(["list", "--sessions"], { env })).stdout, "");
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// credential_process, servers

Deno.test("guide: credential_process = aws-vault export, answered from the session cache", async () => {
  const block = docBlock("docs/guide.md", "guide-credential-process");
  const w = await guideWorld({ config: `${docBlock("docs/guide.md", "guide-config").text}\n${block.text}` });
  try {
    // `aws-vault` on PATH, as scripts/install puts it there.
    const bin = await standIn(w.sb, "aws-vault", `exec ${cliCommand().join(" ")} "$@"`);
    const env = { ...w.env, PATH: `${bin}:${w.env.PATH}` };
    equal((await runCli(["export", "readonly"], { env })).code, 0);
    const roles = w.fake.callsTo("AssumeRole").length;
    const r = await runCli(["export", "--format=json", "readonly-sdk"], { env });
    equal(r.code, 0, r.stderr);
    match(JSON.parse(r.stdout).AccessKeyId, /^ASIA/);
    equal(w.fake.callsTo("AssumeRole").length, roles, "the session cached by the first export was used");
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: exec --ecs-server hands out credentials over HTTP with the token", async () => {
  const w = await guideWorld();
  try {
    await checkTranscript(docBlock("docs/guide.md", "guide-ecs-server"), w.env, w.sb);
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: the EC2 and Docker server command lines use exec's flags (root-only and Docker: not run here)", async () => {
  await flagsInHelp(docBlock("docs/guide.md", "guide-servers"));
});

// ---------------------------------------------------------------------------------------------------------------
// Sessions, durations, rotate, login

Deno.test("guide: clear, one profile then all", async () => {
  const w = await guideWorld();
  try {
    equal((await runCli(["export", "readonly"], { env: w.env })).code, 0);
    equal((await runCli(["export", "-t", w.code(), "jon"], { env: w.env })).code, 0);
    await checkTranscript(docBlock("docs/guide.md", "guide-clear"), w.env, w.sb);
    // Stored keys stay.
    equal((await runCli(["list", "--credentials"], { env: w.env })).stdout, "jon\n");
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: --duration and AWS_ASSUME_ROLE_TTL reach AssumeRole", async () => {
  const block = docBlock("docs/guide.md", "guide-durations");
  await flagsInHelp(block);
  const w = await guideWorld();
  try {
    const sent: string[] = [];
    for (const { assign, args } of commandLines(block)) {
      const argv = args.includes("--") ? [...args.slice(0, args.indexOf("--") + 1), "true"] : args;
      const r = await run(argv, { ...w.env, ...assign });
      equal(r.code, 0, r.stderr);
      sent.push(w.fake.callsTo("AssumeRole").at(-1)!.params.DurationSeconds);
    }
    deepStrictEqual(sent, ["7200", "1800"]);
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: rotate -n", async () => {
  const w = await guideWorld();
  try {
    // A session of jon's to delete, as after a day's work.
    equal((await runCli(["export", "-t", w.code(), "jon"], { env: w.env })).code, 0);
    await checkTranscript(docBlock("docs/guide.md", "guide-rotate"), w.env, w.sb);
    equal(w.fake.callsTo("CreateAccessKey").length, 1);
    equal(w.fake.callsTo("DeleteAccessKey").length, 1);
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: login --stdout prints the console URL", async () => {
  const w = await guideWorld();
  try {
    const block = docBlock("docs/guide.md", "guide-login");
    const [step] = transcript(block.text);
    const r = await runCli(commandLine(step.command).args, { env: w.env });
    equal(r.code, 0, r.stderr);
    // The fake stands in for the sign-in endpoint (AWS_ENDPOINT_URL_SIGNIN).
    const url = r.stdout.replace(w.fake.url, "https://signin.aws.amazon.com");
    assertShown(shown(url, w.sb), step.output, block.name);
  } finally {
    await w.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Backends

Deno.test("guide: choosing a backend: the backend exists, --file-dir is used", async () => {
  const block = docBlock("docs/guide.md", "guide-backend-choose");
  await flagsInHelp(block);
  const exported = /^export AWS_VAULT_BACKEND=(\S+)/m.exec(block.text);
  ok(exported && AVAILABLE_BACKENDS.includes(exported[1]), "the exported backend is one this OS offers");
  const sb = await makeSandbox();
  try {
    const fileDir = commandLines(block).find((c) => c.args.includes("--file-dir"))!;
    // The shell expands `~`; aws-vault would too.
    const args = fileDir.args.map((a) => a.replace(/^~\//, `${sb.home}/`));
    const r = await runCli(["--debug", ...args], { env: sb.env });
    equal(r.code, 0, r.stderr);
    ok(r.stderr.includes(`Using the file backend in "${sb.home}/work-vault"`), r.stderr);
    if (hasPass) {
      const pass = commandLines(block).find((c) => c.args.includes("--backend=pass"))!;
      const store = `${sb.home}/password-store`;
      await Deno.mkdir(store);
      const listed = await runCli(pass.args, { env: { ...sb.env, PASSWORD_STORE_DIR: store } });
      equal(listed.code, 0, listed.stderr);
    }
  } finally {
    await sb.cleanup();
  }
});

Deno.test("guide: secret-service without a D-Bus session says so", async () => {
  const block = docBlock("docs/guide.md", "guide-secret-service-no-dbus");
  const sb = await makeSandbox();
  try {
    // The sandbox has no DBUS_SESSION_BUS_ADDRESS and no bus socket in its XDG_RUNTIME_DIR.
    await checkTranscript(block, sb.env, sb);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("guide: kwallet command lines name a backend aws-vault knows", async () => {
  const block = docBlock("docs/guide.md", "guide-kwallet");
  ok(KNOWN_BACKENDS.includes("kwallet"));
  const lines = commandLines(block);
  equal(lines.length, 2);
  for (const { assign, args } of lines) {
    ok(assign.AWS_VAULT_BACKEND === "kwallet" || args.includes("--backend=kwallet"));
  }
  if (AVAILABLE_BACKENDS.includes("kwallet")) await flagsInHelp(block);
});

Deno.test("guide: keychain and wincred lines are for macOS and Windows", async () => {
  const block = docBlock("docs/guide.md", "guide-keychain");
  const sb = await makeSandbox();
  try {
    for (const { args } of commandLines(block)) {
      const backend = args.find((a) => a.startsWith("--backend="))!.slice("--backend=".length);
      ok(KNOWN_BACKENDS.includes(backend), backend);
      if (Deno.build.os === "linux") {
        const r = await runCli(args, { env: sb.env });
        match(r.stderr, new RegExp(`backend "${backend}" is not available on this system`));
      }
    }
    // --keychain's default is the keychain the guide names.
    match((await runCli(["list", "--help"], { env: sb.env })).stdout, /--keychain="aws-vault"/);
  } finally {
    await sb.cleanup();
  }
});

Deno.test({
  name: "guide: pass, and migrate-backend from file to pass (dry run, then for real)",
  ignore: !hasPass || !AVAILABLE_BACKENDS.includes("pass"),
  async fn() {
    const gpg = await makeGpgHome();
    const w = await guideWorld();
    try {
      // guide-pass: add asks for the key on the terminal (here: standard input).
      const own = await makePassStore({ gpg });
      try {
        const [add] = commandLines(docBlock("docs/guide.md", "guide-pass"));
        const r = await runCli(add.args, {
          env: { ...w.env, ...own.env, HOME: w.sb.home },
          stdin: "AKIAJONEXAMPLE000001\njon/secret\n",
        });
        equal(r.code, 0, r.stderr);
        ok((await Deno.stat(`${own.dir}/aws-vault/jon.gpg`)).isFile, "stored under the prefix");
      } finally {
        await own.cleanup();
      }
      const store = await makePassStore({ gpg });
      try {
        const env = { ...w.env, ...store.env, HOME: w.sb.home };
        await checkTranscript(docBlock("docs/guide.md", "guide-migrate-dry-run"), env, w.sb);
        await checkTranscript(docBlock("docs/guide.md", "guide-migrate"), env, w.sb);
        // The copy works: credentials from pass.
        const exported = await runCli(["--backend=pass", "export", "--no-session", "jon"], { env });
        match(exported.stdout, /^AWS_ACCESS_KEY_ID=AKIAJONEXAMPLE000001$/m);
      } finally {
        await store.cleanup();
      }
    } finally {
      await w.cleanup();
      await gpg.cleanup();
    }
  },
});

Deno.test("guide: the Go aws-vault's secret-service store: migrate and AWS_VAULT_BACKEND lines", async () => {
  const block = docBlock("docs/guide.md", "guide-go-side-by-side");
  await flagsInHelp(block);
  const lines = commandLines(block);
  deepStrictEqual(lines[0].args.slice(0, 5), ["migrate-backend", "--from", "secret-service", "--to", "file"]);
  equal(lines[1].assign.AWS_VAULT_BACKEND, "secret-service");
});

// ---------------------------------------------------------------------------------------------------------------
// Troubleshooting: each message produced for real and compared whole.

/** How each troubleshooting example's situation is set up. */
const TROUBLES: Record<string, (w: GuideWorld) => Promise<Record<string, string>>> = {
  "guide-error-no-config": async (w) => {
    await Deno.remove(w.sb.configPath);
    return w.env;
  },
  "guide-error-typo": async (w) => {
    await Deno.writeTextFile(w.sb.configPath, "[profile work]\nregion = eu-west-1\n");
    return w.env;
  },
  "guide-error-no-credentials": async (w) => {
    await Deno.writeTextFile(w.sb.configPath, "[profile work]\nregion = eu-west-1\n");
    return w.env;
  },
  "guide-error-role-no-source": async (w) => {
    await Deno.writeTextFile(w.sb.configPath, "[profile ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\n");
    return w.env;
  },
  "guide-error-wrong-passphrase": (w) => Promise.resolve(w.env),
  "guide-error-no-passphrase-terminal": (w) => {
    const { AWS_VAULT_FILE_PASSPHRASE: _, ...env } = w.env;
    return Promise.resolve(env);
  },
  "guide-error-mfa-no-terminal": (w) => Promise.resolve(w.env),
  "guide-error-mfa-code": (w) => Promise.resolve(w.env),
  "guide-error-nested": (w) => Promise.resolve({ ...w.env, AWS_VAULT: "jon" }),
  "guide-error-duration": (w) => Promise.resolve(w.env),
};

Deno.test("guide: troubleshooting: the ten messages, exactly as the program prints them", async () => {
  const blocks = [
    docBlock("docs/guide.md", "guide-error-no-config"),
    docBlock("docs/guide.md", "guide-error-typo"),
    docBlock("docs/guide.md", "guide-error-no-credentials"),
    docBlock("docs/guide.md", "guide-error-role-no-source"),
    docBlock("docs/guide.md", "guide-error-wrong-passphrase"),
    docBlock("docs/guide.md", "guide-error-no-passphrase-terminal"),
    docBlock("docs/guide.md", "guide-error-mfa-no-terminal"),
    docBlock("docs/guide.md", "guide-error-mfa-code"),
    docBlock("docs/guide.md", "guide-error-nested"),
    docBlock("docs/guide.md", "guide-error-duration"),
  ];
  deepStrictEqual(blocks.map((b) => b.name).sort(), Object.keys(TROUBLES).sort());
  await Promise.all(blocks.map(async (block) => {
    const w = await guideWorld();
    try {
      const env = await TROUBLES[block.name](w);
      const results = await checkTranscript(block, env, w.sb);
      for (const r of results) equal(r.code, 1, `${block.name}: exit code`);
    } finally {
      await w.cleanup();
    }
  }));
});

// ---------------------------------------------------------------------------------------------------------------
// The reference tables

/** The code spans of the first column of the tables in the guide's section `heading` (up to the next heading). */
function tableNames(heading: string): Set<string> {
  const lines = Deno.readTextFileSync(`${root}${GUIDE}`).split("\n");
  const start = lines.indexOf(heading);
  ok(start >= 0, `${GUIDE} has no "${heading}"`);
  const names = new Set<string>();
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6} /.test(line)) break;
    if (!line.startsWith("|") || /^\|\s*-/.test(line)) continue;
    for (const m of line.split("|")[1].matchAll(/`([^`]+)`/g)) names.add(m[1]);
  }
  return names;
}

Deno.test("guide: the config key table lists every key aws-vault reads, and only those", () => {
  const documented = tableNames("### Config keys");
  const read = new Set([...PROFILE_KEYS, "sso_registration_scopes"]);
  deepStrictEqual([...read].filter((k) => !documented.has(k)), [], "keys read but not in the guide");
  deepStrictEqual([...documented].filter((k) => !read.has(k)), [], "keys in the guide that aws-vault does not read");
});

/**
 * The environment variables the program reads: those of every flag (`env:` in the specs) and the names the code looks
 * up (`env.get("…")`, `v("…")`, a TTL variable, or a `…_ENV = "…"` constant passed to a lookup).
 */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  for (const flag of Object.values(APP_GLOBAL_FLAGS) as FlagSpec[]) if (flag.env) names.add(flag.env);
  for (const command of COMMANDS) {
    for (const flag of Object.values(command.spec.flags)) if (flag.env) names.add(flag.env);
  }
  const lookups = [
    /\benv\.get\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)/g,
    /\bget\(\s*"([A-Z][A-Z0-9_]+)"\s*\)/g,
    /\bv\(\s*"([A-Z_][A-Z0-9_]*)"\s*\)/g,
    /\b(?:envDuration|ttlFromEnv)\([^,()]+,\s*"([A-Z_][A-Z0-9_]*)"\s*\)/g,
    /\b[A-Z_]+_ENV\s*=\s*"([A-Z_][A-Z0-9_]*)"/g,
  ];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        for (const pattern of lookups) for (const m of text.matchAll(pattern)) names.add(m[1]);
      }
    }
  };
  walk(`${root}src`);
  return names;
}

Deno.test("guide: the environment table lists every variable aws-vault reads, and only those", () => {
  const documented = tableNames("## Environment variables");
  const read = variablesRead();
  ok(read.size > 40, `only ${read.size} variables found: is the search broken?`);
  deepStrictEqual([...read].filter((v) => !documented.has(v)).sort(), [], "variables read but not in the guide");
  // Read for aws-vault by others: Deno's fetch (proxies), and the per-service endpoint names built from a template.
  const byOthers = new Set(["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "AWS_ENDPOINT_URL_<SERVICE>"]);
  deepStrictEqual(
    [...documented].filter((v) => !read.has(v) && !byOthers.has(v)).sort(),
    [],
    "variables in the guide that aws-vault does not read",
  );
});
