/**
 * SDK clients for IAM Identity Center: the SSO portal (GetRoleCredentials) and SSO-OIDC (client registration and
 * tokens). Both live in `sso_region`, not the profile's region, and their calls are unsigned (a bearer token or the
 * OIDC client secret authenticates them), so no AWS credentials are attached.
 * @module
 */

import type { SSOClient } from "@aws-sdk/client-sso";
import type { SSOOIDCClient } from "@aws-sdk/client-sso-oidc";
import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import { resolveEndpoint } from "../config/endpoints.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { DEFAULT_REGION, loadSdk, sdkClientConfig } from "./clients.ts";

/** The SSO portal SDK module, for building commands. */
export type SsoModule = typeof import("@aws-sdk/client-sso");

/** The SSO-OIDC SDK module, for building commands. */
export type SsoOidcModule = typeof import("@aws-sdk/client-sso-oidc");

/** Options of the SSO client factories. */
export interface SsoClientOptions {
  /** The environment for endpoint and CA bundle settings . */
  env: Env;
  /** Debug lines (custom endpoints, unreadable certificate files); silent when not given. */
  log?: Logger;
}

/** The profile as the SSO clients see it: region = `sso_region`. */
function inSsoRegion(profile: ProfileConfig): ProfileConfig {
  return { ...profile, region: profile.ssoRegion || profile.region };
}

/** Builds an SSO portal client for the profile's `sso_region`. */
export async function createSsoClient(
  profile: ProfileConfig,
  options: SsoClientOptions,
): Promise<{ client: SSOClient; sdk: SsoModule }> {
  const [{ sso: sdk }, config] = await Promise.all([
    loadSdk(),
    sdkClientConfig(inSsoRegion(profile), "sso", { env: options.env, log: options.log }),
  ]);
  return { client: new sdk.SSOClient(config), sdk };
}

/** Builds an SSO-OIDC client for the profile's `sso_region`. */
export async function createSsoOidcClient(
  profile: ProfileConfig,
  options: SsoClientOptions,
): Promise<{ client: SSOOIDCClient; sdk: SsoOidcModule }> {
  const [{ ssoOidc: sdk }, config] = await Promise.all([
    loadSdk(),
    sdkClientConfig(inSsoRegion(profile), "sso-oidc", { env: options.env, log: options.log }),
  ]);
  return { client: new sdk.SSOOIDCClient(config), sdk };
}

/**
 * The OIDC authorize page for the browser login: the configured SSO-OIDC endpoint (e.g. `AWS_ENDPOINT_URL`) or the
 * regional `https://oidc.<region>.amazonaws.com`, plus `/authorize`.
 */
export function oidcAuthorizeUrl(profile: ProfileConfig, options: SsoClientOptions): URL {
  const region = profile.ssoRegion || profile.region || DEFAULT_REGION;
  const base = resolveEndpoint(inSsoRegion(profile), "sso-oidc", { env: options.env, log: options.log }) ??
    `https://oidc.${region}.amazonaws.com`;
  return new URL(`${base.replace(/\/+$/, "")}/authorize`);
}
