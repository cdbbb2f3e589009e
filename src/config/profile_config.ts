/**
 * The resolved profile type and its derived predicates (docs/behaviour.md#resolved-profile).
 * @module
 */

/** Values from command-line flags. They apply to every profile of the chain, source profiles included. */
export interface ProfileFlags {
  /** `--region` */
  readonly region?: string;
  /** `--mfa-token`: the one code used for every MFA call of this run. */
  readonly mfaToken?: string;
  /** `--prompt`: the MFA prompt driver. */
  readonly mfaPromptMethod?: string;
  /** `--duration` in ms: sets the AssumeRole and both GetSessionToken durations. */
  readonly duration?: number;
  /** The `login` duration in ms for GetFederationToken. */
  readonly federationDuration?: number;
  /** `--stdout`: print the SSO authorization URL instead of opening a browser. */
  readonly ssoUseStdout?: boolean;
  /** `--policy`: a session policy file; the target profile's only (docs/behaviour.md#session-policies). */
  readonly policyFile?: string;
  /** `--policy-arn`, each value: managed session policies; the target profile's only. */
  readonly policyArns?: readonly string[];
}

/** A fully resolved profile. Durations are milliseconds; unset strings are `undefined`. */
export interface ProfileConfig {
  /** The profile's name (`default` for `[default]`). */
  readonly profileName: string;
  /** `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION` or `region`. */
  readonly region?: string;
  /** `AWS_MFA_SERIAL` or `mfa_serial`. */
  readonly mfaSerial?: string;
  /** `AWS_ROLE_ARN` (target only) or `role_arn`. */
  readonly roleArn?: string;
  /** `external_id`, sent with AssumeRole. */
  readonly externalId?: string;
  /** `AWS_ROLE_SESSION_NAME` (target only) or `role_session_name`. */
  readonly roleSessionName?: string;
  /** `source_profile`, unless it named this profile itself. */
  readonly sourceProfileName?: string;
  /** The hydrated source profile. */
  readonly sourceProfile?: ProfileConfig;
  /** Set on a source profile: the profile that sources its credentials from this one. */
  readonly chainedFromProfile?: ProfileConfig;
  /** `sso_session`: the `[sso-session NAME]` that supplied the SSO settings. */
  readonly ssoSession?: string;
  /** `sso_start_url`, replaced by the sso-session's when `sso_session` is set. */
  readonly ssoStartUrl?: string;
  /** `sso_region`, replaced by the sso-session's when `sso_session` is set. */
  readonly ssoRegion?: string;
  /** `sso_account_id`. */
  readonly ssoAccountId?: string;
  /** `sso_role_name`. */
  readonly ssoRoleName?: string;
  /** The sso-session's `sso_registration_scopes` (loaded, not sent). */
  readonly ssoRegistrationScopes?: string;
  /** `web_identity_token_file`. */
  readonly webIdentityTokenFile?: string;
  /** `web_identity_token_process`. */
  readonly webIdentityTokenProcess?: string;
  /** `legacy` or `regional`; anything else behaves as regional. */
  readonly stsRegionalEndpoints?: string;
  /** `AWS_SESSION_TAGS` (target only) or `session_tags`, in written order. */
  readonly sessionTags?: ReadonlyMap<string, string>;
  /** `AWS_TRANSITIVE_TAGS` (target only) or `transitive_session_tags`. */
  readonly transitiveSessionTags?: readonly string[];
  /** `AWS_SOURCE_IDENTITY` (target only) or `source_identity`. */
  readonly sourceIdentity?: string;
  /** `credential_process`. */
  readonly credentialProcess?: string;
  /** `mfa_process`, inherited from the source profile when unset. */
  readonly mfaProcess?: string;
  /** `endpoint_url` or `AWS_ENDPOINT_URL`. */
  readonly endpointUrl?: string;
  /** `AWS_CA_BUNDLE` or `ca_bundle`: a PEM file of certificates trusted for AWS calls, besides the usual ones. */
  readonly caBundle?: string;
  /** The `services` setting: the name of a `[services NAME]` section. */
  readonly services?: string;
  /** Endpoints from that `[services NAME]` section, by service key (`sts`, `iam`, `sso`, `sso_oidc`, …). */
  readonly serviceEndpoints?: ReadonlyMap<string, string>;
  /** `ignore_configured_endpoint_urls`. */
  readonly ignoreConfiguredEndpointUrls?: boolean;
  /** `--mfa-token`. */
  readonly mfaToken?: string;
  /** `--prompt`. */
  readonly mfaPromptMethod?: string;
  /** AssumeRole (and web identity) duration in ms: flag, `AWS_ASSUME_ROLE_TTL`, `duration_seconds`, 1h. */
  readonly assumeRoleDuration: number;
  /** GetSessionToken duration in ms when not a source: flag, `AWS_SESSION_TOKEN_TTL`, 1h. */
  readonly nonChainedGetSessionTokenDuration: number;
  /** GetSessionToken duration in ms as a source: flag, `AWS_CHAINED_SESSION_TOKEN_TTL`, 8h. */
  readonly chainedGetSessionTokenDuration: number;
  /** GetFederationToken duration in ms: flag, `AWS_FEDERATION_TOKEN_TTL`, 1h. */
  readonly getFederationTokenDuration: number;
  /** `--stdout`: print the SSO URL instead of opening a browser. */
  readonly ssoUseStdout: boolean;
  /**
   * `--policy` (target only) or `session_policy_file`: a JSON session policy file, relative paths already resolved
   * against the config file's directory (docs/behaviour.md#session-policies).
   */
  readonly sessionPolicyFile?: string;
  /** `--policy-arn` (target only) or `session_policy_arns`: managed session policy ARNs, as written. */
  readonly sessionPolicyArns?: readonly string[];
  /** Where those two came from, for messages: `--policy`, `<config path>:<line>: session_policy_arns`, …. */
  readonly sessionPolicySources?: { readonly file?: string; readonly arns?: string };
  /**
   * Where each duration that is not a default came from, for messages: `--duration`, `AWS_ASSUME_ROLE_TTL`,
   * `duration_seconds at <path>:<line>`, ….
   */
  readonly durationSources?: { readonly [K in StsDurationField]?: string };
}

/** The profile fields holding the duration of an STS call. */
export type StsDurationField =
  | "assumeRoleDuration"
  | "nonChainedGetSessionTokenDuration"
  | "chainedGetSessionTokenDuration"
  | "getFederationTokenDuration";

/** Whether this profile is the source of another one in the chain being built. */
export function isChained(p: ProfileConfig): boolean {
  return p.chainedFromProfile !== undefined;
}

/** Whether a (hydrated) source profile exists. */
export function hasSourceProfile(p: ProfileConfig): boolean {
  return p.sourceProfile !== undefined;
}

/** Whether `mfa_serial` is set. */
export function hasMfaSerial(p: ProfileConfig): boolean {
  return !!p.mfaSerial;
}

/** Whether `role_arn` is set. */
export function hasRole(p: ProfileConfig): boolean {
  return !!p.roleArn;
}

/** Whether an SSO start URL is set (inline or from the sso-session). */
export function hasSsoStartUrl(p: ProfileConfig): boolean {
  return !!p.ssoStartUrl;
}

/** Whether a web identity token file or process is set. */
export function hasWebIdentity(p: ProfileConfig): boolean {
  return !!p.webIdentityTokenFile || !!p.webIdentityTokenProcess;
}

/** Whether `credential_process` is set. */
export function hasCredentialProcess(p: ProfileConfig): boolean {
  return !!p.credentialProcess;
}

/** The GetSessionToken duration: the chained one when this profile sources another, else the non-chained one. */
export function getSessionTokenDuration(p: ProfileConfig): number {
  return isChained(p) ? p.chainedGetSessionTokenDuration : p.nonChainedGetSessionTokenDuration;
}

/** Where {@link getSessionTokenDuration}'s value came from, or undefined for the default. */
export function getSessionTokenDurationSource(p: ProfileConfig): string | undefined {
  return p.durationSources?.[isChained(p) ? "chainedGetSessionTokenDuration" : "nonChainedGetSessionTokenDuration"];
}
