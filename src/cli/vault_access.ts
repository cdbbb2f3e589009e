/**
 * Opening the secret store and the config file from a command's context, lazily, so commands pay only for what
 * they touch.
 * @module
 */

import { type AwsConfigFile, loadConfigFile } from "../config/config_file.ts";
import type { Keyring } from "../vault/keyring.ts";
import { openKeyring, type OpenKeyringOptions } from "../vault/mod.ts";
import type { CommandContext } from "./command.ts";

/**
 * How to open `backend` with the global flags of `context` (file directory and passphrase, pass store, secret-service
 * collection). Opening reads nothing yet: the file backend asks for its passphrase on the first secret.
 */
export function backendOpenOptions(context: CommandContext, backend: string): OpenKeyringOptions {
  const { global } = context;
  return {
    backend,
    file: {
      dir: global.fileDir,
      env: (name) => context.env.get(name),
      // The terminal prompt loads only when a passphrase must be typed.
      promptPassphrase: async (message) =>
        (await import("../prompt/terminal.ts")).promptSecret(message, { what: "vault passphrase" }),
    },
    pass: { passDir: global.passDir, passCmd: global.passCmd, prefix: global.passPrefix, env: context.env },
    secretService: { collection: global.secretServiceCollection },
    keychain: { name: global.keychain },
  };
}

/** Opens the backend chosen by `--backend`. */
export function openVault(context: CommandContext): Promise<Keyring> {
  return openKeyring(backendOpenOptions(context, context.global.backend));
}

/** Reads the AWS config file named by the environment (`AWS_CONFIG_FILE` or `~/.aws/config`). */
export function loadConfig(context: CommandContext): Promise<AwsConfigFile> {
  return loadConfigFile({ env: context.env });
}
