/**
 * Where MFA codes come from (docs/behaviour.md#mfa-codes): `--mfa-token`, then `mfa_process`, then a prompt driver
 * (docs/behaviour.md#mfa-prompt-drivers).
 * Codes are asked for lazily, only when an STS call needs one; a reused cached session never prompts.
 * @module
 */

import type { Prompter } from "../prompt/prompter.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, SILENT } from "../core/log.ts";
import {
  availablePromptDrivers,
  BUILTIN_PROMPT_DRIVERS,
  choosePromptDriver,
  mfaPromptMessage as promptMessage,
  PromptDriverError,
} from "../prompt/registry.ts";
import { runShellCommand } from "./credential_process_provider.ts";
import { CredentialsError } from "../core/errors.ts";

/** Asks for the current code of the MFA device `mfaSerial`; the result is trimmed by the caller. */
export type MfaPrompt = (mfaSerial: string) => Promise<string>;

/** Options for MFA code sources. */
export interface MfaOptions {
  /**
   * Replaces the prompt driver (not `--mfa-token` or `mfa_process`): servers and tests supply their own.
   * Called once per MFA call that needs a code.
   */
  prompt?: MfaPrompt;
  /**
   * When no `--prompt` is given, prefer a dialog or ykman over the terminal (a credential server runs, or output
   * is captured). The CLI passes "stdout is not a terminal", as in aws-vault. Default false.
   */
  avoidTerminal?: boolean;
  /** How the `terminal` driver asks (the CLI's prompter); without one, that driver reports that there is no terminal. */
  prompter?: Prompter;
}

/** The text every driver shows, as in aws-vault. */
export const mfaPromptMessage: (mfaSerial: string) => string = promptMessage;

const registered = new Map<string, MfaPrompt>();

/** Makes an extra prompt driver available by name (`--prompt <name>`), e.g. for tests; it wins over a built-in. */
export function registerMfaPromptDriver(name: string, driver: MfaPrompt): void {
  registered.set(name, driver);
}

/** Options of {@link mfaPromptDriver}. */
export interface MfaPromptDriverOptions {
  /** See {@link MfaOptions.avoidTerminal}. */
  avoidTerminal?: boolean;
  /** The environment: PATH and the ykman variables . */
  env: Env;
  /** Debug lines; silent when not given. */
  log?: Logger;
  /** See {@link MfaOptions.prompter}. */
  prompter?: Prompter;
}

/** The names of the usable prompt drivers (built-in ones whose program is on PATH, and registered ones), sorted. */
export function mfaPromptDriverNames(options: { env: Env }): string[] {
  const path = options.env.get("PATH");
  return [...new Set([...availablePromptDrivers({ path }), ...registered.keys()])].sort();
}

/**
 * The prompt driver `name`; when `name` is empty, the automatic choice (terminal, or with `avoidTerminal` the
 * first available dialog/ykman driver). Driver failures (`zenity: cancelled`) become errors naming the profile.
 * @throws CredentialsError naming the profile when the driver is not available here
 */
export function mfaPromptDriver(
  name: string | undefined,
  profileName: string,
  options: MfaPromptDriverOptions,
): MfaPrompt {
  const env = options.env;
  const path = env.get("PATH");
  const log = options.log;
  const chosen = choosePromptDriver({ requested: name || undefined, avoidTerminal: options.avoidTerminal, path, log });
  const extra = registered.get(chosen);
  if (extra) return extra;
  const builtin = BUILTIN_PROMPT_DRIVERS[chosen];
  if (!builtin || !availablePromptDrivers({ path }).includes(chosen)) {
    throw new CredentialsError(
      profileName,
      `MFA prompt driver "${chosen}" is not available (available: ${mfaPromptDriverNames({ env }).join(", ")})`,
    );
  }
  return async (serial) => {
    try {
      return await builtin(serial, { env, log, prompter: options.prompter });
    } catch (e) {
      if (e instanceof PromptDriverError) throw new CredentialsError(profileName, e.message, { cause: e });
      throw e;
    }
  };
}

/**
 * Runs `mfa_process` and returns its trimmed stdout. Its stdin and stderr are the controlling terminal when there
 * is one, so `ykman` and similar tools can ask for a touch or a password while our own streams are captured.
 * @throws CredentialsError `profile <p>: process provider: …`
 */
export async function runMfaProcess(
  command: string,
  options: { profileName: string; env: Env; log?: Logger },
): Promise<string> {
  const { profileName } = options;
  (options.log ?? SILENT).debug("Executing mfa_process");
  let result;
  try {
    result = await runShellCommand(command, { stdio: "tty", env: options.env });
  } catch (e) {
    throw new CredentialsError(profileName, `process provider: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  if (!result.success) throw new CredentialsError(profileName, `process provider: ${result.failure}`);
  return result.stdout.trim();
}

/**
 * The MFA code source for `profile`, as a function called only when a call needs a code:
 * `--mfa-token` (the same code for every call of the run), else `mfa_process`, else the prompt
 * (`options.prompt` or the profile's `--prompt` driver, chosen automatically when none is given).
 */
export function mfaTokenSource(
  profile: ProfileConfig,
  options: { mfa?: MfaOptions; env: Env; log?: Logger },
): () => Promise<string> {
  const serial = profile.mfaSerial ?? "";
  if (profile.mfaToken) {
    const token = profile.mfaToken;
    return () => Promise.resolve(token);
  }
  if (profile.mfaProcess) {
    const command = profile.mfaProcess;
    return () => runMfaProcess(command, { profileName: profile.profileName, env: options.env, log: options.log });
  }
  return async () => {
    const prompt = options.mfa?.prompt ??
      mfaPromptDriver(profile.mfaPromptMethod, profile.profileName, {
        avoidTerminal: options.mfa?.avoidTerminal ?? false,
        prompter: options.mfa?.prompter,
        env: options.env,
        log: options.log,
      });
    return (await prompt(serial)).trim();
  };
}
