/**
 * A test app with aws-vault's real commands and flags (spec §1), for the parser and completion tests.
 * @module
 */

import type { AppSpec, FlagSpec } from "../../src/cli/parser.ts";
import { globalFlags } from "../../src/cli/global.ts";

/** Profile names the completion hint returns. */
export const FIXTURE_PROFILES = ["default", "dev", "prod-admin"];

const duration = (help: string): FlagSpec => ({
  name: "duration",
  short: "d",
  kind: "duration",
  help,
  env: "AWS_VAULT_DURATION",
  placeholder: "DURATION",
});
const noSession = (help: string): FlagSpec => ({ name: "no-session", short: "n", kind: "bool", help });
const region: FlagSpec = { name: "region", kind: "string", help: "The AWS region" };
const mfaToken: FlagSpec = { name: "mfa-token", short: "t", kind: "string", help: "The MFA token to use" };
const stdout: FlagSpec = {
  name: "stdout",
  kind: "bool",
  help: "Print the SSO link to the terminal without automatically opening the browser",
  env: "AWS_VAULT_STDOUT",
};
const profile = { name: "profile", help: "Name of the profile", required: true, hint: "profile" } as const;
const optionalProfile = { ...profile, required: false } as const;

/** The fixture app. */
export const FIXTURE_APP: AppSpec = {
  name: "aws-vault",
  help: "A vault for securely storing and accessing AWS credentials in development environments.",
  version: "v7.9.9-test",
  // --backend made an enum here (the real one is a string checked by the vault layer) so the parser's env-sourced
  // enum errors stay covered.
  flags: globalFlags({
    backends: ["secret-service", "pass", "file"],
    defaultBackend: "secret-service",
    prompts: ["terminal", "ykman"],
  }).map((f) => f.name === "backend" ? { ...f, kind: "enum" as const } : f),
  commands: [
    {
      name: "add",
      help: "Add credentials to the secure keystore.",
      flags: [
        { name: "env", kind: "bool", help: "Read the credentials from the environment (AWS_ACCESS_KEY_ID and …)" },
        {
          name: "add-config",
          kind: "bool",
          default: true,
          help: "Add a profile to ~/.aws/config if one doesn't exist",
        },
      ],
      args: [{ name: "profile", help: "Name of the profile", required: true }],
    },
    {
      name: "remove",
      aliases: ["rm"],
      help: "Remove credentials from the secure keystore.",
      flags: [
        { name: "force", short: "f", kind: "bool", help: "Force-remove the profile without a prompt" },
        {
          name: "sessions-only",
          short: "s",
          kind: "bool",
          hidden: true,
          help: "Only remove sessions, leave credentials",
        },
      ],
      args: [profile],
    },
    {
      name: "migrate-backend",
      help: "Migrate stored credentials between keyring backends.",
      flags: [
        { name: "from", kind: "enum", values: ["secret-service", "pass", "file"], required: true, help: "Source" },
        { name: "to", kind: "enum", values: ["secret-service", "pass", "file"], required: true, help: "Destination" },
        { name: "profile", kind: "string", help: "Migrate only this credential" },
        { name: "dry-run", kind: "bool", help: "List what would migrate" },
      ],
      args: [],
    },
    {
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
    {
      name: "rotate",
      help: "Rotate credentials.",
      flags: [noSession("Use master credentials, no session or role used")],
      args: [profile],
    },
    {
      name: "exec",
      help: "Execute a command with AWS credentials.",
      flags: [
        duration("Duration of the temporary or assume-role session. Defaults to 1h"),
        noSession("Skip creating STS session with GetSessionToken"),
        region,
        mfaToken,
        { name: "json", short: "j", kind: "bool", hidden: true, help: "Output credentials in JSON" },
        { name: "server", short: "s", kind: "bool", help: "Alias for --ecs-server" },
        { name: "ec2-server", kind: "bool", help: "Run a EC2 metadata server in the background for credentials" },
        { name: "ecs-server", kind: "bool", help: "Run a ECS credential server in the background for credentials" },
        { name: "lazy", kind: "bool", help: "When using --ecs-server, lazily fetch credentials" },
        stdout,
      ],
      args: [
        profile,
        { name: "cmd", help: "Command to execute, defaults to $SHELL", hint: "command" },
        { name: "args", help: "Command arguments", repeated: true },
      ],
    },
    {
      name: "export",
      help: "Export AWS credentials.",
      flags: [
        duration("Duration of the temporary or assume-role session. Defaults to 1h"),
        noSession("Skip creating STS session with GetSessionToken"),
        region,
        mfaToken,
        {
          name: "format",
          kind: "enum",
          values: ["env", "export-env", "json", "ini"],
          default: "env",
          help: "Format to output credentials",
        },
        stdout,
      ],
      args: [profile],
    },
    {
      name: "clear",
      help: "Clear temporary credentials from the secure keystore.",
      flags: [],
      args: [optionalProfile],
    },
    {
      name: "login",
      help: "Generate a login link for the AWS Console.",
      flags: [
        duration("Duration of the assume-role or federated session. Defaults to 1h"),
        noSession("Skip creating STS session with GetSessionToken"),
        mfaToken,
        { name: "path", kind: "string", help: "The AWS service you would like access" },
        region,
        { ...stdout, short: "s", help: "Print login URL to stdout instead of opening in default browser" },
      ],
      args: [{
        ...optionalProfile,
        help: "Name of the profile. If none given, credentials will be sourced from env vars",
      }],
    },
    {
      name: "proxy",
      aliases: ["server"],
      hidden: true,
      help: "Start a proxy for the ec2 instance role server locally.",
      flags: [{ name: "stop", kind: "bool", help: "Stop the proxy" }],
      args: [],
    },
    { name: "version", help: "Show the version.", flags: [], args: [] },
  ],
};
