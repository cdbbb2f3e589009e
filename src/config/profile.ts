/**
 * Profile resolution (docs/behaviour.md#profile-resolution): command flags, then the environment, then the config file
 * (include_profile and `[default]` inheritance), then defaults, then the `source_profile` chain. Every field is "first
 * writer wins".
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import type { AwsConfigFile } from "./config_file.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig, ProfileFlags } from "./profile_config.ts";
import { ChainGraph, deepChainText, loopText, STOP } from "./chain_walk.ts";
import {
  applyEnv,
  type Context,
  copySection,
  type Draft,
  envDuration,
  HOUR,
  includeStep,
  serviceEndpoints,
  set,
  setDuration,
  settingValue,
  type SsoValues,
} from "./profile_settings.ts";

export * from "./profile_config.ts";

/**
 * The most links an `include_profile` or `source_profile` chain may have (a profile with a source that has a source
 * is 2 links). Real configs have a handful; past this the chain is refused, so nothing that follows it later (the
 * credential chain, rotation) sees an absurd one.
 */
export const MAX_CHAIN_LINKS = 1000;

/**
 * Reading one profile's include_profile chain from a role's start values: the settings, the sso-session values and the
 * profiles found missing on the way (for the debug log); or the error that stopped it, the missing profiles before, the
 * profile whose section failed and the values set just before it.
 */
type FileRead =
  | { readonly ok: true; readonly fields: Draft; readonly sso?: SsoValues; readonly missing: readonly string[] }
  | {
    readonly ok: false;
    readonly error: unknown;
    readonly missing: readonly string[];
    readonly at: string;
    readonly before: Draft;
  };

/** The values from flags and the environment every profile of a role starts from, with the debug lines they gave. */
type Seed = { readonly fields: Draft; readonly lines: readonly string[] } | {
  readonly error: unknown;
  readonly lines: readonly string[];
};

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** The profile asked for, which takes the target-only variables, or a source profile, which does not. */
const TARGET = 0;
const SOURCE = 1;
type Role = typeof TARGET | typeof SOURCE;

/**
 * Resolves profiles of one config file with one set of flags and environment, sharing the work between them: each
 * profile's include_profile chain and each source profile is read once per resolver, so resolving every profile of a
 * file (`list`) costs time linear in the file, however long its chains. Nothing recurses: chains of any depth are
 * followed with loops, and refused past {@link MAX_CHAIN_LINKS} links.
 *
 * A chain's shape is checked before the settings on it are read: an include_profile loop, a chain that is too deep or
 * an include_profile value the AWS CLI would read differently is reported before a malformed setting on that chain.
 */
export class ProfileResolver {
  readonly #ctx: Context;
  readonly #reuse: boolean;
  readonly #seeds: (Seed | undefined)[] = [undefined, undefined];
  readonly #reads = [new Map<string, FileRead>(), new Map<string, FileRead>()];
  readonly #includes: ChainGraph;
  readonly #sources: ChainGraph;
  readonly #sourceDrafts = new Map<string, Outcome<Draft>>();
  readonly #mfaProcesses = new Map<string, string | undefined>();

  /**
   * @param file the parsed config file
   * @param options.flags command-line values, used for every profile of the chain
   * @param options.env the environment
   * @param options.log where the settings taken from the environment and missing profiles are noted (silent when not
   *   given); a source profile shared by several resolved profiles is noted once
   * @param options.reuse false reads every include_profile chain from its start instead of building on the chains read
   *   before (the same result, slower; for tests)
   */
  constructor(file: AwsConfigFile, options: { flags?: ProfileFlags; env: Env; log?: Logger; reuse?: boolean }) {
    this.#ctx = { file, flags: options.flags ?? {}, env: options.env, log: options.log ?? SILENT };
    this.#reuse = options.reuse ?? true;
    this.#includes = new ChainGraph((name) => includeStep(file, name));
    this.#sources = new ChainGraph((name) => {
      const source = this.#sourceDraft(name);
      return source.ok ? source.value.sourceProfileName : STOP;
    });
  }

  /**
   * Resolves profile `name` with its whole source_profile chain. An unknown name still inherits `[default]` (see
   * `assertProfileExists` for the check).
   * @throws ConfigError for malformed settings, a missing sso-session or services section, or an include/source
   *   chain that loops or is deeper than {@link MAX_CHAIN_LINKS} links
   * @throws DurationError for an invalid TTL variable
   */
  resolve(name: string): ProfileConfig {
    const target = this.#draft(TARGET, name);
    const sourceName = target.sourceProfileName;
    if (!sourceName) return target as ProfileConfig;
    this.#checkSources(name, sourceName);
    const chain: Draft[] = [target];
    for (let s: string | undefined = sourceName; s; s = chain[chain.length - 1].sourceProfileName) {
      chain.push({ ...(this.#sourceDraft(s) as { value: Draft }).value });
    }
    // From the far end, as each source lends its mfa_process on after taking its own source's.
    for (let i = chain.length - 2; i >= 0; i--) {
      const p = chain[i];
      const source = chain[i + 1];
      source.chainedFromProfile = p as ProfileConfig;
      p.sourceProfile = source as ProfileConfig;
      p.mfaProcess ??= source.mfaProcess;
    }
    return target as ProfileConfig;
  }

  /**
   * Profile `name`'s own settings, as {@link resolve} gives them, after the same checks of its whole source_profile
   * chain, but without building that chain: linear in the file over all profiles, where building every chain would be
   * quadratic in its depth.
   * @throws as {@link resolve}
   */
  resolveOwn(name: string): Omit<ProfileConfig, "sourceProfile" | "chainedFromProfile"> {
    const target = this.#draft(TARGET, name);
    const sourceName = target.sourceProfileName;
    if (!sourceName) return target as ProfileConfig;
    this.#checkSources(name, sourceName);
    target.mfaProcess ??= this.#inheritedMfaProcess(sourceName);
    return target as ProfileConfig;
  }

  /** The flags and environment values a role starts from; replays their debug lines. @throws for a bad variable */
  #seed(role: Role): Draft {
    let seed = this.#seeds[role];
    if (!seed) {
      const { flags } = this.#ctx;
      const lines: string[] = [];
      const log: Logger = { enabled: this.#ctx.log.enabled, debug: (line) => lines.push(line) };
      const p: Draft = { profileName: "" };
      try {
        set(p, "region", flags.region);
        set(p, "mfaToken", flags.mfaToken);
        set(p, "mfaPromptMethod", flags.mfaPromptMethod);
        // The parser folds AWS_VAULT_DURATION into the flag; when it is set, the value may have come from either.
        const flag = this.#ctx.env.get("AWS_VAULT_DURATION") ? "--duration or AWS_VAULT_DURATION" : "--duration";
        setDuration(p, "assumeRoleDuration", flags.duration, flag);
        setDuration(p, "nonChainedGetSessionTokenDuration", flags.duration, flag);
        setDuration(p, "chainedGetSessionTokenDuration", flags.duration, flag);
        setDuration(p, "getFederationTokenDuration", flags.federationDuration, flag);
        set(p, "ssoUseStdout", flags.ssoUseStdout || undefined);
        // A session policy narrows what is handed out: the target's last call, never a source's.
        if (role === TARGET && set(p, "sessionPolicyFile", flags.policyFile)) {
          p.sessionPolicySources = { file: "--policy" };
        }
        if (role === TARGET && set(p, "sessionPolicyArns", flags.policyArns)) {
          p.sessionPolicySources = { ...p.sessionPolicySources, arns: "--policy-arn" };
        }
        applyEnv(p, { ...this.#ctx, log }, { isTarget: role === TARGET });
        seed = { fields: p, lines };
      } catch (error) {
        seed = { error, lines };
      }
      this.#seeds[role] = seed;
    }
    for (const line of seed.lines) this.#ctx.log.debug(line);
    if ("error" in seed) throw seed.error;
    return seed.fields;
  }

  /** Profile `name` resolved for `role`, without its source chain. A new object each time. */
  #draft(role: Role, name: string): Draft {
    const { file } = this.#ctx;
    this.#seed(role);
    this.#checkIncludes(name);
    const read = this.#read(role, name);
    for (const missing of read.missing) this.#ctx.log.debug(`Profile '${missing}' missing in config file`);
    if (!read.ok) throw read.error;
    const p: Draft = { ...read.fields };
    p.profileName = name;
    if (read.sso) {
      // As aws-vault does: the sso-session's values replace any sso_start_url/sso_region set inline.
      p.ssoStartUrl = read.sso.startUrl ?? p.ssoStartUrl;
      p.ssoRegion = read.sso.region ?? p.ssoRegion;
      p.ssoRegistrationScopes = read.sso.scopes ?? p.ssoRegistrationScopes;
    }
    if (p.sourceProfileName === name) p.sourceProfileName = undefined;
    p.serviceEndpoints = serviceEndpoints(file, p);
    set(p, "assumeRoleDuration", HOUR);
    set(p, "getFederationTokenDuration", HOUR);
    set(p, "nonChainedGetSessionTokenDuration", HOUR);
    set(p, "chainedGetSessionTokenDuration", 8 * HOUR);
    p.ssoUseStdout ??= false;
    return p;
  }

  /** A source profile's own resolution (the same for every chain it is on), or why it fails. */
  #sourceDraft(name: string): Outcome<Draft> {
    let outcome = this.#sourceDrafts.get(name);
    if (!outcome) {
      try {
        outcome = { ok: true, value: this.#draft(SOURCE, name) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      this.#sourceDrafts.set(name, outcome);
    }
    return outcome;
  }

  /** @throws ConfigError when `name`'s include_profile chain loops, is too deep or has a refused include_profile */
  #checkIncludes(name: string): void {
    const { file } = this.#ctx;
    const { size, end } = this.#includes.outcome(name);
    if (end.kind === "loop") {
      throw new ConfigError(`include_profile loop in ${file.path}: ${loopText(end.cycle, end.entry)}`);
    }
    if (size - 1 > MAX_CHAIN_LINKS) {
      const names = deepChainText(name, end.at, (n) => this.#includes.next(n));
      throw new ConfigError(`include_profile chain in ${file.path} is deeper than ${MAX_CHAIN_LINKS} links: ${names}`);
    }
    if (end.kind === "stop") settingValue(file, file.profile(end.at)!, "include_profile");
  }

  /**
   * @throws what resolving the source chain of `target` (whose source_profile is `first`) fails with: a loop (found
   *   before the source that repeats is resolved again), a chain deeper than {@link MAX_CHAIN_LINKS} links, or the
   *   error of the first source that does not resolve
   */
  #checkSources(target: string, first: string): void {
    const { file } = this.#ctx;
    const { size, end } = this.#sources.outcome(first);
    const loop = (text: string) => new ConfigError(`source_profile loop in ${file.path}: ${text}`);
    // The target was resolved as a target, so the source graph may not know its link: a chain that comes back to it
    // loops there.
    if (end.kind === "loop") throw loop(loopText(end.cycle, end.cycle.index.has(target) ? target : end.entry));
    if (end.kind === "stop" && end.at === target) {
      const names = [target];
      for (let n = first; n !== target; n = this.#sources.next(n) as string) names.push(n);
      throw loop(loopText({ names, index: new Map(names.map((n, i) => [n, i])) }, target));
    }
    if (size > MAX_CHAIN_LINKS) {
      const names = deepChainText(target, end.at, (n) => n === target ? first : this.#sources.next(n));
      throw new ConfigError(`source_profile chain in ${file.path} is deeper than ${MAX_CHAIN_LINKS} links: ${names}`);
    }
    if (end.kind === "stop") throw (this.#sourceDraft(end.at) as { error: unknown }).error;
  }

  /** The mfa_process source profile `name` ends up with, taken from its source chain (checked before). */
  #inheritedMfaProcess(name: string): string | undefined {
    const memo = this.#mfaProcesses;
    const draft = (n: string) => (this.#sourceDraft(n) as { value: Draft }).value;
    const path: string[] = [];
    let cur: string | undefined = name;
    while (cur !== undefined && !memo.has(cur)) {
      path.push(cur);
      cur = draft(cur).sourceProfileName;
    }
    let inherited = cur === undefined ? undefined : memo.get(cur);
    for (let i = path.length - 1; i >= 0; i--) {
      inherited = draft(path[i]).mfaProcess ?? inherited;
      memo.set(path[i], inherited);
    }
    return memo.get(name);
  }

  /** `name`'s include_profile chain read for `role` (its shape checked before). */
  #read(role: Role, name: string): FileRead {
    const memo = this.#reads[role];
    const known = memo.get(name);
    if (known) return known;
    if (!this.#reuse) return this.#readChain(role, name);
    // The profiles from `name` down to the first one read before (or the end), then each built on the next.
    const path: string[] = [];
    let cur: string | undefined = name;
    while (cur !== undefined && !memo.has(cur)) {
      path.push(cur);
      cur = this.#includes.next(cur) as string | undefined;
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const rest = i + 1 < path.length ? memo.get(path[i + 1]) : cur === undefined ? undefined : memo.get(cur);
      memo.set(path[i], this.#readOne(role, path[i], rest));
    }
    return memo.get(name)!;
  }

  /** `name`'s chain read for `role` from the reading of the rest of it (`undefined`: `name` is the last). */
  #readOne(role: Role, name: string, rest: FileRead | undefined): FileRead {
    const { file } = this.#ctx;
    const seed = this.#seeds[role] as { fields: Draft };
    const section = file.profile(name);
    if (!section) {
      // A missing profile sets nothing.
      return rest ? { ...rest, missing: [name, ...rest.missing] } : { ok: true, fields: seed.fields, missing: [name] };
    }
    const p: Draft = { ...seed.fields };
    let sso: SsoValues | undefined;
    try {
      sso = copySection(p, file, section);
    } catch (error) {
      return { ok: false, error, missing: [], at: name, before: seed.fields };
    }
    if (!rest) return { ok: true, fields: p, sso, missing: [] };
    if (rest.ok) {
      // First writer wins: this section's values, then the rest's where this one set nothing.
      const fields = rest.fields as Record<string, unknown>;
      const into = p as Record<string, unknown>;
      for (const key in fields) if (into[key] === undefined) into[key] = fields[key];
      if (rest.fields.durationSources) p.durationSources = { ...rest.fields.durationSources, ...p.durationSources };
      if (rest.fields.sessionPolicySources) {
        p.sessionPolicySources = { ...rest.fields.sessionPolicySources, ...p.sessionPolicySources };
      }
      return { ok: true, fields: p, sso: sso ?? rest.sso, missing: rest.missing };
    }
    // The rest fails alone. With this section's values set too, its failing section may find what it lacked (a
    // duration_seconds above a malformed one): if it still fails the same way, so does the whole chain (a setting can
    // only fail when nothing before set its field); otherwise read the chain again from here.
    const before: Draft = { ...rest.before };
    const into = before as Record<string, unknown>;
    for (const [key, value] of Object.entries(p)) if (into[key] === undefined) into[key] = value;
    try {
      copySection({ ...before }, file, file.profile(rest.at)!);
    } catch (error) {
      if (sameError(error, rest.error)) return { ...rest, before };
    }
    return this.#readChain(role, name);
  }

  /** `name`'s include_profile chain read for `role` section by section, from the start values. */
  #readChain(role: Role, name: string): FileRead {
    const { file } = this.#ctx;
    const p: Draft = { ...(this.#seeds[role] as { fields: Draft }).fields };
    const missing: string[] = [];
    let sso: SsoValues | undefined;
    for (let cur: string | undefined = name; cur !== undefined; cur = this.#includes.next(cur) as string | undefined) {
      const section = file.profile(cur);
      if (!section) {
        missing.push(cur);
        continue;
      }
      const before = { ...p };
      try {
        sso = copySection(p, file, section) ?? sso;
      } catch (error) {
        return { ok: false, error, missing, at: cur, before };
      }
    }
    return { ok: true, fields: p, sso, missing };
  }
}

function sameError(a: unknown, b: unknown): boolean {
  return a instanceof Error && b instanceof Error && a.constructor === b.constructor && a.message === b.message;
}

/**
 * Resolves profile `name` (see {@link ProfileResolver.resolve}). An unknown name still inherits `[default]` (see
 * `assertProfileExists` for the check).
 *
 * @param file the parsed config file
 * @param name the profile to resolve
 * @param options.flags command-line values, used for every profile of the chain
 * @param options.env the environment
 * @param options.log where the settings taken from the environment and missing profiles are noted (silent when not
 *   given)
 * @throws ConfigError for malformed settings, a missing sso-session or services section, or an include/source chain
 *   that loops or is deeper than {@link MAX_CHAIN_LINKS} links
 * @throws DurationError for an invalid TTL variable
 */
export function resolveProfile(
  file: AwsConfigFile,
  name: string,
  options: { flags?: ProfileFlags; env: Env; log?: Logger },
): ProfileConfig {
  return new ProfileResolver(file, options).resolve(name);
}

/** The session reuse window from `AWS_MIN_TTL` in ms (default 5m). @throws DurationError naming AWS_MIN_TTL */
export function minTtlFromEnv(env: Env): number {
  return envDuration(env, "AWS_MIN_TTL") ?? 5 * 60_000;
}

/** Default of {@link handoutMinTtlFromEnv}: a command handed a role session gets at least this much of it. */
export const DEFAULT_HANDOUT_MIN_TTL = 15 * 60_000;

/**
 * How much must remain of a cached role session before it is handed to a command (exec without a server, export,
 * credential_process, login), in ms: `AWS_VAULT_HANDOUT_MIN_TTL` (default 15m), never less than `AWS_MIN_TTL`.
 * A server refreshes its credentials itself and does not use this.
 * @throws DurationError naming the variable
 */
export function handoutMinTtlFromEnv(env: Env): number {
  const e = env;
  return Math.max(envDuration(e, "AWS_VAULT_HANDOUT_MIN_TTL") ?? DEFAULT_HANDOUT_MIN_TTL, minTtlFromEnv(e));
}

/** The profile named by `AWS_PROFILE`, if set and non-empty. */
export function defaultProfileName(env: Env): string | undefined {
  return env.get("AWS_PROFILE") || undefined;
}
