/**
 * The provider interface every credential source implements.
 * @module
 */

import type { Credentials } from "../core/credentials.ts";

/** A source of credentials: stored keys, an STS call, an external process, a cache in front of one of these. */
export interface CredentialsProvider {
  /** What this provider does, for debug lines, e.g. `AssumeRole arn:aws:iam::1:role/admin for profile admin`. */
  readonly description: string;
  /** Returns credentials, calling AWS or prompting only when it must. */
  retrieve(): Promise<Credentials>;
}
