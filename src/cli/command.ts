/**
 * What every command module exports, and the context a command runs in.
 * @module
 */

import type { ArgValues, CommandSpec, FlagValues } from "./parser.ts";
import type { GlobalOptions } from "./global.ts";
import type { Env } from "../config/config_file.ts";

/** Where a command writes its normal output and its notices. Tests capture these; `main.ts` uses the real streams. */
export interface Output {
  /** Writes text to standard output as-is (add your own newline). */
  stdout(text: string): void;
  /** Writes text to standard error as-is (add your own newline). */
  stderr(text: string): void;
}

/** The process environment: single lookups plus the whole set (exec hands it to the child). `Deno.env` fits. */
export interface ProcessEnv extends Env {
  /** Every variable, as a fresh object. */
  toObject(): Record<string, string>;
}

/** Everything a command needs from its invocation. Commands never read `Deno.args` or `Deno.env` themselves. */
export interface CommandContext {
  /** The command's and the global flags, keyed by long name (durations in milliseconds). */
  readonly flags: FlagValues;
  /** Positional arguments keyed by their spec name. */
  readonly args: ArgValues;
  /** Global options in typed form. */
  readonly global: GlobalOptions;
  /** The process environment (injectable for tests). */
  readonly env: ProcessEnv;
  /** Output streams. */
  readonly out: Output;
}

/** What a command's implementation module exports. `run` resolves to the process exit code. */
export interface CommandModule {
  run(context: CommandContext): Promise<number>;
}

/**
 * A command: its command-line spec, and its implementation, loaded when the command runs (see `commands.ts`: start-up
 * parses against the specs alone).
 */
export interface Command {
  readonly spec: CommandSpec;
  load(): Promise<CommandModule>;
}

/** Reads a string argument; `undefined` when absent. */
export function stringArg(args: ArgValues, name: string): string | undefined {
  const v = args[name];
  return typeof v === "string" ? v : undefined;
}

/** Reads a boolean flag (absent = false). */
export function boolFlag(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}
