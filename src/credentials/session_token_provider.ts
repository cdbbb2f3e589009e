/**
 * STS GetSessionToken over long-term credentials, with MFA when the profile has `mfa_serial`
 * (docs/behaviour.md#sts-calls).
 * @module
 */

import { callAws, createStsClient, fromStsCredentials } from "../aws/clients.ts";
import type { Env } from "../core/env.ts";
import { formatDuration } from "../config/duration.ts";
import {
  getSessionTokenDuration,
  getSessionTokenDurationSource,
  type ProfileConfig,
} from "../config/profile_config.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import type { Credentials } from "../core/credentials.ts";
import type { MfaOptions } from "./mfa.ts";
import type { CredentialsProvider } from "./provider.ts";
import { stsDurationSeconds } from "./sts_duration.ts";

/** Options of {@link SessionTokenProvider}. */
export interface SessionTokenProviderOptions {
  /** Session duration in ms (the profile's `getSessionTokenDuration`). */
  duration: number;
  /** The environment for endpoint settings . */
  env: Env;
  /** MFA code sources. */
  mfa?: MfaOptions;
  /** The clock for the debug line. */
  now: () => Date;
  /** Debug lines; silent when not given. */
  log?: Logger;
}

/** Calls GetSessionToken with the source provider's credentials. */
export class SessionTokenProvider implements CredentialsProvider {
  /** The profile whose settings (region, endpoint, mfa_serial) the call uses. */
  readonly profile: ProfileConfig;
  /** The long-term credentials. */
  readonly source: CredentialsProvider;
  /** Requested duration in ms. */
  readonly duration: number;
  readonly description: string;
  #options: SessionTokenProviderOptions;
  #durationSeconds: number;

  /**
   * @param profile the profile (region, endpoint, `mfa_serial`, `mfa_process`, `--mfa-token`)
   * @param source the long-term credentials to call with
   * @throws DurationError when the duration is outside GetSessionToken's range (before anything is called)
   */
  constructor(profile: ProfileConfig, source: CredentialsProvider, options: SessionTokenProviderOptions) {
    this.profile = profile;
    this.source = source;
    this.duration = options.duration;
    this.#options = options;
    const fromProfile = options.duration === getSessionTokenDuration(profile);
    this.#durationSeconds = stsDurationSeconds(options.duration, {
      call: "sts:GetSessionToken",
      profile: profile.profileName,
      source: fromProfile ? getSessionTokenDurationSource(profile) : undefined,
    });
    const mfa = profile.mfaSerial ? ` with MFA ${profile.mfaSerial}` : "";
    this.description = `GetSessionToken for profile ${profile.profileName}${mfa} from ${source.description}`;
  }

  /** Calls STS; prompts for an MFA code only now. @throws CredentialsError naming profile and call */
  async retrieve(): Promise<Credentials> {
    const p = this.profile;
    const credentials = await this.source.retrieve();
    const input: { DurationSeconds: number; SerialNumber?: string; TokenCode?: string } = {
      DurationSeconds: this.#durationSeconds,
    };
    if (p.mfaSerial) {
      input.SerialNumber = p.mfaSerial;
      // The MFA sources (prompt drivers, mfa_process) load only when a code is needed (docs/performance.md).
      const { mfaTokenSource } = await import("./mfa.ts");
      const { mfa, env, log } = this.#options;
      input.TokenCode = await mfaTokenSource(p, { mfa, env, log })();
    }
    const creds = await callAws(p.profileName, "sts:GetSessionToken", async () => {
      const { client, sdk } = await createStsClient(p, { credentials, env: this.#options.env, log: this.#options.log });
      try {
        return fromStsCredentials((await client.send(new sdk.GetSessionTokenCommand(input))).Credentials);
      } finally {
        client.destroy();
      }
    });
    const now = this.#options.now();
    const left = formatDuration(creds.expiration.getTime() - now.getTime());
    (this.#options.log ?? SILENT).debug(
      `Generated credentials ${maskSecret(creds.accessKeyId)} using GetSessionToken, expires in ${left}`,
    );
    return creds;
  }
}
