/**
 * `add PROFILE`: store an access key in the vault (docs/behaviour.md#add).
 * @module
 */

import { configFilePath } from "../../config/config_file.ts";
import { appendProfileSection } from "../../config/config_write.ts";
import { AppError } from "../../core/errors.ts";
import { maskSecret } from "../../core/log.ts";
import { CredentialKeyring } from "../../vault/credential_keyring.ts";
import { SessionKeyring } from "../../vault/session_keyring.ts";
import type { Credentials } from "../../core/credentials.ts";
import type { CommandContext } from "../command.ts";
import type { addSpec } from "./specs.ts";
import { requireProfile } from "../profile_arg.ts";
import { loadConfig, openVault } from "../vault_access.ts";

interface KeyInput {
  readonly credentials: Credentials;
  readonly mfaSerial?: string;
}

async function readKeys(context: CommandContext<typeof addSpec>): Promise<KeyInput> {
  if (context.flags.env) {
    // As in aws-vault, --env values are taken as they are (no trimming).
    const accessKeyId = context.env.get("AWS_ACCESS_KEY_ID");
    if (!accessKeyId) throw new AppError("Missing value for AWS_ACCESS_KEY_ID");
    const secretAccessKey = context.env.get("AWS_SECRET_ACCESS_KEY");
    if (!secretAccessKey) throw new AppError("Missing value for AWS_SECRET_ACCESS_KEY");
    return { credentials: { accessKeyId, secretAccessKey } };
  }
  const accessKeyId = (await context.prompter.visible("Enter Access Key ID: ", { what: "access key ID" })).trim();
  if (accessKeyId === "") throw new AppError("no Access Key ID entered; nothing was stored");
  const secretAccessKey = (await context.prompter.secret("Enter Secret Access Key: ", { what: "secret access key" }))
    .trim();
  if (secretAccessKey === "") throw new AppError("no Secret Access Key entered; nothing was stored");
  const mfaSerial =
    (await context.prompter.visible("Enter MFA Device ARN (If MFA is not enabled, leave this blank): ", {
      what: "MFA device ARN",
    })).trim();
  return { credentials: { accessKeyId, secretAccessKey }, mfaSerial: mfaSerial || undefined };
}

/** Runs `add`. */
export async function run(context: CommandContext<typeof addSpec>): Promise<number> {
  const profile = requireProfile(context.args.profile, context.env);
  const config = await loadConfig(context);
  const sourceProfile = config.profile(profile)?.get("source_profile")?.value;
  if (sourceProfile && sourceProfile !== profile) {
    throw new AppError(
      `Your profile has a source_profile of ${sourceProfile}, adding credentials to ${profile} won't have any effect`,
    );
  }

  const input = await readKeys(context);
  const vault = await openVault(context);
  await new CredentialKeyring(vault).set(profile, input.credentials);
  context.log.debug(`Stored credentials ${maskSecret(input.credentials.accessKeyId)} for profile ${profile}`);
  context.out.stdout(`Added credentials to profile ${JSON.stringify(profile)} in vault\n`);

  // Sessions made from the old key must not outlive it.
  const removed = await new SessionKeyring(vault, { now: context.now, log: context.log }).removeForProfile(profile);
  if (removed > 0) context.out.stdout(`Deleted ${removed} existing sessions.\n`);

  if (!config.hasSection(profile) && context.flags.addConfig) {
    const entries: [string, string][] = input.mfaSerial ? [["mfa_serial", input.mfaSerial]] : [];
    const path = configFilePath(context.env, { log: context.log });
    await appendProfileSection(path, profile, { entries, log: context.log });
    context.log.debug(`Added profile ${profile} to ${path}`);
  }
  return 0;
}
