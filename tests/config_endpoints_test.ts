import { equal } from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import {
  endpointEnvName,
  GLOBAL_STS_ENDPOINT,
  resolveEndpoint,
  stsRegionalEndpoints,
} from "../src/config/endpoints.ts";
import { envFromRecord } from "../src/core/env.ts";

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
const profile = (name: string, env: Record<string, string> = {}) =>
  resolveProfile(file, name, { env: envFromRecord(env) });

Deno.test("endpoints: env var names", () => {
  equal(endpointEnvName("sts"), "AWS_ENDPOINT_URL_STS");
  equal(endpointEnvName("sso-oidc"), "AWS_ENDPOINT_URL_SSO_OIDC");
  equal(endpointEnvName("Elastic Beanstalk"), "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK");
});

Deno.test("endpoints: precedence service env > global env > [services] > endpoint_url", () => {
  const p = profile("svc");
  const env = { AWS_ENDPOINT_URL_STS: "http://env-sts", AWS_ENDPOINT_URL: "http://env-global" };
  equal(resolveEndpoint(p, "sts", { env: envFromRecord(env) }), "http://env-sts");
  equal(resolveEndpoint(p, "iam", { env: envFromRecord(env) }), "http://env-global");
  equal(resolveEndpoint(p, "sts", { env: envFromRecord({}) }), "http://services-sts");
  equal(resolveEndpoint(p, "sso-oidc", { env: envFromRecord({}) }), "http://services-oidc");
  equal(resolveEndpoint(p, "sso", { env: envFromRecord({}) }), "http://profile-url");
  equal(resolveEndpoint(profile("plain"), "iam", { env: envFromRecord({}) }), "http://profile-url");
  equal(resolveEndpoint(profile("legacy"), "iam", { env: envFromRecord({}) }), undefined);
  // AWS_ENDPOINT_URL also reaches the profile at resolution time (docs/behaviour.md#profile-resolution)
  equal(profile("legacy", { AWS_ENDPOINT_URL: "http://x" }).endpointUrl, "http://x");
});

Deno.test("endpoints: ignoring configured endpoint URLs", () => {
  const env = { AWS_ENDPOINT_URL_STS: "http://env-sts" };
  equal(resolveEndpoint(profile("ignoring"), "sts", { env: envFromRecord(env) }), undefined);
  equal(
    resolveEndpoint(profile("ignoring"), "sts", {
      env: envFromRecord({ ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" }),
    }),
    "http://env-sts",
  );
  equal(
    resolveEndpoint(profile("svc"), "sts", {
      env: envFromRecord({ ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "TRUE" }),
    }),
    undefined,
  );
});

Deno.test("endpoints: legacy global STS endpoint", () => {
  equal(resolveEndpoint(profile("legacy"), "sts", { env: envFromRecord({}) }), GLOBAL_STS_ENDPOINT);
  equal(resolveEndpoint(profile("legacy"), "iam", { env: envFromRecord({}) }), undefined);
  equal(resolveEndpoint(profile("legacy-far"), "sts", { env: envFromRecord({}) }), undefined);
  equal(
    resolveEndpoint(profile("plain", { AWS_REGION: "us-east-1" }), "sts", { env: envFromRecord({}) }),
    "http://profile-url",
  );
  const regional = profile("plain", { AWS_REGION: "us-east-1" });
  equal(stsRegionalEndpoints(regional, { env: envFromRecord({}) }), "regional");
  equal(stsRegionalEndpoints(regional, { env: envFromRecord({ AWS_STS_REGIONAL_ENDPOINTS: "legacy" }) }), "legacy");
  equal(
    stsRegionalEndpoints(profile("legacy"), { env: envFromRecord({ AWS_STS_REGIONAL_ENDPOINTS: "regional" }) }),
    "regional",
  );
  equal(
    resolveEndpoint(profile("legacy"), "sts", { env: envFromRecord({ AWS_STS_REGIONAL_ENDPOINTS: "regional" }) }),
    undefined,
  );
  equal(
    resolveEndpoint(profile("legacy", { AWS_STS_REGIONAL_ENDPOINTS: "regional" }), "sts", { env: envFromRecord({}) }),
    undefined,
  );
  equal(
    resolveEndpoint(profile("legacy", { AWS_ENDPOINT_URL: "http://custom" }), "sts", { env: envFromRecord({}) }),
    "http://custom",
  );
});
