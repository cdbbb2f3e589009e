/**
 * `login [PROFILE]`: open the AWS console with federated credentials. Its command line is complete; the action
 * arrives with console federation.
 * @module
 */

import type { Command } from "./command.ts";
import { DURATION_FLAG, MFA_TOKEN_FLAG, NO_SESSION_FLAG, REGION_FLAG } from "./duration_flags.ts";
import { notImplemented } from "./not_implemented.ts";

/** The `login` command. */
export const loginCommand: Command = {
  spec: {
    name: "login",
    help: "Generate a login link for the AWS Console.",
    flags: [
      { ...DURATION_FLAG, help: "Duration of the assume-role or federated session. Defaults to 1h" },
      NO_SESSION_FLAG,
      {
        name: "auto-logout",
        short: "a",
        kind: "bool",
        env: "AWS_VAULT_AUTO_LOGOUT",
        help: "Auto logout when starting a new login",
      },
      MFA_TOKEN_FLAG,
      { name: "path", kind: "string", placeholder: "PATH", help: "The AWS service you would like access" },
      REGION_FLAG,
      {
        name: "stdout",
        short: "s",
        kind: "bool",
        env: "AWS_VAULT_STDOUT",
        help: "Print login URL to stdout instead of opening in default browser",
      },
    ],
    args: [{
      name: "profile",
      help: "Name of the profile. If none given, credentials will be sourced from env vars",
      hint: "profile",
    }],
  },
  run: () => notImplemented("login"),
};
