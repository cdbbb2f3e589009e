/**
 * The server modes of `exec` (docs/behaviour.md#exec-sequence step 6, #credential-servers): the command runs as a child
 * while a local server hands out credentials that refresh — the ECS server on a random loopback port with a token, or
 * the EC2 metadata server on 127.0.0.1:9099 behind the privileged 169.254.169.254 proxy.
 * @module
 */

import { auditLogOf, type ServedCredentials, serverAuditor } from "../../audit/record.ts";
import { baseName } from "../../audit/handout.ts";
import type { ProfileConfig } from "../../config/profile_config.ts";
import { minTtlFromEnv } from "../../config/profile.ts";
import { AssumeRoleProvider } from "../../credentials/assume_role_provider.ts";
import { type CredentialsProvider } from "../../credentials/provider.ts";
import { CredentialsError } from "../../core/errors.ts";
import { mfaPromptDriver } from "../../credentials/mfa.ts";
import { choosePromptDriver } from "../../prompt/drivers.ts";
import { AppError } from "../../core/errors.ts";
import { startEc2Server } from "../../server/ec2_server.ts";
import { isProxyRunning, selfCommand, startProxyProcess, stopProxy } from "../../server/ec2_proxy.ts";
import { startEcsServer } from "../../server/ecs_server.ts";
import { buildChildEnv, withoutSecrets } from "../../os/child_env.ts";
import { resolveCommand, runSubprocess } from "../../os/exec_process.ts";
import { resolveChain } from "../../credentials/profile_credentials.ts";
import type { SessionPolicy } from "../../credentials/session_policy.ts";
import { profileFlagsOf } from "../credential_options.ts";
import { openCredentialSource } from "../vault_access.ts";
import type { CommandContext } from "../command.ts";
import type { execSpec } from "./specs.ts";

type ExecContext = CommandContext<typeof execSpec>;

/** What a server mode needs from `exec`, resolved. */
interface ServerModeOptions {
  readonly profileName: string;
  readonly profile: ProfileConfig;
  readonly provider: CredentialsProvider;
  /** What `/role-arn/` roles are assumed from, and the session policy they carry (docs/behaviour.md#session-policies). */
  readonly roles: { readonly source: CredentialsProvider; readonly sessionPolicy?: SessionPolicy };
  /** The resolved command to run (absolute path) and its arguments. */
  readonly path: string;
  readonly args: readonly string[];
  /** Notices for the terminal (already filtered by the help-message rules). */
  readonly notice: (text: string) => void;
  /** Called just before the command starts (from then on the terminal is the command's). */
  readonly onChildStart: () => void;
  /** Records credentials answers in the audit log; undefined when it is off. */
  readonly onServe?: (served: ServedCredentials) => void;
}

/**
 * `/role-arn/<ARN>`: AssumeRole from the profile's credentials with only the ARN, the default session name and
 * the profile's role duration, as aws-vault does (no MFA, external id or tags). **Here** a session policy narrows these
 * too: it narrows whatever the server hands out.
 */
function roleProviderFor(options: ServerModeOptions, context: ExecContext) {
  return (roleArn: string): CredentialsProvider =>
    new AssumeRoleProvider(
      {
        ...options.profile,
        roleArn,
        mfaSerial: undefined,
        externalId: undefined,
        sessionTags: undefined,
        transitiveSessionTags: undefined,
        sourceIdentity: undefined,
        roleSessionName: undefined,
      },
      options.roles.source,
      { env: context.env, now: context.now, log: context.log, sessionPolicy: options.roles.sessionPolicy },
    );
}

/** Runs the command beside an ECS credential server; the server stops when the command exits. */
async function runWithEcsServer(context: ExecContext, options: ServerModeOptions): Promise<number> {
  const bind = context.flags.ecsServerBind;
  const server = await startEcsServer({
    now: context.now,
    provider: options.provider,
    roleProvider: roleProviderFor(options, context),
    lazy: context.flags.lazy,
    minTtl: minTtlFromEnv(context.env),
    // A bind address on the command line is the user's explicit choice to serve beyond loopback (containers);
    // the token is still required and the Host header must name that address.
    hostname: bind || undefined,
    allowNonLoopback: Boolean(bind),
    log: context.log,
    onServe: options.onServe,
  });
  try {
    options.notice(
      "Starting a local ECS credential server; your app's AWS sdk must support AWS_CONTAINER_CREDENTIALS_FULL_URI.",
    );
    const env = buildChildEnv(context.env.toObject(), {
      profile: options.profileName,
      region: options.profile.region,
      endpointUrl: options.profile.endpointUrl,
      extra: { AWS_CONTAINER_CREDENTIALS_FULL_URI: server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: server.token },
    });
    options.onChildStart();
    return await runSubprocess(options.path, { args: options.args, env, log: context.log, stop: server.failed });
  } finally {
    await server.close();
  }
}

/** Runs the command beside the EC2 metadata server and its 169.254.169.254 proxy. */
async function runWithEc2Server(context: ExecContext, options: ServerModeOptions): Promise<number> {
  if (await isProxyRunning()) throw new AppError("Another process is already bound to 169.254.169.254:80");
  options.notice(
    "Warning: Starting a local EC2 credential server on 169.254.169.254:80; AWS credentials will be accessible to " +
      "any process while it is running",
  );
  const server = await startEc2Server({
    now: context.now,
    provider: options.provider,
    region: options.profile.region,
    minTtl: minTtlFromEnv(context.env),
    allowImdsV1: context.flags.ec2Imdsv1,
    log: context.log,
    onServe: options.onServe,
  });
  try {
    await startProxyProcess(selfCommand(), { log: context.log, env: withoutSecrets(context.env.toObject()) });
    try {
      const env = buildChildEnv(context.env.toObject(), {
        profile: options.profileName,
        region: options.profile.region,
        endpointUrl: options.profile.endpointUrl,
      });
      options.onChildStart();
      return await runSubprocess(options.path, { args: options.args, env, log: context.log, stop: server.failed });
    } finally {
      await stopProxy();
    }
  } finally {
    await server.close();
  }
}

/**
 * Runs `command` in a server mode: resolves the profile's chain (credentials are fetched by the server, at start or
 * on the first request with `--lazy`) and hands the command to the chosen server mode.
 * @throws AppError when the command cannot be found
 */
export async function runServerMode(
  context: ExecContext,
  options: {
    kind: "ecs" | "ec2";
    profileName: string;
    command: string;
    args: readonly string[];
    notice: (text: string) => void;
  },
): Promise<number> {
  const name = options.profileName;
  const path = resolveCommand(options.command, { path: context.env.get("PATH") });
  // Once the command runs, the terminal is the command's: a refresh that needs MFA must not prompt there.
  let childRunning = false;
  // Server modes prefer a GUI driver or ykman when one is installed (aws-vault's PromptDriver(avoidTerminal=true)).
  const chosen = choosePromptDriver({
    requested: context.global.prompt,
    avoidTerminal: true,
    path: context.env.get("PATH"),
    log: context.log,
  });
  const driver = mfaPromptDriver(chosen, name, { env: context.env, log: context.log, prompter: context.prompter });
  const usesTerminal = chosen === "terminal";
  const prompt = (serial: string) => {
    if (childRunning && usesTerminal) {
      throw new CredentialsError(
        name,
        `an MFA code for ${serial} is needed while the credential server runs, and the terminal belongs to the ` +
          "command: set mfa_process in the profile, or use a GUI --prompt driver",
      );
    }
    return driver(serial);
  };
  const source = await openCredentialSource(context);
  const { profile, provider, roleSource, sessionPolicy } = await resolveChain(source, name, {
    flags: profileFlagsOf(context.flags, context.global),
    noSession: context.flags.noSession,
    noCache: context.flags.noCache,
    sessionPolicy: true,
    mfa: { prompt },
    server: true,
    log: context.log,
    now: context.now,
  });
  // Each answer with credentials not served before is a hand-out (docs/behaviour.md#audit-log).
  const audit = auditLogOf(context, source.config);
  const onServe = serverAuditor(audit, {
    event: options.kind === "ecs" ? "ecs-server" : "ec2-server",
    profileName: name,
    profile,
    provider,
    command: baseName(options.command),
  });
  const mode: ServerModeOptions = {
    profileName: name,
    profile,
    provider,
    roles: { source: roleSource, sessionPolicy },
    path,
    args: options.args,
    notice: options.notice,
    onChildStart: () => childRunning = true,
    onServe,
  };
  try {
    return options.kind === "ecs" ? await runWithEcsServer(context, mode) : await runWithEc2Server(context, mode);
  } finally {
    await audit.flushed();
  }
}
