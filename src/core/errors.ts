/**
 * Error classes that carry a user-facing message. Only `main.ts` turns them into output and exit codes.
 * @module
 */

/** Base class of every error this program reports to the user. `message` is shown as-is. */
export class AppError extends Error {
  /** Process exit code to use when this error ends the program. */
  readonly exitCode: number;
  /** When true, `main.ts` appends ", try --help" like kingpin does for parse errors. */
  readonly suggestHelp: boolean;
  /**
   * The command that failed (`exec`, `add`, …), set when the error leaves a command's run: `main.ts` prints it before
   * the message, as the Go aws-vault does (`aws-vault: error: exec: …`).
   */
  command?: string;

  constructor(message: string, options?: { exitCode?: number; suggestHelp?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options?.exitCode ?? 1;
    this.suggestHelp = options?.suggestHelp ?? false;
  }
}

/** The command line could not be parsed (unknown flag, missing argument, bad enum value, …). */
export class UsageError extends AppError {
  constructor(message: string) {
    super(message, { suggestHelp: true });
  }
}

/** The AWS config file is malformed or a profile cannot be resolved. */
export class ConfigError extends AppError {}

/** A secret store failed: cannot open, item missing, wrong passphrase, corrupt item, … */
export class VaultError extends AppError {}

/** A requested item does not exist in the secret store. */
export class ItemNotFoundError extends VaultError {
  /** The key that was looked up. */
  readonly key: string;
  constructor(key: string, message?: string) {
    super(message ?? `The specified item could not be found in the keyring: ${JSON.stringify(key)}`);
    this.key = key;
  }
}

/** The user declined or interrupted an interactive prompt (Ctrl-C, Ctrl-D). */
export class PromptCancelledError extends AppError {
  constructor(message = "cancelled") {
    super(message, { exitCode: 130 });
  }
}

/**
 * A credential source failed. The message names the profile, the call and AWS's own error, never a secret:
 * `profile admin: sts:AssumeRole failed: AccessDenied: User arn:… is not authorized to perform sts:AssumeRole`.
 */
export class CredentialsError extends AppError {
  /** The profile whose credentials were being fetched. */
  readonly profile: string;
  /** The call that failed (`sts:AssumeRole`, `credential_process`, …), if any. */
  readonly operation?: string;
  constructor(profile: string, message: string, options?: { operation?: string; cause?: unknown }) {
    super(`profile ${profile}: ${options?.operation ? `${options.operation} failed: ` : ""}${message}`, {
      cause: options?.cause,
    });
    this.profile = profile;
    this.operation = options?.operation;
  }
}
