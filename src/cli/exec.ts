/**
 * `exec PROFILE [-- CMD ARGS…]`: run a command with credentials. Its command line is complete; the action
 * arrives with the credential chain.
 * @module
 */

import type { Command } from "./command.ts";
import { DURATION_FLAG, MFA_TOKEN_FLAG, NO_SESSION_FLAG, REGION_FLAG, STDOUT_FLAG } from "./duration_flags.ts";
import { notImplemented } from "./not_implemented.ts";
import { PROFILE_ARG } from "./profile_arg.ts";

/** The `exec` command. */
export const execCommand: Command = {
  spec: {
    name: "exec",
    help: "Execute a command with AWS credentials.",
    flags: [
      DURATION_FLAG,
      NO_SESSION_FLAG,
      REGION_FLAG,
      MFA_TOKEN_FLAG,
      {
        name: "json",
        short: "j",
        kind: "bool",
        hidden: true,
        help: "Output credentials in JSON that can be used by credential_process",
      },
      { name: "server", short: "s", kind: "bool", help: "Alias for --ecs-server" },
      { name: "ec2-server", kind: "bool", help: "Run a EC2 metadata server in the background for credentials" },
      {
        name: "ecs-server",
        kind: "bool",
        help:
          "Run a ECS credential server in the background for credentials (the SDK or app must support AWS_CONTAINER_CREDENTIALS_FULL_URI)",
      },
      { name: "lazy", kind: "bool", help: "When using --ecs-server, lazily fetch credentials" },
      STDOUT_FLAG,
      {
        name: "profile-env",
        kind: "bool",
        env: "AWS_VAULT_PROFILE_ENV",
        help: "Set AWS_PROFILE instead of injecting AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      },
    ],
    args: [
      PROFILE_ARG,
      { name: "cmd", help: "Command to execute, defaults to $SHELL", hint: "command" },
      { name: "args", help: "Command arguments", repeated: true },
    ],
  },
  run: () => notImplemented("exec"),
};
