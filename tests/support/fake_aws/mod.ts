/**
 * A fake AWS endpoint for tests: STS and IAM over their real wire protocol (Query API, XML answers, AWS error
 * envelopes), SigV4 verified on every signed request against the secrets it was seeded with or issued, MFA codes
 * checked as TOTP, the STS rules aws-vault relies on enforced, every call recorded, and faults injectable.
 *
 * Point clients at `fake.url` through the standard settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_STS`,
 * `endpoint_url`, or an SDK client's `endpoint`); any region works. The fake's clock (`now`) drives credential
 * expiry and TOTP windows; SigV4 clock skew (±5 min) is checked against the real clock, since clients sign with it.
 *
 * Connection refused: `await fake.close()` and reuse its `url`, or point a client at a port nothing listens on.
 *
 * ```ts
 * const fake = await startFakeAws();
 * try {
 *   fake.addUser({ userName: "alice", accessKeyId: "AKIAALICE0000000000", secretAccessKey: "s3cret" });
 *   // … run the tool with AWS_ENDPOINT_URL=fake.url …
 *   assert.equal(fake.callsTo("GetSessionToken").length, 1);
 * } finally {
 *   await fake.close();
 * }
 * ```
 * @module
 */

import { IAM } from "./iam.ts";
import { queryProtocol } from "./query.ts";
import { listen } from "./server.ts";
import { FakeState } from "./state.ts";
import { STS } from "./sts.ts";
import type { FakeRole, FakeUser, Fault, RecordedCall } from "./types.ts";
import { federationProtocol } from "./federation.ts";
import { ssoProtocol } from "./sso.ts";
import type { FakeSessionPolicy } from "./session_policy.ts";

export type { FakeRole, FakeService, FakeUser, Fault, RecordedCall } from "./types.ts";
export type { FakeSessionPolicy } from "./session_policy.ts";

/** A running fake AWS endpoint. */
export interface FakeAws {
  /** `http://127.0.0.1:<port>` (or the `hostname` it was started with). */
  readonly url: string;
  /** The account users live in; default `111111111111`. */
  readonly accountId: string;
  /** Adds a user with a long-term AKIA… key the server accepts (and its MFA device, if given). */
  addUser(user: FakeUser): void;
  /** Adds a role; AssumeRole of an unknown ARN is AccessDenied. */
  addRole(role: FakeRole): void;
  /**
   * A valid code for the device. offsetSteps -1/0/+1 give the codes of the previous, current and next 30 s window,
   * all accepted, each once.
   */
  totp(serial: string, options?: { offsetSteps?: number }): string;
  /** Every call so far, oldest first. */
  readonly calls: readonly RecordedCall[];
  /** The calls of one action. */
  callsTo(action: string): RecordedCall[];
  /** The session policy an issued access key was made with (`Policy` as sent, `PolicyArns`), if any. */
  sessionPolicyOf(accessKeyId: string): FakeSessionPolicy | undefined;
  /** Makes the next matching request(s) fail or slow down. */
  injectFault(fault: Fault): void;
  /** Forgets the recorded calls. */
  clearCalls(): void;
  /** Stops the server. Later requests to `url` get "connection refused". */
  close(): Promise<void>;
}

/**
 * Starts a fake AWS endpoint on 127.0.0.1 (any free port unless `port` is given). `hostname` binds another local
 * address instead, e.g. a veth end that a test's network namespace can reach.
 */
export async function startFakeAws(
  options: { accountId?: string; now?: () => Date; port?: number; hostname?: string } = {},
): Promise<FakeAws> {
  const state = new FakeState({
    accountId: options.accountId ?? "111111111111",
    now: options.now ?? (() => new Date()),
  });
  const listener = await listen(state, {
    protocols: [queryProtocol([STS, IAM]), federationProtocol, ssoProtocol],
    port: options.port,
    hostname: options.hostname,
  });
  let closed: Promise<void> | undefined;
  return {
    url: listener.url,
    accountId: state.accountId,
    addUser: (user) => state.addUser(user),
    addRole: (role) => state.addRole(role),
    totp: (serial, totpOptions) => state.totp(serial, totpOptions),
    get calls() {
      return state.calls;
    },
    callsTo: (action) => state.calls.filter((call) => call.action === action),
    sessionPolicyOf: (accessKeyId) => state.credential(accessKeyId)?.sessionPolicy,
    injectFault: (fault) => state.injectFault(fault),
    clearCalls: () => {
      state.calls.length = 0;
    },
    close: () => closed ??= listener.close(),
  };
}
