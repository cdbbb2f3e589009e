/**
 * Opening the secret store and the config file as the global flags say, lazily, so commands pay only for what
 * they touch.
 * @module
 */

import { type AwsConfigFile, loadConfigFile } from "../config/config_file.ts";
import type { CredentialSource } from "../credentials/profile_credentials.ts";
import { FileKeyring } from "../vault/file.ts";
import { kernelPassphraseMemory } from "../vault/keyctl_passphrase.ts";
import type { Keyring } from "../vault/keyring.ts";
import { offeredBackends, openKeyring, type OpenKeyringOptions } from "../vault/open_keyring.ts";
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
      // Only Linux has the kernel keyring; elsewhere a TTL gets a debug note and nothing else (docs/guide.md).
      passphraseMemory: Deno.build.os === "linux" || global.filePassphraseTtl > 0
        ? kernelPassphraseMemory({ ttlMs: global.filePassphraseTtl, log })
        : undefined,
    },
    pass: { passDir: global.passDir, passCmd: global.passCmd, prefix: global.passPrefix, env },
    secretService: { collection: global.secretServiceCollection, env },
    kwallet: { env },
    keychain: { name: global.keychain },
  };
}

/**
 * Opens the backend chosen by `--backend`. The first time the default file store is used (its directory does not
 * exist yet), says so in one line: the Go aws-vault defaults to secret-service on Linux, so a user switching over
 * would otherwise meet an empty vault without knowing why (docs/guide.md#backends).
 */
export async function openVault(services: Services): Promise<Keyring> {
  const vault = await openKeyring(backendOpenOptions(services, services.global.backend));
  const where = vault instanceof FileKeyring ? ` in ${JSON.stringify(vault.dir)}` : "";
  services.log.debug(`Using the ${vault.backend} backend${where}`);
  if (vault instanceof FileKeyring && !services.global.backendChosen) await noteDefaultFileStore(services, vault.dir);
  return vault;
}

async function noteDefaultFileStore(services: Services, dir: string): Promise<void> {
  try {
    await Deno.lstat(dir);
    return;
  } catch {
    // Not there yet: this is the first run with this store.
  }
  const others = offeredBackends({ env: services.env }).join(", ");
  const os = Deno.build.os === "linux" ? "on Linux" : "here";
  services.out.stderr(
    `Using the encrypted file backend in ${services.global.fileDir} (the default ${os}); ` +
      `choose another with --backend or AWS_VAULT_BACKEND (available: ${others})\n`,
  );
  // Created now, as the Go file keyring does on first use, so the note is shown once.
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    services.log.debug(`cannot create ${JSON.stringify(dir)} yet: ${e instanceof Error ? e.message : e}`);
  }
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
