/**
 * Every command's declaration: name, flags, arguments and help, in aws-vault's registration order (help lists them
 * so), and the flag groups several commands share. Parsing, help and completion need only these; each command's `run`
 * is typed from its declaration (`CommandContext<typeof execSpec>`). Declarations only: this module loads on every
 * start, so keep it free of anything heavier.
 * @module
 */

import { AUDIT_EVENTS } from "../../audit/events.ts";
import { DEFAULT_CONTAINER_PROXY_LISTEN } from "../../server/addresses.ts";
import { AVAILABLE_BACKENDS } from "../../vault/backends.ts";
import { EXPORT_FORMATS } from "../credentials_output.ts";
import { type ArgSpec, defineCommandSpec, defineFlag, defineFlags } from "../spec.ts";

/** `-d, --duration` with its `AWS_VAULT_DURATION` default. */
export const DURATION_FLAG = defineFlag({
  name: "duration",
  short: "d",
  kind: "duration",
  env: "AWS_VAULT_DURATION",
  placeholder: "DURATION",
  help: "Duration of the temporary or assume-role session. Defaults to 1h",
});

/** `-n, --no-session`. */
export const NO_SESSION_FLAG = defineFlag({
  name: "no-session",
  short: "n",
  kind: "bool",
  help: "Skip creating STS session with GetSessionToken",
});

/** `--region`. */
export const REGION_FLAG = defineFlag({
  name: "region",
  kind: "string",
  placeholder: "REGION",
  help: "The AWS region",
});

/** `-t, --mfa-token`. */
export const MFA_TOKEN_FLAG = defineFlag({
  name: "mfa-token",
  short: "t",
  kind: "string",
  placeholder: "MFA-TOKEN",
  help: "The MFA token to use",
});

/** `--stdout` for the SSO browser link (exec, export; login has its own short form). */
export const STDOUT_FLAG = defineFlag({
  name: "stdout",
  kind: "bool",
  env: "AWS_VAULT_STDOUT",
  help: "Print the SSO link to the terminal without automatically opening the browser",
});

/** `--no-cache` (exec, export). */
export const NO_CACHE_FLAG = defineFlag({
  name: "no-cache",
  kind: "bool",
  env: "AWS_VAULT_NO_CACHE",
  help: "Neither reuse nor store cached sessions in the vault",
});

/** `--policy FILE`: an inline session policy (docs/behaviour.md#session-policies). */
export const POLICY_FLAG = defineFlag({
  name: "policy",
  kind: "string",
  placeholder: "FILE",
  help: "Narrow the session with this JSON policy document (a session policy; beats session_policy_file)",
});

/** `--policy-arn ARN`, repeatable: managed session policies (docs/behaviour.md#session-policies). */
export const POLICY_ARN_FLAG = defineFlag({
  name: "policy-arn",
  kind: "string",
  repeated: true,
  placeholder: "ARN",
  help: "Narrow the session with this managed policy; repeat for up to 10 (beats session_policy_arns)",
});

/**
 * The flags of every command that fetches credentials the usual way (exec, export), in the order help shows them.
 * `login` takes most of them with its own help texts.
 */
export const CREDENTIAL_FLAGS = defineFlags({
  duration: DURATION_FLAG,
  noSession: NO_SESSION_FLAG,
  noCache: NO_CACHE_FLAG,
  region: REGION_FLAG,
  mfaToken: MFA_TOKEN_FLAG,
  policy: POLICY_FLAG,
  policyArns: POLICY_ARN_FLAG,
});

/** The `profile` positional as commands declare it (optional on the command line: `$AWS_PROFILE` fills in). */
export const PROFILE_ARG = {
  name: "profile",
  help: "Name of the profile (default: $AWS_PROFILE)",
  hint: "profile",
} as const satisfies ArgSpec;

/** `add [PROFILE]`. */
export const addSpec = defineCommandSpec({
  name: "add",
  help: "Add credentials to the secure keystore.",
  flags: {
    env: {
      name: "env",
      kind: "bool",
      help: "Read the credentials from the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    },
    addConfig: {
      name: "add-config",
      kind: "bool",
      default: true,
      help: "Add a profile to ~/.aws/config if one doesn't exist",
    },
  },
  // No completion hint: `add` usually names a profile that does not exist yet.
  args: [{ name: "profile", help: "Name of the profile" }],
});

/** `remove PROFILE`. */
export const removeSpec = defineCommandSpec({
  name: "remove",
  aliases: ["rm"],
  help: "Remove credentials from the secure keystore.",
  flags: {
    force: { name: "force", short: "f", kind: "bool", help: "Do not prompt for confirmation" },
    sessionsOnly: {
      name: "sessions-only",
      short: "s",
      kind: "bool",
      hidden: true,
      help: "Only remove sessions, leave credentials intact",
    },
  },
  args: [{ ...PROFILE_ARG, help: "Name of the profile" }],
});

/** `migrate-backend --from A --to B`. */
export const migrateBackendSpec = defineCommandSpec({
  name: "migrate-backend",
  help: "Migrate stored credentials between keyring backends.",
  flags: {
    from: {
      name: "from",
      kind: "enum",
      required: true,
      values: AVAILABLE_BACKENDS,
      placeholder: "BACKEND",
      help: "Source backend",
    },
    to: {
      name: "to",
      kind: "enum",
      required: true,
      values: AVAILABLE_BACKENDS,
      placeholder: "BACKEND",
      help: "Destination backend",
    },
    profile: { name: "profile", kind: "string", placeholder: "PROFILE", help: "Migrate only this credential" },
    dryRun: { name: "dry-run", kind: "bool", help: "List what would migrate. No secrets are read" },
    overwrite: { name: "overwrite", kind: "bool", help: "Overwrite existing destination credentials" },
    deleteSource: { name: "delete-source", kind: "bool", help: "Delete the source item after a verified copy" },
  },
  args: [],
});

/** `list`. */
export const listSpec = defineCommandSpec({
  name: "list",
  aliases: ["ls"],
  help: "List profiles, along with their credentials and sessions.",
  flags: {
    profiles: { name: "profiles", kind: "bool", help: "Show only the profile names" },
    sessions: { name: "sessions", kind: "bool", help: "Show only the session names" },
    credentials: { name: "credentials", kind: "bool", help: "Show only the profiles with stored credential" },
  },
  args: [],
});

/** `rotate PROFILE`. */
export const rotateSpec = defineCommandSpec({
  name: "rotate",
  help: "Rotate credentials.",
  flags: {
    noSession: {
      name: "no-session",
      short: "n",
      kind: "bool",
      help: "Use master credentials, no session or role used",
    },
  },
  args: [PROFILE_ARG],
});

/** `exec [PROFILE] [-- CMD ARGS…]`. */
export const execSpec = defineCommandSpec({
  name: "exec",
  help: "Execute a command with AWS credentials.",
  flags: {
    ...CREDENTIAL_FLAGS,
    json: {
      name: "json",
      short: "j",
      kind: "bool",
      hidden: true,
      help: "Output credentials in JSON that can be used by credential_process",
    },
    server: { name: "server", short: "s", kind: "bool", help: "Alias for --ecs-server" },
    ec2Server: {
      name: "ec2-server",
      kind: "bool",
      help: "Run a EC2 metadata server in the background for credentials",
    },
    ecsServer: {
      name: "ecs-server",
      kind: "bool",
      help:
        "Run a ECS credential server in the background for credentials (the SDK or app must support AWS_CONTAINER_CREDENTIALS_FULL_URI)",
    },
    lazy: { name: "lazy", kind: "bool", help: "When using --ecs-server, lazily fetch credentials" },
    ecsServerBind: {
      name: "ecs-server-bind",
      kind: "string",
      placeholder: "ADDRESS",
      help: "Address the ECS server listens on (default 127.0.0.1); e.g. the Docker bridge address for containers",
    },
    ec2Imdsv1: {
      name: "ec2-imdsv1",
      kind: "bool",
      help: "Also answer IMDSv1 requests (without a session token) on the EC2 metadata server",
    },
    stdout: STDOUT_FLAG,
    profileEnv: {
      name: "profile-env",
      kind: "bool",
      env: "AWS_VAULT_PROFILE_ENV",
      help: "Set AWS_PROFILE instead of injecting AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    },
  },
  args: [
    PROFILE_ARG,
    { name: "cmd", help: "Command to execute, defaults to $SHELL", hint: "command" },
    { name: "args", help: "Command arguments", repeated: true },
  ],
});

/** `export [PROFILE]`. */
export const exportSpec = defineCommandSpec({
  name: "export",
  help: "Export AWS credentials.",
  flags: {
    ...CREDENTIAL_FLAGS,
    format: {
      name: "format",
      kind: "enum",
      values: EXPORT_FORMATS,
      default: "env",
      placeholder: "FORMAT",
      help: "Format to output credentials",
    },
    stdout: STDOUT_FLAG,
  },
  args: [PROFILE_ARG],
});

/** `clear [PROFILE]`. */
export const clearSpec = defineCommandSpec({
  name: "clear",
  help: "Clear temporary credentials from the secure keystore.",
  flags: {},
  args: [{ ...PROFILE_ARG, help: "Name of the profile (default: all sessions)" }],
});

/** `lock`: forget the file vault's passphrase remembered in the kernel keyring (`--file-passphrase-ttl`). */
export const lockSpec = defineCommandSpec({
  name: "lock",
  help: "Forget the file store's passphrase remembered in the kernel keyring (see --file-passphrase-ttl).",
  flags: {},
  args: [],
});

/** `login [PROFILE]`. */
export const loginSpec = defineCommandSpec({
  name: "login",
  help: "Generate a login link for the AWS Console.",
  flags: {
    duration: { ...DURATION_FLAG, help: "Duration of the assume-role or federated session. Defaults to 1h" },
    noSession: NO_SESSION_FLAG,
    autoLogout: {
      name: "auto-logout",
      short: "a",
      kind: "bool",
      env: "AWS_VAULT_AUTO_LOGOUT",
      help: "Auto logout when starting a new login",
    },
    mfaToken: MFA_TOKEN_FLAG,
    path: { name: "path", kind: "string", placeholder: "PATH", help: "The AWS service you would like access" },
    region: REGION_FLAG,
    stdout: {
      name: "stdout",
      short: "s",
      kind: "bool",
      env: "AWS_VAULT_STDOUT",
      help: "Print login URL to stdout instead of opening in default browser",
    },
  },
  args: [{
    name: "profile",
    help:
      "Name of the profile (default: $AWS_PROFILE). If neither is set, the credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are used",
    hint: "profile",
  }],
});

/** `log`: the audit log of credential hand-outs (docs/behaviour.md#log). */
export const logSpec = defineCommandSpec({
  name: "log",
  help: "Show the audit log: every hand-out of credentials (exec, export, credential servers, login).",
  flags: {
    profile: { name: "profile", kind: "string", placeholder: "PROFILE", help: "Only entries of this profile" },
    since: {
      name: "since",
      kind: "string",
      placeholder: "WHEN",
      help: "Only entries since this long ago (24h, 90m) or this time (RFC 3339, 2026-12-01T09:00:00Z)",
    },
    event: {
      name: "event",
      kind: "enum",
      values: AUDIT_EVENTS,
      placeholder: "EVENT",
      help: "Only entries of this event",
    },
    json: { name: "json", kind: "bool", help: "Print the entries as they are stored, one JSON object per line" },
  },
  args: [],
});

/** `proxy` (hidden): the privileged 169.254.169.254:80 forwarder. */
export const proxySpec = defineCommandSpec({
  name: "proxy",
  aliases: ["server"],
  hidden: true,
  help: "Start a proxy for the ec2 instance role server locally.",
  flags: { stop: { name: "stop", kind: "bool", help: "Stop the proxy" } },
  args: [],
});

/** `container-proxy` (hidden): the ECS proxy inside a container network. */
export const containerProxySpec = defineCommandSpec({
  name: "container-proxy",
  hidden: true,
  help: "Serve ECS container credentials inside a container network by forwarding to aws-vault's ECS server.",
  flags: {
    listen: {
      name: "listen",
      kind: "string",
      default: DEFAULT_CONTAINER_PROXY_LISTEN,
      placeholder: "ADDR",
      help: "Address to listen on (host:port)",
    },
    target: {
      name: "target",
      kind: "string",
      env: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
      placeholder: "URL",
      help: "Base URL of the ECS server started by `aws-vault exec --ecs-server`",
    },
    tokenFile: {
      name: "token-file",
      kind: "string",
      placeholder: "FILE",
      help: "File holding the ECS server's Authorization token (default: $AWS_CONTAINER_AUTHORIZATION_TOKEN)",
    },
    checkRunning: { name: "check-running", kind: "bool", help: "Exit 0 if a proxy answers on --listen, else 1" },
  },
  args: [],
});

/** `version`. */
export const versionSpec = defineCommandSpec({ name: "version", help: "Show the version.", flags: {}, args: [] });

/** `sso sync --sso-session NAME`: one profile per SSO account and role (docs/behaviour.md#sso-sync). */
export const ssoSpec = defineCommandSpec({
  name: "sso",
  help:
    "IAM Identity Center. sync: write a profile into the config for every account and role the sso-session's user can reach, in a block of its own that later runs update and prune.",
  flags: {
    ssoSession: {
      name: "sso-session",
      kind: "string",
      required: true,
      placeholder: "NAME",
      hint: "sso-session",
      help: "The [sso-session NAME] section to sign in with and to name in the profiles",
    },
    template: {
      name: "template",
      kind: "string",
      default: "{account_name}/{role_name}",
      placeholder: "TEMPLATE",
      help:
        "Profile names, from {account_name}, {account_id}, {role_name} and {sso_session} (default {account_name}/{role_name})",
    },
    region: {
      name: "region",
      kind: "string",
      placeholder: "REGION",
      help: "The profiles' region (default: the sso-session's sso_region)",
    },
    dryRun: { name: "dry-run", kind: "bool", help: "Show what would change; write nothing" },
    stdout: STDOUT_FLAG,
  },
  args: [{ name: "action", help: "What to do: sync", required: true, values: ["sync"] }],
});
