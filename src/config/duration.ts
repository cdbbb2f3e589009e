/**
 * Go `time.ParseDuration` / `Duration.String` semantics, which aws-vault uses for every duration flag and
 * TTL variable (`1h`, `90m`, `43200s`, `1h30m`, `1.5h`, `300ms`).
 * @module
 */

import { AppError } from "../core/errors.ts";

/** A duration value could not be parsed or is out of range. The message names where it came from. */
export class DurationError extends AppError {}

/**
 * Go's longest `time.Duration` (2^63-1 ns, `2562047h47m16.854775807s`) in ms. Go's `ParseDuration` refuses anything
 * longer, and so does {@link parseDuration}: no text parses to `Infinity` or to a number of seconds AWS cannot read.
 */
export const MAX_DURATION_MS = 9_223_372_036_854.775807;

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
 * @throws DurationError when the text is not a valid duration, or longer than {@link MAX_DURATION_MS} either way
 */
export function parseDuration(text: string, options?: { source?: string }): number {
  const fail = (why: string, hint = " (use a unit, e.g. 1h, 90m, 3600s)"): never => {
    const where = options?.source ? `${options.source}: ` : "";
    throw new DurationError(`${where}invalid duration ${JSON.stringify(text)}: ${why}${hint}`);
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
  // Also catches Infinity (hundreds of digits): Go reports the same values as invalid.
  if (!(total <= MAX_DURATION_MS)) fail("out of range", " (the longest is 2562047h47m16.854775807s)");
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

/**
 * Formats milliseconds exactly as Go's `Duration.String`, below a second too: `1ns`, `1.5µs`, `14m59.5s`, `13h0m0s`.
 * For messages that show a value the user gave; rounded to the nanosecond.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? "-" : "";
  const ns = BigInt(Math.round(Math.abs(ms) * 1e6));
  /** `v` divided by 10^digits, without trailing zeros. */
  const frac = (v: bigint, digits: number) => {
    const scale = 10n ** BigInt(digits);
    const rest = (v % scale).toString().padStart(digits, "0").replace(/0+$/, "");
    return rest ? `${v / scale}.${rest}` : `${v / scale}`;
  };
  if (ns === 0n) return "0s";
  if (ns < 1000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${frac(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${frac(ns, 6)}ms`;
  const secs = `${frac(ns % 60_000_000_000n, 9)}s`;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const hours = ns / 3_600_000_000_000n;
  return sign + (hours > 0n ? `${hours}h${minutes}m${secs}` : minutes > 0n ? `${minutes}m${secs}` : secs);
}
