/**
 * The profile argument shared by most commands: given on the command line, else `$AWS_PROFILE`.
 * @module
 */

import { UsageError } from "../errors.ts";
import type { CommandContext } from "./command.ts";

/**
 * The profile a command acts on: the argument, else `$AWS_PROFILE`.
 * @throws UsageError when neither is given
 */
export function requireProfile(context: CommandContext): string {
  const fromArg = context.args["profile"];
  if (typeof fromArg === "string" && fromArg !== "") return fromArg;
  const fromEnv = context.env.get("AWS_PROFILE");
  if (fromEnv) return fromEnv;
  throw new UsageError("required argument 'profile' not provided (and AWS_PROFILE is not set)");
}
