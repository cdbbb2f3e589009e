/**
 * Which standard streams are terminals: decides whether a prompt can be typed at and whether notices are meant for a
 * person. Passed in from `main.ts`, so tests choose.
 * @module
 */

/** Terminal detection for the three standard streams. */
export interface Terminal {
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
}

/** The process's own streams, read once (for `main.ts`). */
export function processTerminal(): Terminal {
  return {
    stdin: Deno.stdin.isTerminal(),
    stdout: Deno.stdout.isTerminal(),
    stderr: Deno.stderr.isTerminal(),
  };
}

/** No terminal anywhere: CI, `credential_process`, tests. */
export const NO_TERMINAL: Terminal = { stdin: false, stdout: false, stderr: false };
