/**
 * Opening the secret store and the config file from a command's context, lazily, so commands pay only for what
 * they touch.
 * @module
 */

import { type AwsConfigFile, loadConfigFile } from "../config/config_file.ts";
import { promptSecret } from "../prompt/terminal.ts";
import type { Keyring } from "../vault/keyring.ts";
import { openKeyring } from "../vault/mod.ts";
import type { CommandContext } from "./command.ts";

/** Opens the backend chosen by `--backend`; the file backend asks for its passphrase only when it needs it. */
export function openVault(context: CommandContext): Keyring {
  return openKeyring({
    backend: context.global.backend,
    file: {
      dir: context.global.fileDir,
      env: (name) => context.env.get(name),
      promptPassphrase: (message) => promptSecret(message, { what: "vault passphrase" }),
    },
  });
}

/** Reads the AWS config file named by the environment (`AWS_CONFIG_FILE` or `~/.aws/config`). */
export function loadConfig(context: CommandContext): Promise<AwsConfigFile> {
  return loadConfigFile({ env: context.env });
}
