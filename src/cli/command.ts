/**
 * What a command is: its declaration, the typed context its implementation runs in, and the loader that keeps the
 * implementation out of start-up until the command runs (see `commands/table.ts`).
 * @module
 */

import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import type { Terminal } from "../os/terminal.ts";
import type { Prompter } from "../prompt/prompter.ts";
import type { GlobalOptions } from "./global.ts";
import { type ParsedLine, readArgs, readFlags } from "./parser.ts";
import type { ArgValues, CommandSpec, FlagValues } from "./spec.ts";

/** Where a command writes its normal output and its notices. Tests capture these; `main.ts` uses the real streams. */
export interface Output {
  /** Writes text to standard output as-is (add your own newline). */
  stdout(text: string): void;
  /** Writes text to standard error as-is (add your own newline). */
  stderr(text: string): void;
}

/** What every command runs with, whatever its flags: the process's inputs, passed in and never read from globals. */
export interface Services {
  /** The global flags, typed. */
  readonly global: GlobalOptions;
  /** The process environment. */
  readonly env: Env;
  /** Output streams. */
  readonly out: Output;
  /** Debug lines (`--debug`), written through `out`. */
  readonly log: Logger;
  /** Which standard streams are terminals. */
  readonly terminal: Terminal;
  /** Asks the user (access keys, the vault passphrase, confirmations, MFA codes on the terminal). */
  readonly prompter: Prompter;
  /** The clock: session expiry, cache freshness, debug timestamps. */
  readonly now: () => Date;
}

/** The context of command `S`: its flags and arguments as its declaration types them, and the {@link Services}. */
export interface CommandContext<S extends CommandSpec> extends Services {
  readonly flags: FlagValues<S["flags"]>;
  readonly args: ArgValues<S["args"]>;
}

/** What a command's implementation module exports. `run` resolves to the process exit code. */
export interface CommandModule<S extends CommandSpec> {
  run(context: CommandContext<S>): Promise<number>;
}

/** A command of the table, its declaration's types sealed in: the app needs only its spec and {@link Command.prepare}.
 */
export interface Command {
  readonly spec: CommandSpec;
  /**
   * Reads this command's flags and arguments out of `line` and returns the call that loads and runs it.
   * @throws UsageError for a missing or malformed value
   */
  prepare(line: ParsedLine): (services: Services) => Promise<number>;
}

/** Pairs a declaration with the loader of its implementation, whose `run` must accept exactly that declaration. */
export function defineCommand<S extends CommandSpec>(spec: S, load: () => Promise<CommandModule<S>>): Command {
  return {
    spec,
    prepare(line) {
      const args = readArgs(spec.args, line);
      const flags = readFlags(spec.flags, line);
      return async (services) => (await load()).run({ ...services, flags, args });
    },
  };
}
