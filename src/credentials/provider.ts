/**
 * The provider interface every credential source implements, and the error a failed source reports.
 * @module
 */

import { AppError } from "../errors.ts";
import type { Credentials } from "./credentials.ts";

/** A source of credentials: stored keys, an STS call, an external process, a cache in front of one of these. */
export interface CredentialsProvider {
  /** What this provider does, for debug lines, e.g. `AssumeRole arn:aws:iam::1:role/admin for profile admin`. */
  readonly description: string;
  /** Returns credentials, calling AWS or prompting only when it must. */
  retrieve(): Promise<Credentials>;
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
