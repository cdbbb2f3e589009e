/**
 * Following `include_profile` and `source_profile` chains without recursion (docs/behaviour.md#profile-resolution).
 * Each name leads to at most one other, so every chain ends, stops at a name that cannot be followed, or loops; a
 * {@link ChainGraph} works that out for every start name it is asked about in linear time overall, each name being
 * followed once however many chains pass through it.
 * @module
 */

/** A name that cannot be followed: reading what comes after it failed (the caller knows the error). */
export const STOP: unique symbol = Symbol("stop");

/** What follows a name: the next name, `undefined` at the end of the chain, or {@link STOP}. */
export type Step = string | undefined | typeof STOP;

/** The names of a loop in order, and where each one is in that order. */
export interface Cycle {
  readonly names: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

/** How a chain finishes. */
export type ChainEnd =
  /** The name `at` leads nowhere. */
  | { readonly kind: "end"; readonly at: string }
  /** The name `at` cannot be followed. */
  | { readonly kind: "stop"; readonly at: string }
  /** `entry` is the first name met twice. */
  | { readonly kind: "loop"; readonly entry: string; readonly cycle: Cycle };

/** A chain from one start name. */
export interface ChainOutcome {
  /** Distinct names on the chain, the start and the last one included (a loop's names counted once). */
  readonly size: number;
  readonly end: ChainEnd;
}

/** The chains of a graph where each name has at most one successor, memoized per name. */
export class ChainGraph {
  readonly #step: (name: string) => Step;
  readonly #steps = new Map<string, Step>();
  readonly #outcomes = new Map<string, ChainOutcome>();

  /** @param step what follows a name; called at most once per name */
  constructor(step: (name: string) => Step) {
    this.#step = step;
  }

  /** What follows `name` (memoized). */
  next(name: string): Step {
    if (this.#steps.has(name)) return this.#steps.get(name);
    const step = this.#step(name);
    this.#steps.set(name, step);
    return step;
  }

  /** The chain from `start`. Walks only the names no earlier call met. */
  outcome(start: string): ChainOutcome {
    const known = this.#outcomes.get(start);
    if (known) return known;
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let cur = start;
    let base: ChainOutcome;
    for (;;) {
      const memo = this.#outcomes.get(cur);
      if (memo) {
        base = memo;
        break;
      }
      const at = onPath.get(cur);
      if (at !== undefined) {
        // path[at..] is a loop: each of its names starts a chain that comes back to itself.
        const names = path.slice(at);
        const cycle: Cycle = { names, index: new Map(names.map((name, i) => [name, i])) };
        for (const name of names) {
          this.#outcomes.set(name, { size: names.length, end: { kind: "loop", entry: name, cycle } });
        }
        path.length = at;
        base = this.#outcomes.get(cur)!;
        break;
      }
      const step = this.next(cur);
      if (step === undefined || step === STOP) {
        base = { size: 1, end: { kind: step === STOP ? "stop" : "end", at: cur } };
        this.#outcomes.set(cur, base);
        break;
      }
      onPath.set(cur, path.length);
      path.push(cur);
      cur = step;
    }
    // The names before: one more name each, finishing the same way (a loop entered from outside is entered at the
    // same name whatever the start).
    for (let i = path.length - 1; i >= 0; i--) {
      base = { size: base.size + 1, end: base.end };
      this.#outcomes.set(path[i], base);
    }
    return this.#outcomes.get(start)!;
  }
}

/** How many names of a loop a message shows before its middle is cut out. */
const SHOWN = 8;

/** The loop from `entry` back to it: `a -> b -> a`; a long one shows its first and last three names around `…`. */
export function loopText(cycle: Cycle, entry: string): string {
  const { names, index } = cycle;
  const start = index.get(entry)!;
  const name = (k: number) => names[(start + k) % names.length];
  const shown = names.length + 1 <= SHOWN
    ? names.map((_, k) => name(k))
    : [name(0), name(1), name(2), "…", name(names.length - 2), name(names.length - 1)];
  return [...shown, entry].join(" -> ");
}

/**
 * A chain too deep to show: its first three names, `…` and its last name (`a -> b -> c -> … -> z`).
 * @param next what follows a name (a name, as the chain is longer than three)
 */
export function deepChainText(start: string, last: string, next: (name: string) => Step): string {
  const second = next(start) as string;
  return [start, second, next(second) as string, "…", last].join(" -> ");
}
