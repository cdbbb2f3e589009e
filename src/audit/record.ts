/**
 * The one call each hand-out makes (docs/behaviour.md#audit-log): `exec`, `export` and `login` record their single
 * hand-out with {@link recordHandout}; the server modes keep one {@link AuditLog} for the run and record each response
 * that carries credentials not served before ({@link serverAuditor}).
 * @module
 */

import type { AwsConfigFile } from "../config/config_file.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import type { Credentials } from "../core/credentials.ts";
import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import type { CredentialsProvider } from "../credentials/provider.ts";
import { type AuditEntry, AuditLog } from "./audit_log.ts";
import { handoutFacts } from "./handout.ts";

/** What recording needs from a command's services (the CLI's `Services` fits). */
export interface AuditServices {
  readonly env: Env;
  readonly out: { stderr(text: string): void };
  readonly now: () => Date;
  readonly log: Logger;
}

/** The audit log of a command run: the config's `[aws-vault]` section and the environment decide whether it is on. */
export function auditLogOf(services: AuditServices, config: AwsConfigFile | undefined): AuditLog {
  return new AuditLog({
    env: services.env,
    configValue: config?.awsVaultSettings().get("audit")?.value,
    warn: (text) => services.out.stderr(text),
    now: services.now,
    log: services.log,
  });
}

/**
 * Records one hand-out and resolves once it is written or given up on (exec replaces itself right after, so it must
 * be written first). Never rejects.
 * @param entry describes the hand-out; called only when the log is on, so a run with it off pays nothing for the
 * description (the parent's `/proc/<ppid>/cmdline` on export's credential_process path)
 * @param options.config the config file, whose `[aws-vault]` section may turn the log off
 */
export function recordHandout(
  services: AuditServices,
  entry: () => AuditEntry,
  options: { config: AwsConfigFile | undefined },
): Promise<void> {
  const audit = auditLogOf(services, options.config);
  return audit.enabled ? audit.record(entry()) : Promise.resolve();
}

/** One credentials answer of a server, as the server reports it. */
export interface ServedCredentials {
  /** The credentials in the answer. */
  readonly credentials: Credentials;
  /** The peer, `address:port`. */
  readonly peer: string;
  /** The peer's `X-Forwarded-For` header (the EC2 proxy's clients), if any. */
  readonly forwardedFor?: string;
  /** The path asked for. */
  readonly path: string;
  /** The ECS server's `/role-arn/<ARN>`, decoded. */
  readonly roleArn?: string;
}

/**
 * The hook a credential server calls for each credentials answer: it records the first answer that carries each set
 * of credentials (by access key ID and role), not every request for the same ones, so an SDK polling every few
 * seconds adds a line only when the credentials change.
 * @param options.provider the server's base chain, asked where its credentials came from; a `/role-arn/` answer is
 * always a new AssumeRole (the ECS server keeps those sessions in memory only)
 */
export function serverAuditor(
  audit: AuditLog,
  options: {
    event: "ecs-server" | "ec2-server";
    profileName: string;
    profile: ProfileConfig;
    provider: CredentialsProvider;
    command: string;
  },
): ((served: ServedCredentials) => void) | undefined {
  if (!audit.enabled) return undefined;
  const seen = new Set<string>();
  return (served) => {
    const key = `${served.roleArn ?? ""}\n${served.credentials.accessKeyId}`;
    if (seen.has(key)) return;
    seen.add(key);
    const facts = handoutFacts(options.profile, options.provider, {
      credentials: served.credentials,
      roleArn: served.roleArn,
    });
    // Fire and forget: the answer is not held up by the disk; a failure is the run's one warning.
    audit.record({
      event: options.event,
      profile: options.profileName,
      ...facts,
      ...(served.roleArn ? { source: "sts.AssumeRole", cached: false } : {}),
      path: served.path,
      requester: { peer: served.peer, ...(served.forwardedFor ? { forwardedFor: served.forwardedFor } : {}) },
      command: options.command,
    });
  };
}
