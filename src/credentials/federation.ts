/**
 * What `login` needs to turn an IAM user's keys into console-capable credentials (docs/behaviour.md#sts-calls, #login):
 * the caller's ARN, the IAM user name (`GetUsernameFromSession`) and a GetFederationToken provider with the allow-all
 * policy.
 * @module
 */

import { callAws, createStsClient, fromStsCredentials } from "../aws/clients.ts";
import type { Env } from "../core/env.ts";
import { formatDuration } from "../config/duration.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import type { Credentials } from "../core/credentials.ts";
import type { CredentialsProvider } from "./provider.ts";
import { callerArn, iamUserName } from "../aws/iam_client.ts";
import { stsDurationSeconds } from "./sts_duration.ts";
import { type SessionPolicy, sessionPolicyParams } from "./session_policy.ts";

/** GetFederationToken's limit on `Name`. */
export const MAX_FEDERATED_NAME_LENGTH = 32;

/**
 * The session policy aws-vault passes: the federated user's rights are then the intersection with the IAM user's
 * own policies, i.e. everything the user may do (GetFederationToken without a policy would grant nothing).
 */
export const ALLOW_ALL_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';

/** Options shared by the calls in this module. */
export interface FederationCallOptions {
  /** The environment for endpoint and CA bundle settings . */
  env: Env;
  /** Debug lines; silent when not given. */
  log?: Logger;
}

/**
 * `sts:GetCallerIdentity` with `credentials`: the caller's ARN.
 * @throws CredentialsError naming the profile and the call
 */
export function getCallerArn(
  profile: ProfileConfig,
  credentials: Credentials,
  options: FederationCallOptions,
): Promise<string> {
  return callAws(
    profile.profileName,
    "sts:GetCallerIdentity",
    () => callerArn(profile, { credentials, env: options.env, log: options.log }),
  );
}

/**
 * The IAM user name behind `credentials` (`GetUsernameFromSession`): `iam:GetUser` without a name.
 * @throws CredentialsError naming the profile and `iam:GetUser`
 */
export function getUsernameFromSession(
  profile: ProfileConfig,
  credentials: Credentials,
  options: FederationCallOptions,
): Promise<string> {
  return callAws(
    profile.profileName,
    "iam:GetUser",
    () => iamUserName(profile, { credentials, env: options.env, log: options.log }),
  );
}

/** Options of {@link FederationTokenProvider}. */
export interface FederationTokenProviderOptions extends FederationCallOptions {
  /** Requested duration in ms (the profile's `getFederationTokenDuration`). */
  duration: number;
  /** The clock for the debug line. */
  now: () => Date;
  /**
   * The session policy to send instead of {@link ALLOW_ALL_POLICY} (exec and export with a session policy on an IAM
   * user's keys, docs/behaviour.md#session-policies).
   */
  sessionPolicy?: SessionPolicy;
  /** The federated user's name; without it, the IAM user's (`iam:GetUser`), as `login` names it. */
  name?: string;
}

/**
 * A GetFederationToken `Name` for profile `profile`: the characters AWS accepts (`[\w+=,.@-]`, 2 to 32), others
 * replaced by `-`.
 */
export function federatedNameFor(profile: string): string {
  return profile.replace(/[^\w+=,.@-]/g, "-").slice(0, MAX_FEDERATED_NAME_LENGTH).padEnd(2, "-");
}

/** Calls GetFederationToken for the IAM user owning the source's long-term keys. */
export class FederationTokenProvider implements CredentialsProvider {
  /** The profile whose region and endpoints the calls use. */
  readonly profile: ProfileConfig;
  /** The long-term keys (GetFederationToken refuses session credentials). */
  readonly source: CredentialsProvider;
  /** Requested duration in ms. */
  readonly duration: number;
  readonly description: string;
  #options: FederationTokenProviderOptions;
  #durationSeconds: number;

  /**
   * @param profile the profile (region, endpoints)
   * @param source the IAM user's long-term keys
   * @throws DurationError when the duration is outside GetFederationToken's range (before anything is called)
   */
  constructor(profile: ProfileConfig, source: CredentialsProvider, options: FederationTokenProviderOptions) {
    this.profile = profile;
    this.source = source;
    this.duration = options.duration;
    this.#options = options;
    const fromProfile = options.duration === profile.getFederationTokenDuration;
    this.#durationSeconds = stsDurationSeconds(options.duration, {
      call: "sts:GetFederationToken",
      profile: profile.profileName,
      source: fromProfile ? profile.durationSources?.getFederationTokenDuration : undefined,
    });
    const narrowed = options.sessionPolicy ? " with a session policy" : "";
    this.description = `GetFederationToken for profile ${profile.profileName}${narrowed} from ${source.description}`;
  }

  /** Looks up the user name, then calls STS. @throws CredentialsError naming profile and call */
  async retrieve(): Promise<Credentials> {
    const p = this.profile;
    const credentials = await this.source.retrieve();
    const { env, log } = this.#options;
    const name = this.#options.name ??
      (await getUsernameFromSession(p, credentials, { env, log })).slice(0, MAX_FEDERATED_NAME_LENGTH);
    const policy = this.#options.sessionPolicy ? sessionPolicyParams(this.#options.sessionPolicy) : undefined;
    const input = { Name: name, ...(policy ?? { Policy: ALLOW_ALL_POLICY }), DurationSeconds: this.#durationSeconds };
    const creds = await callAws(p.profileName, "sts:GetFederationToken", async () => {
      const { client, sdk } = await createStsClient(p, { credentials, env, log });
      try {
        return fromStsCredentials((await client.send(new sdk.GetFederationTokenCommand(input))).Credentials);
      } finally {
        client.destroy();
      }
    });
    const now = this.#options.now();
    const left = formatDuration(creds.expiration.getTime() - now.getTime());
    (log ?? SILENT).debug(
      `Generated credentials ${maskSecret(creds.accessKeyId)} using GetFederationToken, expires in ${left}`,
    );
    return creds;
  }
}
