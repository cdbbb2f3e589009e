/**
 * `exec PROFILE [-- CMD ARGS…]`: run a command with credentials in its environment (docs/behaviour.md#exec).
 * @module
 */

import { baseName, handoutFacts } from "../../audit/handout.ts";
import { recordHandout } from "../../audit/record.ts";
import { hasSsoStartUrl } from "../../config/profile_config.ts";
import { AppError } from "../../core/errors.ts";
import { fetchCredentials } from "../../credentials/profile_credentials.ts";
import { buildChildEnv } from "../../os/child_env.ts";
import { runCommand } from "../../os/exec_process.ts";
import type { CommandContext } from "../command.ts";
import { mfaOptionsOf, profileFlagsOf, refuseNested } from "../credential_options.ts";
import { requireProfile } from "../profile_arg.ts";
import { openCredentialSource } from "../vault_access.ts";
import { exportCredentials } from "./export.ts";
import type { execSpec } from "./specs.ts";

/** The context `exec` and its server modes run in. */
export type ExecContext = CommandContext<typeof execSpec>;

/** The flag combinations aws-vault refuses, in its order and words. */
function validate(context: ExecContext): void {
  const f = context.flags;
  const ecs = f.ecsServer || f.server;
  const checks: [boolean, string][] = [
    [f.ec2Server && ecs, "Can't use --ec2-server with --ecs-server"],
    [f.ec2Server && f.json, "Can't use --ec2-server with --json"],
    [f.ec2Server && f.noSession, "Can't use --ec2-server with --no-session"],
    [ecs && f.json, "Can't use --ecs-server with --json"],
    [ecs && f.noSession, "Can't use --ecs-server with --no-session"],
    [
      ecs && context.global.prompt === "terminal",
      "Can't use --prompt=terminal with --ecs-server. Specify a different prompt driver",
    ],
    [
      f.ec2Server && context.global.prompt === "terminal",
      "Can't use --prompt=terminal with --ec2-server. Specify a different prompt driver",
    ],
  ];
  for (const [bad, message] of checks) if (bad) throw new AppError(message);
  if (f.profileEnv && (ecs || f.ec2Server || f.json)) {
    throw new AppError("Can't use --profile-env with --ecs-server, --ec2-server or --json");
  }
}

/**
 * The shell `exec` starts without a command: `$SHELL` (Git Bash and MSYS set it on Windows), else on Windows
 * `%COMSPEC%`, the full path of the system's cmd.exe (aws-vault looks `cmd.exe` up on PATH, where a folder earlier in
 * PATH could hold another), else `/bin/sh`.
 */
function defaultShell(context: ExecContext): string {
  const shell = context.env.get("SHELL");
  if (shell) return shell;
  if (Deno.build.os === "windows") return context.env.get("COMSPEC") || "cmd.exe";
  return "/bin/sh";
}

/** Runs `exec`. */
export async function run(context: ExecContext): Promise<number> {
  refuseNested(context.env);
  validate(context);
  const { flags, args } = context;
  if (flags.json) return await exportCredentials(context, { profile: args.profile, flags, format: "json" });

  const name = requireProfile(args.profile, context.env);
  let command = args.cmd;
  // aws-vault shows its notices only to a person starting a subshell; otherwise they go to the debug log.
  const helpVisible = !context.global.debug && command === undefined && context.terminal.stdout &&
    context.env.get("AWS_VAULT_DISABLE_HELP_MESSAGE") !== "1";
  const notice = (text: string) => helpVisible ? context.out.stderr(text + "\n") : context.log.debug(text);
  if (command === undefined) {
    command = defaultShell(context);
    notice(`Starting subshell ${command}, use \`exit\` to exit the subshell`);
  }

  const server = flags.ec2Server ? "ec2" : flags.ecsServer || flags.server ? "ecs" : undefined;
  if (server) {
    // The servers load only in server mode: a plain exec is on the start-up path of every wrapped command.
    const { runServerMode } = await import("./exec_servers.ts");
    return await runServerMode(context, { kind: server, profileName: name, command, args: args.args, notice });
  }

  const source = await openCredentialSource(context);
  const { profile, credentials, provider } = await fetchCredentials(source, name, {
    flags: profileFlagsOf(flags, context.global),
    noSession: flags.noSession,
    noCache: flags.noCache,
    sessionPolicy: true,
    mfa: mfaOptionsOf(context),
    log: context.log,
    now: context.now,
  });
  // Before the command replaces this process, which keeps its pid (execve): docs/behaviour.md#audit-log.
  await recordHandout(context, () => ({
    event: "exec",
    profile: name,
    ...handoutFacts(profile, provider, { credentials }),
    ...(flags.profileEnv ? { mode: "profile-env" } : {}),
    requester: { pid: Deno.pid, command: baseName(command) },
  }), { config: source.config });
  if (flags.profileEnv) {
    // The credentials were fetched only to fail fast (and to log in to SSO now); the child resolves the profile.
    if (hasSsoStartUrl(profile)) {
      const { syncOidcTokenToStandardCache } = await import("../../credentials/sso_cache_sync.ts");
      await syncOidcTokenToStandardCache(profile, {
        vault: source.vault,
        env: context.env,
        now: context.now,
        log: context.log,
      });
    }
    const env = buildChildEnv(context.env.toObject(), {
      profile: name,
      region: profile.region,
      endpointUrl: profile.endpointUrl,
      extra: { AWS_PROFILE: name },
    });
    return await runCommand(command, { args: args.args, env, log: context.log });
  }
  const env = buildChildEnv(context.env.toObject(), {
    profile: name,
    region: profile.region,
    endpointUrl: profile.endpointUrl,
    credentials,
  });
  context.log.debug(`Setting subprocess env: AWS_VAULT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...`);
  return await runCommand(command, { args: args.args, env, log: context.log });
}
