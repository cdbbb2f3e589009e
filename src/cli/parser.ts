/**
 * Command-line parser with kingpin v2 semantics (the Go library aws-vault uses), written here without dependencies
 * because start-up time matters and no JS parser has kingpin's rules: flags anywhere (also after positionals), `--`
 * ends flag parsing, `--no-<bool>`, `-d1h`, clustered short bools, env-var defaults, enum checks, kingpin's messages.
 *
 * Decisions where kingpin is unclear or unfriendly (keep in sync with the README):
 * - a flag given twice: the last one wins (kingpin errors `flag 'x' cannot be repeated`);
 * - `-d=1h` means `1h` (kingpin would take `=1h`); a lone `-` is a positional;
 * - `--help`, `--version` and `--completion-script-*` win over parse errors anywhere before `--`;
 * - no command at all gives the app help (kingpin prints usage and exits 0);
 * - `@file` argument expansion is not supported;
 * - a bool flag with no env/default is `false`, not `undefined`; empty env vars count as unset (as in kingpin).
 * @module
 */

import { UsageError } from "../errors.ts";
import { DurationError, parseDuration } from "../config/duration.ts";
import { appHelp, BUILTIN_FLAGS, commandHelp, manPage } from "./help.ts";
import { completeWords, completionScript, type Shell } from "./completion.ts";

/** How a flag's value is read: `duration` values become milliseconds. */
export type FlagKind = "bool" | "string" | "duration" | "enum";

/** One `--flag`. */
export interface FlagSpec {
  /** Long name, without `--`. */
  readonly name: string;
  /** One-character short name, without `-`. */
  readonly short?: string;
  readonly kind: FlagKind;
  readonly help: string;
  /** Env var that provides the default (flag > env > default). */
  readonly env?: string;
  readonly default?: string | boolean;
  /** Enum values (kind `enum`); on a `string` flag they are only completion suggestions. */
  readonly values?: readonly string[];
  /** Not shown in help or completion, still accepted. */
  readonly hidden?: boolean;
  /** Shown in help as `--duration=DURATION`. */
  readonly placeholder?: string;
  /** Must be given (on the command line or through `env`): `required flag --<name> not provided`. */
  readonly required?: boolean;
}

/** One positional argument. */
export interface ArgSpec {
  readonly name: string;
  readonly help: string;
  readonly required?: boolean;
  /** Collects all remaining positionals (always an array, possibly empty). */
  readonly repeated?: boolean;
  /** Completion source. */
  readonly hint?: "profile" | "command";
}

/** One command of the app. */
export interface CommandSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly help: string;
  readonly hidden?: boolean;
  readonly flags: readonly FlagSpec[];
  readonly args: readonly ArgSpec[];
}

/** The whole command line. */
export interface AppSpec {
  readonly name: string;
  readonly help: string;
  readonly version: string;
  /** Global flags, valid before or after the command. */
  readonly flags: readonly FlagSpec[];
  readonly commands: readonly CommandSpec[];
}

/** Values: bool → boolean, string/enum → string, duration → number of milliseconds; absent & no env/default → undefined. */
export type FlagValues = Readonly<Record<string, string | boolean | number | undefined>>;
/** Positional values by arg name; a repeated arg is an array. */
export type ArgValues = Readonly<Record<string, string | readonly string[] | undefined>>;
/** What to do. Every `text` is printed verbatim to stdout and ends with a newline (unless empty). */
export type ParseResult =
  | { kind: "run"; command: CommandSpec; flags: FlagValues; args: ArgValues; explicit: ReadonlySet<string> }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string }
  | { kind: "output"; text: string };

/** Options of {@link parseCommandLine}. */
export interface ParseOptions {
  readonly app: AppSpec;
  /** Reads env-var defaults; defaults to `Deno.env.get`. */
  readonly env?: (name: string) => string | undefined;
  readonly completionHints?: { readonly profile?: () => string[] };
}

type Value = string | boolean | number;

/** Parse state, kept outside the walk so an error can still tell which command was selected. */
interface State {
  command?: CommandSpec;
  helpCommand: boolean;
  readonly positionals: string[];
  readonly given: Map<string, Value>;
  readonly specials: Set<string>;
  readonly longs: Map<string, FlagSpec>;
  readonly shorts: Map<string, FlagSpec>;
}

const BUILTIN_NAMES = new Set(BUILTIN_FLAGS.map((f) => f.name));
const BOOL_WORDS: Record<string, boolean> = { true: true, t: true, "1": true, false: false, f: false, "0": false };

/**
 * Parses `argv` (without the program name) against `app`.
 * @throws UsageError with kingpin's message when the command line is wrong
 */
export function parseCommandLine(argv: readonly string[], options: ParseOptions): ParseResult {
  const { app } = options;
  const end = argv.indexOf("--");
  const bashAt = (end < 0 ? argv : argv.slice(0, end)).indexOf("--completion-bash");
  if (argv[0] === "--completion-bash" || bashAt >= 0) {
    const words = argv[0] === "--completion-bash" ? argv.slice(1) : argv.filter((_, i) => i !== bashAt);
    const found = completeWords(words, { app, profiles: options.completionHints?.profile });
    return { kind: "output", text: found.map((w) => w + "\n").join("") };
  }
  const st: State = { helpCommand: false, positionals: [], given: new Map(), specials: new Set(), ...scope() };
  addFlags(st, BUILTIN_FLAGS);
  addFlags(st, app.flags);
  try {
    walk(argv, app, st);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    for (const word of end < 0 ? argv : argv.slice(0, end)) {
      const flag = word.startsWith("--") ? st.longs.get(word.slice(2)) : st.shorts.get(word.slice(1));
      if (flag && BUILTIN_NAMES.has(flag.name) && /^--?[^=]+$/.test(word)) st.specials.add(flag.name);
    }
    if (st.specials.size === 0) throw e;
  }
  const special = specialResult(app, st);
  if (special) return special;
  if (st.helpCommand) return helpFor(app, st.positionals);
  if (!st.command) return { kind: "help", text: appHelp(app) };
  const command = st.command;
  const args = assignArgs(command, st.positionals);
  const env = options.env ?? readEnv;
  const flags: Record<string, Value | undefined> = {};
  for (const flag of [...app.flags, ...command.flags]) {
    flags[flag.name] = resolve(flag, st, env);
    if (flag.required && flags[flag.name] === undefined) {
      throw new UsageError(`required flag --${flag.name} not provided`);
    }
  }
  return { kind: "run", command, flags, args, explicit: new Set(st.given.keys()) };
}

function walk(argv: readonly string[], app: AppSpec, st: State): void {
  let i = 0;
  let argsOnly = false;
  // kingpin reads a flag's value from the next word only if that word is not itself a flag.
  const takeValue = (token: string): string => {
    const next = argv[i];
    if (next === undefined || (next.startsWith("-") && next !== "-")) {
      throw new UsageError(`expected argument for flag '${token}'`);
    }
    i++;
    return next;
  };
  while (i < argv.length) {
    const arg = argv[i++];
    if (argsOnly || arg === "-" || !arg.startsWith("-")) {
      positional(arg, app, st);
    } else if (arg === "--") {
      argsOnly = true;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      let flag = st.longs.get(name);
      let invert = false;
      if (!flag && name.startsWith("no-") && st.longs.get(name.slice(3))?.kind === "bool") {
        flag = st.longs.get(name.slice(3));
        invert = true;
      }
      if (!flag) throw new UsageError(`unknown long flag '--${name}'`);
      if (flag.kind === "bool") {
        const on = inline === undefined ? true : parseBool(inline, `--${name}`);
        setFlag(st, flag, invert ? !on : on);
      } else {
        setFlag(st, flag, inline ?? takeValue(`--${name}`));
      }
    } else {
      let rest = arg.slice(1);
      while (rest.length > 0) {
        const ch = String.fromCodePoint(rest.codePointAt(0)!);
        rest = rest.slice(ch.length);
        const flag = st.shorts.get(ch);
        if (!flag) throw new UsageError(`unknown short flag '-${ch}'`);
        if (flag.kind === "bool") {
          setFlag(st, flag, true);
          continue;
        }
        setFlag(st, flag, rest.length > 0 ? rest.replace(/^=/, "") : takeValue(`-${ch}`));
        break;
      }
    }
  }
}

function positional(arg: string, app: AppSpec, st: State): void {
  if (st.command || st.helpCommand) {
    st.positionals.push(arg);
    return;
  }
  const command = findCommand(app, arg);
  if (command) {
    st.command = command;
    addFlags(st, command.flags);
  } else if (arg === "help") {
    st.helpCommand = true;
  } else {
    throw new UsageError(`expected command but got ${JSON.stringify(arg)}`);
  }
}

function findCommand(app: AppSpec, name: string): CommandSpec | undefined {
  return app.commands.find((c) => c.name === name || c.aliases?.includes(name));
}

function scope() {
  return { longs: new Map<string, FlagSpec>(), shorts: new Map<string, FlagSpec>() };
}

function addFlags(st: State, flags: readonly FlagSpec[]): void {
  for (const flag of flags) {
    st.longs.set(flag.name, flag);
    if (flag.short) st.shorts.set(flag.short, flag);
  }
}

function setFlag(st: State, flag: FlagSpec, raw: string | boolean): void {
  if (BUILTIN_NAMES.has(flag.name)) {
    if (raw === true) st.specials.add(flag.name);
    return;
  }
  st.given.set(flag.name, convert(flag, raw, `--${flag.name}`));
}

function specialResult(app: AppSpec, st: State): ParseResult | undefined {
  for (const shell of ["bash", "zsh", "fish"] as const satisfies readonly Shell[]) {
    if (st.specials.has(`completion-script-${shell}`)) {
      return { kind: "output", text: completionScript(shell, { appName: app.name }) };
    }
  }
  if (st.specials.has("help-man")) return { kind: "help", text: manPage(app) };
  if (st.specials.has("help-long")) return { kind: "help", text: appHelp(app, { long: true }) };
  if (st.specials.has("help")) {
    const command = st.command ?? (st.helpCommand ? findCommand(app, st.positionals[0] ?? "") : undefined);
    return { kind: "help", text: command ? commandHelp(app, command) : appHelp(app) };
  }
  if (st.specials.has("version")) return { kind: "version", text: `${app.version}\n` };
  return undefined;
}

function helpFor(app: AppSpec, names: readonly string[]): ParseResult {
  if (names.length === 0) return { kind: "help", text: appHelp(app) };
  const command = findCommand(app, names[0]);
  if (!command) throw new UsageError(`expected command but got ${JSON.stringify(names[0])}`);
  if (names.length > 1) throw new UsageError(`unexpected ${names[1]}`);
  return { kind: "help", text: commandHelp(app, command) };
}

function assignArgs(command: CommandSpec, positionals: readonly string[]): ArgValues {
  const values: Record<string, string | readonly string[] | undefined> = {};
  let k = 0;
  for (const spec of command.args) {
    const value = spec.repeated ? positionals.slice(k) : positionals[k];
    if (spec.required && (Array.isArray(value) ? value.length === 0 : value === undefined)) {
      throw new UsageError(`required argument '${spec.name}' not provided`);
    }
    values[spec.name] = value;
    k = spec.repeated ? positionals.length : k + 1;
  }
  if (k < positionals.length) throw new UsageError(`unexpected ${positionals[k]}`);
  return values;
}

function resolve(flag: FlagSpec, st: State, env: (name: string) => string | undefined): Value | undefined {
  if (st.given.has(flag.name)) return st.given.get(flag.name);
  const fromEnv = flag.env ? env(flag.env) : undefined;
  if (fromEnv !== undefined && fromEnv !== "") return convert(flag, fromEnv, `$${flag.env}`);
  if (flag.default !== undefined) return convert(flag, flag.default, `--${flag.name}`);
  return flag.kind === "bool" ? false : undefined;
}

/** Turns a raw value into the flag's type; `source` names where it came from in error messages. */
function convert(flag: FlagSpec, raw: string | boolean, source: string): Value {
  if (typeof raw === "boolean") return raw;
  switch (flag.kind) {
    case "bool":
      return parseBool(raw, source);
    case "duration":
      try {
        return parseDuration(raw, { source });
      } catch (e) {
        if (e instanceof DurationError) throw new UsageError(e.message);
        throw e;
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

function parseBool(raw: string, source: string): boolean {
  const value = BOOL_WORDS[raw.toLowerCase()];
  if (value === undefined) {
    throw new UsageError(`${source}: invalid boolean ${JSON.stringify(raw)} (use true or false)`);
  }
  return value;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // Without --allow-env a default simply does not come from the environment.
    return undefined;
  }
}
