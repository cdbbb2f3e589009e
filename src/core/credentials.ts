/**
 * The AWS credentials value passed between providers, the vault and the output formats.
 * @module
 */

/** A set of AWS credentials. Long-term keys have no `sessionToken` and no `expiration`. */
export interface Credentials {
  /** `AKIA…` for long-term keys, `ASIA…` for session credentials. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Present for temporary (STS) credentials. */
  readonly sessionToken?: string;
  /** When the credentials stop working; absent for long-term keys that cannot expire. */
  readonly expiration?: Date;
}
