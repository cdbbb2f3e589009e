/**
 * The AWS config file (`$AWS_CONFIG_FILE` or `~/.aws/config`) read with AWS CLI semantics: which sections are
 * profiles, sso-sessions or service endpoint groups, and how repeated sections merge.
 * @module
 */

import type { Env } from "../core/env.ts";
import { ConfigError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { type IniEntry, type IniSection, parseIni } from "./ini.ts";

/** Settings of one section by lowercased key. */
export type SectionEntries = ReadonlyMap<string, IniEntry>;

/** Profile keys aws-vault understands; `[default]` is listed as a profile only when it sets one of them. */
export const PROFILE_KEYS: readonly string[] = [
  "mfa_serial",
  "role_arn",
  "external_id",
  "region",
  "role_session_name",
  "duration_seconds",
  "source_profile",
  "include_profile",
  "sso_session",
  "sso_start_url",
  "sso_region",
  "sso_account_id",
  "sso_role_name",
  "web_identity_token_file",
  "web_identity_token_process",
  "sts_regional_endpoints",
  "session_tags",
  "transitive_session_tags",
  "source_identity",
  "credential_process",
  "mfa_process",
  "endpoint_url",
  "ca_bundle",
  "services",
  "ignore_configured_endpoint_urls",
  "session_policy_file",
  "session_policy_arns",
];

type Kind = "profile" | "sso-session" | "services";

/** The section of aws-vault's own settings, which are not a profile's: `[aws-vault]` (`audit = off`). */
export const AWS_VAULT_SECTION = "aws-vault";

function classify(name: string): { kind: Kind; name: string } | undefined {
  if (name === "default") return { kind: "profile", name };
  const m = /^(profile|sso-session|services)\s+(.+)$/s.exec(name);
  if (!m) return undefined;
  const target = m[2].trim();
  // aws-vault looks `default` up only as `[default]`, so `[profile default]` would be a silent second source.
  if (m[1] === "profile" && target === "default") return undefined;
  return { kind: m[1] as Kind, name: target };
}

/** A parsed AWS config file. Sections of the same kind and name are merged, later keys winning. */
export class AwsConfigFile {
  /** The file this was read from (it need not exist). */
  readonly path: string;
  readonly #sections = new Map<string, Map<string, IniEntry>>();
  readonly #order: { kind: Kind; name: string }[] = [];
  /** Whether a `[profile default]` section exists (see {@link profileNames}). */
  #profileDefaultSection = false;
  readonly #awsVault = new Map<string, IniEntry>();

  /**
   * Classifies and merges parsed sections.
   *
   * @param path the file name, used in messages
   * @param sections the parsed sections, in file order
   * @param options.log where notes on ignored and repeated sections go (silent when not given)
   */
  constructor(path: string, sections: readonly IniSection[], options?: { log?: Logger }) {
    const log = options?.log ?? SILENT;
    this.path = path;
    const firstLine = new Map<string, number>();
    for (const section of sections) {
      if (section.name === AWS_VAULT_SECTION) {
        // aws-vault's own settings (the audit log's off switch); go-ini's aws-vault and botocore skip the section.
        for (const [k, v] of section.entries) this.#awsVault.set(k, v);
        continue;
      }
      const c = classify(section.name);
      if (!c) {
        if (/^profile\s+default$/.test(section.name)) {
          // Listed as `default`, as the Go aws-vault lists it; its settings are ignored there too.
          log.debug(
            `${path}:${section.line}: [${section.name}] is not read; settings of the default profile go in [default]`,
          );
          if (!this.#profileDefaultSection && !this.#sections.has("profile\0default")) {
            this.#order.push({ kind: "profile", name: "default" });
          }
          this.#profileDefaultSection = true;
          continue;
        }
        log.debug(`Unrecognised ini file section: ${section.name}`);
        continue;
      }
      const id = `${c.kind}\0${c.name}`;
      const existing = this.#sections.get(id);
      if (existing) {
        log.debug(`${path}:${section.line}: section [${section.name}] repeats line ${firstLine.get(id)}; merging`);
        for (const [k, v] of section.entries) existing.set(k, v);
      } else {
        this.#sections.set(id, new Map(section.entries));
        // `default` may already be listed, from a `[profile default]` before it.
        if (!(id === "profile\0default" && this.#profileDefaultSection)) this.#order.push(c);
        firstLine.set(id, section.line);
      }
    }
  }

  /** Settings of profile `name` (`[default]` for `default`, else `[profile name]`), if such a section exists. */
  profile(name: string): SectionEntries | undefined {
    return this.#sections.get(`profile\0${name}`);
  }

  /** Settings of `[sso-session name]`, if present. */
  ssoSession(name: string): SectionEntries | undefined {
    return this.#sections.get(`sso-session\0${name}`);
  }

  /** Settings of `[services name]`, if present. */
  services(name: string): SectionEntries | undefined {
    return this.#sections.get(`services\0${name}`);
  }

  /** The `[aws-vault]` section's settings (merged when repeated); empty when there is none. */
  awsVaultSettings(): SectionEntries {
    return this.#awsVault;
  }

  /** Whether profile `name` has a section, even an empty one. */
  hasSection(name: string): boolean {
    return this.profile(name) !== undefined;
  }

  /**
   * Profile names in file order, as the Go aws-vault lists them: `default` when `[default]` sets a recognised key or
   * a `[profile default]` section exists.
   */
  profileNames(): string[] {
    return this.#order.filter((s) => s.kind === "profile").map((s) => s.name).filter((name) =>
      name !== "default" || this.#profileDefaultSection ||
      PROFILE_KEYS.some((k) => (this.profile(name)?.get(k)?.value ?? "") !== "")
    );
  }

  /** `[sso-session NAME]` names in file order. */
  ssoSessionNames(): string[] {
    return this.#order.filter((s) => s.kind === "sso-session").map((s) => s.name);
  }
}

/** Parses config text. @throws ConfigError naming `path:line` for a malformed line */
export function parseConfigFile(text: string, options?: { path?: string; log?: Logger }): AwsConfigFile {
  const path = options?.path ?? "<config>";
  return new AwsConfigFile(path, parseIni(text, { path }), { log: options?.log });
}

/** The user's home directory from `HOME` (or `USERPROFILE` on Windows). @throws ConfigError when neither is set */
export function homeDir(env: Env): string {
  const e = env;
  const home = e.get("HOME") || e.get("USERPROFILE");
  if (!home) throw new ConfigError("cannot find the home directory: HOME is not set");
  return home;
}

/** The config file path: `AWS_CONFIG_FILE` (a leading `~/` expanded) or `~/.aws/config`. */
export function configFilePath(env: Env, options?: { log?: Logger }): string {
  const e = env;
  const fromEnv = e.get("AWS_CONFIG_FILE");
  if (fromEnv) {
    (options?.log ?? SILENT).debug(`Using AWS_CONFIG_FILE value: ${fromEnv}`);
    return /^~[/\\]/.test(fromEnv) ? homeDir(e) + fromEnv.slice(1) : fromEnv;
  }
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  return [homeDir(e), ".aws", "config"].join(sep);
}

/**
 * Reads and parses the config file. A missing file reads as empty and is not created (that happens on write).
 *
 * @param options.path read this file instead of {@link configFilePath}
 * @param options.env the environment for `AWS_CONFIG_FILE` and `HOME`
 * @param options.log debug lines (silent when not given)
 * @throws ConfigError when the file cannot be read or is malformed
 */
export function loadConfigFile(options: { path?: string; env: Env; log?: Logger }): Promise<AwsConfigFile> {
  // Read synchronously: a one-file read is faster than waking Deno's blocking-I/O pool, and this sits on the
  // start-up path of every command (measured ~2 ms on a cached credential_process run).
  try {
    return Promise.resolve(loadConfigFileSync(options));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Reads and parses the config file synchronously (see {@link loadConfigFile}). */
export function loadConfigFileSync(options: { path?: string; env: Env; log?: Logger }): AwsConfigFile {
  const log = options.log ?? SILENT;
  const path = options.path ?? configFilePath(options.env, { log });
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
    log.debug(`Loaded config file ${path}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`, { cause: e });
    }
    log.debug(`Config file ${path} does not exist; using an empty config`);
  }
  return parseConfigFile(text, { path, log });
}
