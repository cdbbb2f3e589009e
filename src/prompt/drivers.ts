/**
 * The names of the MFA prompt drivers (spec §11) and validation of `--prompt` / `AWS_VAULT_PROMPT`.
 * The drivers themselves arrive with the credential chain; the names are needed now for the command line.
 * @module
 */

import { UsageError } from "../errors.ts";

/** Every driver name aws-vault knows, alphabetically (the order automatic selection walks). */
export const PROMPT_DRIVERS: readonly string[] = Deno.build.os === "windows"
  ? ["kdialog", "osascript", "terminal", "wincredui", "ykman", "zenity"]
  : ["kdialog", "osascript", "terminal", "ykman", "zenity"];

const PASS_REMOVED = "--prompt=pass (or AWS_VAULT_PROMPT=pass) has been removed from aws-vault as using TOTPs " +
  "without a dedicated device goes against security best practices. If you wish to continue using pass, add " +
  "`mfa_process = pass otp <your mfa_serial>` to profiles in your ~/.aws/config file.";

/**
 * Checks a `--prompt` value; `undefined` (automatic choice) is always valid.
 * @throws UsageError with aws-vault's messages for `pass` and for unknown drivers
 */
export function validatePromptDriver(name: string | undefined): void {
  if (name === undefined || PROMPT_DRIVERS.includes(name)) return;
  if (name === "pass") throw new UsageError(PASS_REMOVED);
  throw new UsageError(`--prompt value must be one of ${PROMPT_DRIVERS.join(",")}, got '${name}'`);
}
