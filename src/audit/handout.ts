/**
 * What an audit entry says about the credentials handed out (docs/behaviour.md#audit-log): which role or SSO
 * permission set they are for, where they came from (the STS call, SSO, credential_process, stored keys), whether the
 * session cache served them, their expiry and their masked access key ID. Built from the provider chain and the
 * credentials, never from a secret.
 * @module
 */

import type { ProfileConfig } from "../config/profile_config.ts";
import type { Credentials } from "../core/credentials.ts";
import { maskSecret } from "../core/log.ts";
import { CachedSessionProvider } from "../credentials/cached_provider.ts";
import type { CredentialsProvider } from "../credentials/provider.ts";

/** The fields of an entry that describe the credentials themselves. */
export interface HandoutFacts {
  readonly roleArn?: string;
  readonly ssoRole?: string;
  readonly source: string;
  readonly cached?: boolean;
  readonly expiration?: Date;
  readonly accessKeyId: string;
}

// Providers describe themselves for debug lines; the first words name the call (src/credentials/*).
const SOURCES: readonly [RegExp, string][] = [
  [/^AssumeRoleWithWebIdentity\b/, "sts.AssumeRoleWithWebIdentity"],
  [/^AssumeRole\b/, "sts.AssumeRole"],
  [/^GetSessionToken\b/, "sts.GetSessionToken"],
  [/^GetFederationToken\b/, "sts.GetFederationToken"],
  [/^SSO GetRoleCredentials\b/, "sso.GetRoleCredentials"],
  [/^credential_process\b/, "credential_process"],
  [/^stored credentials\b/, "stored"],
  [/^environment credentials\b/, "environment"],
];

/**
 * Where `provider`'s last credentials came from: the session type of a cached provider (`sts.AssumeRole` without its
 * settings digest), else the call its description names, else `other`; and, for a cached provider, whether the cache
 * served them.
 */
export function sourceOf(provider: CredentialsProvider): { source: string; cached?: boolean } {
  if (provider instanceof CachedSessionProvider) {
    // `sts.AssumeRole.<digest>` is this tool's key for roles without MFA: the same call.
    const type = provider.lookup.type.replace(/^(sts\.AssumeRole)\..*$/, "$1");
    return { source: type, cached: provider.lastFromCache ?? false };
  }
  const found = SOURCES.find(([pattern]) => pattern.test(provider.description));
  return { source: found ? found[1] : "other", cached: false };
}

/**
 * The facts of a hand-out of `credentials` for `profile` from `provider` (called after `provider.retrieve()`).
 * @param options.roleArn the role instead of the profile's (the ECS server's `/role-arn/<ARN>`)
 */
export function handoutFacts(
  profile: ProfileConfig | undefined,
  provider: CredentialsProvider,
  options: { credentials: Credentials; roleArn?: string },
): HandoutFacts {
  const { credentials } = options;
  const roleArn = options.roleArn ?? profile?.roleArn;
  const sso = profile?.ssoAccountId && profile.ssoRoleName && !roleArn
    ? `${profile.ssoAccountId}/${profile.ssoRoleName}`
    : undefined;
  return {
    ...(roleArn ? { roleArn } : {}),
    ...(sso ? { ssoRole: sso } : {}),
    ...sourceOf(provider),
    ...(credentials.expiration ? { expiration: credentials.expiration } : {}),
    accessKeyId: maskSecret(credentials.accessKeyId),
  };
}

/** The last path component of `path` (either separator): an executable's name without where it lives. */
export function baseName(path: string): string {
  return path.replace(/[\\/]+$/, "").split(/[\\/]/).pop() ?? "";
}
