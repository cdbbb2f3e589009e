/**
 * A small JSON control API under `/__fake_aws/`, so tests can drive a fake running in another process (`main.ts`)
 * the way they drive an in-process one. Not an AWS API; its calls are not recorded.
 *
 *   GET    /__fake_aws/calls                          → RecordedCall[] (dates as ISO strings)
 *   DELETE /__fake_aws/calls                          → clears the log
 *   GET    /__fake_aws/totp?serial=…&offsetSteps=N    → {"code": "123456"}
 *   POST   /__fake_aws/users  {FakeUser}              → adds a user
 *   POST   /__fake_aws/roles  {FakeRole}              → adds a role
 *   POST   /__fake_aws/faults {Fault}                 → injects a fault
 * @module
 */

import type { IncomingRequest } from "./protocol.ts";
import type { FakeState } from "./state.ts";
import type { FakeRole, FakeUser, Fault } from "./types.ts";

/** Path prefix of the control API. */
export const ADMIN_PREFIX = "/__fake_aws/";

/** True for control-API requests. */
export function isAdminRequest(request: IncomingRequest): boolean {
  return request.url.pathname.startsWith(ADMIN_PREFIX);
}

const json = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

/** Answers a control-API request. */
export function handleAdmin(request: IncomingRequest, state: FakeState): Response {
  const route = `${request.method} ${request.url.pathname.slice(ADMIN_PREFIX.length)}`;
  const body = () => JSON.parse(new TextDecoder().decode(request.body));
  try {
    switch (route) {
      case "GET calls":
        return json(state.calls);
      case "DELETE calls":
        state.calls.length = 0;
        return json({});
      case "GET totp": {
        const serial = request.url.searchParams.get("serial") ?? "";
        const offsetSteps = Number(request.url.searchParams.get("offsetSteps") ?? 0);
        return json({ code: state.totp(serial, { offsetSteps }) });
      }
      case "POST users":
        state.addUser(body() as FakeUser);
        return json({});
      case "POST roles":
        state.addRole(body() as FakeRole);
        return json({});
      case "POST faults":
        state.injectFault(body() as Fault);
        return json({});
      default:
        return json({ error: `unknown control route ${route}` }, 404);
    }
  } catch (error) {
    return json({ error: error instanceof Error ? error.message : String(error) }, 400);
  }
}
