/**
 * `rotate PROFILE`: replace the stored access key with a new one. Its command line is complete; the action
 * arrives with key rotation.
 * @module
 */

import type { Command } from "./command.ts";
import { notImplemented } from "./not_implemented.ts";
import { PROFILE_ARG } from "./profile_arg.ts";

/** The `rotate` command. */
export const rotateCommand: Command = {
  spec: {
    name: "rotate",
    help: "Rotate credentials.",
    flags: [{ name: "no-session", short: "n", kind: "bool", help: "Use master credentials, no session or role used" }],
    args: [PROFILE_ARG],
  },
  run: () => notImplemented("rotate"),
};
