/**
 * `export PROFILE`: print credentials as env lines, JSON (credential_process) or INI. Its command line is
 * complete; the action arrives with the credential chain.
 * @module
 */

import type { Command } from "./command.ts";
import { DURATION_FLAG, MFA_TOKEN_FLAG, NO_SESSION_FLAG, REGION_FLAG, STDOUT_FLAG } from "./duration_flags.ts";
import { notImplemented } from "./not_implemented.ts";
import { PROFILE_ARG } from "./profile_arg.ts";

/** The `export` command. */
export const exportCommand: Command = {
  spec: {
    name: "export",
    help: "Export AWS credentials.",
    flags: [
      DURATION_FLAG,
      NO_SESSION_FLAG,
      REGION_FLAG,
      MFA_TOKEN_FLAG,
      {
        name: "format",
        kind: "enum",
        values: ["env", "export-env", "json", "ini"],
        default: "env",
        placeholder: "FORMAT",
        help: "Format to output credentials",
      },
      STDOUT_FLAG,
    ],
    args: [PROFILE_ARG],
  },
  run: () => notImplemented("export"),
};
