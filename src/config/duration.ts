/**
 * Go `time.ParseDuration` / `Duration.String` semantics, which aws-vault uses for every duration flag and
 * TTL variable (`1h`, `90m`, `43200s`, `1h30m`, `1.5h`, `300ms`).
 * @module
 */

import { AppError } from "../core/errors.ts";

/** A duration value could not be parsed. The message names where it came from when the caller says so. */
export class DurationError extends AppError {}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go-style duration into milliseconds. A unit is required except for `0`; several
 * `<number><unit>` parts may follow each other; a leading sign is allowed.
 *
 * @param text the duration text, e.g. `1h30m`
 * @param options.source names the flag, variable or setting, for the error message
 * @throws DurationError when the text is not a valid duration
 */
export function parseDuration(text: string, options?: { source?: string }): number {
  const fail = (why: string): never => {
    const where = options?.source ? `${options.source}: ` : "";
    throw new DurationError(
      `${where}invalid duration ${JSON.stringify(text)}: ${why} (use a unit, e.g. 1h, 90m, 3600s)`,
    );
  };
  let s = text.trim();
  if (s === "") fail("empty value");
  let sign = 1;
  if (s[0] === "+" || s[0] === "-") {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") fail("missing number");
  let total = 0;
  const part = /^([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || m[1] === "" || m[1] === ".") fail(/^[0-9.]+$/.test(s) ? "missing unit" : "not a duration");
    const unit = UNIT_MS[m![2]];
    if (unit === undefined) fail(`unknown unit ${JSON.stringify(m![2])}`);
    total += Number(m![1]) * unit;
    s = s.slice(m![0].length);
  }
  return sign * total;
}

/** Formats milliseconds as Go's `Duration.String` does for whole seconds and above: `1h0m0s`, `59m12s`, `-5s`. */
export function formatDuration(ms: number): string {
  const negative = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) {
    const v = rest === 0 ? "0s" : `${Math.round(rest)}ms`;
    return negative && rest !== 0 ? `-${v}` : v;
  }
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  const secs = Number.isInteger(s) ? String(s) : String(Number(s.toFixed(3)));
  const text = h > 0 ? `${h}h${m}m${secs}s` : m > 0 ? `${m}m${secs}s` : `${secs}s`;
  return negative ? `-${text}` : text;
}
