/**
 * The environment `exec` gives its command (docs/behaviour.md#child-environment).
 * @module
 */

import type { Credentials } from "../core/credentials.ts";
import { formatRfc3339 } from "../core/time.ts";

/** Variables removed from the inherited environment so no other credentials or profile leak into the child. */
export const UNSET_VARS: readonly string[] = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_FILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_PROFILE",
  "AWS_SDK_LOAD_CONFIG",
];

/**
 * Secrets of aws-vault itself, never passed on: with the file vault's passphrase a command handed short-lived
 * credentials could decrypt every stored long-term key (docs/behaviour.md#child-environment). aws-vault passes it on;
 * this is a deliberate difference.
 */
export const SECRET_VARS: readonly string[] = ["AWS_VAULT_FILE_PASSPHRASE"];

/** The parent environment without {@link SECRET_VARS} and {@link UNSET_VARS}: for helper processes (the proxy). */
export function withoutSecrets(parent: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { ...parent };
  for (const name of [...UNSET_VARS, ...SECRET_VARS]) delete env[name];
  return env;
}

/** What goes into the child's environment besides what it inherits. */
export interface ChildEnvOptions {
  /** The profile name, exported as `AWS_VAULT` (nested-exec detection). */
  readonly profile: string;
  /** The resolved region, exported as `AWS_REGION` and `AWS_DEFAULT_REGION`. */
  readonly region?: string;
  /** A custom endpoint (`endpoint_url` / `AWS_ENDPOINT_URL`), passed on as `AWS_ENDPOINT_URL`. */
  readonly endpointUrl?: string;
  /** Credentials to inject (default mode). Server modes pass none and set their own variables via `extra`. */
  readonly credentials?: Credentials;
  /** More variables to set last (server URLs and tokens). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Builds the child environment from the parent's: drop our secrets and the variables above, then set ours. */
export function buildChildEnv(
  parent: Readonly<Record<string, string>>,
  options: ChildEnvOptions,
): Record<string, string> {
  const env = withoutSecrets(parent);
  env.AWS_VAULT = options.profile;
  if (options.region) {
    env.AWS_REGION = options.region;
    env.AWS_DEFAULT_REGION = options.region;
  }
  if (options.endpointUrl) env.AWS_ENDPOINT_URL = options.endpointUrl;
  const creds = options.credentials;
  if (creds) {
    env.AWS_ACCESS_KEY_ID = creds.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
    if (creds.sessionToken) env.AWS_SESSION_TOKEN = creds.sessionToken;
    if (creds.expiration) env.AWS_CREDENTIAL_EXPIRATION = formatRfc3339(creds.expiration);
  }
  Object.assign(env, options.extra ?? {});
  return env;
}
