/**
 * RFC 3339 times as Go writes and reads them (`time.RFC3339`, `time.RFC3339Nano`): vault items, session keys,
 * credential_process output, the credential servers and `export` all use these.
 * @module
 */

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

/** Parses an RFC 3339 time with any fraction length (Go writes up to 9 digits; Date keeps milliseconds). */
export function parseRfc3339(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const ms = m[7] ? Number(m[7].slice(1, 4).padEnd(3, "0")) : 0;
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  // Date.UTC maps years 0–99 to 1900–1999; Go's zero time is year 1.
  const d = new Date(utc);
  d.setUTCFullYear(Number(m[1]));
  const zone = m[8].toUpperCase();
  const offsetMin = zone === "Z"
    ? 0
    : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
  const t = d.getTime() - offsetMin * 60_000;
  return Number.isNaN(t) ? undefined : new Date(t);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * Formats like Go's `t.Format(time.RFC3339Nano)` (trailing fraction zeros dropped). UTC by default; `local: true`
 * uses the process time zone with a numeric offset (`Z` when the offset is zero, as Go does).
 */
export function formatRfc3339(date: Date, options?: { nano?: boolean; local?: boolean }): string {
  const offsetMin = options?.local ? -date.getTimezoneOffset() : 0;
  const d = new Date(date.getTime() + offsetMin * 60_000);
  let s = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (options?.nano && d.getUTCMilliseconds() !== 0) s += `.${pad(d.getUTCMilliseconds(), 3).replace(/0+$/, "")}`;
  if (offsetMin === 0) return s + "Z";
  const a = Math.abs(offsetMin);
  return `${s}${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
