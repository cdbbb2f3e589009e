/**
 * The long-term ("master") credentials stored in the vault under a profile's name.
 * @module
 */

import { ItemNotFoundError } from "../errors.ts";
import { debug } from "../log.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import type { Keyring } from "../vault/keyring.ts";
import type { Credentials } from "./credentials.ts";
import { CredentialsError, type CredentialsProvider } from "./provider.ts";

/** Reads a profile's stored credentials from the vault on every retrieve, as aws-vault's `KeyringProvider` does. */
export class KeyringProvider implements CredentialsProvider {
  /** The vault item (profile name) the credentials are stored under. */
  readonly credentialsName: string;
  readonly description: string;
  #keyring: CredentialKeyring;

  /**
   * @param vault the secret store
   * @param credentialsName the profile whose stored credentials to read
   */
  constructor(vault: Keyring, credentialsName: string) {
    this.#keyring = new CredentialKeyring(vault);
    this.credentialsName = credentialsName;
    this.description = `stored credentials of profile ${credentialsName}`;
  }

  /** Reads the stored credentials. @throws CredentialsError when they have been removed meanwhile */
  async retrieve(): Promise<Credentials> {
    debug(`Looking up keyring for '${this.credentialsName}'`);
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
