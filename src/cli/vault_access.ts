/**
 * Opening the secret store and the config file as the global flags say, lazily, so commands pay only for what
 * they touch.
 * @module
 */

import { type AwsConfigFile, loadConfigFile } from "../config/config_file.ts";
import type { CredentialSource } from "../credentials/profile_credentials.ts";
import { FileKeyring } from "../vault/file.ts";
import type { Keyring } from "../vault/keyring.ts";
import { openKeyring, type OpenKeyringOptions } from "../vault/open_keyring.ts";
import type { Services } from "./command.ts";

/**
 * How to open `backend` with the global flags (file directory and passphrase, pass store, secret-service collection).
 * Opening reads nothing yet: the file backend asks for its passphrase on the first secret.
 */
export function backendOpenOptions(services: Services, backend: string): OpenKeyringOptions {
  const { global, env, log } = services;
  return {
    backend,
    file: {
      dir: global.fileDir,
      env,
      log,
      promptPassphrase: (message) => services.prompter.secret(message, { what: "vault passphrase" }),
    },
    pass: { passDir: global.passDir, passCmd: global.passCmd, prefix: global.passPrefix, env },
    secretService: { collection: global.secretServiceCollection, env },
    keychain: { name: global.keychain },
  };
}

/** Opens the backend chosen by `--backend`. */
export async function openVault(services: Services): Promise<Keyring> {
  const vault = await openKeyring(backendOpenOptions(services, services.global.backend));
  const where = vault instanceof FileKeyring ? ` in ${JSON.stringify(vault.dir)}` : "";
  services.log.debug(`Using the ${vault.backend} backend${where}`);
  return vault;
}

/** Reads the AWS config file named by the environment (`AWS_CONFIG_FILE` or `~/.aws/config`). */
export function loadConfig(services: Services): Promise<AwsConfigFile> {
  return loadConfigFile({ env: services.env, log: services.log });
}

/** The config file, the vault and the environment: what the credential use case reads. */
export async function openCredentialSource(services: Services): Promise<CredentialSource> {
  const config = await loadConfig(services);
  return { config, vault: await openVault(services), env: services.env };
}
