/**
 * Support for the Windows suite (`tests/windows/*_test.ts`): tests run BY a Windows Deno (under Wine, through
 * `scripts/test_windows`, or on Windows itself) that start aws-vault the way a Windows user's installed command does,
 * `deno.exe run … dist\aws-vault.js`, with `Deno.execPath()`.
 *
 * Off Windows each suite file registers one ignored test saying where it runs, and nothing else, so the Linux run of
 * `deno test tests/` passes over them.
 *
 * What the lane hands in through the environment (each optional on a real Windows machine):
 * - `AWS_VAULT_TEST_BUNDLE`: the bundle to run (default: this checkout's `dist\aws-vault.js`);
 * - `AWS_VAULT_TEST_CREDTOOL`: `credtool.exe` built from `tests/windows/credtool.c` (tests that need it are skipped
 *   without it);
 * - `AWS_VAULT_TEST_FAKE_AWS`: the URL of the fake AWS (`tests/support/fake_aws/main.ts`, run by the Linux Deno in
 *   the lane); tests that call AWS are skipped without it.
 * @module
 */

import assert from "node:assert/strict";

/** True when this Deno is the Windows build (under Wine or not). */
export const ON_WINDOWS = Deno.build.os === "windows";

/** A file URL as a Windows path (`file:///Z:/a/b` → `Z:\a\b`). */
export function windowsPath(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\");
}

/** The checkout's root folder, as a Windows path with a trailing backslash. */
export const REPO = ON_WINDOWS ? windowsPath(new URL("../../", import.meta.url)) : "";

const env = (name: string) => ON_WINDOWS ? Deno.env.get(name) || undefined : undefined;

/** The bundle aws-vault runs from. */
export const BUNDLE = env("AWS_VAULT_TEST_BUNDLE") ?? `${REPO}dist\\aws-vault.js`;
/** credtool.exe, when the lane built it. */
export const CREDTOOL = env("AWS_VAULT_TEST_CREDTOOL");
/** The fake AWS endpoint, when the lane started it. */
export const FAKE_AWS = env("AWS_VAULT_TEST_FAKE_AWS");

/** The flags the installed launcher runs the bundle with (scripts/install, scripts/windows/install.ts). */
export const LAUNCHER_FLAGS = [
  "run",
  "-A",
  "--quiet",
  "--no-prompt",
  "--no-config",
  "--no-lock",
  "--cached-only",
  "--v8-flags=--no-lazy,--max-semi-space-size=2",
] as const;

type TestBody = () => Promise<void> | void;
/** Registers a test of this suite; `skip` (a reason) ignores it with the reason in its name. */
export type WindowsTest = (name: string, fn: TestBody, options?: { skip?: string | false }) => void;

/** The test registrar of one suite file: real tests on Windows, one ignored placeholder elsewhere. */
export function windowsSuite(file: string): WindowsTest {
  if (!ON_WINDOWS) {
    Deno.test({
      name: `windows/${file}: Windows only (scripts/test_windows runs it under Wine)`,
      ignore: true,
      fn() {},
    });
    return () => {};
  }
  return (name, fn, options) =>
    Deno.test({
      name: `windows/${file}: ${name}${options?.skip ? ` (skipped: ${options.skip})` : ""}`,
      ignore: Boolean(options?.skip),
      fn,
    });
}

/** Why a test needing the fake AWS cannot run, or false. */
export const NEEDS_FAKE_AWS = FAKE_AWS ? false : "AWS_VAULT_TEST_FAKE_AWS is not set";
/** Why a test needing credtool.exe cannot run, or false. */
export const NEEDS_CREDTOOL = CREDTOOL ? false : "AWS_VAULT_TEST_CREDTOOL is not set";

/** What one process printed and how it ended. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with exactly `env`, `stdin` as its standard input; collects its output. */
export async function runProcess(
  cmd: string,
  args: readonly string[],
  options: { env: Record<string, string>; stdin?: string; cwd?: string },
): Promise<Run> {
  const child = new Deno.Command(cmd, {
    args: [...args],
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** A throwaway user profile: `USERPROFILE` points at an empty temp folder; no HOME, as on Windows. */
export interface Sandbox {
  /** The profile folder (a Windows path). */
  readonly home: string;
  /** `%USERPROFILE%\.aws\config`. */
  readonly configPath: string;
  /** `%USERPROFILE%\.awsvault\keys`. */
  readonly vaultDir: string;
  /** The environment aws-vault gets: what Windows programs need, the profile folder, nothing from the test run. */
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Creates a {@link Sandbox}; `config` becomes `%USERPROFILE%\.aws\config`. */
export async function makeSandbox(options?: { config?: string }): Promise<Sandbox> {
  const home = await Deno.makeTempDir({ prefix: "aws-vault-win-" });
  const configPath = `${home}\\.aws\\config`;
  if (options?.config !== undefined) {
    await Deno.mkdir(`${home}\\.aws`, { recursive: true });
    await Deno.writeTextFile(configPath, options.config);
  }
  const keep = ["SystemRoot", "windir", "ComSpec", "PATH", "PATHEXT", "TEMP", "TMP", "LOCALAPPDATA", "APPDATA"];
  const env: Record<string, string> = { USERPROFILE: home, NO_COLOR: "1" };
  for (const name of keep) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return {
    home,
    configPath,
    vaultDir: `${home}\\.awsvault\\keys`,
    env,
    cleanup: () => Deno.remove(home, { recursive: true }),
  };
}

/** The command line of the installed aws-vault: the Windows Deno running the bundle with the launcher's flags. */
export function awsVaultCommand(): [string, string[]] {
  return [Deno.execPath(), [...LAUNCHER_FLAGS, BUNDLE]];
}

/** Runs aws-vault with `args` in the sandbox's environment (plus `extraEnv`), from the profile folder. */
export function awsVault(
  sandbox: Sandbox,
  args: readonly string[],
  options?: { env?: Record<string, string>; stdin?: string },
): Promise<Run> {
  const [cmd, base] = awsVaultCommand();
  return runProcess(cmd, [...base, ...args], {
    env: { ...sandbox.env, ...options?.env },
    stdin: options?.stdin,
    cwd: sandbox.home,
  });
}

/** Asserts a run exited with `code`, showing its output when it did not. */
export function assertExit(run: Run, code: number, what = "aws-vault"): void {
  assert.equal(run.code, code, `${what} exited ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
}

/** Stores long-term keys for `profile` with `add --env` (no AWS call). */
export async function addKeys(
  sandbox: Sandbox,
  profile: string,
  keys: { accessKeyId: string; secretAccessKey: string },
  options?: { backend?: string; env?: Record<string, string> },
): Promise<void> {
  const backend = options?.backend ? ["--backend", options.backend] : [];
  const run = await awsVault(sandbox, [...backend, "add", "--env", profile], {
    env: { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey, ...options?.env },
  });
  assertExit(run, 0, "add --env");
}

/** Runs credtool.exe (see credtool.c). */
export function credtool(...args: string[]): Promise<Run> {
  if (!CREDTOOL) throw new Error("AWS_VAULT_TEST_CREDTOOL is not set");
  return runProcess(CREDTOOL, args, { env: { SystemRoot: Deno.env.get("SystemRoot") ?? "C:\\windows" } });
}

/** Hex of UTF-8 text (credtool's blob argument). */
export function hex(text: string | Uint8Array): string {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Target names starting with `aws-vault:` in this Wine prefix's (or Windows user's) Credential Manager. */
export async function wincredTargets(): Promise<string[]> {
  const { nativeWincredApi } = await import("../../src/vault/wincred_ffi.ts");
  return nativeWincredApi().enumerate("aws-vault:*").sort();
}

/** Deletes every `aws-vault:aws-vault:*` credential, so a test starts from an empty store. */
export async function clearWincred(): Promise<void> {
  const { nativeWincredApi } = await import("../../src/vault/wincred_ffi.ts");
  const api = nativeWincredApi();
  for (const target of api.enumerate("aws-vault:aws-vault:*")) api.delete(target);
  assert.deepEqual(api.enumerate("aws-vault:aws-vault:*"), []);
}

/** A user of the fake AWS, added through its control API; returns its keys. */
export async function addFakeUser(userName: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  if (!FAKE_AWS) throw new Error("AWS_VAULT_TEST_FAKE_AWS is not set");
  const tag = userName.toUpperCase().replace(/[^A-Z0-9]/g, "").padEnd(8, "X").slice(0, 8);
  const keys = {
    accessKeyId: `AKIAWIN${tag}${String(Date.now() % 1e5).padStart(5, "0")}`,
    secretAccessKey: `${userName}/secret+${crypto.randomUUID()}`,
  };
  const response = await fetch(`${FAKE_AWS}/__fake_aws/users`, {
    method: "POST",
    body: JSON.stringify({ userName: `${userName}-${crypto.randomUUID().slice(0, 8)}`, ...keys }),
  });
  assert.equal(response.status, 200, await response.text());
  return keys;
}

/** Calls the fake AWS recorded for an access key (by action name). */
export async function fakeCallsBy(accessKeyId: string): Promise<string[]> {
  const response = await fetch(`${FAKE_AWS}/__fake_aws/calls`);
  const calls = await response.json() as { action: string; accessKeyId?: string }[];
  return calls.filter((c) => c.accessKeyId === accessKeyId).map((c) => c.action);
}

/** Parses `KEY=value` lines (a child printing its environment) into a record. */
export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf("=");
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

/** Writes a small Deno script into `dir` and returns its path (for children that `exec` runs). */
export async function writeScript(dir: string, name: string, source: string): Promise<string> {
  const path = `${dir}\\${name}`;
  await Deno.writeTextFile(path, source);
  return path;
}

/** True under Wine (ntdll exports wine_get_version), where some Windows behaviour cannot be shown. */
export const UNDER_WINE: boolean = (() => {
  if (!ON_WINDOWS) return false;
  try {
    Deno.dlopen("ntdll.dll", { wine_get_version: { parameters: [], result: "pointer" } }).close();
    return true;
  } catch {
    return false;
  }
})();

/** The Windows Deno running a script, as a command line for `exec` (no config, no prompts, quiet). */
export function denoScript(path: string, ...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--quiet", "--no-config", "--no-prompt", path, ...args];
}
