/**
 * The pure part of `sso sync` (docs/behaviour.md#sso-sync): profile names from a template, the generated block of the
 * config file (`# BEGIN aws-vault sso sync <session>` … `# END aws-vault sso sync <session>`), replacing that block
 * and nothing else, and the difference between two versions of it. No I/O: the command reads the portal and the file,
 * the config writer writes.
 * @module
 */

import { AppError, ConfigError, UsageError } from "../core/errors.ts";
import { parseIni } from "./ini.ts";

/** One account and role the SSO user can reach, as ListAccounts and ListAccountRoles report them. */
export interface SsoAssignment {
  readonly accountId: string;
  /** The account's name; the id when the portal gives none. */
  readonly accountName: string;
  readonly roleName: string;
}

/** A profile to write: its name and its `key = value` settings in order. */
export interface GeneratedProfile {
  readonly name: string;
  readonly entries: readonly (readonly [string, string])[];
  /** Where it came from (for messages). */
  readonly assignment: SsoAssignment;
}

/** An assignment that gets no profile, and why (printed as a warning). */
export interface SkippedAssignment {
  readonly assignment: SsoAssignment;
  /** The name it would have had ("" when sanitising left nothing). */
  readonly name: string;
  readonly reason: string;
}

/** The placeholders a `--template` may use. */
export const TEMPLATE_PLACEHOLDERS: readonly string[] = ["account_name", "account_id", "role_name", "sso_session"];

/** Two assignments would get the same profile name: nothing is written. */
export class ProfileNameCollisionError extends AppError {}

/** The generated block in the config file is damaged (a marker missing or repeated): nothing is written. */
export class GeneratedBlockError extends ConfigError {}

/** The first line of the block generated for `session`. */
export function beginMarker(session: string): string {
  return `# BEGIN aws-vault sso sync ${session}`;
}

/** The last line of the block generated for `session`. */
export function endMarker(session: string): string {
  return `# END aws-vault sso sync ${session}`;
}

/**
 * Checks a `--template`: every `{…}` must be one of {@link TEMPLATE_PLACEHOLDERS} and braces must pair.
 * @throws UsageError naming the first bad placeholder
 */
export function checkTemplate(template: string): void {
  const rest = template.replace(/\{([^{}]*)\}/g, (whole, name: string) => {
    if (!TEMPLATE_PLACEHOLDERS.includes(name)) {
      const known = TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(", ");
      throw new UsageError(`--template: unknown placeholder ${whole} (use ${known})`);
    }
    return "";
  });
  if (/[{}]/.test(rest)) throw new UsageError(`--template: unpaired brace in ${JSON.stringify(template)}`);
}

/**
 * A profile name safe for every reader of the config (go-ini, the AWS CLI, SDKs) and for shells: accents dropped,
 * every run of characters other than ASCII letters, digits and `- _ . / + = @ ,` (spaces, `[ ] # ; : " ' $`, …)
 * replaced by one `-`, runs of `-` collapsed, and `-` or `/` trimmed from both ends (a leading `-` would read as a
 * flag). May return "".
 */
export function sanitizeProfileName(text: string): string {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._+=@,/-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-/]+|[-/]+$/g, "");
}

/**
 * The profile name `options.template` gives `assignment` in sso-session `options.session`, sanitised
 * ({@link sanitizeProfileName}).
 */
export function profileNameFor(assignment: SsoAssignment, options: { template: string; session: string }): string {
  const values: Record<string, string> = {
    account_name: assignment.accountName,
    account_id: assignment.accountId,
    role_name: assignment.roleName,
    sso_session: options.session,
  };
  return sanitizeProfileName(
    options.template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole),
  );
}

/** Options of {@link planProfiles}. */
export interface PlanOptions {
  /** The `--template` (already checked). */
  readonly template: string;
  /** The sso-session the profiles name. */
  readonly session: string;
  /** The `region` of every profile; none when undefined. */
  readonly region?: string;
  /** Profile names the user owns (sections outside this session's block): never generated. */
  readonly taken: ReadonlySet<string>;
}

/**
 * The profiles to generate for `assignments`, sorted by name, and the assignments skipped (a name the user already
 * has, a name sanitising emptied, `default`).
 * @throws ProfileNameCollisionError when two assignments get the same name: which one would win depends on the order
 * the portal lists them, so the user must make the template tell them apart
 */
export function planProfiles(
  assignments: readonly SsoAssignment[],
  options: PlanOptions,
): { profiles: GeneratedProfile[]; skipped: SkippedAssignment[] } {
  const byName = new Map<string, GeneratedProfile>();
  const skipped: SkippedAssignment[] = [];
  for (const assignment of assignments) {
    const name = profileNameFor(assignment, options);
    if (name === "" || name === "default") {
      const reason = name === "" ? "the template gives it an empty name" : `"default" is the [default] profile's name`;
      skipped.push({ assignment, name, reason });
      continue;
    }
    if (options.taken.has(name)) {
      skipped.push({ assignment, name, reason: "a profile of that name is already written outside the block" });
      continue;
    }
    const other = byName.get(name);
    if (other) {
      throw new ProfileNameCollisionError(
        `profile name ${JSON.stringify(name)} would be generated for both ${
          describeAssignment(other.assignment)
        } and ` +
          `${describeAssignment(assignment)}; put {account_id} in --template to tell them apart (nothing written)`,
      );
    }
    const entries: [string, string][] = [
      ["sso_session", options.session],
      ["sso_account_id", assignment.accountId],
      ["sso_role_name", assignment.roleName],
    ];
    if (options.region) entries.push(["region", options.region]);
    byName.set(name, { name, entries, assignment });
  }
  const profiles = [...byName.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { profiles, skipped };
}

/** `account 111111111111 (Prod) role Admin`. */
export function describeAssignment(a: SsoAssignment): string {
  const name = a.accountName && a.accountName !== a.accountId ? ` (${a.accountName})` : "";
  return `account ${a.accountId}${name} role ${a.roleName}`;
}

/** Where the block of one session is in the config text: character offsets, `end` after its END line's newline. */
export interface BlockLocation {
  readonly start: number;
  readonly end: number;
}

/**
 * Finds the block generated for `session` in `text`.
 * @param options.path the config file, for messages
 * @throws GeneratedBlockError for a BEGIN without END, an END without BEGIN, or the block twice
 */
export function findBlock(text: string, session: string, options: { path: string }): BlockLocation | undefined {
  const begin = beginMarker(session);
  const end = endMarker(session);
  let found: BlockLocation | undefined;
  let open: { offset: number; line: number } | undefined;
  let offset = 0;
  const lines = text.split("\n");
  const fail = (line: number, why: string): never => {
    throw new GeneratedBlockError(
      `${options.path}:${line}: the block of "aws-vault sso sync" for sso-session ${session} is damaged: ${why}; ` +
        `restore the markers or delete the whole block (nothing written)`,
    );
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "").trimEnd();
    const next = offset + lines[i].length + (i < lines.length - 1 ? 1 : 0);
    if (line === begin) {
      if (open) fail(i + 1, `a second "${begin}" before "${end}"`);
      if (found) fail(i + 1, `a second "${begin}"`);
      open = { offset, line: i + 1 };
    } else if (line === end) {
      if (!open) fail(i + 1, `"${end}" without "${begin}" before it`);
      found = { start: open!.offset, end: next };
      open = undefined;
    }
    offset = next;
  }
  if (open) fail(open.line, `"${begin}" without "${end}" after it`);
  return found;
}

/** The profiles inside a block's text, by name, with their settings in order (for the diff). */
export function blockProfiles(blockText: string): Map<string, [string, string][]> {
  const profiles = new Map<string, [string, string][]>();
  for (const section of parseIni(blockText)) {
    const m = /^profile\s+(.+)$/s.exec(section.name);
    const name = m ? m[1].trim() : section.name;
    profiles.set(name, [...section.entries].map(([k, e]) => [k, e.value]));
  }
  return profiles;
}

/**
 * Profile names written outside the block of `session` (hand-written sections, other sessions' blocks): a generated
 * profile never takes one of them.
 */
export function profilesOutsideBlock(text: string, block: BlockLocation | undefined): Set<string> {
  const rest = block ? text.slice(0, block.start) + text.slice(block.end) : text;
  const names = new Set<string>();
  for (const s of parseIni(rest)) {
    if (s.name === "default") names.add("default");
    const m = /^profile\s+(.+)$/s.exec(s.name);
    if (m) names.add(m[1].trim());
  }
  return names;
}

/**
 * The block's text for `profiles` with line ending `eol`: the BEGIN marker, a note, the sections separated by blank
 * lines, the END marker. Empty when there are no profiles (the block is then removed).
 */
export function renderBlock(session: string, profiles: readonly GeneratedProfile[], options: { eol: string }): string {
  if (profiles.length === 0) return "";
  const { eol } = options;
  const lines = [
    beginMarker(session),
    `# Written by "aws-vault sso sync --sso-session ${session}"; the next run replaces everything up to the END line.`,
  ];
  profiles.forEach((p, i) => {
    if (i > 0) lines.push("");
    lines.push(`[profile ${p.name}]`, ...p.entries.map(([k, v]) => `${k} = ${v}`));
  });
  lines.push(endMarker(session));
  return lines.join(eol) + eol;
}

/**
 * `text` with the block at `change.block` replaced by `change.blockText` (removed when that is ""), or with
 * `change.blockText` appended after a blank line when there was no block. Every byte outside the block is kept.
 */
export function replaceBlock(
  text: string,
  change: { readonly block: BlockLocation | undefined; readonly blockText: string },
): string {
  const { block, blockText } = change;
  if (block) return text.slice(0, block.start) + blockText + text.slice(block.end);
  if (blockText === "") return text;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  let gap = "";
  if (text !== "" && !text.endsWith("\n")) gap = eol + eol;
  else if (text !== "" && !text.endsWith(eol + eol) && !text.endsWith("\n\n")) gap = eol;
  return text + gap + blockText;
}

/** A changed profile: each setting that differs, as `key old -> new` (`(none)` for a missing side). */
export interface ChangedProfile {
  readonly name: string;
  readonly changes: readonly string[];
}

/** What a sync does to the block. */
export interface BlockDiff {
  readonly added: readonly string[];
  readonly changed: readonly ChangedProfile[];
  readonly removed: readonly string[];
  readonly unchanged: number;
}

/** Compares the profiles of the old block with the new ones. */
export function diffProfiles(
  old: ReadonlyMap<string, readonly (readonly [string, string])[]>,
  next: readonly GeneratedProfile[],
): BlockDiff {
  const added: string[] = [];
  const changed: ChangedProfile[] = [];
  let unchanged = 0;
  const names = new Set<string>();
  for (const p of next) {
    names.add(p.name);
    const before = old.get(p.name);
    if (!before) {
      added.push(p.name);
      continue;
    }
    const a = new Map(before);
    const b = new Map(p.entries);
    const changes: string[] = [];
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      if (a.get(key) !== b.get(key)) changes.push(`${key} ${a.get(key) ?? "(none)"} -> ${b.get(key) ?? "(none)"}`);
    }
    if (changes.length > 0) changed.push({ name: p.name, changes });
    else unchanged++;
  }
  const removed = [...old.keys()].filter((n) => !names.has(n)).sort();
  return { added, changed, removed, unchanged };
}

/** The diff as lines: `+ name`, `~ name: key old -> new, …`, `- name`. */
export function formatDiff(diff: BlockDiff): string {
  return [
    ...diff.added.map((n) => `+ ${n}\n`),
    ...diff.changed.map((c) => `~ ${c.name}: ${c.changes.join(", ")}\n`),
    ...diff.removed.map((n) => `- ${n}\n`),
  ].join("");
}
