/**
 * The in-memory credentials cache in front of a credential server's provider.
 *
 * Refresh policy:
 * - Credentials are handed out only while at least `minTtl` (`AWS_MIN_TTL`, default 5m) remains, the same rule as the
 *   keyring session cache, so the two agree on when a session is used up. Below that a caller waits for a refresh.
 * - Once less than `minTtl + refreshAhead` remains (for credentials that live less than `minTtl + 2 × refreshAhead`:
 *   once half their time beyond `minTtl` is gone, so short-lived ones are not refreshed on every request), the first
 *   caller triggers ONE background refresh and still gets
 *   the current credentials at once. If it succeeds, later callers get the new ones without waiting; if it fails (or
 *   the provider hands back the same session from its own cache), the blocking refresh at `minTtl` tries again.
 * - All refreshes are single-flight: concurrent callers share one `retrieve()`. A failure rejects the callers waiting
 *   on it and is not cached: the next `get()` retries.
 * - Credentials without an expiration (long-term keys) are kept for the life of the cache.
 *
 * aws-vault's SDK cache instead serves credentials until they have actually expired, so SDKs that refresh early keep
 * receiving the same near-expiry credentials (docs/behaviour.md#ec2-metadata-server).
 * @module
 */

import { formatDuration } from "../config/duration.ts";
import type { Credentials } from "../core/credentials.ts";
import type { CredentialsProvider } from "../credentials/provider.ts";
import { AppError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";

/** The default minimum remaining lifetime of handed-out credentials, as `AWS_MIN_TTL`'s default. */
export const DEFAULT_MIN_TTL = 5 * 60_000;

/** The default window before `minTtl` in which a background refresh starts. */
export const DEFAULT_REFRESH_AHEAD = 5 * 60_000;

/** Options of {@link RefreshingCredentials}. */
export interface RefreshingCredentialsOptions {
  /** Never hand out credentials with less than this many ms left (`AWS_MIN_TTL`); default 5 min. */
  minTtl?: number;
  /** Start a background refresh this many ms before `minTtl` is reached; default 5 min, 0 turns it off. */
  refreshAhead?: number;
  /** The clock, passed down from main.ts. */
  now: () => Date;
  /** Debug lines (failed background refreshes); silent when not given. */
  log?: Logger;
}

/** The provider returned credentials that are already too close to their expiry to hand out. */
export class ShortLivedCredentialsError extends AppError {}

/** Caches a provider's credentials and refreshes them ahead of expiry (see the module notes for the policy). */
export class RefreshingCredentials {
  /** The wrapped provider. */
  readonly provider: CredentialsProvider;
  /** Minimum remaining lifetime in ms of anything {@link get} returns. */
  readonly minTtl: number;
  /** Width in ms of the background-refresh window before `minTtl`. */
  readonly refreshAhead: number;
  #now: () => Date;
  #log: Logger;
  #cached?: Credentials;
  #inflight?: Promise<Credentials>;
  // Expiry (ms) of the cached credentials a background refresh was already tried for: one attempt per session.
  #aheadTriedFor?: number;
  // The background-refresh window of the cached credentials (ms before `minTtl`), fixed when they were cached.
  #window = 0;

  /**
   * @param provider the source, called only on a miss or refresh
   * @param options the TTL rule and a clock
   */
  constructor(provider: CredentialsProvider, options: RefreshingCredentialsOptions) {
    this.provider = provider;
    this.minTtl = options.minTtl ?? DEFAULT_MIN_TTL;
    this.refreshAhead = options.refreshAhead ?? DEFAULT_REFRESH_AHEAD;
    this.#now = options.now;
    this.#log = options.log ?? SILENT;
  }

  /**
   * Credentials with at least `minTtl` left, from the cache or a (shared) refresh.
   * @throws the provider's error, or ShortLivedCredentialsError when even fresh credentials expire too soon
   */
  get(): Promise<Credentials> {
    const cached = this.#cached;
    if (cached && this.#remaining(cached) >= this.minTtl) {
      const expiry = cached.expiration?.getTime();
      if (expiry !== undefined && this.#remaining(cached) < this.minTtl + this.#window) {
        if (this.#aheadTriedFor !== expiry) {
          this.#aheadTriedFor = expiry;
          this.#refresh().catch((e) => this.#log.debug(`Background refresh failed, will retry: ${errorText(e)}`));
        }
      }
      return Promise.resolve(cached);
    }
    return this.#refresh();
  }

  /**
   * The cached credentials when {@link get} would return them with nothing else to do (no refresh, not even one
   * ahead of time), else `undefined`: lets a server answer without waiting a turn of the event loop.
   */
  fresh(): Credentials | undefined {
    const cached = this.#cached;
    return cached && this.#remaining(cached) >= this.minTtl + this.#window ? cached : undefined;
  }

  /** Resolves once no refresh is running (whatever its outcome): for tests and orderly shutdown. */
  async settled(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => {});
  }

  #remaining(creds: Credentials): number {
    return creds.expiration ? creds.expiration.getTime() - this.#now().getTime() : Infinity;
  }

  #refresh(): Promise<Credentials> {
    return this.#inflight ??= this.#retrieve().finally(() => {
      this.#inflight = undefined;
    });
  }

  async #retrieve(): Promise<Credentials> {
    const creds = await this.provider.retrieve();
    const left = this.#remaining(creds);
    if (left < this.minTtl) {
      throw new ShortLivedCredentialsError(
        `${this.provider.description} returned credentials that expire in ${formatDuration(left)}, less than the ` +
          `minimum TTL of ${formatDuration(this.minTtl)} (AWS_MIN_TTL)`,
      );
    }
    // A background refresh may come back with an older session than one cached meanwhile; keep the longer-lived.
    const current = this.#cached;
    if (!current || this.#remaining(current) <= left) {
      this.#cached = creds;
      // New credentials that would fall inside the window at once would be refreshed again on the next request.
      this.#window = Math.min(this.refreshAhead, (left - this.minTtl) / 2);
    }
    return this.#cached ?? creds;
  }
}

function errorText(e: unknown): string {
  return e instanceof AppError ? e.message : e instanceof Error ? `${e.name}` : String(e);
}
