/**
 * Where MFA codes come from (spec §3.4): `--mfa-token`, then `mfa_process`, then a prompt driver. Codes are asked
 * for lazily, only when an STS call needs one; a reused cached session never prompts.
 * @module
 */

import type { ProfileConfig } from "../config/profile_config.ts";
import { debug } from "../log.ts";
import { promptSecret } from "../prompt/terminal.ts";
import { runShellCommand } from "./credential_process_provider.ts";
import { CredentialsError } from "./provider.ts";

/** Asks for the current code of the MFA device `mfaSerial`; the result is trimmed by the caller. */
export type MfaPrompt = (mfaSerial: string) => Promise<string>;

/** Options for MFA code sources. */
export interface MfaOptions {
  /**
   * Replaces the prompt driver (not `--mfa-token` or `mfa_process`): servers and tests supply their own.
   * Called once per MFA call that needs a code.
   */
  prompt?: MfaPrompt;
}

/** The text every driver shows, as in aws-vault. */
export function mfaPromptMessage(mfaSerial: string): string {
  return `Enter MFA code for ${mfaSerial}: `;
}

/**
 * The terminal driver: hidden input on the controlling terminal, so it works while stdout is captured. Without a
 * terminal it fails rather than read standard input, which under credential_process belongs to another program.
 */
export const terminalPrompt: MfaPrompt = (mfaSerial) =>
  promptSecret(mfaPromptMessage(mfaSerial), {
    what: `MFA code for ${mfaSerial} (use --mfa-token or mfa_process when there is no terminal)`,
    stdinFallback: false,
  });

const drivers = new Map<string, MfaPrompt>([["terminal", terminalPrompt]]);

/** Makes a prompt driver available by name (`--prompt <name>`); later drivers (zenity, kdialog, ykman…) plug in here. */
export function registerMfaPromptDriver(name: string, driver: MfaPrompt): void {
  drivers.set(name, driver);
}

/** The names of the registered prompt drivers, sorted. */
export function mfaPromptDriverNames(): string[] {
  return [...drivers.keys()].sort();
}

/**
 * The prompt driver `name`, or `terminal` when none is chosen.
 * @throws CredentialsError naming the profile when the driver is not available here
 */
export function mfaPromptDriver(name: string | undefined, profileName: string): MfaPrompt {
  const driver = drivers.get(name || "terminal");
  if (!driver) {
    throw new CredentialsError(
      profileName,
      `MFA prompt driver "${name}" is not available (available: ${mfaPromptDriverNames().join(", ")})`,
    );
  }
  return driver;
}

/**
 * Runs `mfa_process` and returns its trimmed stdout. Its stdin and stderr are the controlling terminal when there
 * is one, so `ykman` and similar tools can ask for a touch or a password while our own streams are captured.
 * @throws CredentialsError `profile <p>: process provider: …`
 */
export async function runMfaProcess(command: string, profileName: string): Promise<string> {
  debug("Executing mfa_process");
  let result;
  try {
    result = await runShellCommand(command, { stdio: "tty" });
  } catch (e) {
    throw new CredentialsError(profileName, `process provider: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  if (!result.success) throw new CredentialsError(profileName, `process provider: ${result.failure}`);
  return result.stdout.trim();
}

/**
 * The MFA code source for `profile`, as a function called only when a call needs a code:
 * `--mfa-token` (the same code for every call of the run), else `mfa_process`, else the prompt
 * (`options.prompt` or the profile's `--prompt` driver).
 */
export function mfaTokenSource(profile: ProfileConfig, options?: MfaOptions): () => Promise<string> {
  const serial = profile.mfaSerial ?? "";
  if (profile.mfaToken) {
    const token = profile.mfaToken;
    return () => Promise.resolve(token);
  }
  if (profile.mfaProcess) {
    const command = profile.mfaProcess;
    return () => runMfaProcess(command, profile.profileName);
  }
  return async () => {
    const prompt = options?.prompt ?? mfaPromptDriver(profile.mfaPromptMethod, profile.profileName);
    return (await prompt(serial)).trim();
  };
}
