/**
 * What a newcomer sees: `--prompt`/`--backend` help and completion offer only what works here, enum flags show their
 * values and default, and typos of commands and flags get a suggestion (or where `--` goes).
 */
import assert from "node:assert/strict";
import { appGlobalFlags, appSpec } from "../src/app.ts";
import { completionOutput } from "../src/cli/completion.ts";
import { parseCommandLine } from "../src/cli/parser.ts";
import { renderResult } from "../src/cli/render.ts";
import { envFromRecord } from "../src/core/env.ts";
import { UsageError } from "../src/core/errors.ts";
import { validatePromptDriver } from "../src/prompt/drivers.ts";
import { AVAILABLE_BACKENDS, DEFAULT_BACKEND, offeredBackends } from "../src/vault/backends.ts";

const NO_PATH = envFromRecord({ PATH: "" });

function help(argv: string[], env = NO_PATH): string {
  const app = appSpec(appGlobalFlags(env));
  const result = parseCommandLine(argv, { app, env });
  if (result.kind !== "help") throw new Error(`expected help, got ${result.kind}`);
  return renderResult(app, result).replace(/\s+/g, " ");
}

function complete(words: string[], env = NO_PATH): string[] {
  const app = appSpec(appGlobalFlags(env));
  const result = parseCommandLine(["--completion-bash", ...words], { app, env });
  if (result.kind !== "complete") throw new Error(`expected completion, got ${result.kind}`);
  return completionOutput(result.words, { app }).split("\n").filter((l) => l !== "");
}

function failure(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, { app: appSpec(), env: NO_PATH });
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`${argv.join(" ")} did not fail`);
}

Deno.test("--prompt help and completion offer only the drivers --prompt accepts here", () => {
  assert.ok(help(["--help"]).includes("--prompt=PROMPT Prompt driver to use [terminal] ($AWS_VAULT_PROMPT)"));
  assert.deepEqual(complete(["--prompt", ""]), ["terminal"]);
  assert.deepEqual(complete(["--prompt=z"]), []);
  assert.throws(() => validatePromptDriver("zenity", { path: "" }), /must be one of terminal, got 'zenity'/);
  // With zenity on PATH it is offered, and accepted.
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/zenity`, "#!/bin/sh\n", { mode: 0o755 });
    const env = envFromRecord({ PATH: dir });
    assert.deepEqual(complete(["--prompt", ""], env), ["terminal", "zenity"]);
    assert.ok(help(["--help"], env).includes("Prompt driver to use [terminal zenity]"));
    validatePromptDriver("zenity", { path: dir });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--backend help and completion offer secret-service and kwallet only with a D-Bus session", () => {
  const without = offeredBackends({ env: envFromRecord({}), isSocket: () => false });
  assert.ok(!without.includes("secret-service"));
  assert.ok(!without.includes("kwallet"));
  assert.ok(without.includes(DEFAULT_BACKEND));
  assert.deepEqual(offeredBackends({ env: envFromRecord({ DBUS_SESSION_BUS_ADDRESS: "unix:path=/x" }) }), [
    ...AVAILABLE_BACKENDS,
  ]);
  assert.deepEqual(
    offeredBackends({
      env: envFromRecord({ XDG_RUNTIME_DIR: "/run/user/1" }),
      isSocket: (p) => p === "/run/user/1/bus",
    }),
    [...AVAILABLE_BACKENDS],
  );
  if (Deno.build.os === "linux") {
    assert.deepEqual(without, ["pass", "file"]);
    assert.ok(help(["--help"]).includes("Secret backend to use [pass file] ($AWS_VAULT_BACKEND)"));
    assert.deepEqual(complete(["--backend", ""]), ["pass", "file"]);
    const dbus = envFromRecord({ PATH: "", DBUS_SESSION_BUS_ADDRESS: "unix:path=/x" });
    assert.deepEqual(complete(["--backend", ""], dbus), ["secret-service", "kwallet", "pass", "file"]);
  }
});

Deno.test("export --help shows the formats and the default", () => {
  assert.ok(
    help(["export", "--help"]).includes(
      "--format=FORMAT Format to output credentials (env, export-env, json, ini; default env)",
    ),
  );
});

Deno.test("command typos get a suggestion", () => {
  const e = failure(["exce", "work"]);
  assert.equal(e.message, 'unknown command "exce", did you mean "exec"?');
  assert.equal(e.suggestHelp, false);
  assert.equal(failure(["help", "exprot"]).message, 'unknown command "exprot", did you mean "export"?');
  const far = failure(["frobnicate"]);
  assert.equal(far.message, 'expected command but got "frobnicate"');
  assert.equal(far.suggestHelp, true);
});

Deno.test("flag typos get the closest flag", () => {
  assert.equal(
    failure(["exec", "--regoin", "x", "work"]).message,
    "unknown long flag '--regoin', did you mean '--region'?",
  );
  assert.equal(failure(["--debgu", "list"]).message, "unknown long flag '--debgu', did you mean '--debug'?");
  assert.equal(failure(["--foo"]).message, "unknown long flag '--foo'");
});

Deno.test("an unknown flag after exec's command says to put -- before the command", () => {
  assert.equal(
    failure(["exec", "work", "aws", "sts", "get-caller-identity", "--query", "Arn"]).message,
    "unknown long flag '--query' (to pass flags to the command, put -- before it: aws-vault exec work -- aws …)",
  );
  assert.equal(
    failure(["exec", "work", "my tool", "s3", "-o", "a b"]).message,
    "unknown short flag '-o' (to pass flags to the command, put -- before it: aws-vault exec work -- 'my tool' …)",
  );
  // The command's arguments may be secrets: they are not repeated in the message, which may reach a CI log.
  const leak = failure(["exec", "work", "deploy", "--token=s3cr3t-value", "--dry"]).message;
  assert.ok(!leak.includes("s3cr3t-value"), leak);
  assert.equal(
    leak,
    "unknown long flag '--token' (to pass flags to the command, put -- before it: aws-vault exec work -- deploy …)",
  );
  // Before the command word it is an ordinary typo.
  assert.equal(failure(["exec", "work", "--query"]).message, "unknown long flag '--query'");
});
