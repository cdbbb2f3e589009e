/**
 * The HTTP side: a Deno.serve listener on 127.0.0.1 that hands each request to the first protocol module claiming
 * it, applies injected faults, and records the call before answering (so a test sees it as soon as its client returns).
 * @module
 */

import { handleAdmin, isAdminRequest } from "./admin.ts";
import { AwsError } from "./errors.ts";
import type { Dispatch, IncomingRequest, Protocol, Reply } from "./protocol.ts";
import type { FakeState } from "./state.ts";

/** A running listener. */
export interface Listener {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Stops accepting connections and waits for in-flight answers (slow faults are cut short). */
  close(): Promise<void>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

async function answer(dispatch: Dispatch, state: FakeState, closing: AbortSignal): Promise<Response> {
  const fault = state.takeFault(dispatch.action);
  let reply: Reply;
  if (fault?.kind === "throttle") {
    reply = dispatch.fail(new AwsError("Throttling", "Rate exceeded"));
  } else if (fault?.kind === "server-error") {
    reply = dispatch.fail(new AwsError("InternalFailure", "An internal error has occurred", { status: 500 }));
  } else if (fault?.kind === "garbage") {
    reply = { status: fault.status ?? 200, body: "<<< not an AWS answer", contentType: "text/xml" };
  } else {
    if (fault?.kind === "slow") await sleep(fault.delayMs ?? 1000, closing);
    try {
      reply = await dispatch.run();
    } catch (error) {
      // A bug in the fake, not an AWS answer: make it loud in the test output, without request contents.
      console.error(`fake AWS: ${dispatch.service}:${dispatch.action} crashed:`, error);
      reply = dispatch.fail(new AwsError("InternalFailure", "fake AWS crashed; see test output", { status: 500 }));
    }
  }
  state.calls.push({
    service: dispatch.service,
    action: dispatch.action,
    accessKeyId: dispatch.accessKeyId,
    params: Object.freeze({ ...dispatch.params }),
    status: reply.status,
    errorCode: reply.errorCode,
    at: state.now(),
  });
  return new Response(reply.body, {
    status: reply.status,
    headers: { "content-type": reply.contentType, ...reply.headers },
  });
}

/** Starts listening on 127.0.0.1 or `hostname` (port 0 = any free port). */
export function listen(
  state: FakeState,
  options: { protocols: readonly Protocol[]; port?: number; hostname?: string },
): Promise<Listener> {
  const hostname = options.hostname ?? "127.0.0.1";
  const closing = new AbortController();
  const handler = async (request: Request): Promise<Response> => {
    const incoming: IncomingRequest = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: new Uint8Array(await request.arrayBuffer()),
    };
    if (isAdminRequest(incoming)) return handleAdmin(incoming, state);
    for (const protocol of options.protocols) {
      const dispatch = protocol.claim(incoming, state);
      if (dispatch) return answer(dispatch, state, closing.signal);
    }
    return new Response(`fake AWS: no service handles ${request.method} ${incoming.url.pathname}\n`, { status: 404 });
  };
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname,
      port: options.port ?? 0,
      onListen: ({ port }) => {
        resolve({
          url: `http://${hostname}:${port}`,
          close: async () => {
            closing.abort();
            await server.shutdown();
          },
        });
      },
    }, handler);
  });
}
