/**
 * The global flags of aws-vault (docs/behaviour.md#global-flags), valid before or after any command, and their typed
 * form.
 * @module
 */

import { defineFlags, type FlagValues } from "./spec.ts";

/** What the global flags depend on at run time. */
export interface GlobalFlagsOptions {
  /** Backends available on this machine, in preference order (`--backend` is an enum over them). */
  readonly backends: readonly string[];
  /** The `--backend` default when neither the flag nor `AWS_VAULT_BACKEND` is given. */
  readonly defaultBackend: string;
  /** Prompt drivers available; shown in help and offered by completion, validated later by the prompt layer. */
  readonly prompts: readonly string[];
}

/**
 * The global flag specs. Help strings are aws-vault's; Go prints a list as `[a b c]`, hence the format.
 * `--backend` and `--prompt` are deliberately not enums: its errors (`--prompt=pass` removed, unknown driver) have
 * their own messages.
 */
export function globalFlags(options: GlobalFlagsOptions) {
  return defineFlags({
    debug: { name: "debug", kind: "bool", help: "Show debugging output" },
    backend: {
      name: "backend",
      // Not an enum: a backend aws-vault has but this machine lacks deserves "not available on this system",
      // which the vault layer says when it opens the store; `values` still feeds completion.
      kind: "string",
      help: `Secret backend to use [${options.backends.join(" ")}]`,
      env: "AWS_VAULT_BACKEND",
      default: options.defaultBackend,
      values: options.backends,
    },
    prompt: {
      name: "prompt",
      kind: "string",
      help: `Prompt driver to use [${options.prompts.join(" ")}]`,
      env: "AWS_VAULT_PROMPT",
      values: options.prompts,
      placeholder: "PROMPT",
    },
    keychain: {
      name: "keychain",
      kind: "string",
      help: "Name of macOS keychain to use, if it doesn't exist it will be created",
      env: "AWS_VAULT_KEYCHAIN_NAME",
      default: "aws-vault",
    },
    secretServiceCollection: {
      name: "secret-service-collection",
      kind: "string",
      help: "Name of secret-service collection to use, if it doesn't exist it will be created",
      env: "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME",
      default: "awsvault",
    },
    passDir: {
      name: "pass-dir",
      kind: "string",
      help: "Pass password store directory",
      env: "AWS_VAULT_PASS_PASSWORD_STORE_DIR",
    },
    passCmd: { name: "pass-cmd", kind: "string", help: "Name of the pass executable", env: "AWS_VAULT_PASS_CMD" },
    passPrefix: {
      name: "pass-prefix",
      kind: "string",
      help: "Prefix to prepend to the item path stored in pass",
      env: "AWS_VAULT_PASS_PREFIX",
    },
    fileDir: {
      name: "file-dir",
      kind: "string",
      help: 'Directory for the "file" password store',
      env: "AWS_VAULT_FILE_DIR",
      default: "~/.awsvault/keys/",
    },
    filePassphraseTtl: {
      name: "file-passphrase-ttl",
      kind: "duration",
      help: 'Remember the "file" store\'s passphrase in the Linux kernel keyring this long after it is typed (0: off)',
      env: "AWS_VAULT_FILE_PASSPHRASE_TTL",
      default: "0",
      placeholder: "DURATION",
    },
  });
}

/** The global flag set as {@link globalFlags} declares it. */
export type GlobalFlags = ReturnType<typeof globalFlags>;

/**
 * The global flags with every backend and prompt driver this program knows, for documentation and tests.
 * `main.ts` should call {@link globalFlags} with what is actually available on the machine.
 */
export const GLOBAL_FLAGS: GlobalFlags = globalFlags({
  backends: ["file", "keychain", "kwallet", "pass", "secret-service", "wincred"],
  defaultBackend: "file",
  prompts: ["kdialog", "osascript", "terminal", "wincredui", "ykman", "zenity"],
});

/** The global flags, typed. Empty strings mean "not set" and become `undefined`. */
export interface GlobalOptions {
  readonly debug: boolean;
  readonly backend: string;
  /** `undefined` = choose automatically (docs/behaviour.md#mfa-prompt-drivers). Not validated here. */
  readonly prompt?: string;
  readonly keychain: string;
  readonly secretServiceCollection: string;
  readonly passDir?: string;
  readonly passCmd?: string;
  readonly passPrefix?: string;
  /** As given: a leading `~` is not expanded here (the file backend does that, like the Go keyring). */
  readonly fileDir: string;
  /** How long a typed file-vault passphrase is remembered in the kernel keyring, in ms; 0: not remembered. */
  readonly filePassphraseTtl: number;
  /** Whether `--backend` or `AWS_VAULT_BACKEND` chose the backend (false: the default was taken). */
  readonly backendChosen: boolean;
}

/** The global flags in the form commands use; `backendChosen` as {@link GlobalOptions.backendChosen}. */
export function globalOptionsFrom(
  flags: FlagValues<GlobalFlags>,
  options: { readonly backendChosen?: boolean } = {},
): GlobalOptions {
  const text = (value: string | undefined): string | undefined => value === "" ? undefined : value;
  return {
    debug: flags.debug,
    backend: flags.backend,
    prompt: text(flags.prompt),
    keychain: text(flags.keychain) ?? "aws-vault",
    secretServiceCollection: text(flags.secretServiceCollection) ?? "awsvault",
    passDir: text(flags.passDir),
    passCmd: text(flags.passCmd),
    passPrefix: text(flags.passPrefix),
    fileDir: text(flags.fileDir) ?? "~/.awsvault/keys/",
    filePassphraseTtl: flags.filePassphraseTtl,
    backendChosen: options.backendChosen ?? false,
  };
}
