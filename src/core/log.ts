/**
 * Debug logging (`--debug`) and the secret masking used in every log line. A {@link Logger} is made once by the CLI
 * from the injected output and clock and passed down to everything that logs; nothing here writes to a stream itself.
 * @module
 */

/** Where debug lines go. Never pass a secret unmasked: use {@link maskSecret}. */
export interface Logger {
  /** Whether lines are kept (`--debug`); lets a caller skip building an expensive message. */
  readonly enabled: boolean;
  /** Writes one line (no newline needed). */
  debug(message: string): void;
}

/** A logger that drops everything: the default below the CLI, where no `--debug` was asked for. */
export const SILENT: Logger = { enabled: false, debug: () => {} };

/**
 * A logger writing Go's `log` format (`YYYY/MM/DD HH:MM:SS message`), as aws-vault's `--debug` does.
 * @param write receives each line with its newline (the CLI passes its stderr)
 */
export function debugLogger(write: (text: string) => void, options: { now: () => Date }): Logger {
  return { enabled: true, debug: (message) => write(`${timestamp(options.now())} ${message}\n`) };
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${
    p(d.getSeconds())
  }`;
}

/** Masks a key or secret for display as aws-vault does: 16 `*` then the last 4 characters (`****…ABCD`). */
export function maskSecret(value: string): string {
  return "*".repeat(16) + value.slice(-4);
}
