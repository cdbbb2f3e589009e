/**
 * STS AssumeRole with every parameter aws-vault sends (docs/behaviour.md#sts-calls).
 * @module
 */

import type { AssumeRoleCommandInput } from "@aws-sdk/client-sts";
import { callAws, createStsClient, fromStsCredentials } from "../aws/clients.ts";
import type { Env } from "../core/env.ts";
import { formatDuration } from "../config/duration.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import type { Credentials } from "../core/credentials.ts";
import type { MfaOptions } from "./mfa.ts";
import type { CredentialsProvider } from "./provider.ts";
import { stsDurationSeconds } from "./sts_duration.ts";
import { checkPolicyAccount, type SessionPolicy, sessionPolicyParams } from "./session_policy.ts";

/** Options of {@link AssumeRoleProvider}. */
export interface AssumeRoleProviderOptions {
  /** The environment for endpoint settings . */
  env: Env;
  /** MFA code sources. */
  mfa?: MfaOptions;
  /** The clock for the default session name and the debug line. */
  now: () => Date;
  /** Debug lines; silent when not given. */
  log?: Logger;
  /** A session policy narrowing this role's session (only ever the last call of a chain). */
  sessionPolicy?: SessionPolicy;
}

/**
 * The default RoleSessionName: the time as decimal Unix nanoseconds, as aws-vault's `time.Now().UnixNano()`.
 * JavaScript clocks have millisecond resolution, so the last six digits are zero.
 */
export function defaultRoleSessionName(now: Date): string {
  return String(BigInt(now.getTime()) * 1_000_000n);
}

/**
 * The AssumeRole request for `profile` (without TokenCode, which is asked for only when the call is made).
 * The profile given is the effective one: `mfaSerial` already cleared for chained MFA, the duration already capped.
 * @throws DurationError when the duration is outside AssumeRole's range
 */
export function assumeRoleInput(
  profile: ProfileConfig,
  now: Date,
  options?: { sessionPolicy?: SessionPolicy },
): AssumeRoleCommandInput {
  const input: AssumeRoleCommandInput = {
    RoleArn: profile.roleArn,
    RoleSessionName: profile.roleSessionName || defaultRoleSessionName(now),
    DurationSeconds: assumeRoleDurationSeconds(profile),
    ...sessionPolicyParams(options?.sessionPolicy),
  };
  if (profile.externalId) input.ExternalId = profile.externalId;
  if (profile.mfaSerial) input.SerialNumber = profile.mfaSerial;
  if (profile.sessionTags?.size) {
    input.Tags = [...profile.sessionTags].map(([Key, Value]) => ({ Key, Value }));
  }
  if (profile.transitiveSessionTags?.length) input.TransitiveTagKeys = [...profile.transitiveSessionTags];
  if (profile.sourceIdentity) input.SourceIdentity = profile.sourceIdentity;
  return input;
}

/** AssumeRole's `DurationSeconds` for `profile`. @throws DurationError naming the profile, value, source and range */
function assumeRoleDurationSeconds(profile: ProfileConfig): number {
  return stsDurationSeconds(profile.assumeRoleDuration, {
    call: "sts:AssumeRole",
    profile: profile.profileName,
    source: profile.durationSources?.assumeRoleDuration,
  });
}

/** Assumes the profile's `role_arn` with the source provider's credentials. */
export class AssumeRoleProvider implements CredentialsProvider {
  /** The effective profile (MFA cleared when chained, duration capped when role chaining). */
  readonly profile: ProfileConfig;
  /** The credentials the role is assumed with. */
  readonly source: CredentialsProvider;
  readonly description: string;
  #options: AssumeRoleProviderOptions;

  /**
   * @param profile the effective profile: `role_arn`, durations, tags, `mfa_serial` as it should be sent
   * @param source the credentials to call with (stored keys, a session token or another role)
   * @throws DurationError when the duration is outside AssumeRole's range (before anything is called)
   * @throws SessionPolicyError when a managed session policy belongs to another account than the role
   */
  constructor(profile: ProfileConfig, source: CredentialsProvider, options: AssumeRoleProviderOptions) {
    assumeRoleDurationSeconds(profile);
    if (options.sessionPolicy) checkPolicyAccount(options.sessionPolicy, profile.roleArn);
    this.profile = profile;
    this.source = source;
    this.#options = options;
    const mfa = profile.mfaSerial ? ` with MFA ${profile.mfaSerial}` : "";
    const narrowed = options.sessionPolicy ? " with a session policy" : "";
    this.description =
      `AssumeRole ${profile.roleArn} for profile ${profile.profileName}${mfa}${narrowed} from ${source.description}`;
  }

  /** Calls STS; prompts for an MFA code only now. @throws CredentialsError naming profile and call */
  async retrieve(): Promise<Credentials> {
    const p = this.profile;
    const credentials = await this.source.retrieve();
    const input = assumeRoleInput(p, this.#now(), { sessionPolicy: this.#options.sessionPolicy });
    if (input.SerialNumber) {
      // The MFA sources (prompt drivers, mfa_process) load only when a code is needed (docs/performance.md).
      const { mfaTokenSource } = await import("./mfa.ts");
      const { mfa, env, log } = this.#options;
      input.TokenCode = await mfaTokenSource(p, { mfa, env, log })();
    }
    const creds = await callAws(p.profileName, "sts:AssumeRole", async () => {
      const { client, sdk } = await createStsClient(p, { credentials, env: this.#options.env, log: this.#options.log });
      try {
        return fromStsCredentials((await client.send(new sdk.AssumeRoleCommand(input))).Credentials);
      } finally {
        client.destroy();
      }
    });
    const left = formatDuration(creds.expiration.getTime() - this.#now().getTime());
    (this.#options.log ?? SILENT).debug(
      `Generated credentials ${maskSecret(creds.accessKeyId)} using AssumeRole, expires in ${left}`,
    );
    return creds;
  }

  #now(): Date {
    return this.#options.now();
  }
}
