/**
 * AWS error answers as values, so handlers throw them and each wire protocol renders them its own way.
 * @module
 */

/** An AWS API error: code, message, HTTP status and fault type as the service would send them. */
export class AwsError extends Error {
  /** AWS error code, e.g. `AccessDenied`. */
  readonly code: string;
  /** HTTP status code. */
  readonly status: number;
  /** `Sender` (client's fault) or `Receiver` (service's fault). */
  readonly type: "Sender" | "Receiver";

  /** Creates an error; status defaults to 400 and type to `Sender` (`Receiver` for 5xx). */
  constructor(code: string, message: string, options: { status?: number } = {}) {
    super(message);
    this.name = "AwsError";
    this.code = code;
    this.status = options.status ?? 400;
    this.type = this.status >= 500 ? "Receiver" : "Sender";
  }
}

/** `AccessDenied` (403) with the given message. */
export function accessDenied(message: string): AwsError {
  return new AwsError("AccessDenied", message, { status: 403 });
}

/** `ValidationError` (400) with the given message. */
export function validationError(message: string): AwsError {
  return new AwsError("ValidationError", message);
}

/** The message AWS sends when a credential's key or token is not one it knows. */
export const INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid.";

/** `InvalidClientTokenId` (403): unknown access key, or a session token that does not belong to it. */
export function invalidClientTokenId(): AwsError {
  return new AwsError("InvalidClientTokenId", INVALID_TOKEN_MESSAGE, { status: 403 });
}
