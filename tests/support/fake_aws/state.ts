/**
 * Everything the fake AWS remembers: users, roles, MFA devices, the credentials it issued, used MFA codes, injected
 * faults and the call log. Service modules read and change it; they never hold state of their own.
 * @module
 */

import { AwsError } from "./errors.ts";
import type { FakeRole, FakeUser, Fault, RecordedCall } from "./types.ts";
import { randomTotpSecret, totpCode, totpStep } from "./totp.ts";
import type { FakeSessionPolicy } from "./session_policy.ts";

/** What a credential is: a long-term user key, or the result of GetSessionToken, a role, or GetFederationToken. */
export type CredentialKind = "user" | "session" | "role" | "federated";

/** An access key the fake accepts, seeded or issued. */
export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  kind: CredentialKind;
  createDate: Date;
  /** Present on every kind but "user". */
  sessionToken?: string;
  expiration?: Date;
  /** The IAM user at the root of the chain; absent for web-identity roles. */
  userName?: string;
  /** MFA was used to get this credential or one it was derived from. */
  mfaAuthenticated: boolean;
  roleArn?: string;
  roleSessionName?: string;
  federatedName?: string;
  /** The session policy it was issued with; calls made with it are held to it (session_policy.ts). */
  sessionPolicy?: FakeSessionPolicy;
}

/** Who a credential belongs to, as GetCallerIdentity reports it. */
export interface Principal {
  account: string;
  arn: string;
  userId: string;
}

interface UserRecord {
  userName: string;
  userId: string;
  createDate: Date;
}

interface RoleRecord extends FakeRole {
  roleId: string;
}

const KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Random characters from an alphabet. */
export function randomChars(alphabet: string, length: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => alphabet[b % alphabet.length]).join("");
}

/** A random AWS-looking id: prefix plus base32 characters up to `length`. */
export function randomId(prefix: string, length = 20): string {
  return prefix + randomChars(KEY_CHARS, length - prefix.length);
}

/** The last path segment of a role ARN's resource: `arn:aws:iam::1:role/path/name` → `name`. */
export function roleName(arn: string): string {
  return arn.split(":").slice(5).join(":").split("/").at(-1) ?? "";
}

/** The account field of an ARN. */
export function arnAccount(arn: string): string {
  return arn.split(":")[4] ?? "";
}

/** The fake's mutable world. */
export class FakeState {
  /** The account users and federated users live in. */
  readonly accountId: string;
  /** The fake's clock: issuance, expiry and TOTP windows use it; signature clock skew uses the real clock. */
  readonly now: () => Date;
  /** Every answered request, in order. */
  readonly calls: RecordedCall[] = [];
  readonly #users = new Map<string, UserRecord>();
  readonly #roles = new Map<string, RoleRecord>();
  readonly #credentials = new Map<string, Credential>();
  readonly #devices = new Map<string, { userName: string; secret: string }>();
  readonly #usedSteps = new Set<string>();
  #faults: { fault: Fault; remaining: number }[] = [];

  /** Creates an empty world. */
  constructor(options: { accountId: string; now: () => Date }) {
    this.accountId = options.accountId;
    this.now = options.now;
  }

  /** Adds a user (if new) with its long-term key and MFA device. */
  addUser(user: FakeUser): void {
    if (!this.#users.has(user.userName)) {
      this.#users.set(user.userName, { userName: user.userName, userId: randomId("AIDA", 21), createDate: this.now() });
    }
    this.#credentials.set(user.accessKeyId, {
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
      kind: "user",
      createDate: this.now(),
      userName: user.userName,
      mfaAuthenticated: false,
    });
    if (user.mfaSerial) {
      this.#devices.set(user.mfaSerial, { userName: user.userName, secret: user.mfaSecret ?? randomTotpSecret() });
    }
  }

  /** Adds or replaces a role. */
  addRole(role: FakeRole): void {
    this.#roles.set(role.arn, { maxSessionDuration: 3600, ...role, roleId: randomId("AROA", 21) });
  }

  /** A role by ARN. */
  role(arn: string): Readonly<RoleRecord> | undefined {
    return this.#roles.get(arn);
  }

  /** A user by name. */
  user(userName: string): Readonly<UserRecord> | undefined {
    return this.#users.get(userName);
  }

  /** A known credential by access key id. */
  credential(accessKeyId: string): Readonly<Credential> | undefined {
    return this.#credentials.get(accessKeyId);
  }

  /** Issues temporary credentials (ASIA…) valid for `durationSeconds` from now. */
  issue(
    kind: Exclude<CredentialKind, "user">,
    details: Pick<
      Credential,
      "userName" | "mfaAuthenticated" | "roleArn" | "roleSessionName" | "federatedName" | "sessionPolicy"
    >,
    options: { durationSeconds: number },
  ): Credential {
    const now = this.now();
    const credential: Credential = {
      ...details,
      kind,
      accessKeyId: randomId("ASIA"),
      secretAccessKey: randomChars(SECRET_CHARS, 40),
      // Real tokens are opaque base64 blobs of a few hundred characters; clients must carry them verbatim.
      sessionToken: "IQoJb3JpZ2luX2VjE" + randomChars(SECRET_CHARS, 300),
      createDate: now,
      expiration: new Date(now.getTime() + options.durationSeconds * 1000),
    };
    this.#credentials.set(credential.accessKeyId, credential);
    return credential;
  }

  /** Creates a long-term key for a user (IAM CreateAccessKey). */
  createUserKey(userName: string): Credential {
    const credential: Credential = {
      accessKeyId: randomId("AKIA"),
      secretAccessKey: randomChars(SECRET_CHARS, 40),
      kind: "user",
      createDate: this.now(),
      userName,
      mfaAuthenticated: false,
    };
    this.#credentials.set(credential.accessKeyId, credential);
    return credential;
  }

  /** Long-term keys of a user, oldest first. */
  userKeys(userName: string): Credential[] {
    return [...this.#credentials.values()].filter((c) => c.kind === "user" && c.userName === userName);
  }

  /** Forgets a key: requests signed with it then fail with InvalidClientTokenId. */
  deleteKey(accessKeyId: string): void {
    this.#credentials.delete(accessKeyId);
  }

  /** A valid code for an MFA device at the current step plus `offsetSteps`. */
  totp(serial: string, options: { offsetSteps?: number } = {}): string {
    const device = this.#devices.get(serial);
    if (!device) throw new Error(`fake AWS: no MFA device ${serial}`);
    return totpCode(device.secret, totpStep(this.now()) + (options.offsetSteps ?? 0));
  }

  /**
   * Checks an MFA code like AWS: the device must be the user's, the code must match the previous, current or next
   * 30 s window, and each window's code is accepted once.
   */
  verifyMfa(serial: string, code: string, options: { userName?: string }): void {
    const device = this.#devices.get(serial);
    if (!device || device.userName !== options.userName) {
      throw new AwsError("AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code", {
        status: 403,
      });
    }
    const current = totpStep(this.now());
    for (const step of [current - 1, current, current + 1]) {
      const key = `${serial}#${step}`;
      if (totpCode(device.secret, step) === code && !this.#usedSteps.has(key)) {
        this.#usedSteps.add(key);
        return;
      }
    }
    throw new AwsError("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.", {
      status: 403,
    });
  }

  /** Who a credential belongs to. */
  principal(credential: Credential): Principal {
    if (credential.kind === "role" && credential.roleArn) {
      const role = this.#roles.get(credential.roleArn);
      const account = arnAccount(credential.roleArn);
      return {
        account,
        arn: `arn:aws:sts::${account}:assumed-role/${roleName(credential.roleArn)}/${credential.roleSessionName}`,
        userId: `${role?.roleId ?? "AROAUNKNOWNROLE"}:${credential.roleSessionName}`,
      };
    }
    if (credential.kind === "federated") {
      return {
        account: this.accountId,
        arn: `arn:aws:sts::${this.accountId}:federated-user/${credential.federatedName}`,
        userId: `${this.accountId}:${credential.federatedName}`,
      };
    }
    const user = this.#users.get(credential.userName ?? "");
    return {
      account: this.accountId,
      arn: `arn:aws:iam::${this.accountId}:user/${credential.userName}`,
      userId: user?.userId ?? "AIDAUNKNOWNUSER",
    };
  }

  /** Queues a fault. */
  injectFault(fault: Fault): void {
    this.#faults.push({ fault, remaining: fault.times ?? 1 });
  }

  /** Takes one use of the first queued fault matching the action. */
  takeFault(action: string): Fault | undefined {
    const entry = this.#faults.find((f) => f.remaining > 0 && (f.fault.action ?? action) === action);
    if (!entry) return undefined;
    entry.remaining--;
    this.#faults = this.#faults.filter((f) => f.remaining > 0);
    return entry.fault;
  }
}
