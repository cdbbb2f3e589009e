/**
 * The EC2 instance-metadata credentials server (`exec --ec2-server`, docs/behaviour.md#ec2-metadata-server), on
 * 127.0.0.1:9099 behind the privileged 169.254.169.254 proxy, or reached directly with
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT`.
 *
 * IMDSv2 is required by default (`allowImdsV1: false`; the CLI flag `--ec2-imdsv1` turns v1 back on): a GET must carry
 * a token obtained by `PUT /latest/api/token`. Any local process can still fetch one, but a web page cannot (a
 * cross-origin PUT with a custom header needs a CORS preflight this server never grants), and neither can the usual
 * SSRF holes of local web apps and proxies (GET-only, or relaying with a foreign `X-Forwarded-For` hop, refused). Every
 * current SDK and the AWS CLI try IMDSv2 first; only old clients need v1.
 * @module
 */

import type { ServedCredentials } from "../audit/record.ts";
import type { Credentials } from "../core/credentials.ts";
import type { CredentialsProvider } from "../credentials/provider.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { RefreshingCredentials } from "./credentials_cache.ts";
import {
  formatRemote,
  goJson,
  isLoopbackAddress,
  isLoopbackHostName,
  logServing,
  parseHostHeader,
  randomToken,
  safeErrorMessage,
  textResponse,
  withRequestLog,
} from "./http_guard.ts";
import {
  type HttpRequest,
  type HttpResponse,
  listen,
  type PreparedResponse,
  prepareResponse,
  ServerError,
} from "./http_server.ts";
import { formatRfc3339 } from "../core/time.ts";

/** The default port, as aws-vault (the 169.254.169.254 proxy forwards here). */
export const DEFAULT_EC2_PORT = 9099;

/** The largest IMDSv2 token TTL AWS allows, in seconds (6 hours). */
export const MAX_TOKEN_TTL_SECONDS = 21600;

/** The only instance-profile name this server advertises. */
export const ROLE_NAME = "local-credentials";

const METADATA_IP = "169.254.169.254";
const TOKEN_PATH = "/latest/api/token";
const CREDS_DIR = "/latest/meta-data/iam/security-credentials/";
// Tokens are tiny, but an unbounded map would let a local loop of PUTs grow memory without limit.
const MAX_TOKENS = 10_000;

/** Options of {@link startEc2Server}. */
export interface Ec2ServerOptions {
  /** The credentials to serve. */
  provider: CredentialsProvider;
  /** The region in the instance-identity document. */
  region?: string;
  /** `AWS_MIN_TTL` in ms; default 5 min. */
  minTtl?: number;
  /** Bind address; only loopback is allowed. Default `127.0.0.1`. */
  hostname?: string;
  /** Bind port; default 9099, 0 for a random one. */
  port?: number;
  /** Answer GETs without an IMDSv2 token (`--ec2-imdsv1`); default false. */
  allowImdsV1?: boolean;
  /** The clock (token expiry, `LastUpdated`). */
  now: () => Date;
  /** Debug lines (each request, the credentials served, failures); silent when not given. */
  log?: Logger;
  /** Told of each GET answered with a credentials value not answered before (the audit log). */
  onServe?: (served: ServedCredentials) => void;
}

/** A running EC2 metadata server. */
export interface Ec2Server {
  /** `http://127.0.0.1:<port>`: the value for `AWS_EC2_METADATA_SERVICE_ENDPOINT`. */
  readonly url: string;
  /** Aborted (reason: a ServerError) if the server stops serving without being closed. */
  readonly failed: AbortSignal;
  /** Stops the server; resolves when it is down. */
  close(): Promise<void>;
}

/**
 * The checks made before anything else, for v1 and v2 alike: the peer must be local (a LAN host with a static ARP
 * entry for 169.254.169.254 must not get in, aws-vault #198) and Host must name the metadata address or this
 * loopback server (a rebound DNS name must not, #578).
 *
 * Behind the 169.254.169.254 proxy the peer is always the proxy, so the hops it lists in `X-Forwarded-For` must be
 * local too. Real IMDS refuses every token PUT carrying that header; here the proxy's own hop (loopback, or the
 * metadata alias it sees local clients come from) is allowed and any other hop refused, which still stops a local
 * reverse proxy or SSRF-prone app from relaying a remote caller.
 * @returns the refusal, or undefined when the request may proceed
 */
export function checkEc2Request(request: HttpRequest, options: { port: number }): HttpResponse | undefined {
  const remote = request.remote;
  const hops = request.headers.get("x-forwarded-for")?.split(",").map((h) => h.trim()) ?? [];
  if (![remote.hostname, ...hops].every(isLocalHop)) {
    return textResponse(403, "Access denied from non-localhost address\n");
  }
  const host = request.headers.get("host") ?? "";
  const parsed = parseHostHeader(host);
  const ok = parsed !== undefined &&
    ((parsed.name === METADATA_IP && parsed.port === 80) ||
      (isLoopbackHostName(parsed.name) && parsed.port === options.port));
  return ok ? undefined : textResponse(403, `Access denied for host '${host}'\n`);
}

// Only the local host can complete a TCP handshake from the alias address: replies to it are routed over lo.
function isLocalHop(address: string): boolean {
  return isLoopbackAddress(address) || address === METADATA_IP;
}

/** The headers of a credentials answer, as {@link textResponse} writes them, made once. */
const TEXT_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
};

/** Whether a `X-aws-ec2-metadata-token-ttl-seconds` value is valid: a whole number of seconds, 1 to 21600. */
export function parseTokenTtl(value: string | null): number | undefined {
  if (value === null || !/^\d{1,5}$/.test(value)) return undefined;
  const ttl = Number(value);
  return ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS ? ttl : undefined;
}

/**
 * Starts the server and pre-fetches the credentials once (a failure is only logged: IMDS clients time out within a
 * second or two, so the first request should not have to wait for STS; it retries then).
 * @throws ServerError naming the address when it cannot be bound (another server on 9099) or is not loopback
 */
export async function startEc2Server(options: Ec2ServerOptions): Promise<Ec2Server> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopbackAddress(hostname)) {
    throw new ServerError(`refusing to serve instance metadata on non-loopback address ${hostname}`);
  }
  const now = options.now;
  const log = options.log ?? SILENT;
  const cache = new RefreshingCredentials(options.provider, { minTtl: options.minTtl, now, log });
  const tokens = new Map<string, number>();
  let port = 0;

  const issueToken = (request: HttpRequest): HttpResponse => {
    const ttl = parseTokenTtl(request.headers.get("x-aws-ec2-metadata-token-ttl-seconds"));
    if (ttl === undefined) return textResponse(400, "Bad Request\n");
    const at = now().getTime();
    for (const [t, expiry] of tokens) if (expiry <= at) tokens.delete(t);
    if (tokens.size >= MAX_TOKENS) tokens.delete(tokens.keys().next().value!);
    const token = randomToken();
    tokens.set(token, at + ttl * 1000);
    return textResponse(200, token, { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) });
  };

  // A present but unknown or expired token is 401 even when v1 is allowed, as real IMDS answers.
  const tokenAccepted = (request: HttpRequest): boolean => {
    const token = request.headers.get("x-aws-ec2-metadata-token");
    if (token === null) return options.allowImdsV1 === true;
    const expiry = tokens.get(token);
    return expiry !== undefined && expiry > now().getTime();
  };

  // The last body made, reused while the credentials and the second of LastUpdated are the same.
  let made: { creds: Credentials; second: number; answer: PreparedResponse } | undefined;
  // Credentials values already reported to onServe: a refresh makes a new value, so only those are reported again.
  const announced = new WeakSet<Credentials>();
  const serve = (creds: Credentials, request: HttpRequest): HttpResponse => {
    const at = now();
    if (log.enabled) logServing(log, creds, { now: at });
    // HEAD answers carry no body, so no credentials.
    if (options.onServe && request.method === "GET" && !announced.has(creds)) {
      announced.add(creds);
      const forwardedFor = request.headers.get("x-forwarded-for");
      options.onServe({
        credentials: creds,
        peer: formatRemote(request.remote),
        path: request.path,
        ...(forwardedFor ? { forwardedFor } : {}),
      });
    }
    const second = Math.floor(at.getTime() / 1000);
    if (made?.creds === creds && made.second === second) return made.answer;
    const body = goJson({
      AccessKeyId: creds.accessKeyId,
      Code: "Success",
      // Long-term keys never expire, but IMDS clients need an expiry: they come back in an hour for the same keys.
      Expiration: formatRfc3339(creds.expiration ?? new Date(at.getTime() + 3_600_000)),
      LastUpdated: formatRfc3339(at),
      SecretAccessKey: creds.secretAccessKey,
      Token: creds.sessionToken ?? "",
      Type: "AWS-HMAC",
    });
    made = { creds, second, answer: prepareResponse({ status: 200, headers: TEXT_HEADERS, body }) };
    return made.answer;
  };
  // Synchronous when the credentials are cached and fresh: no promise on the path every request takes.
  const credentials = (request: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    const fresh = cache.fresh();
    return fresh
      ? serve(fresh, request)
      : cache.get().then((c) => serve(c, request), (e) => textResponse(504, `${safeErrorMessage(e, { log })}\n`));
  };

  const route = (request: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    const path = request.path;
    if (path === TOKEN_PATH) {
      return request.method === "PUT" ? issueToken(request) : textResponse(405, "", { allow: "PUT" });
    }
    if (request.method !== "GET" && request.method !== "HEAD") return textResponse(405, "", { allow: "GET, HEAD" });
    if (!tokenAccepted(request)) return textResponse(401, "");
    // Directory paths answer with or without their trailing slash, as real IMDS does (Go's mux redirected instead).
    const p = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    switch (p) {
      case CREDS_DIR.slice(0, -1):
        return textResponse(200, ROLE_NAME);
      case CREDS_DIR + ROLE_NAME:
        return credentials(request);
      case "/latest/meta-data/instance-id":
        return textResponse(200, "aws-vault");
      case "/latest/meta-data/iam/info":
        return textResponse(200, '{"Code" : "Success"}');
      case "/latest/dynamic/instance-identity/document":
        return textResponse(200, `{"region": ${JSON.stringify(options.region ?? "")}}`);
    }
    return textResponse(404, "Not Found\n");
  };

  // Accepted (peer, X-Forwarded-For, Host) combinations, remembered (bounded): the check depends on nothing else.
  const accepted = new Set<string>();
  const check = (request: HttpRequest): HttpResponse | undefined => {
    const xff = request.headers.get("x-forwarded-for") ?? "";
    const key = `${request.remote.hostname}\n${xff}\n${request.headers.get("host")}`;
    if (accepted.has(key)) return undefined;
    const refusal = checkEc2Request(request, { port });
    if (refusal === undefined) {
      if (accepted.size >= 64) accepted.clear();
      accepted.add(key);
    }
    return refusal;
  };

  const handler = withRequestLog(log, (request) => check(request) ?? route(request));
  const listener = listen({ hostname, port: options.port ?? DEFAULT_EC2_PORT }, handler, { log });
  port = listener.port;

  await cache.get().catch((e) =>
    log.debug(`Pre-fetching credentials for the EC2 server failed: ${safeErrorMessage(e, { log })}`)
  );
  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    failed: listener.failed,
    close: () => listener.close(),
  };
}
