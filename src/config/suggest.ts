/**
 * "Did you mean …?" for mistyped profile names, and the check that a named profile exists at all.
 * @module
 */

import { ConfigError } from "../core/errors.ts";
import type { AwsConfigFile } from "./config_file.ts";

/** Edit distance counting insertions, deletions, substitutions and swaps of adjacent characters (OSA). */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

/**
 * Names close to `name`, best first: within an edit distance of about a third of its length (case ignored), then
 * names that start with or contain it (or that it contains).
 *
 * @param name what the user typed
 * @param options.candidates the names that exist
 * @param options.max how many to return (default 3)
 */
export function suggestNames(name: string, options: { candidates: Iterable<string>; max?: number }): string[] {
  const typed = name.toLowerCase();
  const limit = Math.max(1, Math.floor(typed.length / 3));
  const scored: { name: string; score: number }[] = [];
  for (const candidate of new Set(options.candidates)) {
    if (candidate === name) continue;
    const c = candidate.toLowerCase();
    const d = editDistance(typed, c);
    if (d <= limit) scored.push({ name: candidate, score: d });
    else if (typed.length >= 2 && (c.includes(typed) || typed.includes(c))) {
      scored.push({ name: candidate, score: limit + 1 + Math.abs(c.length - typed.length) / 1000 });
    }
  }
  scored.sort((x, y) => x.score - y.score || x.name.localeCompare(y.name));
  return scored.slice(0, options.max ?? 3).map((s) => s.name);
}

/**
 * `; did you mean "a" or "b"?` for the names close to `name` ({@link suggestNames}), or "" when none is: the tail every
 * "not found" message of a name the user typed ends with.
 */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const close = suggestNames(name, { candidates });
  return close.length > 0 ? `; did you mean ${orList(close)}?` : "";
}

/** Joins names as `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
function orList(names: readonly string[]): string {
  const q = names.map((n) => JSON.stringify(n));
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

/**
 * Ensures a profile named on the command line exists: it has a config section or stored credentials.
 *
 * @param file the parsed config file
 * @param name the profile name
 * @param options.storedCredentialNames profile names with long-term credentials in the vault
 * @throws ConfigError naming the file and the closest existing names, or how to create the profile when none is close
 */
export function assertProfileExists(
  file: AwsConfigFile,
  name: string,
  options?: { storedCredentialNames?: Iterable<string> },
): void {
  const stored = [...(options?.storedCredentialNames ?? [])];
  if (file.hasSection(name) || stored.includes(name)) return;
  // A close name is the likely fix; without one, the profile is new and its keys are added with `add`.
  const hint = didYouMean(name, [...file.profileNames(), ...stored]) ||
    `; run "aws-vault add ${name}" to store keys for it, or add a [profile ${name}] section`;
  throw new ConfigError(
    `profile ${JSON.stringify(name)} not found in ${file.path} and no stored credentials exist for it${hint}`,
  );
}
