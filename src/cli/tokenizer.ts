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
  const error = (message: string) => tokens.push({ kind: "error", error: new UsageError(message) });
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
        tokens.push({ kind: "positional", value: word });
        continue;
      }
      const command = findCommand(app, word);
      if (command) {
        selected = true;
        scope.add(Object.values(command.flags));
        tokens.push({ kind: "command", command });
      } else if (word === "help") {
        selected = true;
        tokens.push({ kind: "help-command" });
      } else {
        error(`expected command but got ${JSON.stringify(word)}`);
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
        error(`unknown long flag '--${name}'`);
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
      shortCluster(word.slice(1), { scope, tokens, takeValue });
    }
  }
  return tokens;
}

/** `-nd1h`: bools until the first flag that takes a value, which takes the rest (or the next word). */
function shortCluster(
  cluster: string,
  walk: { scope: FlagScope; tokens: Token[]; takeValue: (flag: FlagSpec, source: string) => void },
): void {
  let rest = cluster;
  while (rest.length > 0) {
    const ch = String.fromCodePoint(rest.codePointAt(0)!);
    rest = rest.slice(ch.length);
    const flag = walk.scope.shorts.get(ch);
    if (!flag) {
      walk.tokens.push({ kind: "error", error: new UsageError(`unknown short flag '-${ch}'`) });
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

/** `--no-x` or `--no-x=false`: the negation of the written value (a malformed one is left for the parser to refuse). */
function negate(value: string | boolean): string | boolean {
  if (typeof value === "boolean") return !value;
  const lower = value.toLowerCase();
  if (["true", "t", "1"].includes(lower)) return false;
  if (["false", "f", "0"].includes(lower)) return true;
  return value;
}
