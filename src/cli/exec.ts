/**
 * `exec PROFILE [-- CMD ARGS…]`: run a command with credentials in its environment (spec §1.5, §4).
 * @module
 */

import { AppError } from "../errors.ts";
import { debug } from "../log.ts";
import { boolFlag, type CommandContext } from "./command.ts";
import { buildChildEnv } from "./child_env.ts";
import { runCommand } from "./exec_process.ts";
import { exportCredentials } from "./export.ts";
import { fetchCredentials, refuseNested } from "./fetch_credentials.ts";
import { requireProfile } from "./profile_arg.ts";
import { hasSsoStartUrl } from "../config/profile_config.ts";

/** The flag combinations aws-vault refuses, in its order and words. */
function validate(context: CommandContext): void {
  const f = (name: string) => boolFlag(context.flags, name);
  const ecs = f("ecs-server") || f("server");
  const checks: [boolean, string][] = [
    [f("ec2-server") && ecs, "Can't use --ec2-server with --ecs-server"],
    [f("ec2-server") && f("json"), "Can't use --ec2-server with --json"],
    [f("ec2-server") && f("no-session"), "Can't use --ec2-server with --no-session"],
    [ecs && f("json"), "Can't use --ecs-server with --json"],
    [ecs && f("no-session"), "Can't use --ecs-server with --no-session"],
    [
      ecs && context.global.prompt === "terminal",
      "Can't use --prompt=terminal with --ecs-server. Specify a different prompt driver",
    ],
    [
      f("ec2-server") && context.global.prompt === "terminal",
      "Can't use --prompt=terminal with --ec2-server. Specify a different prompt driver",
    ],
  ];
  for (const [bad, message] of checks) if (bad) throw new AppError(message);
  if (f("profile-env") && (f("ecs-server") || f("server") || f("ec2-server") || f("json"))) {
    throw new AppError("Can't use --profile-env with --ecs-server, --ec2-server or --json");
  }
}

function defaultShell(context: CommandContext): string {
  return context.env.get("SHELL") || (Deno.build.os === "windows" ? "cmd.exe" : "/bin/sh");
}

/** Runs `exec`. */
export async function run(context: CommandContext): Promise<number> {
  refuseNested(context);
  validate(context);
  if (boolFlag(context.flags, "json")) return await exportCredentials(context, { format: "json" });

  const name = requireProfile(context);
  let command = context.args.cmd as string | undefined;
  const args = [...(context.args.args as readonly string[] | undefined ?? [])];
  // aws-vault shows its notices only to a person starting a subshell; otherwise they go to the debug log.
  const helpVisible = !context.global.debug && command === undefined && Deno.stdout.isTerminal() &&
    context.env.get("AWS_VAULT_DISABLE_HELP_MESSAGE") !== "1";
  const notice = (text: string) => helpVisible ? context.out.stderr(text + "\n") : debug(text);
  if (command === undefined) {
    command = defaultShell(context);
    notice(`Starting subshell ${command}, use \`exit\` to exit the subshell`);
  }

  const server = boolFlag(context.flags, "ec2-server")
    ? "ec2"
    : boolFlag(context.flags, "ecs-server") || boolFlag(context.flags, "server")
    ? "ecs"
    : undefined;
  if (server) {
    // The servers load only in server mode: a plain exec is on the start-up path of every wrapped command.
    const { runServerMode } = await import("./exec_servers.ts");
    return await runServerMode(context, { kind: server, profileName: name, command, args, notice });
  }

  const { profile, credentials, vault } = await fetchCredentials(context, name);
  if (boolFlag(context.flags, "profile-env")) {
    // The credentials were fetched only to fail fast (and to log in to SSO now); the child resolves the profile.
    if (hasSsoStartUrl(profile)) {
      const { syncOidcTokenToStandardCache } = await import("../credentials/sso_cache_sync.ts");
      await syncOidcTokenToStandardCache(profile, { vault, env: context.env });
    }
    const env = buildChildEnv(context.env.toObject(), {
      profile: name,
      region: profile.region,
      endpointUrl: profile.endpointUrl,
      extra: { AWS_PROFILE: name },
    });
    return await runCommand(command, { args, env });
  }
  const env = buildChildEnv(context.env.toObject(), {
    profile: name,
    region: profile.region,
    endpointUrl: profile.endpointUrl,
    credentials,
  });
  debug(`Setting subprocess env: AWS_VAULT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...`);
  return await runCommand(command, { args, env });
}
