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

/** The process's own streams (for `main.ts`), each asked only when first needed: most runs never ask. */
export function processTerminal(): Terminal {
  let stdin: boolean | undefined;
  let stdout: boolean | undefined;
  let stderr: boolean | undefined;
  return {
    get stdin() {
      return stdin ??= Deno.stdin.isTerminal();
    },
    get stdout() {
      return stdout ??= Deno.stdout.isTerminal();
    },
    get stderr() {
      return stderr ??= Deno.stderr.isTerminal();
    },
  };
}

/** No terminal anywhere: CI, `credential_process`, tests. */
export const NO_TERMINAL: Terminal = { stdin: false, stdout: false, stderr: false };
