/**
 * The long-term ("master") credentials stored in the vault under a profile's name.
 * @module
 */

import { ItemNotFoundError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import type { Keyring } from "../vault/keyring.ts";
import type { Credentials } from "../core/credentials.ts";
import { type CredentialsProvider } from "./provider.ts";
import { CredentialsError } from "../core/errors.ts";

/** Reads a profile's stored credentials from the vault on every retrieve, as aws-vault's `KeyringProvider` does. */
export class KeyringProvider implements CredentialsProvider {
  /** The vault item (profile name) the credentials are stored under. */
  readonly credentialsName: string;
  readonly description: string;
  #keyring: CredentialKeyring;
  #log: Logger;

  /**
   * @param vault the secret store
   * @param credentialsName the profile whose stored credentials to read
   * @param options.log debug lines (silent when not given)
   */
  constructor(vault: Keyring, credentialsName: string, options?: { log?: Logger }) {
    this.#keyring = new CredentialKeyring(vault);
    this.#log = options?.log ?? SILENT;
    this.credentialsName = credentialsName;
    this.description = `stored credentials of profile ${credentialsName}`;
  }

  /** Reads the stored credentials. @throws CredentialsError when they have been removed meanwhile */
  async retrieve(): Promise<Credentials> {
    this.#log.debug(`Looking up keyring for '${this.credentialsName}'`);
    try {
      return await this.#keyring.get(this.credentialsName);
    } catch (e) {
      if (e instanceof ItemNotFoundError) {
        throw new CredentialsError(this.credentialsName, "stored credentials not found in the vault", { cause: e });
      }
      throw e;
    }
  }
}
