/**
 * Endpoint selection for the AWS calls aws-vault makes (STS, IAM, SSO, SSO-OIDC): the SDKs' service-specific
 * endpoint settings, then aws-vault's legacy global STS endpoint rule (docs/behaviour.md#endpoints).
 * @module
 */

import { type Logger, SILENT } from "../core/log.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig } from "./profile.ts";

/** A service aws-vault calls, as its lowercase SDK id (`sso-oidc`), or any other service id. */
export type ServiceId = "sts" | "iam" | "sso" | "sso-oidc" | (string & Record<never, never>);

/** Regions where `sts_regional_endpoints = legacy` sends STS calls to the global endpoint. */
export const LEGACY_STS_REGIONS: readonly string[] = [
  "ap-northeast-1",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "aws-global",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
];

/** The global STS endpoint used in legacy mode. */
export const GLOBAL_STS_ENDPOINT = "https://sts.amazonaws.com";

/** `AWS_ENDPOINT_URL_<ID>` for a service: the id uppercased, spaces and hyphens turned into underscores. */
export function endpointEnvName(service: ServiceId): string {
  return `AWS_ENDPOINT_URL_${service.toUpperCase().replace(/[- ]/g, "_")}`;
}

/** The key of a service inside a `[services NAME]` section: lowercase, spaces and hyphens turned into underscores. */
export function servicesSectionKey(service: ServiceId): string {
  return service.toLowerCase().replace(/[- ]/g, "_");
}

/** The STS endpoint mode: `AWS_STS_REGIONAL_ENDPOINTS`, else the profile's; only `legacy` differs from `regional`. */
export function stsRegionalEndpoints(profile: ProfileConfig, options: { env: Env }): "legacy" | "regional" {
  const mode = options.env.get("AWS_STS_REGIONAL_ENDPOINTS") || profile.stsRegionalEndpoints;
  return mode?.trim().toLowerCase() === "legacy" ? "legacy" : "regional";
}

/**
 * The configured endpoint URL for `service`, or `undefined` for the SDK's default.
 *
 * Unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's `ignore_configured_endpoint_urls`) is true:
 * `AWS_ENDPOINT_URL_<SERVICE>` > `AWS_ENDPOINT_URL` > the profile's `[services NAME]` entry > its `endpoint_url`.
 * Failing those, STS in legacy mode in one of {@link LEGACY_STS_REGIONS} uses {@link GLOBAL_STS_ENDPOINT}.
 *
 * @param profile the resolved profile
 * @param service the service id, e.g. `sts` or `sso-oidc`
 * @param options.env the environment
 * @param options.log debug lines (silent when not given)
 */
export function resolveEndpoint(
  profile: ProfileConfig,
  service: ServiceId,
  options: { env: Env; log?: Logger },
): string | undefined {
  const env = options.env;
  const ignoreEnv = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  const ignore = ignoreEnv ? ignoreEnv.trim().toLowerCase() === "true" : profile.ignoreConfiguredEndpointUrls === true;
  if (!ignore) {
    const custom = env.get(endpointEnvName(service)) || env.get("AWS_ENDPOINT_URL") ||
      profile.serviceEndpoints?.get(servicesSectionKey(service)) || profile.endpointUrl;
    if (custom) {
      (options.log ?? SILENT).debug(
        `Using custom ${service === "sts" ? "STS" : service.toUpperCase()} endpoint ${custom}`,
      );
      return custom;
    }
  }
  if (
    servicesSectionKey(service) === "sts" && stsRegionalEndpoints(profile, { env }) === "legacy" &&
    LEGACY_STS_REGIONS.includes(profile.region ?? "")
  ) {
    return GLOBAL_STS_ENDPOINT;
  }
  return undefined;
}
