/**
 * Command-line parser with kingpin v2 semantics (the Go library aws-vault uses), written here without dependencies
 * because start-up time matters and no JS parser has kingpin's rules. The words are split by the shared tokenizer
 * (`tokenizer.ts`); this module decides what the line asks for and reads typed values out of it.
 *
 * Decisions where kingpin is unclear or unfriendly (keep in sync with the README):
 * - a flag given twice: the last one wins (kingpin errors `flag 'x' cannot be repeated`), except a `repeated` flag,
 *   which keeps every value in order (kingpin's cumulative flags);
 * - `-d=1h` means `1h` (kingpin would take `=1h`); a lone `-` is a positional;
 * - `--help`, `--version` and `--completion-script-*` win over parse errors anywhere before `--`;
 * - no command at all gives the app help (kingpin prints usage and exits 0);
 * - `@file` argument expansion is not supported;
 * - a bool flag with no env/default is `false`, not `undefined`; empty env vars count as unset (as in kingpin).
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { Env } from "../core/env.ts";
import { DurationError, parseDuration } from "../config/duration.ts";
import { suggestNames } from "../config/suggest.ts";
import {
  type AppSpec,
  type ArgSpec,
  type ArgValues,
  BUILTIN_FLAGS,
  type CommandSpec,
  findCommand,
  type FlagSet,
  type FlagSpec,
  type FlagValues,
  type Shell,
  SHELLS,
} from "./spec.ts";
import { tokenize, unknownCommandMessage, usageError } from "./tokenizer.ts";

/**
 * A command line that selects a command, not yet read into values: what was given for which flag, the positionals,
 * and the environment the flags' env-var defaults come from. {@link readFlags} and {@link readArgs} type it.
 */
export interface ParsedLine {
  /**
   * The raw value written for each flag, and how it was written (`--no-x` is named so in its error); for a `repeated`
   * flag, `values` holds every value in command-line order.
   */
  readonly given: ReadonlyMap<
    FlagSpec,
    { readonly value: string | boolean; readonly source: string; readonly values?: readonly (string | boolean)[] }
  >;
  readonly positionals: readonly string[];
  readonly env: Env;
}

/** Which help was asked for. */
export type HelpRequest =
  | { readonly of: "app"; readonly long: boolean }
  | { readonly of: "command"; readonly command: CommandSpec }
  | { readonly of: "man" };

/**
 * What to do. Help and completion are described, not rendered: their text comes from `render.ts`, which loads only
 * when one is asked for, so a normal run does not load the help and completion code.
 */
export type ParseResult =
  | { readonly kind: "run"; readonly command: CommandSpec; readonly line: ParsedLine }
  | { readonly kind: "help"; readonly help: HelpRequest }
  | { readonly kind: "version"; readonly text: string }
  /** `--completion-bash`: candidates for the last of `words`. */
  | { readonly kind: "complete"; readonly words: readonly string[] }
  /** `--completion-script-<shell>`. */
  | { readonly kind: "script"; readonly shell: Shell };

/** Options of {@link parseCommandLine}. */
export interface ParseOptions {
  readonly app: AppSpec;
  /** Where env-var defaults come from. */
  readonly env: Env;
}

const BUILTIN = new Set(Object.values(BUILTIN_FLAGS));
const BOOL_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  t: true,
  "1": true,
  false: false,
  f: false,
  "0": false,
};

/**
 * Parses `argv` (without the program name) against `app`.
 * @throws UsageError with kingpin's message when the command line is wrong
 */
export function parseCommandLine(argv: readonly string[], options: ParseOptions): ParseResult {
  const { app } = options;
  const end = argv.indexOf("--");
  const bashAt = (end < 0 ? argv : argv.slice(0, end)).indexOf("--completion-bash");
  if (bashAt >= 0) {
    return { kind: "complete", words: argv.filter((_, i) => i !== bashAt) };
  }
  let command: CommandSpec | undefined;
  let helpCommand = false;
  let failure: UsageError | undefined;
  const positionals: string[] = [];
  const given = new Map<FlagSpec, { value: string | boolean; source: string; values?: (string | boolean)[] }>();
  const specials = new Set<string>();
  for (const token of tokenize(argv, app)) {
    switch (token.kind) {
      case "command":
        command = token.command;
        break;
      case "help-command":
        helpCommand = true;
        break;
      case "positional":
        positionals.push(token.value);
        break;
      case "flag":
        if (!BUILTIN.has(token.flag)) {
          const values = token.flag.repeated ? [...given.get(token.flag)?.values ?? [], token.value] : undefined;
          given.set(token.flag, { value: token.value, source: token.source, values });
        } else if (token.value === true) specials.add(token.flag.name);
        break;
      case "pending":
        failure ??= new UsageError(`expected argument for flag '${token.source}'`);
        break;
      case "error":
        failure ??= token.error;
        break;
    }
  }
  const special = specialResult(app, { specials, command, helpCommand, positionals });
  if (special) return special;
  if (failure) throw failure;
  if (helpCommand) return helpFor(app, positionals);
  if (!command) return { kind: "help", help: { of: "app", long: false } };
  // Values are read (and checked) once, by readFlags/readArgs, before the command's module loads.
  return { kind: "run", command, line: { given, positionals, env: options.env } };
}

function specialResult(
  app: AppSpec,
  st: { specials: ReadonlySet<string>; command?: CommandSpec; helpCommand: boolean; positionals: readonly string[] },
): ParseResult | undefined {
  for (const shell of SHELLS) {
    if (st.specials.has(`completion-script-${shell}`)) return { kind: "script", shell };
  }
  if (st.specials.has("help-man")) return { kind: "help", help: { of: "man" } };
  if (st.specials.has("help-long")) return { kind: "help", help: { of: "app", long: true } };
  if (st.specials.has("help")) {
    const command = st.command ?? (st.helpCommand ? findCommand(app, st.positionals[0] ?? "") : undefined);
    return { kind: "help", help: command ? { of: "command", command } : { of: "app", long: false } };
  }
  if (st.specials.has("version")) return { kind: "version", text: `${app.version}\n` };
  return undefined;
}

function helpFor(app: AppSpec, names: readonly string[]): ParseResult {
  if (names.length === 0) return { kind: "help", help: { of: "app", long: false } };
  const command = findCommand(app, names[0]);
  if (!command) throw usageError(unknownCommandMessage(app, names[0]));
  // `help sso sync`: an action word has no help of its own; its command's help describes it.
  const actions = command.args[0]?.values;
  if (names.length === 2 && actions) {
    if (!actions.includes(names[1])) throw usageError(unknownWordMessage(command.args[0], names[1]));
    return { kind: "help", help: { of: "command", command } };
  }
  if (names.length > 1) throw new UsageError(`unexpected ${names[1]}`);
  return { kind: "help", help: { of: "command", command } };
}

/**
 * The values of `flags` in `line`: given on the command line, else from the flag's env var, else its default.
 * @throws UsageError for a malformed value or a required flag with none
 */
export function readFlags<F extends FlagSet>(flags: F, line: ParsedLine): FlagValues<F> {
  const values: Record<string, string | boolean | number | readonly (string | boolean | number)[] | undefined> = {};
  for (const [key, flag] of Object.entries(flags)) {
    if (flag.repeated) {
      values[key] = (line.given.get(flag)?.values ?? []).map((raw) => convert(flag, raw, `--${flag.name}`));
      continue;
    }
    values[key] = flagValue(flag, line);
    if (flag.required && values[key] === undefined) throw new UsageError(`required flag --${flag.name} not provided`);
  }
  // Sound by construction: each property was read with its own spec, which is what FlagValue<F[K]> describes.
  return values as FlagValues<F>;
}

/**
 * The positionals of `line` assigned to `args` in order (a repeated one takes the rest).
 * @throws UsageError for a missing required argument or a surplus word
 */
export function readArgs<A extends readonly ArgSpec[]>(args: A, line: ParsedLine): ArgValues<A> {
  const values: Record<string, string | readonly string[] | undefined> = {};
  const { positionals } = line;
  let k = 0;
  for (const spec of args) {
    const value = spec.repeated ? positionals.slice(k) : positionals[k];
    if (spec.required && (Array.isArray(value) ? value.length === 0 : value === undefined)) {
      throw new UsageError(`required argument '${spec.name}' not provided`);
    }
    if (spec.values && typeof value === "string" && !spec.values.includes(value)) {
      throw usageError(unknownWordMessage(spec, value));
    }
    values[spec.name] = value;
    k = spec.repeated ? positionals.length : k + 1;
  }
  if (k < positionals.length) throw new UsageError(`unexpected ${positionals[k]}`);
  // Sound by construction, as in readFlags.
  return values as ArgValues<A>;
}

/** `unknown action "snyc", did you mean "sync"?`, else `unknown action "x" (available: sync)`. */
function unknownWordMessage(spec: ArgSpec, word: string): string {
  const close = suggestNames(word, { candidates: spec.values ?? [], max: 1 });
  if (close.length > 0) {
    return `unknown ${spec.name} ${JSON.stringify(word)}, did you mean ${JSON.stringify(close[0])}?`;
  }
  return `unknown ${spec.name} ${JSON.stringify(word)} (available: ${(spec.values ?? []).join(", ")})`;
}

function flagValue(flag: FlagSpec, line: ParsedLine): string | boolean | number | undefined {
  const written = line.given.get(flag);
  if (written !== undefined) {
    return convert(flag, written.value, flag.kind === "bool" ? written.source : `--${flag.name}`);
  }
  const fromEnv = flag.env ? line.env.get(flag.env) : undefined;
  if (fromEnv !== undefined && fromEnv !== "") return convert(flag, fromEnv, `$${flag.env}`);
  if (flag.default !== undefined) return convert(flag, flag.default, `--${flag.name}`);
  return flag.kind === "bool" ? false : undefined;
}

/** Turns a raw value into the flag's type; `source` names where it came from in error messages. */
function convert(flag: FlagSpec, raw: string | boolean, source: string): string | boolean | number {
  if (typeof raw === "boolean") return raw;
  switch (flag.kind) {
    case "bool": {
      const value = BOOL_WORDS[raw.toLowerCase()];
      if (value === undefined) {
        throw new UsageError(`${source}: invalid boolean ${JSON.stringify(raw)} (use true or false)`);
      }
      return value;
    }
    case "duration": {
      let ms: number;
      try {
        ms = parseDuration(raw, { source });
      } catch (e) {
        if (e instanceof DurationError) throw new UsageError(e.message);
        throw e;
      }
      // Every duration flag is a session length; aws-vault would send a negative one to AWS.
      if (ms < 0) throw new UsageError(`${source}: invalid duration ${JSON.stringify(raw)}: must not be negative`);
      return ms;
    }
    case "enum": {
      const values = flag.values ?? [];
      if (values.includes(raw)) return raw;
      const where = source.startsWith("$") ? `${source}: ` : "";
      throw new UsageError(`${where}enum value must be one of ${values.join(",")}, got '${raw}'`);
    }
    default:
      return raw;
  }
}
