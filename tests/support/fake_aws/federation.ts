/**
 * The console federation endpoint (`/federation?Action=getSigninToken…`, `Action=login`). Filled in with `login`.
 * @module
 */

import type { Protocol } from "./protocol.ts";

/** Claims federation requests; none yet. */
export const federationProtocol: Protocol = { claim: () => undefined };
