/**
 * The session cache in the vault (docs/behaviour.md#session-cache, #session-keys): a cached session is reused while at
 * least `AWS_MIN_TTL`
 * of it remains, otherwise the wrapped provider is called and its result stored.
 * @module
 */

import { formatDuration } from "../config/duration.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, maskSecret, SILENT } from "../core/log.ts";
import { SESSION_TYPES, type SessionKeyLookup, type SessionKeyring } from "../vault/session_keyring.ts";
import type { Credentials } from "../core/credentials.ts";
import { type CredentialsProvider } from "./provider.ts";
import { CredentialsError } from "../core/errors.ts";
import type { SessionFlight } from "./session_flight.ts";

/** Options of {@link CachedSessionProvider}. */
export interface CachedSessionProviderOptions {
  /** The session store (one instance per chain, so old sessions are swept once). */
  sessions: SessionKeyring;
  /** Which cached session this is. */
  lookup: SessionKeyLookup;
  /** Reuse only while at least this many ms remain (`AWS_MIN_TTL`). */
  minTtl: number;
  /** The clock, passed down from main.ts. */
  now: () => Date;
  /** Debug lines; silent when not given. */
  log?: Logger;
  /** Makes a missing session once across processes; without it each process makes its own. */
  flight?: SessionFlight;
}

/** Serves a session from the vault while it is fresh enough, otherwise refreshes it through `inner`. */
export class CachedSessionProvider implements CredentialsProvider {
  /** The provider called on a miss. */
  readonly inner: CredentialsProvider;
  /** The session's key fields. */
  readonly lookup: SessionKeyLookup;
  readonly description: string;
  /** Whether the last {@link retrieve} reused a cached session (true) or made one (false); the audit log says which. */
  lastFromCache?: boolean;
  #options: CachedSessionProviderOptions;

  /**
   * @param inner the provider whose sessions are cached; its credentials must expire
   * @param options the store, the key and the reuse window
   */
  constructor(inner: CredentialsProvider, options: CachedSessionProviderOptions) {
    this.inner = inner;
    this.lookup = options.lookup;
    this.#options = options;
    this.description = `cached ${inner.description}`;
  }

  /**
   * Returns the cached session when fresh enough, else calls the inner provider and caches its result. With a
   * {@link CachedSessionProviderOptions.flight}, a process that misses waits for any other process making the same
   * session and then looks again, so N processes at once make one session.
   */
  async retrieve(): Promise<Credentials> {
    const flight = this.#options.flight;
    const cached = await this.#cached();
    if (cached) return cached;
    if (!flight) return await this.#make();
    // Another process may have made it while this one waited for the lock.
    return await flight.run(
      this.lookup,
      this.inner.description,
      async () => await this.#cached() ?? await this.#make(),
    );
  }

  /** The cached session if at least `minTtl` of it remains. */
  async #cached(): Promise<Credentials | undefined> {
    const { sessions, lookup, minTtl } = this.#options;
    const now = this.#options.now().getTime();
    const cached = await sessions.get(lookup);
    const expiration = cached?.credentials.expiration;
    if (!cached || !expiration || expiration.getTime() - now < minTtl) return undefined;
    (this.#options.log ?? SILENT).debug(
      `Re-using cached credentials ${maskSecret(cached.credentials.accessKeyId)} from ${lookup.type} cache for ` +
        `${lookup.profileName}, expires in ${formatDuration(expiration.getTime() - now)}`,
    );
    this.lastFromCache = true;
    return cached.credentials;
  }

  /** Calls the inner provider and stores its session. */
  async #make(): Promise<Credentials> {
    const { sessions, lookup } = this.#options;
    const fresh = await this.inner.retrieve();
    if (!fresh.expiration) {
      throw new CredentialsError(lookup.profileName, `${this.inner.description} returned credentials without expiry`);
    }
    await sessions.set(lookup, fresh);
    this.lastFromCache = false;
    return fresh;
  }
}

/** The cache key of a profile's GetSessionToken sessions: aws-vault's own, so a store shared with it is reused. */
export function sessionTokenLookup(profile: ProfileConfig): SessionKeyLookup {
  return { type: SESSION_TYPES.getSessionToken, profileName: profile.profileName, mfaSerial: profile.mfaSerial ?? "" };
}

/** The session-cache key of a profile's SSO role credentials: aws-vault's, with the start URL in the MFA field. */
export function ssoRoleLookup(profile: ProfileConfig): SessionKeyLookup {
  return {
    type: SESSION_TYPES.ssoGetRoleCredentials,
    profileName: profile.profileName,
    mfaSerial: profile.ssoStartUrl ?? "",
  };
}

/** How the SSO provider describes itself; the chain needs it before that provider's module is loaded. */
export function ssoRoleDescription(profile: ProfileConfig): string {
  return `SSO GetRoleCredentials ${profile.ssoRoleName} in ${profile.ssoAccountId} for profile ${profile.profileName}`;
}

/** How the web identity provider describes itself; the chain needs it before that provider's module is loaded. */
export function webIdentityDescription(profile: ProfileConfig): string {
  return `AssumeRoleWithWebIdentity ${profile.roleArn} for profile ${profile.profileName}`;
}

/**
 * The cache key of a profile's web identity sessions: aws-vault's `sts.AssumeRoleWithWebIdentity`, or with a session
 * policy `sts.AssumeRoleWithWebIdentity.<policy digest>`, which the Go aws-vault lists but never reuses, so a narrowed
 * session is never served for a full one or the other way round.
 */
export function webIdentityLookup(profile: ProfileConfig, options?: { policyDigest?: string }): SessionKeyLookup {
  const type = SESSION_TYPES.assumeRoleWithWebIdentity;
  const digest = options?.policyDigest;
  return { type: digest ? `${type}.${digest}` : type, profileName: profile.profileName, mfaSerial: "" };
}

/**
 * The cache key of GetFederationToken sessions made for a session policy (docs/behaviour.md#session-policies):
 * `sts.GetFederationToken.<digest>` over the policy, the duration, the region and the STS endpoint. aws-vault caches
 * no GetFederationToken session; its `list` shows these, its lookups never match them.
 */
export async function federationLookup(material: {
  profile: ProfileConfig;
  endpoint?: string;
  policyDigest: string;
}): Promise<SessionKeyLookup> {
  const p = material.profile;
  const text = JSON.stringify([
    material.policyDigest,
    Math.floor(p.getFederationTokenDuration / 1000),
    p.region ?? "",
    material.endpoint ?? "",
  ]);
  return { type: `sts.GetFederationToken.${await shortDigest(text)}`, profileName: p.profileName, mfaSerial: "" };
}

/** 16 hex of SHA-256 over `text`: the digest session cache keys (and session policies) carry. */
export async function shortDigest(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return digest.subarray(0, 8).toHex();
}

/** The cache key of a profile's credential_process results (aws-vault's). */
export function credentialProcessLookup(profile: ProfileConfig): SessionKeyLookup {
  return { type: SESSION_TYPES.credentialProcess, profileName: profile.profileName, mfaSerial: "" };
}

/** What determines an AssumeRole result, hashed into its session type by {@link assumeRoleLookup}. */
export interface AssumeRoleCacheMaterial {
  /** The effective profile (MFA cleared when chained, duration capped). */
  profile: ProfileConfig;
  /** The STS endpoint the call goes to, if not the default. */
  endpoint?: string;
  /** Identifies the source credentials, e.g. the source provider's description. */
  source: string;
  /** The session policy's digest, when the session is narrowed by one. */
  policyDigest?: string;
}

/**
 * The cache key of AssumeRole sessions. What changes the result (role ARN, duration, region, endpoint, session tags,
 * transitive tags, external id, source identity, an explicit role session name, the MFA serial, the source chain, a
 * session policy) is hashed (16 hex of SHA-256), and a session made with other settings is never served:
 *
 * - a role with its own MFA code, the one kind aws-vault caches, uses aws-vault's key `sts.AssumeRole,<profile>,<mfa
 *   serial>,…`, so the Go aws-vault and this tool reuse each other's sessions (and save an MFA prompt); the hash goes
 *   into the item ({@link SessionKeyLookup.settings}), where the Go aws-vault ignores it;
 * - every other role, which aws-vault does not cache (aws-vault #1222), uses the type `sts.AssumeRole.<hash>`: the
 *   Go aws-vault never finds its `sts.AssumeRole,` prefix there, while its `list` and `clear` still see the entries.
 *
 * aws-vault's key alone would serve a still-valid session after the role ARN, duration or tags were edited.
 */
export async function assumeRoleLookup(material: AssumeRoleCacheMaterial): Promise<SessionKeyLookup> {
  const p = material.profile;
  const text = JSON.stringify([
    p.roleArn ?? "",
    Math.floor(p.assumeRoleDuration / 1000),
    p.region ?? "",
    material.endpoint ?? "",
    [...(p.sessionTags ?? [])],
    p.transitiveSessionTags ?? [],
    p.externalId ?? "",
    p.sourceIdentity ?? "",
    p.roleSessionName ?? "",
    p.mfaSerial ?? "",
    material.source,
    // Only when there is one, so the keys of sessions without a policy stay what they were.
    ...(material.policyDigest ? [material.policyDigest] : []),
  ]);
  const hex = await shortDigest(text);
  // A narrowed session never takes aws-vault's key: the Go aws-vault ignores the digest in the item and would hand it
  // out as the profile's full session.
  if (p.mfaSerial && !material.policyDigest) {
    // An AssumeRole with its own MFA code: the one kind aws-vault caches. Its key, so both tools reuse each other's
    // session (and skip an MFA prompt); the digest travels in the item, so a session made for other settings is
    // still never served.
    return { type: SESSION_TYPES.assumeRole, profileName: p.profileName, mfaSerial: p.mfaSerial, settings: hex };
  }
  return { type: `${SESSION_TYPES.assumeRole}.${hex}`, profileName: p.profileName, mfaSerial: "" };
}
