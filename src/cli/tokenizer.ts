/**
 * The one tokenizer of the command line, shared by the parser and shell completion, with kingpin v2's rules (the Go
 * library aws-vault uses): flags anywhere (also after positionals), `--` ends flag parsing, `--no-<bool>`, `--x=v`,
 * `-d1h`, `-d=1h`, clustered short bools, a flag's value taken from the next word only if that word is not a flag.
 * The first word that is not a flag selects the command, whose flags are known from then on.
 *
 * It never throws: a wrong word becomes an `error` token and the walk goes on, because `--help` anywhere before `--`
 * still wins over a parse error, and completion must make sense of half-typed lines.
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { suggestNames } from "../config/suggest.ts";
import { type AppSpec, BUILTIN_FLAGS, type CommandSpec, findCommand, type FlagSpec } from "./spec.ts";

/** One meaningful piece of a command line. */
export type Token =
  | { readonly kind: "command"; readonly command: CommandSpec }
  | { readonly kind: "help-command" }
  | { readonly kind: "positional"; readonly value: string }
  /** A flag with its raw value (`true`/`false` for a bare or negated bool); `source` is how it was written. */
  | { readonly kind: "flag"; readonly flag: FlagSpec; readonly value: string | boolean; readonly source: string }
  /** `--`: every later word is a positional. */
  | { readonly kind: "separator" }
  /** A flag that takes a value, at the end of the words, its value not yet typed (completion offers values). */
  | { readonly kind: "pending"; readonly flag: FlagSpec; readonly source: string }
  | { readonly kind: "error"; readonly error: UsageError };

/** Options of {@link tokenize}. */
export interface TokenizeOptions {
  /** bash splits `--flag=value` into `--flag`, `=`, `value` for completion: read that as one flag with a value. */
  readonly splitEquals?: boolean;
}

const BUILTIN_LIST = Object.values(BUILTIN_FLAGS);

/** The flags in scope while walking: the built-in and global flags, plus the command's once it is known. */
class FlagScope {
  readonly longs = new Map<string, FlagSpec>();
  readonly shorts = new Map<string, FlagSpec>();
  add(flags: Iterable<FlagSpec>): void {
    for (const flag of flags) {
      this.longs.set(flag.name, flag);
      if (flag.short) this.shorts.set(flag.short, flag);
    }
  }
}

/** Splits `words` (the arguments after the program name) into tokens against `app`. */
export function tokenize(words: readonly string[], app: AppSpec, options?: TokenizeOptions): Token[] {
  const scope = new FlagScope();
  scope.add(BUILTIN_LIST);
  scope.add(Object.values(app.flags));
  const tokens: Token[] = [];
  let i = 0;
  let argsOnly = false;
  let selected = false; // a command (or `help`) has been chosen
  let commandArg: number | undefined; // which positional of the chosen command is a command to run (exec's `cmd`)
  let positionals = 0; // positionals since the command was chosen
  let commandAt: number | undefined; // index in `words` of that command word, once given
  // An unknown flag after the command to run was meant for it: say where `--` goes. The command's arguments are not
  // repeated (they may hold a password or a token, and errors end up in CI logs): `…` stands for them.
  const unknownFlag = (written: string, kind: "long" | "short", candidates: () => Iterable<string>): string => {
    const base = `unknown ${kind} flag '${written}'`;
    if (commandAt !== undefined) {
      const line = [app.name, ...words.slice(0, commandAt), "--", words[commandAt]].map(shellQuote).join(" ");
      return `${base} (to pass flags to the command, put -- before it: ${line} …)`;
    }
    if (kind === "short") return base;
    const close = suggestNames(written, { candidates: candidates(), max: 1 });
    return close.length > 0 ? `${base}, did you mean '${close[0]}'?` : base;
  };
  const error = (message: string) => tokens.push({ kind: "error", error: usageError(message) });
  // kingpin reads a flag's value from the next word only if that word is not itself a flag.
  const takeValue = (flag: FlagSpec, source: string): void => {
    const next = words[i];
    if (next === undefined) {
      tokens.push({ kind: "pending", flag, source });
    } else if (next.startsWith("-") && next !== "-") {
      error(`expected argument for flag '${source}'`);
    } else {
      i++;
      tokens.push({ kind: "flag", flag, value: next, source });
    }
  };
  while (i < words.length) {
    const word = words[i++];
    if (argsOnly || word === "-" || !word.startsWith("-")) {
      if (selected || argsOnly) {
        if (!argsOnly && positionals === commandArg) commandAt = i - 1;
        positionals++;
        tokens.push({ kind: "positional", value: word });
        continue;
      }
      const command = findCommand(app, word);
      if (command) {
        selected = true;
        scope.add(Object.values(command.flags));
        const at = command.args.findIndex((a) => a.hint === "command");
        commandArg = at < 0 ? undefined : at;
        tokens.push({ kind: "command", command });
      } else if (word === "help") {
        selected = true;
        tokens.push({ kind: "help-command" });
      } else {
        error(unknownCommandMessage(app, word));
      }
    } else if (word === "--") {
      argsOnly = true;
      tokens.push({ kind: "separator" });
    } else if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      let inline = eq < 0 ? undefined : word.slice(eq + 1);
      let flag = scope.longs.get(name);
      let negated = false;
      if (!flag && name.startsWith("no-") && scope.longs.get(name.slice(3))?.kind === "bool") {
        flag = scope.longs.get(name.slice(3));
        negated = true;
      }
      if (!flag) {
        const visible = () => [...scope.longs.values()].filter((f) => !f.hidden).map((f) => `--${f.name}`);
        error(unknownFlag(`--${name}`, "long", visible));
        continue;
      }
      const source = `--${name}`;
      if (inline === undefined && options?.splitEquals && words[i] === "=") {
        i++;
        if (i >= words.length) {
          tokens.push({ kind: "pending", flag, source });
          continue;
        }
        inline = words[i++];
      }
      if (flag.kind === "bool") {
        const value = inline === undefined ? true : inline;
        tokens.push({ kind: "flag", flag, value: negated ? negate(value) : value, source });
      } else if (inline !== undefined) {
        tokens.push({ kind: "flag", flag, value: inline, source });
      } else {
        takeValue(flag, source);
      }
    } else {
      shortCluster(word.slice(1), {
        scope,
        tokens,
        takeValue,
        unknown: (ch) => unknownFlag(`-${ch}`, "short", () => []),
      });
    }
  }
  return tokens;
}

/** `-nd1h`: bools until the first flag that takes a value, which takes the rest (or the next word). */
function shortCluster(
  cluster: string,
  walk: {
    scope: FlagScope;
    tokens: Token[];
    takeValue: (flag: FlagSpec, source: string) => void;
    /** The message for unknown short flag `ch`. */
    unknown: (ch: string) => string;
  },
): void {
  let rest = cluster;
  while (rest.length > 0) {
    const ch = String.fromCodePoint(rest.codePointAt(0)!);
    rest = rest.slice(ch.length);
    const flag = walk.scope.shorts.get(ch);
    if (!flag) {
      walk.tokens.push({ kind: "error", error: usageError(walk.unknown(ch)) });
      return;
    }
    if (flag.kind === "bool") {
      walk.tokens.push({ kind: "flag", flag, value: true, source: `-${ch}` });
    } else if (rest.length > 0) {
      walk.tokens.push({ kind: "flag", flag, value: rest.replace(/^=/, ""), source: `-${ch}` });
      return;
    } else {
      walk.takeValue(flag, `-${ch}`);
      return;
    }
  }
}

/**
 * The error for a word where a command was expected: `unknown command "exce", did you mean "exec"?`, or kingpin's
 * `expected command but got "x"` when nothing is close. Aliases are suggested too, hidden commands not.
 */
export function unknownCommandMessage(app: AppSpec, word: string): string {
  const names = app.commands.filter((c) => !c.hidden).flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const close = suggestNames(word, { candidates: ["help", ...names], max: 1 });
  if (close.length === 0) return `expected command but got ${JSON.stringify(word)}`;
  return `unknown command ${JSON.stringify(word)}, did you mean ${JSON.stringify(close[0])}?`;
}

/**
 * A usage error that carries its own hint (`did you mean …?`, where `--` goes) and so is not followed by
 * `, try --help`.
 */
export class HintedUsageError extends UsageError {
  override readonly suggestHelp: boolean = false;
}

/** The error for `message`: hinted when it says what to do instead. */
export function usageError(message: string): UsageError {
  const hinted = message.endsWith("?") || message.includes("put -- before it");
  return hinted ? new HintedUsageError(message) : new UsageError(message);
}

/** A word as a POSIX shell reads it back: bare when safe, else single-quoted. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `--no-x` or `--no-x=false`: the negation of the written value (a malformed one is left for the parser to refuse). */
function negate(value: string | boolean): string | boolean {
  if (typeof value === "boolean") return !value;
  const lower = value.toLowerCase();
  if (["true", "t", "1"].includes(lower)) return false;
  if (["false", "f", "0"].includes(lower)) return true;
  return value;
}
