import { equal } from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import {
  endpointEnvName,
  GLOBAL_STS_ENDPOINT,
  resolveEndpoint,
  stsRegionalEndpoints,
} from "../src/config/endpoints.ts";

const CONFIG = `
[services local]
sts =
  endpoint_url = http://services-sts
sso_oidc =
  endpoint_url = http://services-oidc

[profile svc]
services = local
endpoint_url = http://profile-url

[profile plain]
endpoint_url = http://profile-url

[profile ignoring]
endpoint_url = http://profile-url
ignore_configured_endpoint_urls = true

[profile legacy]
region = eu-west-1
sts_regional_endpoints = legacy

[profile legacy-far]
region = af-south-1
sts_regional_endpoints = legacy
`;
const file = parseConfigFile(CONFIG);
const profile = (name: string, env: Record<string, string> = {}) => resolveProfile(file, name, { env });

Deno.test("endpoints: env var names", () => {
  equal(endpointEnvName("sts"), "AWS_ENDPOINT_URL_STS");
  equal(endpointEnvName("sso-oidc"), "AWS_ENDPOINT_URL_SSO_OIDC");
  equal(endpointEnvName("Elastic Beanstalk"), "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK");
});

Deno.test("endpoints: precedence service env > global env > [services] > endpoint_url", () => {
  const p = profile("svc");
  const env = { AWS_ENDPOINT_URL_STS: "http://env-sts", AWS_ENDPOINT_URL: "http://env-global" };
  equal(resolveEndpoint(p, "sts", { env }), "http://env-sts");
  equal(resolveEndpoint(p, "iam", { env }), "http://env-global");
  equal(resolveEndpoint(p, "sts", { env: {} }), "http://services-sts");
  equal(resolveEndpoint(p, "sso-oidc", { env: {} }), "http://services-oidc");
  equal(resolveEndpoint(p, "sso", { env: {} }), "http://profile-url");
  equal(resolveEndpoint(profile("plain"), "iam", { env: {} }), "http://profile-url");
  equal(resolveEndpoint(profile("legacy"), "iam", { env: {} }), undefined);
  // AWS_ENDPOINT_URL also reaches the profile at resolution time (spec §2.4)
  equal(profile("legacy", { AWS_ENDPOINT_URL: "http://x" }).endpointUrl, "http://x");
});

Deno.test("endpoints: ignoring configured endpoint URLs", () => {
  const env = { AWS_ENDPOINT_URL_STS: "http://env-sts" };
  equal(resolveEndpoint(profile("ignoring"), "sts", { env }), undefined);
  equal(
    resolveEndpoint(profile("ignoring"), "sts", { env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" } }),
    "http://env-sts",
  );
  equal(
    resolveEndpoint(profile("svc"), "sts", { env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "TRUE" } }),
    undefined,
  );
});

Deno.test("endpoints: legacy global STS endpoint", () => {
  equal(resolveEndpoint(profile("legacy"), "sts", { env: {} }), GLOBAL_STS_ENDPOINT);
  equal(resolveEndpoint(profile("legacy"), "iam", { env: {} }), undefined);
  equal(resolveEndpoint(profile("legacy-far"), "sts", { env: {} }), undefined);
  equal(resolveEndpoint(profile("plain", { AWS_REGION: "us-east-1" }), "sts", { env: {} }), "http://profile-url");
  const regional = profile("plain", { AWS_REGION: "us-east-1" });
  equal(stsRegionalEndpoints(regional, { env: {} }), "regional");
  equal(stsRegionalEndpoints(regional, { env: { AWS_STS_REGIONAL_ENDPOINTS: "legacy" } }), "legacy");
  equal(stsRegionalEndpoints(profile("legacy"), { env: { AWS_STS_REGIONAL_ENDPOINTS: "regional" } }), "regional");
  equal(resolveEndpoint(profile("legacy"), "sts", { env: { AWS_STS_REGIONAL_ENDPOINTS: "regional" } }), undefined);
  equal(resolveEndpoint(profile("legacy", { AWS_STS_REGIONAL_ENDPOINTS: "regional" }), "sts", { env: {} }), undefined);
  equal(resolveEndpoint(profile("legacy", { AWS_ENDPOINT_URL: "http://custom" }), "sts", { env: {} }), "http://custom");
});
