/**
 * STS AssumeRoleWithWebIdentity (docs/behaviour.md#sts-calls): a role assumed with an OIDC token read from
 * `web_identity_token_file` or printed by `web_identity_token_process`. The call is unsigned; no base credentials.
 * @module
 */

import type { AssumeRoleWithWebIdentityCommandInput } from "@aws-sdk/client-sts";
import { callAws, createStsClient, fromStsCredentials } from "../aws/clients.ts";
import type { Env } from "../core/env.ts";
import { formatDuration } from "../config/duration.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import { webIdentityDescription } from "./cached_provider.ts";
import { defaultRoleSessionName } from "./assume_role_provider.ts";
import { runShellCommand, type ShellCommandResult } from "./credential_process_provider.ts";
import type { Credentials } from "../core/credentials.ts";
import { type CredentialsProvider } from "./provider.ts";
import { CredentialsError } from "../core/errors.ts";
import { stsDurationSeconds } from "./sts_duration.ts";
import { checkPolicyAccount, type SessionPolicy, sessionPolicyParams } from "./session_policy.ts";

const OPERATION = "sts:AssumeRoleWithWebIdentity";

/** Options of {@link WebIdentityProvider}. */
export interface WebIdentityProviderOptions {
  /** The environment for endpoint settings . */
  env: Env;
  /** The clock for the default session name and the debug line. */
  now: () => Date;
  /** Debug lines; silent when not given. */
  log?: Logger;
  /** A session policy narrowing the role's session. */
  sessionPolicy?: SessionPolicy;
}

export { webIdentityLookup } from "./cached_provider.ts";

/**
 * The AssumeRoleWithWebIdentity request for `profile` and `token`. ExternalId, tags and MFA are not sent: the
 * API takes none of them.
 * @throws DurationError when the duration is outside AssumeRoleWithWebIdentity's range
 */
export function webIdentityInput(
  profile: ProfileConfig,
  options: { token: string; now: Date; sessionPolicy?: SessionPolicy },
): AssumeRoleWithWebIdentityCommandInput {
  return {
    RoleArn: profile.roleArn,
    RoleSessionName: profile.roleSessionName || defaultRoleSessionName(options.now),
    DurationSeconds: webIdentityDurationSeconds(profile),
    WebIdentityToken: options.token,
    ...sessionPolicyParams(options.sessionPolicy),
  };
}

/** The call's `DurationSeconds`: the AssumeRole duration. @throws DurationError naming value, source and range */
function webIdentityDurationSeconds(profile: ProfileConfig): number {
  return stsDurationSeconds(profile.assumeRoleDuration, {
    call: OPERATION,
    profile: profile.profileName,
    source: profile.durationSources?.assumeRoleDuration,
  });
}

/** Assumes the profile's `role_arn` with a web identity token. */
export class WebIdentityProvider implements CredentialsProvider {
  /** The profile: `role_arn`, `web_identity_token_file` or `_process`, durations. */
  readonly profile: ProfileConfig;
  readonly description: string;
  #options: WebIdentityProviderOptions;

  /**
   * @param profile the resolved profile with a role and a token source
   * @throws DurationError when the duration is outside the call's range (before the token is read)
   */
  constructor(profile: ProfileConfig, options: WebIdentityProviderOptions) {
    webIdentityDurationSeconds(profile);
    if (options.sessionPolicy) checkPolicyAccount(options.sessionPolicy, profile.roleArn);
    this.profile = profile;
    this.#options = options;
    this.description = webIdentityDescription(profile);
  }

  /** Gets a fresh token, then calls STS. @throws CredentialsError naming the profile (and the call) */
  async retrieve(): Promise<Credentials> {
    const p = this.profile;
    const token = await this.#token();
    const input = webIdentityInput(p, { token, now: this.#now(), sessionPolicy: this.#options.sessionPolicy });
    const creds = await callAws(p.profileName, OPERATION, async () => {
      // No credentials: the SDK marks this operation as unauthenticated, so it never asks for any.
      const { client, sdk } = await createStsClient(p, { env: this.#options.env, log: this.#options.log });
      try {
        return fromStsCredentials((await client.send(new sdk.AssumeRoleWithWebIdentityCommand(input))).Credentials);
      } finally {
        client.destroy();
      }
    });
    const left = formatDuration(creds.expiration.getTime() - this.#now().getTime());
    (this.#options.log ?? SILENT).debug(
      `Generated credentials ${maskSecret(creds.accessKeyId)} using AssumeRoleWithWebIdentity, expires in ${left}`,
    );
    return creds;
  }

  /** The token, read anew on every call: token files are rotated by their issuer (Kubernetes, CI runners). */
  async #token(): Promise<string> {
    const p = this.profile;
    if (p.webIdentityTokenFile) {
      try {
        return await Deno.readTextFile(p.webIdentityTokenFile);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new CredentialsError(p.profileName, `unable to read file at ${p.webIdentityTokenFile}: ${why}`, {
          cause: e,
        });
      }
    }
    const command = p.webIdentityTokenProcess ?? "";
    const quoted = JSON.stringify(command);
    let result: ShellCommandResult;
    try {
      result = await runShellCommand(command, { env: this.#options.env });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new CredentialsError(p.profileName, `running command ${quoted}: ${why}`, { cause: e });
    }
    if (!result.success) throw new CredentialsError(p.profileName, `running command ${quoted}: ${result.failure}`);
    // Untrimmed, as aws-vault sends it.
    return result.stdout;
  }

  #now(): Date {
    return this.#options.now();
  }
}
