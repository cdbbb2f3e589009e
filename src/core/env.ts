/**
 * The one shape of environment access in this program. `main.ts` passes `Deno.env`; everything below it receives an
 * {@link Env} and never reads the process environment itself, so tests and child environments are explicit.
 * @module
 */

/** Environment variables: single lookups, and the whole set (exec hands it to the child). `Deno.env` fits. */
export interface Env {
  /** The variable's value, or `undefined` when unset. */
  get(name: string): string | undefined;
  /** Every variable, as a fresh object. */
  toObject(): Record<string, string>;
}

/** An {@link Env} over a fixed set of variables (`undefined` values count as unset). */
export function envFromRecord(record: Readonly<Record<string, string | undefined>>): Env {
  return {
    get: (name) => (Object.hasOwn(record, name) ? record[name] : undefined),
    toObject: () => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = v;
      return out;
    },
  };
}
