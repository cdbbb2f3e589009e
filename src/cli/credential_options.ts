/**
 * The command-line side of fetching credentials, shared by `exec`, `export` and `login`: the profile settings their
 * flags carry, and the refusal to nest inside another aws-vault session.
 * @module
 */

import type { ProfileFlags } from "../config/profile_config.ts";
import type { Env } from "../core/env.ts";
import { AppError } from "../core/errors.ts";
import type { MfaOptions } from "../credentials/mfa.ts";
import type { Services } from "./command.ts";
import type { GlobalOptions } from "./global.ts";

/** The flag values {@link profileFlagsOf} reads (the credential flag group, and `--stdout`). */
export interface CredentialFlagValues {
  readonly region?: string;
  readonly mfaToken?: string;
  /** Milliseconds. */
  readonly duration?: number;
  readonly stdout?: boolean;
  /** `--policy`: a session policy file. */
  readonly policy?: string;
  /** `--policy-arn`, each time it was given. */
  readonly policyArns?: readonly string[];
}

/** The profile settings given on the command line. */
export function profileFlagsOf(flags: CredentialFlagValues, global: GlobalOptions): ProfileFlags {
  return {
    region: flags.region || undefined,
    mfaToken: flags.mfaToken || undefined,
    mfaPromptMethod: global.prompt,
    duration: flags.duration !== undefined && flags.duration > 0 ? flags.duration : undefined,
    // A session policy on an IAM user's own keys turns GetSessionToken into GetFederationToken: same length.
    federationDuration: flags.duration !== undefined && flags.duration > 0 ? flags.duration : undefined,
    ssoUseStdout: flags.stdout ?? false,
    policyFile: flags.policy || undefined,
    policyArns: flags.policyArns?.length ? flags.policyArns : undefined,
  };
}

/**
 * How MFA codes are asked for when a command runs in the foreground: as aws-vault, a dialog or ykman is preferred over
 * the terminal when stdout is captured (`$(aws-vault export …)`, credential_process).
 */
export function mfaOptionsOf(services: Services): MfaOptions {
  return { avoidTerminal: !services.terminal.stdout, prompter: services.prompter };
}

/**
 * Refuses to run inside an `aws-vault exec` subshell, as aws-vault does (docs/behaviour.md#exec).
 * @throws AppError when `AWS_VAULT` is set
 */
export function refuseNested(env: Env): void {
  if (env.get("AWS_VAULT")) {
    throw new AppError(
      "running in an existing aws-vault subshell; 'exit' from the subshell or unset AWS_VAULT to force",
    );
  }
}
