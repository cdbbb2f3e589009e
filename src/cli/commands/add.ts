/**
 * `add PROFILE`: store an access key in the vault (docs/behaviour.md#add).
 * @module
 */

import { configFilePath } from "../../config/config_file.ts";
import { appendProfileSection, checkProfileSection } from "../../config/config_write.ts";
import { AppError } from "../../core/errors.ts";
import { maskSecret } from "../../core/log.ts";
import { NoTerminalError } from "../../prompt/prompter.ts";
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

const NO_TERMINAL_HINT = "; use --env to take the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/**
 * Whether the MFA device ARN is asked for: only when it can be written, that is when a new section will be added.
 * Otherwise the reason, told the user where the question would have been, before anything is stored.
 */
function mfaQuestion(
  context: CommandContext<typeof addSpec>,
  options: { profile: string; writeConfig: boolean; sectionExists: boolean; hasMfaSerial: boolean },
): { ask: true } | { ask: false; note?: string } {
  const { profile, writeConfig, sectionExists, hasMfaSerial } = options;
  if (writeConfig) return { ask: true };
  if (hasMfaSerial) return { ask: false }; // MFA is already set up for this profile
  const header = profile === "default" ? "[default]" : `[profile ${profile}]`;
  const path = configFilePath(context.env, { log: context.log });
  const why = sectionExists
    ? `add does not change the existing ${header} section of ${path}`
    : `--no-add-config leaves ${path} unchanged`;
  return {
    ask: false,
    note: `Not asking for an MFA device ARN: ${why}. To use MFA, add "mfa_serial = <your MFA device ARN>" to the ` +
      `${header} section yourself.\n`,
  };
}

async function readKeys(
  context: CommandContext<typeof addSpec>,
  mfa: ReturnType<typeof mfaQuestion>,
): Promise<KeyInput> {
  try {
    return await readKeysOrThrow(context, mfa);
  } catch (e) {
    if (!(e instanceof NoTerminalError)) throw e;
    throw new NoTerminalError(`${e.message}${NO_TERMINAL_HINT}`, { cause: e });
  }
}

async function readKeysOrThrow(
  context: CommandContext<typeof addSpec>,
  mfa: ReturnType<typeof mfaQuestion>,
): Promise<KeyInput> {
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
  if (!mfa.ask) {
    if (mfa.note) context.out.stderr(mfa.note);
    return { credentials: { accessKeyId, secretAccessKey } };
  }
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

  const sectionExists = config.hasSection(profile);
  const writeConfig = !sectionExists && context.flags.addConfig;
  const hasMfaSerial = config.profile(profile)?.get("mfa_serial") !== undefined;
  const input = await readKeys(context, mfaQuestion(context, { profile, writeConfig, sectionExists, hasMfaSerial }));
  const entries: [string, string][] = input.mfaSerial ? [["mfa_serial", input.mfaSerial]] : [];
  // What can be checked is checked before anything changes: a name the config cannot hold stores nothing.
  if (writeConfig) checkProfileSection(profile, entries);
  const vault = await openVault(context);
  const credentials = new CredentialKeyring(vault);
  const previous = await credentials.has(profile) ? await credentials.get(profile) : undefined;
  await credentials.set(profile, input.credentials);
  context.log.debug(`Stored credentials ${maskSecret(input.credentials.accessKeyId)} for profile ${profile}`);

  if (writeConfig) {
    const path = configFilePath(context.env, { log: context.log });
    try {
      await appendProfileSection(path, profile, { entries, log: context.log });
    } catch (e) {
      throw await undoStore(e, { credentials, profile, previous });
    }
    context.log.debug(`Added profile ${profile} to ${path}`);
  }
  context.out.stdout(`Added credentials to profile ${JSON.stringify(profile)} in vault\n`);

  // Sessions made from the old key must not outlive it.
  const removed = await new SessionKeyring(vault, { now: context.now, log: context.log }).removeForProfile(profile);
  if (removed > 0) context.out.stdout(`Deleted ${removed} existing sessions.\n`);
  return 0;
}

/**
 * Puts the vault back as it was after a later step of `add` failed: the previous key again, or none. Returns the error
 * to throw, which says what the vault holds now.
 */
async function undoStore(
  error: unknown,
  options: { credentials: CredentialKeyring; profile: string; previous?: Credentials },
): Promise<AppError> {
  const { credentials, profile, previous } = options;
  const reason = error instanceof Error ? error.message : String(error);
  try {
    if (previous) await credentials.set(profile, previous);
    else await credentials.remove(profile);
  } catch (undo) {
    return new AppError(
      `${reason}; the new key for ${JSON.stringify(profile)} is stored but could not be taken back ` +
        `(${undo instanceof Error ? undo.message : undo}): remove it with aws-vault remove ${profile}`,
      { cause: error },
    );
  }
  const kept = previous ? "the key stored before was kept" : "no key was stored";
  return new AppError(`${reason}; ${kept}`, { cause: error });
}
