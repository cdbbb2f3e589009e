/**
 * The IAM Identity Center APIs: the SSO portal (`GetRoleCredentials`, `ListAccounts`, `ListAccountRoles`) and
 * SSO-OIDC (`RegisterClient`, `StartDeviceAuthorization`, `CreateToken`, the authorize endpoint). Filled in with SSO.
 * @module
 */

import type { Protocol } from "./protocol.ts";

/** Claims SSO and SSO-OIDC requests; none yet. */
export const ssoProtocol: Protocol = { claim: () => undefined };
