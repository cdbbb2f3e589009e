/**
 * `version`: prints the version, like `--version`.
 * @module
 */

import type { CommandContext } from "./command.ts";
import { VERSION } from "../version.ts";

/** Runs `version`. */
export function run(context: CommandContext): Promise<number> {
  context.out.stdout(`${VERSION}\n`);
  return Promise.resolve(0);
}
