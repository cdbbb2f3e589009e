/**
 * AWS SDK client construction from a resolved profile: region, endpoint overrides, source credentials, retries,
 * proxies and a custom CA bundle. The SDK is imported only when a call is really made (importing the STS client
 * costs tens of milliseconds, too much for the cached `credential_process` path), and is configured so it reads
 * nothing by itself: no shared config/credentials files, no `AWS_PROFILE`, no endpoint variables.
 * @module
 */

import type { AssumeRoleCommandOutput, STSClient } from "@aws-sdk/client-sts";
import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import { resolveEndpoint } from "../config/endpoints.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import type { Credentials } from "../core/credentials.ts";
import { trustedCertificates } from "./tls.ts";
import { AppError, CredentialsError } from "../core/errors.ts";

/**
 * Loads the AWS SDK module. Every SDK use goes through here: `scripts/build.ts` swaps this one `import()` for the copy
 * embedded in the bundle, so it must stay the only place that names `./sdk.ts`.
 */
export function loadSdk(): Promise<typeof import("./sdk.ts")> {
  return import("./sdk.ts");
}

/**
 * The region used when the profile has none. aws-vault passes an empty region through to the Go SDK, which then
 * reaches the global STS endpoint; SDK v3 refuses to build a client without one, and us-east-1 is where the global
 * endpoint lives, so this behaves the same.
 */
export const DEFAULT_REGION = "us-east-1";

/** Attempts per call, the SDK's standard retry mode: throttling, 5xx and resets are retried with back-off. */
export const MAX_ATTEMPTS = 3;

/** The STS SDK module, for building commands. */
export type StsModule = typeof import("@aws-sdk/client-sts");

/** Options of {@link createStsClient}. */
export interface ClientOptions {
  /** The credentials that sign the calls; omitted for unsigned calls (web identity). */
  credentials?: Credentials;
  /** The environment for endpoint and CA bundle settings . */
  env: Env;
  /** Debug lines (custom endpoints, unreadable certificate files); silent when not given. */
  log?: Logger;
}

/** Temporary credentials returned by STS; they always expire. */
export type StsCredentials = Credentials & { readonly sessionToken: string; readonly expiration: Date };

/**
 * The SDK client settings for `service` of `profile`: every value the SDK would otherwise look up in the
 * environment or the shared config files is given explicitly.
 */
export async function sdkClientConfig(
  profile: ProfileConfig,
  service: string,
  options: ClientOptions,
): Promise<Record<string, unknown>> {
  const { FetchRequestHandler, collectBody } = await import("./http_handler.ts");
  const endpoint = resolveEndpoint(profile, service, { env: options.env, log: options.log });
  const creds = options.credentials;
  const region = profile.region || DEFAULT_REGION;
  options.log?.debug(
    `profile ${profile.profileName}: ${service.toUpperCase()} calls go to region ${region}` +
      `${profile.region ? "" : " (the profile sets none)"}, endpoint ${endpoint ?? "the SDK's default for it"}`,
  );
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    // The SDK would otherwise consult AWS_ENDPOINT_URL_* and the AWS_PROFILE section itself; resolveEndpoint
    // already applied those rules, including ignore_configured_endpoint_urls.
    ignoreConfiguredEndpointUrls: true,
    // Static credentials, without expiration: the SDK must not try to "refresh" a source session near its end.
    credentials: creds
      ? {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
      }
      : () => Promise.reject(new Error("no credentials for an unsigned call")),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: "standard",
    defaultsMode: "standard",
    useDualstackEndpoint: false,
    useFipsEndpoint: false,
    authSchemePreference: [],
    sigv4aSigningRegionSet: [],
    userAgentAppId: "aws-vault",
    // SSL_CERT_FILE/SSL_CERT_DIR and AWS_CA_BUNDLE or ca_bundle, on top of Deno's roots (src/aws/tls.ts).
    requestHandler: new FetchRequestHandler({
      caCerts: trustedCertificates({ env: options.env, caBundle: profile.caBundle, log: options.log }),
    }),
    streamCollector: collectBody,
  };
}

/**
 * Builds an STS client for `profile` (region, endpoint per docs/behaviour.md#endpoints, source credentials).
 * @returns the client and the SDK module whose command classes it accepts
 */
export async function createStsClient(
  profile: ProfileConfig,
  options: ClientOptions,
): Promise<{ client: STSClient; sdk: StsModule }> {
  const [{ sts: sdk }, config] = await Promise.all([loadSdk(), sdkClientConfig(profile, "sts", options)]);
  return { client: new sdk.STSClient(config), sdk };
}

/** Turns STS's credential shape into ours; STS always sends all four fields. */
export function fromStsCredentials(c: AssumeRoleCommandOutput["Credentials"]): StsCredentials {
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new Error("STS returned incomplete credentials");
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $responseBodyText?: string;
}

/**
 * Whether the SDK could not read AWS's answer at all (a body that is not the service's XML or JSON: a proxy's HTML
 * page, a truncated body, …). The SDK then throws its parser's own message over two lines
 * (`@aws-sdk XML parse error: …` / `Deserialization error: …`), or names the error `Unknown` when an error answer
 * has no code.
 */
function isUnreadableAnswer(err: Error & SdkError): boolean {
  return "$responseBodyText" in err || /Deserialization error/.test(err.message ?? "") ||
    (err.name === "Unknown" && (err.message === "Unknown" || !err.message));
}

/**
 * Describes an SDK failure for users, on one line: `<Code>: <AWS message>` for service errors,
 * `could not reach <endpoint>: …` for network failures, and for an answer the SDK could not read
 * `AWS answered with something that is not a valid <SERVICE> response (HTTP <status>)`, never the parser's text.
 * AWS error messages never contain the caller's secrets.
 *
 * @param e what the SDK (or the code around the call) threw
 * @param options.service the service called (`sts`, `iam`, …), named in the unreadable-answer message
 */
export function describeAwsError(e: unknown, options?: { service?: string }): string {
  return oneLine(describe(e, options?.service));
}

function describe(e: unknown, service: string | undefined): string {
  if (!(e instanceof Error)) return String(e);
  const err = e as Error & SdkError;
  if (err.name === "EndpointUnreachableError") return err.message;
  const status = err.$metadata?.httpStatusCode;
  if (isUnreadableAnswer(err)) {
    const what = service ? `${service.toUpperCase()} response` : "AWS response";
    return `AWS answered with something that is not a valid ${what}${status ? ` (HTTP ${status})` : ""}`;
  }
  const message = err.message && err.message !== "UnknownError" ? err.message : "";
  const code = err.name && err.name !== "Error" ? err.name : "";
  const text = code && message ? `${code}: ${message}` : code || message || "unknown error";
  return status && !message ? `${text} (HTTP ${status})` : text;
}

/** `text` with its line breaks (and the blanks around them) turned into single spaces. */
function oneLine(text: string): string {
  return text.trim().replace(/\s*[\r\n]+\s*/g, " ");
}

/**
 * Runs one AWS call and maps its failure to a {@link CredentialsError} naming the profile and the call, on one line:
 * `profile admin: sts:AssumeRole failed: AccessDenied: User: arn:… is not authorized …`.
 * Errors that are already user-facing (a cancelled MFA prompt, a failing mfa_process) pass through unchanged.
 */
export async function callAws<T>(profileName: string, operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof AppError) throw e;
    const service = operation.includes(":") ? operation.slice(0, operation.indexOf(":")) : undefined;
    throw new CredentialsError(profileName, describeAwsError(e, { service }), { operation, cause: e });
  }
}
