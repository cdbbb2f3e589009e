/**
 * Debug logging to stderr, off unless `--debug` is given, and the secret masking used in every log line.
 * @module
 */

let enabled = false;
const encoder = new TextEncoder();

/** Turns debug logging on or off for the rest of the process. */
export function setDebug(on: boolean): void {
  enabled = on;
}

/** Whether `--debug` is on. */
export function isDebug(): boolean {
  return enabled;
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

/**
 * Writes one debug line to stderr with Go's `log` prefix (`YYYY/MM/DD HH:MM:SS `), like aws-vault.
 * Never pass a secret here unmasked: use {@link maskSecret}.
 */
export function debug(message: string): void {
  if (!enabled) return;
  Deno.stderr.writeSync(encoder.encode(`${timestamp(new Date())} ${message}\n`));
}

/** Masks a key or secret for display as aws-vault does: 16 `*` then the last 4 characters (`****…ABCD`). */
export function maskSecret(value: string): string {
  return "*".repeat(16) + value.slice(-4);
}
