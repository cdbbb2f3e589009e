/**
 * A provider whose module loads on its first `retrieve`. The chain puts SSO and web identity providers behind a
 * session cache; while a cached session serves, their code (OIDC, browser login, token files) is never loaded
 * (docs/performance.md).
 * @module
 */

import type { Credentials } from "../core/credentials.ts";
import type { CredentialsProvider } from "./provider.ts";

/** Stands in for the provider `load` makes, with its description known up front. */
export class DeferredProvider implements CredentialsProvider {
  readonly description: string;
  #load: () => Promise<CredentialsProvider>;
  #provider?: Promise<CredentialsProvider>;

  /**
   * @param description the description of the provider `load` resolves to
   * @param load imports the provider's module and constructs it
   */
  constructor(description: string, load: () => Promise<CredentialsProvider>) {
    this.description = description;
    this.#load = load;
  }

  /** Loads the provider once, then asks it. */
  async retrieve(): Promise<Credentials> {
    this.#provider ??= this.#load();
    return await (await this.#provider).retrieve();
  }
}
