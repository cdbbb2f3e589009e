/**
 * The AWS console federation endpoint (docs/behaviour.md#login): partition hosts, the console destination,
 * `getSigninToken` over
 * fetch, and the login and logout URLs. Nothing here logs a SigninToken or a session key.
 *
 * Tests (and private endpoints) redirect the federation endpoint with the SDKs' service-specific endpoint
 * convention: `AWS_ENDPOINT_URL_SIGNIN`, or `signin = <url>` in the profile's `[services NAME]` section. The general
 * `AWS_ENDPOINT_URL` is deliberately not used: it usually points at an STS/IAM emulator that has no console.
 * @module
 */

import type { Env } from "../core/env.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import type { Credentials } from "../core/credentials.ts";
import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";

/** The AWS partitions with a console. */
export type Partition = "aws" | "aws-cn" | "aws-us-gov" | "aws-eusc";

/** Where a partition's console federation lives. */
export interface PartitionHosts {
  /** The federation endpoint, `https://…/federation`. */
  readonly federationUrl: string;
  /** The console domain, without any region prefix. */
  readonly consoleDomain: string;
}

const PARTITIONS: Readonly<Record<Partition, PartitionHosts>> = {
  // The global host, as the Go aws-vault uses: egress allow-lists written for it keep working (the ByteNess fork
  // moved to us-east-1.signin.aws.amazon.com).
  "aws": {
    federationUrl: "https://signin.aws.amazon.com/federation",
    consoleDomain: "console.aws.amazon.com",
  },
  "aws-cn": { federationUrl: "https://signin.amazonaws.cn/federation", consoleDomain: "console.amazonaws.cn" },
  "aws-us-gov": {
    federationUrl: "https://signin.amazonaws-us-gov.com/federation",
    consoleDomain: "console.amazonaws-us-gov.com",
  },
  "aws-eusc": {
    federationUrl: "https://signin.amazonaws-eusc.eu/federation",
    consoleDomain: "console.amazonaws-eusc.eu",
  },
};

/** The environment variable that overrides the federation endpoint. */
export const SIGNIN_ENDPOINT_ENV = "AWS_ENDPOINT_URL_SIGNIN";

/** The partition a region belongs to; no region means the commercial partition. */
export function partitionForRegion(region?: string): Partition {
  if (region?.startsWith("cn-")) return "aws-cn";
  if (region?.startsWith("us-gov-")) return "aws-us-gov";
  if (region?.startsWith("eusc-")) return "aws-eusc";
  return "aws";
}

/** The federation endpoint and console domain of the region's partition. */
export function partitionHosts(region?: string): PartitionHosts {
  return PARTITIONS[partitionForRegion(region)];
}

/**
 * The federation endpoint for `profile`: `AWS_ENDPOINT_URL_SIGNIN` or the `[services]` `signin` entry (unless
 * configured endpoints are ignored), else the partition's. An override without a path gets `/federation`.
 * `options.log` notes an override (silent when not given).
 */
export function federationEndpoint(profile: ProfileConfig, options: { env: Env; log?: Logger }): string {
  const env = options.env;
  const ignoreEnv = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  const ignore = ignoreEnv ? ignoreEnv.trim().toLowerCase() === "true" : profile.ignoreConfiguredEndpointUrls === true;
  const custom = ignore ? undefined : env.get(SIGNIN_ENDPOINT_ENV) || profile.serviceEndpoints?.get("signin");
  if (!custom) return partitionHosts(profile.region).federationUrl;
  (options.log ?? SILENT).debug(`Using custom sign-in endpoint ${custom}`);
  const url = new URL(custom);
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/federation";
  return url.toString();
}

/**
 * The console page to land on. Without a region: `https://console.aws.amazon.com/[path]` (aws-vault drops `--path`
 * there; keeping it is harmless since the console redirects to the user's last region). With a region:
 * `https://<region>.<console domain>/<path or console/home>?region=<region>`.
 */
export function consoleDestination(options: { region?: string; path?: string }): string {
  const path = (options.path ?? "").replace(/^\/+/, "");
  const region = options.region;
  if (!region) return `https://${PARTITIONS.aws.consoleDomain}/${path}`;
  const url = new URL(`https://${region}.${partitionHosts(region).consoleDomain}/${path || "console/home"}`);
  url.searchParams.set("region", region);
  return url.toString();
}

/** The federation endpoint refused or could not be reached. The message never holds the session or the token. */
export class SigninError extends AppError {}

/** Options of {@link getSigninToken}. */
export interface SigninTokenOptions {
  /** Console session length in seconds; only role sessions accept it (aws-vault never sends it). */
  sessionDuration?: number;
  /** Injected fetch, for tests. */
  fetch?: typeof fetch;
  /** Abandons the request after this many ms (default 30 s). */
  timeoutMs?: number;
  /** Debug lines (the start of a refusal's body); silent when not given. */
  log?: Logger;
}

/**
 * Exchanges temporary credentials for a SigninToken at `endpoint` (`GET …?Action=getSigninToken&Session=…`).
 * @throws SigninError for long-term keys, a network failure, a non-200 answer or an answer without SigninToken
 */
export async function getSigninToken(
  endpoint: string,
  credentials: Credentials,
  options?: SigninTokenOptions,
): Promise<string> {
  if (!credentials.sessionToken) {
    throw new SigninError("the console federation endpoint needs temporary credentials, got long-term keys");
  }
  const url = new URL(endpoint);
  url.searchParams.set("Action", "getSigninToken");
  if (options?.sessionDuration !== undefined) url.searchParams.set("SessionDuration", String(options.sessionDuration));
  url.searchParams.set(
    "Session",
    JSON.stringify({
      sessionId: credentials.accessKeyId,
      sessionKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    }),
  );
  let response: Response;
  try {
    response = await (options?.fetch ?? fetch)(url, {
      redirect: "manual",
      signal: AbortSignal.timeout(options?.timeoutMs ?? 30_000),
    });
  } catch (e) {
    // Only the endpoint is named: the request URL carries the session, and fetch errors quote their URL.
    const reason = (e instanceof Error ? e.message : String(e)).replaceAll(String(url), String(endpoint))
      .replace(/\?\S*/g, "");
    throw new SigninError(`could not reach ${endpoint}: ${reason}`);
  }
  const body = await response.text();
  if (response.status !== 200) {
    (options?.log ?? SILENT).debug(`getSigninToken response body: ${body.slice(0, 500)}`);
    throw new SigninError(`Call to getSigninToken failed with ${response.status} ${response.statusText}`.trimEnd());
  }
  let token: unknown;
  try {
    token = (JSON.parse(body) as { SigninToken?: unknown }).SigninToken;
  } catch {
    token = undefined;
  }
  if (typeof token !== "string" || token === "") throw new SigninError("Expected a response with SigninToken");
  return token;
}

/** `<endpoint>?Action=login&Issuer=aws-vault&Destination=…&SigninToken=…`. The result is a secret. */
export function loginUrl(endpoint: string, options: { destination: string; signinToken: string }): string {
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    Action: "login",
    Issuer: "aws-vault",
    Destination: options.destination,
    SigninToken: options.signinToken,
  }).toString();
  return url.toString();
}

/**
 * The `--auto-logout` URL: the sign-in host's `/oauth?Action=logout`, redirecting to `login` once the old console
 * session is gone. ByteNess always uses the commercial host and leaves the login URL's own parameters unescaped
 * inside `redirect_uri`; here the host is the federation endpoint's and the login URL stays intact.
 */
export function logoutUrl(endpoint: string, login: string): string {
  const url = new URL("/oauth", endpoint);
  url.search = new URLSearchParams({ Action: "logout", redirect_uri: login }).toString();
  return url.toString();
}
