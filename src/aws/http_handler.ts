/**
 * A request handler for the AWS SDK built on `fetch`. Deno's fetch honours `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`,
 * which the SDK's default Node handler (`node:https`) does not, and it accepts a custom CA bundle through
 * `Deno.createHttpClient`. Network failures name the endpoint that could not be reached.
 * @module
 */

import type { HttpRequest, HttpResponse } from "@smithy/protocol-http";

/** Default per-attempt time limit: long enough for a slow STS region, short enough not to hang a shell prompt. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * A request could not be sent or answered: connection refused, DNS failure, TLS error, time-out.
 * `code` uses Node's names where the SDK's retry strategy knows them, so resets and time-outs are retried.
 */
export class EndpointUnreachableError extends Error {
  /** The endpoint's origin, e.g. `https://sts.eu-west-1.amazonaws.com`. */
  readonly endpoint: string;
  /** `ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, `ETIMEDOUT` or undefined. */
  readonly code?: string;
  constructor(endpoint: string, reason: string, options?: { code?: string; cause?: unknown }) {
    super(`could not reach ${endpoint}: ${reason}`, { cause: options?.cause });
    this.name = "EndpointUnreachableError";
    this.endpoint = endpoint;
    this.code = options?.code;
  }
}

/** Options of {@link FetchRequestHandler}. */
export interface FetchRequestHandlerOptions {
  /** Per-attempt time limit in ms (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  requestTimeout?: number;
  /** PEM certificates to trust in addition to the system's (from `AWS_CA_BUNDLE`). */
  caCerts?: string[];
}

function innermostMessage(e: unknown): string {
  // Deno's fetch throws `TypeError: fetch failed` with the details in `cause`: `error sending request for url (…):
  // client error (Connect): tcp connect error: Connection refused (os error 111)`.
  let text = e instanceof Error ? e.message : String(e);
  for (let c = e instanceof Error ? e.cause : undefined, depth = 0; c && depth < 5; depth++) {
    if (c instanceof Error && c.message) text = c.message;
    c = c instanceof Error ? c.cause : undefined;
  }
  return text;
}

function classify(e: unknown): { reason: string; code?: string } {
  const text = innermostMessage(e);
  const reason = text.replace(/^error sending request for url \([^)]*\): (client error \([^)]*\): )?/, "");
  if (/connection refused/i.test(text)) return { reason, code: "ECONNREFUSED" };
  if (/connection reset|broken pipe|connection closed/i.test(text)) return { reason, code: "ECONNRESET" };
  if (/dns error|failed to lookup|name or service not known|nodename nor servname/i.test(text)) {
    return { reason, code: "ENOTFOUND" };
  }
  return { reason };
}

/** The SDK's `HttpHandler` contract implemented with `fetch`; the response body is read fully before returning. */
export class FetchRequestHandler {
  /** Read by the SDK to decide on its default socket time-out. */
  readonly metadata = { handlerProtocol: "h1" };
  #timeout: number;
  #client?: Deno.HttpClient;

  constructor(options?: FetchRequestHandlerOptions) {
    this.#timeout = options?.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (options?.caCerts?.length) this.#client = Deno.createHttpClient({ caCerts: options.caCerts });
  }

  /** Sends one attempt; the SDK's retry middleware calls this again for retryable failures. */
  async handle(
    request: HttpRequest,
    options?: { abortSignal?: AbortSignal; requestTimeout?: number },
  ): Promise<{ response: HttpResponse }> {
    const origin = `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ""}`;
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(request.query ?? {})) {
      for (const one of Array.isArray(v) ? v : [v]) query.append(k, one ?? "");
    }
    const url = origin + request.path + (query.size ? `?${query}` : "");
    // fetch sets Host and Content-Length itself; passing them again is rejected or duplicated by some stacks.
    const headers = new Headers();
    for (const [k, v] of Object.entries(request.headers)) {
      if (!/^(host|content-length)$/i.test(k)) headers.set(k, v);
    }
    const timeoutMs = options?.requestTimeout ?? this.#timeout;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options?.abortSignal ? AbortSignal.any([options.abortSignal, timeout]) : timeout;
    const method = request.method.toUpperCase();
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: method === "GET" || method === "HEAD" ? undefined : request.body,
        signal,
        ...(this.#client ? { client: this.#client } : {}),
      });
      const body = new Uint8Array(await res.arrayBuffer());
      const responseHeaders: Record<string, string> = {};
      res.headers.forEach((value, key) => responseHeaders[key] = value);
      return {
        response: { statusCode: res.status, reason: res.statusText, headers: responseHeaders, body } as HttpResponse,
      };
    } catch (e) {
      if (options?.abortSignal?.aborted) throw e;
      if (timeout.aborted) {
        const err = new EndpointUnreachableError(origin, `no answer within ${timeoutMs / 1000}s`, {
          code: "ETIMEDOUT",
          cause: e,
        });
        throw err;
      }
      const { reason, code } = classify(e);
      throw new EndpointUnreachableError(origin, reason, { code, cause: e });
    }
  }

  /** Part of the SDK's handler contract; this handler has no runtime-adjustable settings. */
  updateHttpClientConfig(): void {}

  /** Part of the SDK's handler contract. */
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  /** Releases the custom TLS client, if any. */
  destroy(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}

/** Collects a response body the handler already read into bytes (the SDK's `streamCollector` setting). */
export async function collectBody(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (body === undefined || body === null) return new Uint8Array();
  return new Uint8Array(await new Response(body as BodyInit).arrayBuffer());
}
