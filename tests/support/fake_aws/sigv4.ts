/**
 * SigV4 verification: the server re-signs the request it received with @smithy/signature-v4, over exactly the headers
 * the client said it signed, and compares signatures. No SigV4 arithmetic is written here.
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { HttpRequest } from "@smithy/protocol-http";
import { Sha256 } from "@aws-crypto/sha256-js";
import type { IncomingRequest } from "./protocol.ts";

/** The parts of an `Authorization: AWS4-HMAC-SHA256 …` header. */
export interface SigV4Authorization {
  accessKeyId: string;
  /** Credential scope date, `YYYYMMDD`. */
  scopeDate: string;
  region: string;
  service: string;
  /** Lowercase header names, as listed in SignedHeaders. */
  signedHeaders: string[];
  signature: string;
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})$/;

/** Parses an Authorization header; undefined when it is not a well-formed SigV4 header. */
export function parseAuthorization(header: string): SigV4Authorization | undefined {
  const match = AUTH_PATTERN.exec(header.trim());
  if (!match) return undefined;
  const [, accessKeyId, scopeDate, region, service, signedHeaders, signature] = match;
  return { accessKeyId, scopeDate, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

/** The access key id in an Authorization header, even a malformed one, for the call log. */
export function authorizationKeyId(header: string | null): string | undefined {
  return header?.match(/Credential=([^/,\s]+)\//)?.[1];
}

/** Parses `X-Amz-Date` (`20260101T000000Z`). */
export function parseAmzDate(value: string | null): Date | undefined {
  const m = value?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

async function sha256Hex(body: Uint8Array): Promise<string> {
  const hash = new Sha256();
  hash.update(body);
  return Array.from(await hash.digest(), (b) => b.toString(16).padStart(2, "0")).join("");
}

function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * True when the request's signature is the one its secret produces for the request as received. A declared
 * `x-amz-content-sha256` must also match the body, since the signer trusts that header instead of hashing the body.
 */
export async function verifySignature(
  request: IncomingRequest,
  authorization: SigV4Authorization,
  options: { secretAccessKey: string; signingDate: Date },
): Promise<boolean> {
  const headers: Record<string, string> = {};
  for (const name of authorization.signedHeaders) {
    const value = request.headers.get(name);
    if (value === null) return false;
    headers[name] = value;
  }
  const declaredHash = headers["x-amz-content-sha256"];
  if (declaredHash && declaredHash !== "UNSIGNED-PAYLOAD" && declaredHash !== await sha256Hex(request.body)) {
    return false;
  }
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const previous = query[name];
    query[name] = previous === undefined ? value : [previous, value].flat();
  }
  const signer = new SignatureV4({
    service: authorization.service,
    region: authorization.region,
    credentials: { accessKeyId: authorization.accessKeyId, secretAccessKey: options.secretAccessKey },
    sha256: Sha256,
    // The client's own checksum header, if it sent one, is among the signed headers already.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port ? Number(request.url.port) : undefined,
      path: request.url.pathname,
      query,
      headers,
      body: request.body,
    }),
    { signingDate: options.signingDate, signableHeaders: new Set(authorization.signedHeaders) },
  );
  const expected = parseAuthorization(String(signed.headers["authorization"] ?? ""))?.signature ?? "";
  return sameText(expected, authorization.signature);
}
