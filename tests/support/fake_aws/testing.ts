/**
 * Test helpers around the fake: a harness that seeds it, hands out real SDK clients pointed at it and tears all of it
 * down, plus assertions for AWS errors and a lookup of the AWS CLI. Separate from `mod.ts` so the fake itself does not
 * load the SDK clients.
 * @module
 */

import { lookPath } from "../../../src/os/look_path.ts";
import assert from "node:assert/strict";
import { type Credentials, STSClient } from "@aws-sdk/client-sts";
import { IAMClient } from "@aws-sdk/client-iam";
import { SignatureV4 } from "@smithy/signature-v4";
import { HttpRequest } from "@smithy/protocol-http";
import { Sha256 } from "@aws-crypto/sha256-js";
import { type FakeAws, type FakeRole, type FakeUser, startFakeAws } from "./mod.ts";

/** Static credentials for an SDK client. */
export interface StaticKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Client options the harness passes on. */
export interface ClientOptions {
  /** SDK attempts including retries; the SDK default is 3. */
  maxAttempts?: number;
  /** Default us-east-1. */
  region?: string;
}

/** What a harness test body gets. */
export interface FakeAwsHarness {
  fake: FakeAws;
  /** An STSClient at the fake; keys default to the first seeded user's. */
  sts(keys?: StaticKeys, options?: ClientOptions): STSClient;
  /** An IAMClient at the fake; keys default to the first seeded user's. */
  iam(keys?: StaticKeys, options?: ClientOptions): IAMClient;
}

/** Starts a seeded fake, runs `fn`, then destroys every client it handed out and closes the fake. */
export async function withFakeAws(
  fn: (harness: FakeAwsHarness) => Promise<void>,
  options: { users?: FakeUser[]; roles?: FakeRole[]; now?: () => Date; accountId?: string } = {},
): Promise<void> {
  const fake = await startFakeAws({ now: options.now, accountId: options.accountId });
  for (const user of options.users ?? []) fake.addUser(user);
  for (const role of options.roles ?? []) fake.addRole(role);
  const clients: { destroy(): void }[] = [];
  const config = (keys: StaticKeys | undefined, clientOptions: ClientOptions = {}) => {
    const credentials = keys ?? options.users?.[0];
    if (!credentials) throw new Error("withFakeAws: no keys given and no user seeded");
    return {
      endpoint: fake.url,
      region: clientOptions.region ?? "us-east-1",
      credentials,
      maxAttempts: clientOptions.maxAttempts,
    };
  };
  const track = <T extends { destroy(): void }>(client: T): T => {
    clients.push(client);
    return client;
  };
  try {
    await fn({
      fake,
      sts: (keys, clientOptions) => track(new STSClient(config(keys, clientOptions))),
      iam: (keys, clientOptions) => track(new IAMClient(config(keys, clientOptions))),
    });
  } finally {
    // The SDK's keep-alive sockets would otherwise trip Deno's resource sanitizer.
    for (const client of clients) client.destroy();
    await fake.close();
  }
}

/** The keys of an STS `Credentials` result. */
export function keysOf(credentials: Credentials | undefined): StaticKeys {
  assert.ok(credentials?.AccessKeyId && credentials.SecretAccessKey, "no credentials in the answer");
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
  };
}

/**
 * Asserts that an SDK call fails with an AWS error code (the wire code: modeled errors get a class name such as
 * `NoSuchEntityException`, while `Code` keeps `NoSuchEntity`), and optionally its HTTP status and message.
 */
export async function assertAwsError(
  promise: Promise<unknown>,
  code: string,
  options: { status?: number; message?: RegExp } = {},
): Promise<void> {
  await assert.rejects(promise, (error: Error & { Code?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(error.Code ?? error.name, code, error.message);
    if (options.status) assert.equal(error.$metadata?.httpStatusCode, options.status);
    if (options.message) assert.match(error.message, options.message);
    return true;
  });
}

/** Path of a working AWS CLI, or undefined. Prefers Debian's v2 when a pip-installed v1 shadows it on PATH. */
export function findAwsCli(): Promise<string | undefined> {
  // Found, not run: `aws --version` alone costs over a second of CPU, in every test module that uses it.
  return Promise.resolve(lookPath("/usr/bin/aws", { path: "" }) ?? lookPath("aws", { path: Deno.env.get("PATH") }));
}

/**
 * A raw Query-protocol GET (`/?Action=…`) to `url`, SigV4-signed for STS by @smithy/signature-v4 when `keys` is given,
 * for checks below the SDK (unsigned calls, skewed clocks, the exact XML).
 */
export async function queryRequest(
  url: string,
  query: Record<string, string>,
  options: { keys?: StaticKeys; signingDate?: Date; service?: string; region?: string } = {},
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  let request = new HttpRequest({
    method: "GET",
    protocol: target.protocol,
    hostname: target.hostname,
    port: Number(target.port),
    path: "/",
    query,
    headers: { host: target.host },
  });
  if (options.keys) {
    const signer = new SignatureV4({
      service: options.service ?? "sts",
      region: options.region ?? "us-east-1",
      credentials: options.keys,
      sha256: Sha256,
    });
    request = await signer.sign(request, { signingDate: options.signingDate }) as HttpRequest;
  }
  // fetch sets Host itself (to the same value that was signed).
  const { host: _, ...headers } = request.headers;
  const response = await fetch(`${url}/?${new URLSearchParams(query)}`, { headers });
  return { status: response.status, body: await response.text() };
}
