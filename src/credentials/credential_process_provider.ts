/**
 * Credentials from an external command (`credential_process`, docs/behaviour.md#credential_process), and the shell
 * runner shared with
 * `mfa_process` and, later, `web_identity_token_process`.
 * @module
 */

import type { Env } from "../core/env.ts";
import { formatDuration } from "../config/duration.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import { InvalidDataError, parseGoObject } from "../vault/keyring.ts";
import type { Credentials } from "../core/credentials.ts";
import { type CredentialsProvider } from "./provider.ts";
import { CredentialsError } from "../core/errors.ts";
import { parseRfc3339 } from "../core/time.ts";

/** Options of {@link runShellCommand}. */
export interface ShellCommandOptions {
  /**
   * `inherit` (default): the command shares our stdin and stderr. `tty`: both are the controlling terminal when
   * one can be opened, so interactive tools still reach the user while our own streams are pipes.
   */
  stdio?: "inherit" | "tty";
  /** The environment (on Windows, `SystemRoot` locates cmd.exe). */
  env: Env;
}

/** The result of {@link runShellCommand}: only stdout is captured. */
export interface ShellCommandResult {
  /** Whether the command exited with status 0. */
  readonly success: boolean;
  /** Go's wording of a failure, e.g. `exit status 2` or `signal: killed`; empty on success. */
  readonly failure: string;
  /** Captured standard output. It may hold secrets: never log or echo it. */
  readonly stdout: string;
}

function ttyAvailable(): boolean {
  try {
    Deno.openSync("/dev/tty", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `command` through the platform shell (`/bin/sh -c`, on Windows `cmd.exe /C`) with our environment.
 * @throws Error when the shell cannot be started
 */
export async function runShellCommand(command: string, options: ShellCommandOptions): Promise<ShellCommandResult> {
  let program: string;
  let args: string[];
  let raw = false;
  if (Deno.build.os === "windows") {
    program = `${options.env.get("SystemRoot") ?? "C:\\Windows"}\\System32\\cmd.exe`;
    args = ["/C", `"${command}"`];
    raw = true; // cmd.exe parses its own command line; Deno's quoting would break `"…"` inside the command
  } else if (options.stdio === "tty" && ttyAvailable()) {
    // The outer shell redirects, then runs the command exactly as `/bin/sh -c <command>` would.
    program = "/bin/sh";
    args = ["-c", 'exec /bin/sh -c "$1" </dev/tty 2>/dev/tty', "sh", command];
  } else {
    program = "/bin/sh";
    args = ["-c", command];
  }
  const out = await new Deno.Command(program, {
    args,
    env: options.env.toObject(),
    clearEnv: true,
    stdin: "inherit",
    stdout: "piped",
    stderr: "inherit",
    windowsRawArguments: raw,
  }).output();
  const failure = out.success ? "" : out.signal ? `signal: ${out.signal}` : `exit status ${out.code}`;
  return { success: out.success, failure, stdout: new TextDecoder().decode(out.stdout) };
}

const REQUIRED_FIELDS = ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"] as const;

/**
 * Parses credential_process output (JSON v1; field names case-insensitive, `Version` ignored). All four fields are
 * required, as in aws-vault. Errors quote the command, never the output.
 */
export function parseCredentialProcessOutput(command: string, output: string): Credentials & { expiration: Date } {
  const quoted = JSON.stringify(command);
  let fields: Map<string, unknown>;
  try {
    fields = parseGoObject(output);
  } catch (e) {
    const why = e instanceof InvalidDataError ? e.message : "unreadable output";
    throw new Error(`invalid JSON format from command ${quoted}: ${why}`);
  }
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of REQUIRED_FIELDS) {
    const v = fields.get(name.toLowerCase());
    if (v === undefined || v === null) missing.push(name);
    else if (typeof v !== "string") {
      throw new Error(`invalid JSON format from command ${quoted}: ${name} is not a string`);
    } else values[name] = v;
  }
  if (missing.length > 0) {
    throw new Error(`JSON credential from command ${quoted} missing the following fields: [${missing.join(" ")}]`);
  }
  const expiration = parseRfc3339(values.Expiration);
  if (!expiration) {
    throw new Error(`invalid JSON format from command ${quoted}: Expiration is not an RFC 3339 time`);
  }
  return {
    accessKeyId: values.AccessKeyId,
    secretAccessKey: values.SecretAccessKey,
    sessionToken: values.SessionToken,
    expiration,
  };
}

/** Options of {@link CredentialProcessProvider}. */
export interface CredentialProcessProviderOptions {
  /** The clock for the debug line. */
  now: () => Date;
  /** The environment (see {@link ShellCommandOptions.env}). */
  env: Env;
  /** Debug lines; silent when not given. */
  log?: Logger;
}

/** Runs a profile's `credential_process` and returns the credentials it prints. */
export class CredentialProcessProvider implements CredentialsProvider {
  /** The profile the command belongs to. */
  readonly profileName: string;
  /** The command line; not a secret, unlike its output. */
  readonly command: string;
  readonly description: string;
  #now: () => Date;
  #env: Env;
  #log: Logger;

  /**
   * @param profileName the profile, for messages
   * @param command the `credential_process` setting
   */
  constructor(profileName: string, command: string, options: CredentialProcessProviderOptions) {
    this.profileName = profileName;
    this.command = command;
    this.description = `credential_process of profile ${profileName}`;
    this.#now = options.now;
    this.#env = options.env;
    this.#log = options.log ?? SILENT;
  }

  /** Runs the command. @throws CredentialsError naming the profile and the command */
  async retrieve(): Promise<Credentials> {
    const quoted = JSON.stringify(this.command);
    let result: ShellCommandResult;
    try {
      result = await runShellCommand(this.command, { env: this.#env });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new CredentialsError(this.profileName, `running command ${quoted}: ${why}`, { cause: e });
    }
    if (!result.success) {
      throw new CredentialsError(this.profileName, `running command ${quoted}: ${result.failure}`);
    }
    let creds: Credentials & { expiration: Date };
    try {
      creds = parseCredentialProcessOutput(this.command, result.stdout);
    } catch (e) {
      throw new CredentialsError(this.profileName, (e as Error).message);
    }
    const left = formatDuration(creds.expiration.getTime() - this.#now().getTime());
    this.#log.debug(
      `Generated credentials ${maskSecret(creds.accessKeyId)} using credential_process, expires in ${left}`,
    );
    return creds;
  }
}
