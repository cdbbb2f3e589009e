/**
 * The AWS Query protocol (STS, IAM): `Action=…&Version=…` as a form POST or a GET query on `/`, answered with XML.
 * The service is the one named in the SigV4 credential scope; unsigned calls go to the service owning the action.
 * @module
 */

import { authenticate } from "./auth.ts";
import { AwsError } from "./errors.ts";
import type { Dispatch, IncomingRequest, Protocol, Reply } from "./protocol.ts";
import { authorizationKeyId, parseAuthorization } from "./sigv4.ts";
import type { Credential, FakeState } from "./state.ts";
import type { FakeService } from "./types.ts";
import { queryError, queryResponse } from "./xml.ts";

/** What an action handler gets. */
export interface ActionContext {
  state: FakeState;
  params: Readonly<Record<string, string>>;
  /** The authenticated caller; undefined only for anonymous actions called unsigned. */
  caller: Credential | undefined;
}

/** One API action: returns the inner XML of `<ActionResult>` (undefined for none) or throws an AwsError. */
export interface QueryAction {
  run(context: ActionContext): string | undefined;
  /** Callable without a signature (AssumeRoleWithWebIdentity, AssumeRoleWithSAML). */
  anonymous?: boolean;
}

/** A Query-protocol service. */
export interface QueryService {
  name: FakeService;
  version: string;
  xmlns: string;
  actions: Readonly<Record<string, QueryAction>>;
}

function readParams(request: IncomingRequest): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of request.url.searchParams) params[name] = value;
  if (request.method === "POST") {
    for (const [name, value] of new URLSearchParams(new TextDecoder().decode(request.body))) params[name] = value;
  }
  return params;
}

function isQueryRequest(request: IncomingRequest): boolean {
  // Only `/`: other paths belong to the JSON/REST services (SSO, console federation) that share this server.
  if (request.url.pathname !== "/") return false;
  if (request.method === "GET") return request.url.searchParams.has("Action");
  const contentType = request.headers.get("content-type") ?? "";
  return request.method === "POST" && contentType.startsWith("application/x-www-form-urlencoded");
}

function xmlReply(status: number, body: string, requestId: string, errorCode?: string): Reply {
  return { status, body, contentType: "text/xml", errorCode, headers: { "x-amzn-RequestId": requestId } };
}

function dispatch(service: QueryService, request: IncomingRequest, state: FakeState): Dispatch {
  const params = readParams(request);
  const action = params.Action ?? "";
  const requestId = crypto.randomUUID();
  const fail = (error: AwsError): Reply =>
    xmlReply(
      error.status,
      queryError(error, { xmlns: service.xmlns, requestId }),
      requestId,
      error.code,
    );
  return {
    service: service.name,
    action,
    params,
    accessKeyId: authorizationKeyId(request.headers.get("authorization")),
    fail,
    async run(): Promise<Reply> {
      try {
        const handler = service.actions[action];
        if (!handler) {
          throw new AwsError("InvalidAction", `Could not find operation ${action} for version ${service.version}`);
        }
        const unsigned = handler.anonymous && !request.headers.has("authorization");
        const caller = unsigned ? undefined : await authenticate(request, state);
        const result = handler.run({ state, params, caller });
        return xmlReply(200, queryResponse(action, result, { xmlns: service.xmlns, requestId }), requestId);
      } catch (error) {
        if (error instanceof AwsError) return fail(error);
        throw error;
      }
    },
  };
}

/** The Query protocol over the given services. */
export function queryProtocol(services: readonly QueryService[]): Protocol {
  return {
    claim(request, state) {
      if (!isQueryRequest(request)) return undefined;
      const header = request.headers.get("authorization");
      const scope = header ? parseAuthorization(header)?.service : undefined;
      const action = request.url.searchParams.get("Action") ?? readParams(request).Action ?? "";
      const service = scope
        ? services.find((s) => s.name === scope)
        : services.find((s) => action in s.actions) ?? services[0];
      return service ? dispatch(service, request, state) : undefined;
    },
  };
}
