/**
 * The ECS container-credentials server (`exec --ecs-server`, docs/behaviour.md#ecs-server), hardened beyond
 * aws-vault's:
 * a 256-bit token compared in constant time, a Host-header check against DNS rebinding, a loopback-only bind unless a
 * non-loopback one is explicitly allowed, and a validated `/role-arn/` path.
 *
 * Clients send the token as `Authorization: <token>` (what every AWS SDK does with
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN`);
 * `Authorization: Bearer <token>` is accepted too, for hand-written clients: the secret compared is the same.
 * @module
 */

import type { ServedCredentials } from "../audit/record.ts";
import type { Credentials } from "../core/credentials.ts";
import { type Logger, SILENT } from "../core/log.ts";
import type { CredentialsProvider } from "../credentials/provider.ts";
import { RefreshingCredentials } from "./credentials_cache.ts";
import {
  constantTimeEqual,
  formatRemote,
  goJson,
  isAllowedHost,
  isLoopbackHostName,
  logServing,
  randomToken,
  safeErrorMessage,
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

/** Options of {@link startEcsServer}. */
export interface EcsServerOptions {
  /** The base credentials, served on every path not under `/role-arn/`. */
  provider: CredentialsProvider;
  /** Makes the provider for `/role-arn/<ARN>` (AssumeRole on the base credentials); may throw to refuse an ARN. */
  roleProvider: (roleArn: string) => CredentialsProvider;
  /** Fetch the base credentials on the first request instead of at start (`--lazy`). */
  lazy?: boolean;
  /** `AWS_MIN_TTL` in ms; default 5 min. */
  minTtl?: number;
  /** Bind address; default `127.0.0.1`. Anything not loopback also needs `allowNonLoopback`. */
  hostname?: string;
  /** Bind port; default 0 (a random free port). */
  port?: number;
  /** Permit a non-loopback `hostname` (for containers). Requests must then name that address in Host. */
  allowNonLoopback?: boolean;
  /** Extra Host names accepted besides loopback literals and `hostname` (e.g. `host.docker.internal`). */
  allowedHosts?: readonly string[];
  /** The clock, passed down from main.ts. */
  now: () => Date;
  /** Debug lines (each request, the credentials served, failures); silent when not given. */
  log?: Logger;
  /** Told of each GET answered with a credentials value not answered before (the audit log). */
  onServe?: (served: ServedCredentials) => void;
}

/** A running ECS credentials server. */
export interface EcsServer {
  /** `http://127.0.0.1:<port>`: the value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
  readonly url: string;
  /** The secret for `AWS_CONTAINER_AUTHORIZATION_TOKEN`. */
  readonly token: string;
  /** Aborted (reason: a ServerError) if the server stops serving without being closed. */
  readonly failed: AbortSignal;
  /** Stops the server; resolves when it is down. */
  close(): Promise<void>;
}

// Role names and paths: IAM allows [\w+=,.@-] and "/" separators.
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/;
const ROLE_PREFIX = "/role-arn/";

/** Whether `arn` has the shape of an IAM role ARN, the only thing `/role-arn/` assumes. */
export function isRoleArn(arn: string): boolean {
  return ROLE_ARN.test(arn);
}

/** The headers of a credentials answer. */
const CREDENTIALS_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  "cache-control": "no-store",
};

const MESSAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

function message(status: number, text: string): HttpResponse {
  return { status, headers: MESSAGE_HEADERS, body: goJson({ Message: text }) };
}

// The answers to a foreign Host are made per request (they quote it); a wrong token's answer never changes.
const INVALID_TOKEN = prepareResponse(message(403, "invalid Authorization token"));
const METHOD_NOT_ALLOWED = prepareResponse({ status: 405, headers: { allow: "GET, HEAD" } });

/**
 * The ECS credentials body's fields, written sorted with a trailing newline: `AccessKeyId`, `Expiration`,
 * `SecretAccessKey`, `Token`.
 * Long-term keys have no expiry, but SDKs require one: they get an hour from now and come back for the same keys.
 */
export function ecsCredentialsBody(creds: Credentials, now: Date): Record<string, string> {
  const expiration = creds.expiration ?? new Date(now.getTime() + 3_600_000);
  return {
    AccessKeyId: creds.accessKeyId,
    Expiration: formatRfc3339(expiration),
    SecretAccessKey: creds.secretAccessKey,
    Token: creds.sessionToken ?? "",
  };
}

/**
 * Starts the server. Without `lazy`, the base credentials are fetched first (prompting for MFA now, not mid-request).
 * @throws ServerError `Retrieving creds: <err>` when that fetch fails, or naming the address when binding fails
 */
export async function startEcsServer(options: EcsServerOptions): Promise<EcsServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopbackHostName(hostname) && !options.allowNonLoopback) {
    throw new ServerError(`refusing to serve credentials on non-loopback address ${hostname}`);
  }
  const now = options.now;
  const log = options.log ?? SILENT;
  const cacheOptions = { minTtl: options.minTtl, now, log };
  const base = new RefreshingCredentials(options.provider, cacheOptions);
  const roles = new Map<string, RefreshingCredentials>();
  const token = randomToken();
  const tokenBytes = new TextEncoder().encode(token);
  const names = [hostname.replace(/^\[(.*)\]$/, "$1"), `[${hostname}]`, ...(options.allowedHosts ?? [])];
  let port = 0;

  // The verdict for a Host value depends on nothing else: remembered for the few values clients send (bounded).
  const hostVerdicts = new Map<string, boolean>();
  const hostAllowed = (host: string | null): boolean => {
    if (host === null) return false;
    let verdict = hostVerdicts.get(host);
    if (verdict === undefined) {
      verdict = isAllowedHost(host, { port, names });
      if (hostVerdicts.size >= 32) hostVerdicts.clear();
      hostVerdicts.set(host, verdict);
    }
    return verdict;
  };

  const authorized = (header: string | null): boolean => {
    const presented = header?.startsWith("Bearer ") ? header.slice(7) : header ?? "";
    return constantTimeEqual(presented, tokenBytes);
  };

  // Synchronous when the credentials are cached and fresh: no promise on the path every request takes.
  const route = (request: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    const host = request.headers.get("host");
    if (!hostAllowed(host)) return message(403, `Access denied for host '${host ?? ""}'`);
    if (!authorized(request.headers.get("authorization"))) return INVALID_TOKEN;
    if (request.method !== "GET" && request.method !== "HEAD") return METHOD_NOT_ALLOWED;
    const path = request.path;
    let cache = base;
    let arn: string | undefined;
    if (path.startsWith(ROLE_PREFIX)) {
      try {
        arn = decodeURIComponent(path.slice(ROLE_PREFIX.length));
      } catch {
        return message(400, "invalid role ARN encoding");
      }
      if (!isRoleArn(arn)) return message(400, `invalid role ARN '${arn}'`);
      let role = roles.get(arn);
      if (!role) {
        try {
          role = new RefreshingCredentials(options.roleProvider(arn), cacheOptions);
        } catch (e) {
          return message(403, safeErrorMessage(e, { log }));
        }
        roles.set(arn, role);
      }
      cache = role;
    }
    const fresh = cache.fresh();
    if (fresh) return serve(fresh, request, arn);
    return cache.get().then((c) => serve(c, request, arn), (e) => message(500, safeErrorMessage(e, { log })));
  };

  // Credentials values already reported to onServe: a refresh makes a new value, so only those are reported again.
  const announced = new WeakSet<Credentials>();
  const serve = (creds: Credentials, request: HttpRequest, roleArn: string | undefined): HttpResponse => {
    if (log.enabled) logServing(log, creds, { now: now() });
    // HEAD answers carry no body, so no credentials.
    if (options.onServe && request.method === "GET" && !announced.has(creds)) {
      announced.add(creds);
      const peer = formatRemote(request.remote);
      options.onServe({ credentials: creds, peer, path: request.path, ...(roleArn ? { roleArn } : {}) });
    }
    return credentialsResponse(creds);
  };

  // The answer for a credentials value, made once per value: it changes only when the credentials are refreshed.
  const answers = new WeakMap<Credentials, PreparedResponse>();
  const credentialsResponse = (creds: Credentials): HttpResponse => {
    const make = () => ({ status: 200, headers: CREDENTIALS_HEADERS, body: goJson(ecsCredentialsBody(creds, now())) });
    if (!creds.expiration) return make(); // its expiry is "an hour from now"
    let answer = answers.get(creds);
    if (answer === undefined) answers.set(creds, answer = prepareResponse(make()));
    return answer;
  };

  const listener = listen({ hostname, port: options.port ?? 0 }, withRequestLog(log, route), { log });
  port = listener.port;

  if (!options.lazy) {
    try {
      await base.get();
    } catch (e) {
      await listener.close();
      throw new ServerError(`Retrieving creds: ${safeErrorMessage(e, { log })}`, { cause: e });
    }
  }
  const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { url: `http://${shownHost}:${port}`, token, failed: listener.failed, close: () => listener.close() };
}
