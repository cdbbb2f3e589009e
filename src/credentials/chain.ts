/**
 * Picks the providers for a resolved profile, as aws-vault's `vault.go` (docs/behaviour.md#provider-selection,
 * #getsessiontoken-and-role-chaining; with the ByteNess fork's corrected role-chaining rules): stored keys or a source
 * profile, GetSessionToken priming, AssumeRole, chained MFA, the 1h cap for role chaining, and the session cache around
 * each STS call.
 * @module
 */

import type { Env } from "../core/env.ts";
import { formatDuration } from "../config/duration.ts";
import { resolveEndpoint } from "../config/endpoints.ts";
import { minTtlFromEnv } from "../config/profile.ts";
import {
  getSessionTokenDuration,
  hasCredentialProcess,
  hasMfaSerial,
  hasRole,
  hasSourceProfile,
  hasSsoStartUrl,
  hasWebIdentity,
  type ProfileConfig,
} from "../config/profile_config.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import type { Keyring } from "../vault/keyring.ts";
import { SessionKeyring } from "../vault/session_keyring.ts";
import { AssumeRoleProvider } from "./assume_role_provider.ts";
import {
  assumeRoleLookup,
  CachedSessionProvider,
  credentialProcessLookup,
  federationLookup,
  sessionTokenLookup,
  ssoRoleDescription,
  ssoRoleLookup,
  webIdentityDescription,
  webIdentityLookup,
} from "./cached_provider.ts";
import { CredentialProcessProvider } from "./credential_process_provider.ts";
import { KeyringProvider } from "./keyring_provider.ts";
import type { MfaOptions } from "./mfa.ts";
import { type CredentialsProvider } from "./provider.ts";
import { CredentialsError } from "../core/errors.ts";
import { SessionTokenProvider } from "./session_token_provider.ts";
import { DeferredProvider } from "./deferred_provider.ts";
import { lockingSessionFlight, type SessionFlight } from "./session_flight.ts";
import { checkPolicyAccount, type SessionPolicy, sessionPolicyOrigin } from "./session_policy.ts";

/** AWS's limit for a role assumed with temporary credentials ("role chaining"). */
export const ROLE_CHAINING_MAXIMUM_DURATION = 3_600_000;

/** Options of {@link getProviderForProfile}. */
export interface ChainOptions {
  /** The vault with stored credentials and cached sessions. */
  vault: Keyring;
  /** `--no-session`: never call GetSessionToken. */
  noSession?: boolean;
  /** `--no-cache` / rotate: neither reuse nor store sessions. */
  noCache?: boolean;
  /** `login`: no GetSessionToken for this profile (federation needs long-term keys). */
  disableSessionsForProfile?: string;
  /** Reuse window in ms (default `AWS_MIN_TTL`, 5m). */
  minTtl?: number;
  /**
   * Reuse window in ms for the session handed out, when it is a role session that can be renewed without an MFA
   * prompt: a command given static credentials (exec, export) should get a session that lasts, as the Go aws-vault
   * gives a fresh one. Unset (servers, which refresh themselves): `minTtl` applies.
   */
  handoutMinTtl?: number;
  /** The environment (endpoints, CA bundle, `AWS_MIN_TTL`). */
  env: Env;
  /** The clock for expiry checks and new sessions (the CLI's injected clock). */
  now: () => Date;
  /** MFA prompt override for servers and tests. */
  mfa?: MfaOptions;
  /** How missing sessions are made once across processes; default cross-process file locks. */
  flight?: SessionFlight;
  /** Debug lines, passed to every provider of the chain; silent when not given. */
  log?: Logger;
  /**
   * A session policy for the chain's last call (docs/behaviour.md#session-policies): the outermost AssumeRole, the
   * AssumeRoleWithWebIdentity, or GetFederationToken instead of GetSessionToken for an IAM user's keys.
   */
  sessionPolicy?: SessionPolicy;
}

/**
 * Whether the chain from `profile` up to the target holds exactly one role and it wants more than the 1h
 * role-chaining limit: that role is then assumed straight from long-term keys to keep its full duration.
 */
export function assumeRoleKeepsFullDuration(profile: ProfileConfig): boolean {
  let role: ProfileConfig | undefined;
  for (let c: ProfileConfig | undefined = profile; c; c = c.chainedFromProfile) {
    if (!hasRole(c)) continue;
    if (role) return false; // two or more roles: genuine role chaining, capped to 1h
    role = c;
  }
  return role !== undefined && role.assumeRoleDuration > ROLE_CHAINING_MAXIMUM_DURATION;
}

/**
 * Whether GetSessionToken may be used for `profile`, and if not, why (the debug reasons in
 * docs/behaviour.md#getsessiontoken-and-role-chaining).
 * aws-vault 7's extra "duration greater than 1h" rule is replaced by {@link assumeRoleKeepsFullDuration}.
 */
export function canUseGetSessionToken(
  profile: ProfileConfig,
  options: Pick<ChainOptions, "noSession" | "disableSessionsForProfile">,
): { ok: true } | { ok: false; reason: string } {
  if (options.noSession) return { ok: false, reason: "sessions are disabled" };
  if (options.disableSessionsForProfile === profile.profileName) {
    return { ok: false, reason: "sessions are disabled for this profile" };
  }
  const child = profile.chainedFromProfile;
  if (child) {
    if (!hasMfaSerial(child)) return { ok: false, reason: `profile '${child.profileName}' has no MFA serial defined` };
    if (!hasMfaSerial(profile)) {
      return { ok: false, reason: `profile '${profile.profileName}' has no MFA serial defined` };
    }
    if (child.mfaSerial !== profile.mfaSerial) {
      return { ok: false, reason: `MFA serial doesn't match profile '${child.profileName}'` };
    }
  }
  return { ok: true };
}

function unwrap(p: CredentialsProvider): CredentialsProvider {
  return p instanceof CachedSessionProvider ? p.inner : p;
}

/** Whether a role assumed from `source` is role chaining (source is temporary STS credentials), so capped at 1h. */
function isTemporaryStsSource(source: CredentialsProvider): boolean {
  const inner = unwrap(source);
  return inner instanceof SessionTokenProvider || inner instanceof AssumeRoleProvider;
}

class ChainBuilder {
  #options: ChainOptions;
  #env: Env;
  #log: Logger;
  #minTtl: number;
  #sessions: SessionKeyring;
  #flight: SessionFlight;
  #storedNames?: Promise<string[]>;
  /** The MFA serial a GetSessionToken earlier in this chain already satisfied. */
  #chainedMfa?: string;
  /** The profile whose credentials are handed out (the chain's outermost). */
  #target?: string;
  /** The profile whose call is the chain's last, which carries the session policy (the target, or an alias's source). */
  #policyAt?: string;

  constructor(options: ChainOptions) {
    this.#options = options;
    this.#env = options.env;
    this.#log = options.log ?? SILENT;
    this.#minTtl = options.minTtl ?? minTtlFromEnv(this.#env);
    this.#sessions = new SessionKeyring(options.vault, { now: options.now, log: this.#log });
    // Processes sharing a vault share sessions; the home directory stands for the vault's location.
    const home = this.#env.get("HOME") ?? this.#env.get("USERPROFILE") ?? "";
    this.#flight = options.flight ??
      lockingSessionFlight({ env: this.#env, scope: `${options.vault.backend}\n${home}`, log: this.#log });
  }

  async forProfile(p: ProfileConfig): Promise<CredentialsProvider> {
    this.#storedNames ??= new CredentialKeyring(this.#options.vault).keys();
    const stored = (await this.#storedNames).includes(p.profileName);
    if (stored || hasSourceProfile(p)) return await this.#withSession(p, stored);
    const policy = this.#policyFor(p);
    if (policy && (hasSsoStartUrl(p) || (!hasWebIdentity(p) && hasCredentialProcess(p)))) {
      const what = hasSsoStartUrl(p)
        ? "SSO role credentials: they come from sso:GetRoleCredentials, which takes no policy"
        : "credentials from credential_process: aws-vault makes no STS call for them";
      throw new CredentialsError(
        p.profileName,
        `a session policy (${sessionPolicyOrigin(policy)}) cannot narrow ${what}; narrow a role assumed with them ` +
          `instead (a profile with role_arn and source_profile = ${p.profileName})`,
      );
    }
    if (hasSsoStartUrl(p)) {
      this.#log.debug(`profile ${p.profileName}: using SSO role credentials`);
      const options = {
        vault: this.#options.vault,
        env: this.#env,
        noCache: this.#options.noCache,
        now: this.#options.now,
        log: this.#log,
      };
      const provider = new DeferredProvider(
        ssoRoleDescription(p),
        async () => new (await import("./sso_provider.ts")).SsoRoleCredentialsProvider(p, options),
      );
      return this.#cached(provider, ssoRoleLookup(p));
    }
    if (hasWebIdentity(p)) {
      this.#log.debug(`profile ${p.profileName}: using web identity${policy ? " with a session policy" : ""}`);
      if (policy) checkPolicyAccount(policy, p.roleArn);
      const options = { env: this.#env, now: this.#options.now, log: this.#log, sessionPolicy: policy };
      const provider = new DeferredProvider(
        webIdentityDescription(p),
        async () => new (await import("./web_identity_provider.ts")).WebIdentityProvider(p, options),
      );
      return this.#cached(provider, webIdentityLookup(p, { policyDigest: policy?.digest }));
    }
    if (hasCredentialProcess(p)) {
      this.#log.debug(`profile ${p.profileName}: using credential process`);
      const provider = new CredentialProcessProvider(p.profileName, p.credentialProcess!, {
        now: this.#options.now,
        env: this.#env,
        log: this.#log,
      });
      return this.#cached(provider, credentialProcessLookup(p));
    }
    throw new CredentialsError(p.profileName, missingCredentialsMessage(p));
  }

  async #sourceCreds(p: ProfileConfig, stored: boolean): Promise<CredentialsProvider> {
    if (stored) {
      this.#log.debug(`profile ${p.profileName}: using stored credentials`);
      return new KeyringProvider(this.#options.vault, p.profileName, { log: this.#log });
    }
    this.#log.debug(`profile ${p.profileName}: sourcing credentials from profile ${p.sourceProfile!.profileName}`);
    return await this.forProfile(p.sourceProfile!);
  }

  async #withSession(p: ProfileConfig, stored: boolean): Promise<CredentialsProvider> {
    let source = await this.#sourceCreds(p, stored);
    const policy = this.#policyFor(p);
    if (policy && !hasRole(p)) return await this.#federation(p, source, policy);

    // GetSessionToken priming ([BN+]): the session carries one MFA authentication for the whole chain, but a role
    // assumed from it is limited to 1h. Prime when the session itself is the result or is shared by role profiles,
    // unless a single role wants more than 1h (then it is assumed straight from the long-term keys).
    const isSourceForRoleProfile = p.chainedFromProfile !== undefined && hasRole(p.chainedFromProfile);
    const shouldPrime = (!hasRole(p) || isSourceForRoleProfile) && !assumeRoleKeepsFullDuration(p);
    if (shouldPrime && source instanceof KeyringProvider) {
      const can = canUseGetSessionToken(p, this.#options);
      if (!can.ok) {
        this.#log.debug(`profile ${p.profileName}: skipping GetSessionToken because ${can.reason}`);
      } else {
        this.#chainedMfa = p.mfaSerial;
        this.#log.debug(`profile ${p.profileName}: using GetSessionToken${p.mfaSerial ? " (with MFA)" : ""}`);
        const gst = new SessionTokenProvider(p, source, {
          duration: getSessionTokenDuration(p),
          env: this.#env,
          mfa: this.#options.mfa,
          now: this.#options.now,
          log: this.#log,
        });
        source = this.#cached(gst, sessionTokenLookup(p));
      }
    }
    if (!hasRole(p)) return source;

    let effective = p;
    if (isTemporaryStsSource(source) && p.assumeRoleDuration > ROLE_CHAINING_MAXIMUM_DURATION) {
      this.#log.debug(
        `profile ${p.profileName}: capping AssumeRole duration from ${formatDuration(p.assumeRoleDuration)} ` +
          `to AWS maximum ${formatDuration(ROLE_CHAINING_MAXIMUM_DURATION)} for role chaining`,
      );
      effective = { ...effective, assumeRoleDuration: ROLE_CHAINING_MAXIMUM_DURATION };
    }
    const mfaChained = !!p.mfaSerial && p.mfaSerial === this.#chainedMfa;
    if (mfaChained) effective = { ...effective, mfaSerial: undefined };
    const details = mfaChained ? " (chained MFA)" : effective.mfaSerial ? " (with MFA)" : "";
    this.#log.debug(`profile ${p.profileName}: using AssumeRole${details}`);
    const role = new AssumeRoleProvider(effective, source, {
      env: this.#env,
      mfa: this.#options.mfa,
      now: this.#options.now,
      log: this.#log,
      sessionPolicy: policy,
    });
    if (this.#options.noCache) return role;
    const endpoint = resolveEndpoint(effective, "sts", { env: this.#env, log: this.#log });
    const lookup = await assumeRoleLookup({
      profile: effective,
      endpoint,
      source: source.description,
      policyDigest: policy?.digest,
    });
    // Renewing an MFA role session costs a prompt: those keep aws-vault's reuse rule.
    const handout = p.profileName === this.#target && !effective.mfaSerial ? this.#options.handoutMinTtl : undefined;
    return this.#cached(role, lookup, handout === undefined ? undefined : Math.max(handout, this.#minTtl));
  }

  #cached(
    provider: CredentialsProvider,
    lookup: CachedSessionProvider["lookup"],
    minTtl?: number,
  ): CredentialsProvider {
    if (this.#options.noCache) return provider;
    return new CachedSessionProvider(provider, {
      sessions: this.#sessions,
      lookup,
      minTtl: minTtl ?? this.#minTtl,
      now: this.#options.now,
      log: this.#log,
      flight: this.#flight,
    });
  }

  /**
   * An IAM user's session narrowed by a session policy: GetFederationToken with its long-term keys, since
   * GetSessionToken takes no policy (docs/behaviour.md#session-policies).
   * @throws CredentialsError with --no-session (the keys themselves would be handed out) or an MFA device (the call
   *   takes no MFA code)
   */
  async #federation(p: ProfileConfig, keys: CredentialsProvider, policy: SessionPolicy): Promise<CredentialsProvider> {
    const origin = sessionPolicyOrigin(policy);
    if (this.#options.noSession) {
      throw new CredentialsError(
        p.profileName,
        `--no-session hands out the stored long-term keys, which a session policy (${origin}) cannot narrow; leave ` +
          "out --no-session (the keys then get a GetFederationToken session with the policy)",
      );
    }
    if (p.mfaSerial) {
      throw new CredentialsError(
        p.profileName,
        `a session policy (${origin}) on an IAM user's own keys needs sts:GetFederationToken, which takes no MFA ` +
          `code, and the profile sets mfa_serial; narrow a role instead (a profile with role_arn and source_profile ` +
          `= ${p.profileName})`,
      );
    }
    this.#log.debug(`profile ${p.profileName}: using GetFederationToken with a session policy`);
    // Loaded only for a session policy: no other chain needs it.
    const { FederationTokenProvider, federatedNameFor } = await import("./federation.ts");
    const provider = new FederationTokenProvider(p, keys, {
      duration: p.getFederationTokenDuration,
      env: this.#env,
      now: this.#options.now,
      log: this.#log,
      sessionPolicy: policy,
      name: federatedNameFor(p.profileName),
    });
    if (this.#options.noCache) return provider;
    const endpoint = resolveEndpoint(p, "sts", { env: this.#env, log: this.#log });
    const lookup = await federationLookup({ profile: p, endpoint, policyDigest: policy.digest });
    const handout = this.#options.handoutMinTtl;
    return this.#cached(provider, lookup, handout === undefined ? undefined : Math.max(handout, this.#minTtl));
  }

  /** The session policy if `p` makes the chain's last call. */
  #policyFor(p: ProfileConfig): SessionPolicy | undefined {
    return p.profileName === this.#policyAt ? this.#options.sessionPolicy : undefined;
  }

  /** Builds the chain for the profile whose credentials are handed out. */
  async forTarget(p: ProfileConfig): Promise<CredentialsProvider> {
    this.#target = p.profileName;
    if (this.#options.sessionPolicy) {
      // An alias (source_profile without role_arn or stored keys) hands out its source's result: the last call is
      // the first profile down the chain that makes one.
      this.#storedNames ??= new CredentialKeyring(this.#options.vault).keys();
      const stored = await this.#storedNames;
      let at = p;
      while (!stored.includes(at.profileName) && !hasRole(at) && at.sourceProfile) at = at.sourceProfile;
      this.#policyAt = at.profileName;
    }
    return await this.forProfile(p);
  }
}

/**
 * Why profile `p` yields no credentials and how to give it some: what it lacks, then `aws-vault add` or the config
 * keys (docs/behaviour.md#provider-selection).
 */
export function missingCredentialsMessage(p: ProfileConfig): string {
  const name = p.profileName;
  const add = `run "aws-vault add ${name}" to store keys`;
  return hasRole(p)
    ? `no credentials: it sets role_arn but no source_profile to assume the role with, and no keys are stored ` +
      `for it; set source_profile in its config, or ${add}`
    : `no credentials: no keys are stored for it and it sets no source_profile/role_arn, sso_start_url, ` +
      `credential_process or web_identity_token_file; ${add}, or set one of those in its config`;
}

/**
 * The credentials provider for a resolved profile (docs/behaviour.md#provider-selection): stored keys or a source
 * profile (with GetSessionToken / AssumeRole as docs/behaviour.md#getsessiontoken-and-role-chaining decides), else SSO,
 * else web identity, else credential_process.
 * Building the chain lists the vault but reads no secret, calls no AWS API and never prompts.
 * @throws CredentialsError `profile <p>: no credentials: …` ({@link missingCredentialsMessage}) when nothing applies
 */
export async function getProviderForProfile(
  profile: ProfileConfig,
  options: ChainOptions,
): Promise<CredentialsProvider> {
  return await new ChainBuilder(options).forTarget(profile);
}
