/**
 * Runs aws-vault in a sandboxed HOME with a clean environment: in-process through `runCli` with the environment,
 * output and standard input injected ({@link runCli}), or as a real process from source or the bundle
 * ({@link runProgram}) for what only a process shows (exec's child, signals, the terminal, the bundle).
 * @module
 */

import { equal } from "node:assert/strict";
import { reportError } from "../../main.ts";
import { runCli as runApp } from "../../src/app.ts";
import { envFromRecord } from "../../src/core/env.ts";
import { NO_TERMINAL } from "../../src/os/terminal.ts";
import { terminalPrompter } from "../../src/prompt/terminal.ts";

const root = new URL("../../", import.meta.url).pathname;

/**
 * The python3 to run helpers and boto3 with: Debian's (where .ci/run installs boto3) when present, not a
 * version-manager shim on PATH, which costs several processes per call.
 */
export const PYTHON3: string = (() => {
  try {
    return Deno.statSync("/usr/bin/python3").isFile ? "/usr/bin/python3" : "python3";
  } catch {
    return "python3";
  }
})();

/** The outcome of one aws-vault invocation. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A throwaway home directory with the paths aws-vault uses in it. */
export interface Sandbox {
  readonly home: string;
  readonly configPath: string;
  readonly vaultDir: string;
  /** A clean environment for the CLI: HOME, PATH, the passphrase and nothing from the test's own AWS_* vars. */
  readonly env: Record<string, string>;
  /** Deletes the sandbox. */
  cleanup(): Promise<void>;
}

/** Creates a sandbox; `passphrase` (default "test-pass") goes into AWS_VAULT_FILE_PASSPHRASE unless null. */
export async function makeSandbox(options?: { passphrase?: string | null; config?: string }): Promise<Sandbox> {
  const home = await Deno.makeTempDir({ prefix: "aws-vault-test-" });
  // The SSO login lock lives in XDG_RUNTIME_DIR (else /tmp): a sandbox of its own, so parallel tests never share one.
  await Deno.mkdir(`${home}/run`, { mode: 0o700 });
  const configPath = `${home}/.aws/config`;
  if (options?.config !== undefined) {
    await Deno.mkdir(`${home}/.aws`, { recursive: true });
    await Deno.writeTextFile(configPath, options.config);
  }
  const env: Record<string, string> = {
    HOME: home,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    NO_COLOR: "1",
    XDG_RUNTIME_DIR: `${home}/run`,
    // Chosen, as a user who has read the first-run note: tests of that note (newcomer_backend_test.ts) remove it.
    AWS_VAULT_BACKEND: "file",
  };
  const passphrase = options?.passphrase === undefined ? "test-pass" : options.passphrase;
  if (passphrase !== null) env.AWS_VAULT_FILE_PASSPHRASE = passphrase;
  return {
    home,
    configPath,
    vaultDir: `${home}/.awsvault/keys`,
    env,
    cleanup: () => Deno.remove(home, { recursive: true }),
  };
}

/** The command line that starts aws-vault: `deno run -A main.ts` or, with `bundle`, `deno run -A dist/aws-vault.js`. */
export function cliCommand(options?: { bundle?: boolean }): string[] {
  const entry = options?.bundle ? `${root}dist/aws-vault.js` : `${root}main.ts`;
  return [Deno.execPath(), "run", "-A", "--quiet", entry];
}

/** Standard input made of `text`, read as a process reads a pipe. */
function stdinOf(text: string): { read(buffer: Uint8Array): Promise<number | null> } {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return {
    read(buffer) {
      if (offset >= bytes.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

/**
 * Runs aws-vault with `args` in this process, as `main.ts` would run it in a process with no terminal: the
 * environment is exactly `env`, prompts read `stdin` (the given text or empty), and errors print as main.ts prints them.
 * Not for `exec` of a command (it replaces the process) or anything that waits for signals: use {@link runProgram}.
 */
export async function runCli(
  args: readonly string[],
  options: { env: Record<string, string>; stdin?: string },
): Promise<CliResult> {
  // exec replaces the process with its command (execve): in here, that would be the test runner. Its server modes
  // and --json run no execve.
  const noExecve = ["--json", "-j", "--help", "-h", "--ecs-server", "--ec2-server", "--server", "-s"];
  if (args.includes("exec") && !args.some((a) => noExecve.includes(a))) {
    throw new Error("runCli cannot run exec of a command in-process: use runProgram");
  }
  let stdout = "";
  let stderr = "";
  const out = { stdout: (text: string) => void (stdout += text), stderr: (text: string) => void (stderr += text) };
  const prompter = terminalPrompter({
    openTty: () => undefined,
    stdin: stdinOf(options.stdin ?? ""),
    writeStderr: out.stderr,
  });
  let code: number;
  try {
    code = await runApp(args, {
      env: envFromRecord(options.env),
      out,
      terminal: NO_TERMINAL,
      prompter,
      now: () => new Date(),
    });
  } catch (e) {
    code = reportError(e, out);
  }
  return { code, stdout, stderr };
}

/**
 * Stores long-term `keys` for `profile` with `aws-vault add --env`, in-process, as a user would; fails the test when
 * add fails.
 */
export async function addKeys(
  profile: string,
  keys: { readonly accessKeyId: string; readonly secretAccessKey: string },
  env: Record<string, string>,
): Promise<void> {
  const added = await runCli(["add", "--env", profile], {
    env: { ...env, AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey },
  });
  equal(added.code, 0, added.stderr);
}

/**
 * Runs aws-vault with `args` as a process. It gets a new session (setsid) so it has no controlling terminal even when
 * the tests run in one: prompts then read `stdin`, which is the given text or empty. `wrapper` is a command line that
 * runs aws-vault's (e.g. one that installs a seccomp filter first).
 */
export async function runProgram(
  args: readonly string[],
  options: { env: Record<string, string>; stdin?: string; bundle?: boolean; wrapper?: readonly string[] },
): Promise<CliResult> {
  const [cmd, ...rest] = ["setsid", "-w", ...options.wrapper ?? [], ...cliCommand(options), ...args];
  const child = new Deno.Command(cmd, {
    args: rest,
    env: options.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: options.env.HOME,
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs aws-vault on a real pseudo-terminal (tests/support/pty_run.py) and answers prompts in order. */
export async function runOnTerminal(
  args: readonly string[],
  options: { env: Record<string, string>; answers: readonly (readonly [string, string])[] },
): Promise<{ output: string; code: number; unmatched: unknown[] }> {
  const out = await new Deno.Command(PYTHON3, {
    args: [`${root}tests/support/pty_run.py`, JSON.stringify(options.answers), "--", ...cliCommand(), ...args],
    env: options.env,
    clearEnv: true,
    cwd: options.env.HOME,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * Reads `stream` until `text` has appeared (a readiness handshake with a child process), then releases the reader so
 * the stream can be read or cancelled later.
 * @throws Error when the stream ends first
 */
export async function waitForText(stream: ReadableStream<Uint8Array>, text: string): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}: ${seen}`);
      seen += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
}
