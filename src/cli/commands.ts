/**
 * The command table: every command's name, flags, arguments and help, in aws-vault's registration order (help lists
 * them so). Parsing, help and completion need only this; a command's implementation is a separate module loaded when
 * that command runs, so start-up pays for the one command that runs and not for the other eleven
 * (docs/performance.md). Keep this module free of anything heavier than declarations.
 * @module
 */

import { DEFAULT_CONTAINER_PROXY_LISTEN } from "../server/addresses.ts";
import { AVAILABLE_BACKENDS } from "../vault/backends.ts";
import type { Command } from "./command.ts";
import {
  CREDENTIAL_FLAGS,
  DURATION_FLAG,
  EXPORT_FORMATS,
  MFA_TOKEN_FLAG,
  NO_SESSION_FLAG,
  PROFILE_ARG,
  REGION_FLAG,
  STDOUT_FLAG,
} from "./flags.ts";

/** `add [PROFILE]`. */
export const addCommand: Command = {
  spec: {
    name: "add",
    help: "Add credentials to the secure keystore.",
    flags: [
      {
        name: "env",
        kind: "bool",
        help: "Read the credentials from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
      },
      { name: "add-config", kind: "bool", default: true, help: "Add a profile to ~/.aws/config if one doesn't exist" },
    ],
    args: [{ ...PROFILE_ARG, help: "Name of the profile" }],
  },
  load: () => import("./add.ts"),
};

/** `remove PROFILE`. */
export const removeCommand: Command = {
  spec: {
    name: "remove",
    aliases: ["rm"],
    help: "Remove credentials from the secure keystore.",
    flags: [
      { name: "force", short: "f", kind: "bool", help: "Do not prompt for confirmation" },
      {
        name: "sessions-only",
        short: "s",
        kind: "bool",
        hidden: true,
        help: "Only remove sessions, leave credentials intact",
      },
    ],
    args: [{ ...PROFILE_ARG, help: "Name of the profile" }],
  },
  load: () => import("./remove.ts"),
};

/** `migrate-backend --from A --to B`. */
export const migrateBackendCommand: Command = {
  spec: {
    name: "migrate-backend",
    help: "Migrate stored credentials between keyring backends.",
    flags: [
      {
        name: "from",
        kind: "enum",
        required: true,
        values: AVAILABLE_BACKENDS,
        placeholder: "BACKEND",
        help: "Source backend",
      },
      {
        name: "to",
        kind: "enum",
        required: true,
        values: AVAILABLE_BACKENDS,
        placeholder: "BACKEND",
        help: "Destination backend",
      },
      { name: "profile", kind: "string", placeholder: "PROFILE", help: "Migrate only this credential" },
      { name: "dry-run", kind: "bool", help: "List what would migrate. No secrets are read" },
      { name: "overwrite", kind: "bool", help: "Overwrite existing destination credentials" },
      { name: "delete-source", kind: "bool", help: "Delete the source item after a verified copy" },
    ],
    args: [],
  },
  load: () => import("./migrate_backend.ts"),
};

/** `list`. */
export const listCommand: Command = {
  spec: {
    name: "list",
    aliases: ["ls"],
    help: "List profiles, along with their credentials and sessions.",
    flags: [
      { name: "profiles", kind: "bool", help: "Show only the profile names" },
      { name: "sessions", kind: "bool", help: "Show only the session names" },
      { name: "credentials", kind: "bool", help: "Show only the profiles with stored credential" },
    ],
    args: [],
  },
  load: () => import("./list.ts"),
};

/** `rotate PROFILE`. */
export const rotateCommand: Command = {
  spec: {
    name: "rotate",
    help: "Rotate credentials.",
    flags: [{ name: "no-session", short: "n", kind: "bool", help: "Use master credentials, no session or role used" }],
    args: [PROFILE_ARG],
  },
  load: () => import("./rotate.ts"),
};

/** `exec [PROFILE] [-- CMD ARGS…]`. */
export const execCommand: Command = {
  spec: {
    name: "exec",
    help: "Execute a command with AWS credentials.",
    flags: [
      ...CREDENTIAL_FLAGS,
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
      {
        name: "ecs-server-bind",
        kind: "string",
        placeholder: "ADDRESS",
        help: "Address the ECS server listens on (default 127.0.0.1); e.g. the Docker bridge address for containers",
      },
      {
        name: "ec2-imdsv1",
        kind: "bool",
        help: "Also answer IMDSv1 requests (without a session token) on the EC2 metadata server",
      },
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
  load: () => import("./exec.ts"),
};

/** `export [PROFILE]`. */
export const exportCommand: Command = {
  spec: {
    name: "export",
    help: "Export AWS credentials.",
    flags: [
      ...CREDENTIAL_FLAGS,
      {
        name: "format",
        kind: "enum",
        values: EXPORT_FORMATS,
        default: "env",
        placeholder: "FORMAT",
        help: "Format to output credentials",
      },
      STDOUT_FLAG,
    ],
    args: [PROFILE_ARG],
  },
  load: () => import("./export.ts"),
};

/** `clear [PROFILE]`. */
export const clearCommand: Command = {
  spec: {
    name: "clear",
    help: "Clear temporary credentials from the secure keystore.",
    flags: [],
    args: [{ ...PROFILE_ARG, help: "Name of the profile (default: all sessions)" }],
  },
  load: () => import("./clear.ts"),
};

/** `login [PROFILE]`. */
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
  load: () => import("./login.ts"),
};

/** `proxy` (hidden): the privileged 169.254.169.254:80 forwarder. */
export const proxyCommand: Command = {
  spec: {
    name: "proxy",
    aliases: ["server"],
    hidden: true,
    help: "Start a proxy for the ec2 instance role server locally.",
    flags: [{ name: "stop", kind: "bool", help: "Stop the proxy" }],
    args: [],
  },
  load: () => import("./proxy.ts"),
};

/** `container-proxy` (hidden): the ECS proxy inside a container network. */
export const containerProxyCommand: Command = {
  spec: {
    name: "container-proxy",
    hidden: true,
    help: "Serve ECS container credentials inside a container network by forwarding to aws-vault's ECS server.",
    flags: [
      {
        name: "listen",
        kind: "string",
        default: DEFAULT_CONTAINER_PROXY_LISTEN,
        placeholder: "ADDR",
        help: "Address to listen on (host:port)",
      },
      {
        name: "target",
        kind: "string",
        env: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        placeholder: "URL",
        help: "Base URL of the ECS server started by `aws-vault exec --ecs-server`",
      },
      {
        name: "token-file",
        kind: "string",
        placeholder: "FILE",
        help: "File holding the ECS server's Authorization token (default: $AWS_CONTAINER_AUTHORIZATION_TOKEN)",
      },
      { name: "check-running", kind: "bool", help: "Exit 0 if a proxy answers on --listen, else 1" },
    ],
    args: [],
  },
  load: () => import("./container_proxy.ts"),
};

/** `version`. */
export const versionCommand: Command = {
  spec: { name: "version", help: "Show the version.", flags: [], args: [] },
  load: () => import("./version.ts"),
};

/** Every command, in aws-vault's registration order. */
export const COMMANDS: readonly Command[] = [
  addCommand,
  removeCommand,
  migrateBackendCommand,
  listCommand,
  rotateCommand,
  execCommand,
  exportCommand,
  clearCommand,
  loginCommand,
  proxyCommand,
  containerProxyCommand,
  versionCommand,
];
