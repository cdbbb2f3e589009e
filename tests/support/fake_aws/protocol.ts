/**
 * The contract between the server and its wire-protocol modules (Query/XML for STS and IAM today; SSO JSON and the
 * console federation endpoint later). The server owns faults and recording; a protocol module only claims a request,
 * names its service and action, answers it, and renders errors in its own format.
 * @module
 */

import type { AwsError } from "./errors.ts";
import type { FakeState } from "./state.ts";
import type { FakeService } from "./types.ts";

/** A request with its body already read, so modules can parse and verify it more than once. */
export interface IncomingRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

/** An answer, plus the error code for the call log. */
export interface Reply {
  status: number;
  body: string;
  contentType: string;
  errorCode?: string;
  headers?: Record<string, string>;
}

/** A request a protocol module has claimed. */
export interface Dispatch {
  service: FakeService;
  action: string;
  params: Readonly<Record<string, string>>;
  /** The key id the request was signed with, for the call log. */
  accessKeyId?: string;
  /** Authenticates and answers the request. */
  run(): Promise<Reply>;
  /** Renders an error (injected faults) the way this protocol sends errors. */
  fail(error: AwsError): Reply;
}

/** A wire protocol: claims the requests it understands. */
export interface Protocol {
  /** A dispatch for the request, or undefined when it is not this protocol's. */
  claim(request: IncomingRequest, state: FakeState): Dispatch | undefined;
}
