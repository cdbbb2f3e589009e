// The MFA prompt drivers (docs/behaviour.md#mfa-prompt-drivers) with stand-in programs on a controlled PATH: exact
// command lines, trimmed
// output, cancel and failure messages, availability, the automatic choice and `--prompt` validation.
import assert from "node:assert/strict";
import { mfaPromptDriver } from "../src/credentials/mfa.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { availablePromptDrivers, choosePromptDriver, validatePromptDriver } from "../src/prompt/drivers.ts";
import { kdialogPrompt, osascriptArgs, osascriptPrompt, zenityPrompt } from "../src/prompt/gui_drivers.ts";
import { ykmanArgs, ykmanPrompt } from "../src/prompt/ykman.ts";
import { makeSandbox, runCli } from "./support/cli.ts";
import { envFromRecord } from "../src/core/env.ts";

const SERIAL = "arn:aws:iam::111111111111:mfa/jon";
const MESSAGE = `Enter MFA code for ${SERIAL}: `;
const ROOT = new URL("../", import.meta.url).pathname;

/** A PATH directory of stand-ins that record their argv (NUL-separated) and print ` 123456 \n` or exit `status`. */
async function standIns(programs: Record<string, number>) {
  const dir = await Deno.makeTempDir({ prefix: "prompt-drivers-" });
  for (const [name, status] of Object.entries(programs)) {
    const script = `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > '${dir}/${name}.argv'\n` +
      (status === 0 ? "printf ' 123456 \\n'\n" : `exit ${status}\n`);
    await Deno.writeTextFile(`${dir}/${name}`, script, { mode: 0o755 });
  }
  return {
    dir,
    async argv(name: string): Promise<string[]> {
      return (await Deno.readTextFile(`${dir}/${name}.argv`)).split("\0").slice(0, -1);
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("dialog drivers: aws-vault's exact command lines, output trimmed", async () => {
  await using bin = await standIns({ zenity: 0, kdialog: 0, osascript: 0 });
  const env = envFromRecord({ PATH: bin.dir });
  assert.equal(await zenityPrompt(SERIAL, { env }), "123456");
  assert.deepEqual(await bin.argv("zenity"), ["--entry", "--title", "aws-vault", "--text", MESSAGE]);
  assert.equal(await kdialogPrompt(SERIAL, { env }), "123456");
  assert.deepEqual(await bin.argv("kdialog"), ["--inputbox", MESSAGE, "--title", "aws-vault"]);
  assert.equal(await osascriptPrompt(SERIAL, { env }), "123456");
  const script = `\n\t\tdisplay dialog "${MESSAGE}" default answer "" buttons {"OK", "Cancel"} default button 1\n` +
    `        text returned of the result\n        return result`;
  assert.deepEqual(await bin.argv("osascript"), ["-e", script]);
  assert.deepEqual(osascriptArgs('a"b\\c'), [
    "-e",
    script.replace(`"${MESSAGE}"`, '"Enter MFA code for a\\"b\\\\c: "'),
  ]);
  // Through the registry, as the credential chain uses it.
  assert.equal(await mfaPromptDriver("zenity", "p", { env })(SERIAL), "123456");
  assert.equal(await mfaPromptDriver("kdialog", "p", { env })(SERIAL), "123456");
});

Deno.test("ykman: version variants, device serial and credential name from the environment", async () => {
  await using bin = await standIns({ ykman: 0 });
  const cases: [Record<string, string>, string[]][] = [
    [{}, ["oath", "accounts", "code", "--single", SERIAL]],
    [{ AWS_VAULT_YKMAN_VERSION: "3" }, ["oath", "code", "--single", SERIAL]],
    [{ AWS_VAULT_YKMAN_VERSION: "1" }, ["oath", "code", "--single", SERIAL]],
    [{ AWS_VAULT_YKMAN_VERSION: "4" }, ["oath", "accounts", "code", "--single", SERIAL]],
    [
      { YKMAN_OATH_DEVICE_SERIAL: "1234567", YKMAN_OATH_CREDENTIAL_NAME: "aws:jon" },
      ["--device", "1234567", "oath", "accounts", "code", "--single", "aws:jon"],
    ],
    [
      { AWS_VAULT_YKMAN_VERSION: "2", YKMAN_OATH_DEVICE_SERIAL: "7" },
      ["--device", "7", "oath", "code", "--single", SERIAL],
    ],
  ];
  for (const [vars, expected] of cases) {
    assert.deepEqual(ykmanArgs(SERIAL, { env: envFromRecord(vars) }), expected, JSON.stringify(vars));
    assert.equal(await ykmanPrompt(SERIAL, { env: envFromRecord({ ...vars, PATH: bin.dir }) }), "123456");
    assert.deepEqual(await bin.argv("ykman"), expected, JSON.stringify(vars));
  }
});

Deno.test("ykman without a terminal: the touch notice goes to stderr before the code is read", async () => {
  await using bin = await standIns({ ykman: 0 });
  const code = `import { envFromRecord } from "${ROOT}src/core/env.ts";\n` +
    `import { ykmanPrompt } from "${ROOT}src/prompt/ykman.ts";\n` +
    `console.log(JSON.stringify(await ykmanPrompt("${SERIAL}", { env: envFromRecord({ PATH: "${bin.dir}" }) })));`;
  // setsid: no controlling terminal, so the notice cannot go to /dev/tty.
  const out = await new Deno.Command("setsid", {
    args: ["-w", Deno.execPath(), "eval", code],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(new TextDecoder().decode(out.stdout), '"123456"\n', stderr);
  assert.match(stderr, new RegExp(`^Touch your YubiKey… \\(ykman is generating the MFA code for ${SERIAL}\\)\\n`));
  assert.doesNotMatch(stderr, /123456/);
});

Deno.test("cancel and failure: clear errors naming the profile and the driver, never the code", async () => {
  await using bin = await standIns({ zenity: 1, kdialog: 5, ykman: 1 });
  const env = envFromRecord({ PATH: bin.dir });
  await assert.rejects(mfaPromptDriver("zenity", "dev", { env })(SERIAL), (e: Error) => {
    assert.ok(e instanceof CredentialsError);
    assert.equal(e.message, "profile dev: zenity: cancelled");
    return true;
  });
  await assert.rejects(mfaPromptDriver("kdialog", "dev", { env })(SERIAL), {
    message: "profile dev: kdialog: exit status 5",
  });
  await assert.rejects(mfaPromptDriver("ykman", "dev", { env })(SERIAL), {
    message: "profile dev: ykman: exit status 1",
  });
  await assert.rejects(zenityPrompt(SERIAL, { env: envFromRecord({ PATH: "/nonexistent" }) }), {
    message: 'zenity: exec: "zenity": executable file not found in $PATH',
  });
});

Deno.test("availability follows PATH; the automatic choice avoids the terminal only when asked", async () => {
  await using bin = await standIns({ zenity: 0, ykman: 0, kdialog: 0, osascript: 0 });
  await Deno.writeTextFile(`${bin.dir}/not-exec`, "");
  const osascript = Deno.build.os === "darwin" ? ["osascript"] : [];
  assert.deepEqual(availablePromptDrivers({ path: bin.dir }), ["kdialog", ...osascript, "terminal", "ykman", "zenity"]);
  assert.deepEqual(availablePromptDrivers({ path: "" }), ["terminal"]);
  assert.deepEqual(availablePromptDrivers({ path: undefined }), ["terminal"]);

  assert.equal(choosePromptDriver({ path: bin.dir }), "terminal");
  assert.equal(choosePromptDriver({ path: bin.dir, avoidTerminal: true }), "kdialog");
  assert.equal(choosePromptDriver({ path: "", avoidTerminal: true }), "terminal");
  assert.equal(choosePromptDriver({ path: bin.dir, avoidTerminal: true, requested: "zenity" }), "zenity");
  await Deno.remove(`${bin.dir}/kdialog`);
  assert.equal(choosePromptDriver({ path: bin.dir, avoidTerminal: true }), "ykman", "ykman alone is picked too");
  await Deno.remove(`${bin.dir}/ykman`);
  assert.equal(choosePromptDriver({ path: bin.dir, avoidTerminal: true }), "zenity");
  // Through mfaPromptDriver: no --prompt and the terminal avoided → the dialog answers.
  assert.equal(
    await mfaPromptDriver(undefined, "p", { env: envFromRecord({ PATH: bin.dir }), avoidTerminal: true })(SERIAL),
    "123456",
  );
  assert.throws(() => mfaPromptDriver("kdialog", "p", { env: envFromRecord({ PATH: bin.dir }) }), {
    message: 'profile p: MFA prompt driver "kdialog" is not available (available: terminal, zenity)',
  });
});

Deno.test("--prompt validation lists the drivers available here", async () => {
  await using bin = await standIns({ zenity: 0 });
  validatePromptDriver(undefined, { path: "" });
  validatePromptDriver("terminal", { path: "" });
  validatePromptDriver("zenity", { path: bin.dir });
  assert.throws(() => validatePromptDriver("zenity", { path: "" }), {
    name: "UsageError",
    message: "--prompt value must be one of terminal, got 'zenity'",
  });
  assert.throws(() => validatePromptDriver("nope", { path: bin.dir }), {
    message: "--prompt value must be one of terminal,zenity, got 'nope'",
  });
  assert.throws(() => validatePromptDriver("pass", { path: "" }), { message: /^--prompt=pass \(or AWS_VAULT_PROMPT/ });
});

Deno.test("CLI: --prompt and AWS_VAULT_PROMPT are checked against the drivers on PATH", async () => {
  await using bin = await standIns({ zenity: 0 });
  const sb = await makeSandbox({ config: "[profile dev]\n" });
  try {
    const path = `${bin.dir}:${sb.env.PATH}`;
    const env = { ...sb.env, PATH: path };
    const available = availablePromptDrivers({ path }).join(",");
    const nope = await runCli(["list", "--prompt=nope"], { env });
    assert.equal(nope.code, 1);
    assert.match(nope.stderr, new RegExp(`--prompt value must be one of ${available}, got 'nope'`));
    assert.match(available, /terminal,.*zenity/);
    const fromEnv = await runCli(["list"], { env: { ...env, AWS_VAULT_PROMPT: "nope" } });
    assert.match(fromEnv.stderr, /got 'nope'/);
    const ok = await runCli(["list", "--prompt=zenity"], { env });
    assert.equal(ok.code, 0, ok.stderr);
    const without = await runCli(["list", "--prompt=zenity"], { env: { ...sb.env, PATH: "/usr/bin:/bin" } });
    assert.match(without.stderr, /--prompt value must be one of .*terminal.*, got 'zenity'/);
  } finally {
    await sb.cleanup();
  }
});
