/**
 * How a command line is declared, and the typed values a declaration yields. A command declares its flags (an object:
 * property name → {@link FlagSpec}) and its positional arguments (an ordered list) once; the parser, help and
 * completion read the same declaration, and {@link FlagValues}/{@link ArgValues} turn it into the types the command's
 * `run` receives, so a misspelt flag or a wrong value type does not compile.
 * @module
 */

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
  /** Completion source for the value: the config's `[sso-session NAME]` names. */
  readonly hint?: "sso-session";
  /** Not shown in help or completion, still accepted. */
  readonly hidden?: boolean;
  /** Shown in help as `--duration=DURATION`. */
  readonly placeholder?: string;
  /** Must be given (on the command line or through `env`): `required flag --<name> not provided`. */
  readonly required?: boolean;
  /**
   * May be given several times, each value kept in order (`--policy-arn A --policy-arn B`); the value is then a list,
   * empty when none is given. Only for kinds that take a value, and without `env` or `default`, which could not say
   * "several".
   */
  readonly repeated?: boolean;
}

/** A command's (or the app's) flags by the property name its `run` reads them under; help lists them in this order. */
export type FlagSet = { readonly [key: string]: FlagSpec };

/** One positional argument. */
export interface ArgSpec {
  readonly name: string;
  readonly help: string;
  readonly required?: boolean;
  /** Collects all remaining positionals (always an array, possibly empty). */
  readonly repeated?: boolean;
  /** Completion source. */
  readonly hint?: "profile" | "command";
  /**
   * The only words accepted here (an action such as `sso sync`): completion offers them, the parser refuses others
   * with the closest one, and the command's `run` receives their literal type. Keeps one-level "subcommands" out of
   * the command table (kingpin's `Arg().Enum()`).
   */
  readonly values?: readonly string[];
}

/** One command of the app. */
export interface CommandSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly help: string;
  readonly hidden?: boolean;
  readonly flags: FlagSet;
  /** In command-line order. */
  readonly args: readonly ArgSpec[];
}

/** The whole command line. */
export interface AppSpec {
  readonly name: string;
  readonly help: string;
  readonly version: string;
  /** Global flags, valid before or after the command. */
  readonly flags: FlagSet;
  readonly commands: readonly CommandSpec[];
}

/** The value type of a flag before presence is considered: durations are milliseconds, enums their literal values. */
type FlagBase<F extends FlagSpec> = F["kind"] extends "duration" ? number
  : F extends { readonly kind: "enum"; readonly values: readonly (infer V extends string)[] } ? V
  : string;

/**
 * The value `run` receives for flag `F`: a repeated flag is the list of its values; bools are always set; a flag with
 * a default or marked required always has a value; any other is `undefined` when neither the command line nor its env
 * var gives one.
 */
export type FlagValue<F extends FlagSpec> = F extends { readonly repeated: true } ? readonly FlagBase<F>[]
  : F["kind"] extends "bool" ? boolean
  : F extends { readonly required: true } | { readonly default: string } ? FlagBase<F>
  : FlagBase<F> | undefined;

/** Every flag of a {@link FlagSet}, typed, under its property name. */
export type FlagValues<F extends FlagSet> = { readonly [K in keyof F]: FlagValue<F[K]> };

/** The value of one positional: a repeated one is a list, a required one a string, else possibly `undefined`. */
export type ArgValue<A extends ArgSpec> = A extends { readonly repeated: true } ? readonly string[]
  : A extends { readonly required: true; readonly values: readonly (infer V extends string)[] } ? V
  : A extends { readonly required: true } ? string
  : string | undefined;

/** Every positional of a command, typed, under its name. */
export type ArgValues<A extends readonly ArgSpec[]> = { readonly [X in A[number] as X["name"]]: ArgValue<X> };

/**
 * Declares a command. An identity function whose only job is to keep the literal types (`kind: "bool"`,
 * `required: true`, enum values) that {@link FlagValues} and {@link ArgValues} read.
 */
export function defineCommandSpec<const S extends CommandSpec>(spec: S): S {
  return spec;
}

/** Declares a flag shared by several commands, keeping its literal types (see {@link defineCommandSpec}). */
export function defineFlag<const F extends FlagSpec>(flag: F): F {
  return flag;
}

/** Declares a group of flags shared by several commands, keeping their literal types. */
export function defineFlags<const F extends FlagSet>(flags: F): F {
  return flags;
}

/** Flags every app has. The parser turns them into help, version and completion results, never into values. */
export const BUILTIN_FLAGS: FlagSet = {
  help: { name: "help", short: "h", kind: "bool", help: "Show context-sensitive help (also try --help-long)." },
  helpLong: { name: "help-long", kind: "bool", hidden: true, help: "Generate long help." },
  helpMan: { name: "help-man", kind: "bool", hidden: true, help: "Generate a man page." },
  version: { name: "version", short: "v", kind: "bool", help: "Show application version." },
  completionBash: {
    name: "completion-bash",
    kind: "bool",
    hidden: true,
    help: "Output possible completions for the given args.",
  },
  completionScriptBash: {
    name: "completion-script-bash",
    kind: "bool",
    hidden: true,
    help: "Generate completion script for bash.",
  },
  completionScriptZsh: {
    name: "completion-script-zsh",
    kind: "bool",
    hidden: true,
    help: "Generate completion script for ZSH.",
  },
  completionScriptFish: {
    name: "completion-script-fish",
    kind: "bool",
    hidden: true,
    help: "Generate completion script for fish.",
  },
};

/** Shells we generate completion scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** One of {@link SHELLS}. */
export type Shell = typeof SHELLS[number];

/** Looks a command up by name or alias. */
export function findCommand(app: AppSpec, name: string): CommandSpec | undefined {
  return app.commands.find((c) => c.name === name || c.aliases?.includes(name));
}
