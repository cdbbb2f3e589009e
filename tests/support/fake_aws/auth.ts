/**
 * Authentication of SigV4-signed requests the way STS and IAM do it, in their order: a well-formed header, the
 * clock-skew window, a known key, the matching session token, an unexpired session, then the signature itself.
 * @module
 */

import { AwsError, invalidClientTokenId } from "./errors.ts";
import type { IncomingRequest } from "./protocol.ts";
import { parseAmzDate, parseAuthorization, verifySignature } from "./sigv4.ts";
import type { Credential, FakeState } from "./state.ts";

/** How far a request's X-Amz-Date may be from the server's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const amzDate = (time: Date) => time.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");

function checkSkew(signingDate: Date): void {
  // The real clock, not the fake's `now`: tests move `now` to expire sessions while the SDK signs with real time.
  const now = new Date();
  const earliest = new Date(now.getTime() - MAX_CLOCK_SKEW_MS);
  const latest = new Date(now.getTime() + MAX_CLOCK_SKEW_MS);
  if (signingDate < earliest) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      `Signature expired: ${amzDate(signingDate)} is now earlier than ${amzDate(earliest)} (${amzDate(now)} - 5 min.)`,
      { status: 403 },
    );
  }
  if (signingDate > latest) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      `Signature not yet current: ${amzDate(signingDate)} is still later than ${amzDate(latest)} (${
        amzDate(now)
      } + 5 min.)`,
      { status: 403 },
    );
  }
}

/** The credential a request was validly signed with; throws the AwsError the service would answer otherwise. */
export async function authenticate(request: IncomingRequest, state: FakeState): Promise<Credential> {
  const header = request.headers.get("authorization");
  if (!header) {
    throw new AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", { status: 403 });
  }
  const authorization = parseAuthorization(header);
  if (!authorization) {
    throw new AwsError(
      "IncompleteSignature",
      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
    );
  }
  const signingDate = parseAmzDate(request.headers.get("x-amz-date"));
  if (!signingDate) {
    throw new AwsError(
      "IncompleteSignature",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  checkSkew(signingDate);
  const credential = state.credential(authorization.accessKeyId);
  if (!credential) throw invalidClientTokenId();
  const token = request.headers.get("x-amz-security-token");
  if (credential.sessionToken === undefined ? token !== null : token !== credential.sessionToken) {
    throw invalidClientTokenId();
  }
  if (credential.expiration && credential.expiration <= state.now()) {
    throw new AwsError("ExpiredToken", "The security token included in the request is expired");
  }
  const valid = await verifySignature(request, authorization, {
    secretAccessKey: credential.secretAccessKey,
    signingDate,
  });
  if (!valid) {
    throw new AwsError(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access " +
        "Key and signing method. Consult the service documentation for details.",
      { status: 403 },
    );
  }
  return credential;
}
