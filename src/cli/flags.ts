/**
 * Flags and arguments shared by several commands (the credential flags of exec, export and login, the profile
 * argument, the export formats). Declarations only: the command table imports this module on every start.
 * @module
 */

import type { ArgSpec, FlagSpec } from "./parser.ts";

/** `-d, --duration` with its `AWS_VAULT_DURATION` default. */
export const DURATION_FLAG: FlagSpec = {
  name: "duration",
  short: "d",
  kind: "duration",
  env: "AWS_VAULT_DURATION",
  placeholder: "DURATION",
  help: "Duration of the temporary or assume-role session. Defaults to 1h",
};

/** `-n, --no-session`. */
export const NO_SESSION_FLAG: FlagSpec = {
  name: "no-session",
  short: "n",
  kind: "bool",
  help: "Skip creating STS session with GetSessionToken",
};

/** `--region`. */
export const REGION_FLAG: FlagSpec = {
  name: "region",
  kind: "string",
  placeholder: "REGION",
  help: "The AWS region",
};

/** `-t, --mfa-token`. */
export const MFA_TOKEN_FLAG: FlagSpec = {
  name: "mfa-token",
  short: "t",
  kind: "string",
  placeholder: "MFA-TOKEN",
  help: "The MFA token to use",
};

/** `--stdout` for the SSO browser link (exec, export; login has its own short form). */
export const STDOUT_FLAG: FlagSpec = {
  name: "stdout",
  kind: "bool",
  env: "AWS_VAULT_STDOUT",
  help: "Print the SSO link to the terminal without automatically opening the browser",
};

/** `--no-cache` (exec, export). */
export const NO_CACHE_FLAG: FlagSpec = {
  name: "no-cache",
  kind: "bool",
  env: "AWS_VAULT_NO_CACHE",
  help: "Neither reuse nor store cached sessions in the vault",
};

/**
 * The flags of every command that fetches credentials the usual way (exec, export), in the order help shows them.
 * `login` takes most of them with its own help texts.
 */
export const CREDENTIAL_FLAGS: readonly FlagSpec[] = [
  DURATION_FLAG,
  NO_SESSION_FLAG,
  NO_CACHE_FLAG,
  REGION_FLAG,
  MFA_TOKEN_FLAG,
];

/** The `profile` positional as commands declare it (optional on the command line: `$AWS_PROFILE` fills in). */
export const PROFILE_ARG: ArgSpec = {
  name: "profile",
  help: "Name of the profile (default: $AWS_PROFILE)",
  hint: "profile",
};

/** What `export --format` accepts. */
export const EXPORT_FORMATS = ["env", "export-env", "json", "ini"] as const;

/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = typeof EXPORT_FORMATS[number];
