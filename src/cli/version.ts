/**
 * `version`: prints the version, like `--version`.
 * @module
 */

import type { Command } from "./command.ts";
import { VERSION } from "../version.ts";

/** The `version` command. */
export const versionCommand: Command = {
  spec: { name: "version", help: "Show the version.", flags: [], args: [] },
  run(context) {
    context.out.stdout(`${VERSION}\n`);
    return Promise.resolve(0);
  },
};
