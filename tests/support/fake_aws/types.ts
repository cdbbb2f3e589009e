/**
 * Public data shapes of the fake AWS endpoint, kept apart from the server so every module can import them without
 * import cycles. `mod.ts` re-exports them.
 * @module
 */

/** An IAM user with a long-term (AKIA…) access key the fake accepts, and optionally a virtual MFA device. */
export interface FakeUser {
  /** IAM user name; adding the same user twice adds a second key to it. */
  userName: string;
  /** Long-term access key id, `AKIA…`. */
  accessKeyId: string;
  /** Its secret; every request signed with the key is verified against it. */
  secretAccessKey: string;
  /** ARN of the user's MFA device, e.g. `arn:aws:iam::111111111111:mfa/alice`. */
  mfaSerial?: string;
  /** Base32 TOTP secret of the device; a random one is made when only `mfaSerial` is given. */
  mfaSecret?: string;
}

/** A role that AssumeRole and AssumeRoleWithWebIdentity accept. */
export interface FakeRole {
  /** `arn:aws:iam::<account>:role/[path/]<name>`; the account may differ from the fake's (cross-account roles). */
  arn: string;
  /** The role's MaxSessionDuration in seconds; default 3600. */
  maxSessionDuration?: number;
  /** Trust policy demands MFA, from the call itself or from the caller's MFA-authenticated session. */
  requireMfa?: boolean;
  /** Trust policy demands this sts:ExternalId. */
  externalId?: string;
}

/** Services the fake speaks. */
export type FakeService = "sts" | "iam" | "sso" | "sso-oidc" | "signin";

/** One request the fake answered, failed ones and unsigned ones included. */
export interface RecordedCall {
  /** The service, from the SigV4 credential scope (or the action, for unsigned calls). */
  service: FakeService;
  /** The API action, e.g. `AssumeRole`. */
  action: string;
  /** Access key id from the request's signature, known to the fake or not. */
  accessKeyId?: string;
  /** Decoded request parameters (`Action`, `Version`, `DurationSeconds`, `Tags.member.1.Key`, …). */
  params: Readonly<Record<string, string>>;
  /** HTTP status of the answer. */
  status: number;
  /** AWS error code of a failed call, e.g. `AccessDenied`. */
  errorCode?: string;
  /** When the call was answered, by the fake's clock (`now`). */
  at: Date;
}

/** A fault to inject into the next matching request(s). */
export interface Fault {
  /** Only requests for this action; default: any action. */
  action?: string;
  /**
   * `throttle`: 400 Throttling; `server-error`: 500 InternalFailure; `slow`: wait `delayMs`, then answer normally;
   * `garbage`: answer `status` with a body that is no AWS protocol's (what a misbehaving proxy might send).
   */
  kind: "throttle" | "server-error" | "slow" | "garbage";
  /** How many requests it affects; default 1. */
  times?: number;
  /** Delay for `slow`, in milliseconds; default 1000. */
  delayMs?: number;
  /** HTTP status for `garbage`; default 200. */
  status?: number;
}
