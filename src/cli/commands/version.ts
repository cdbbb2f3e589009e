/**
 * `version`: prints the version (as `--version` does, but to stdout, like the ByteNess fork's `version` command).
 * @module
 */

import type { CommandContext } from "../command.ts";
import type { versionSpec } from "./specs.ts";
import { VERSION_TEXT } from "../../core/version.ts";

/** Runs `version`. */
export function run(context: CommandContext<typeof versionSpec>): Promise<number> {
  context.out.stdout(`${VERSION_TEXT}\n`);
  return Promise.resolve(0);
}
