/**
 * `rotate [--no-session] PROFILE`: replace the stored access key with a new one, never leaving the vault without a
 * working key (docs/behaviour.md#rotate; the sequence lives in `credentials/rotation.ts`).
 * @module
 */

import { rotateAccessKey } from "../../credentials/rotation.ts";
import { loadProfile } from "../../credentials/profile_credentials.ts";
import type { CommandContext } from "../command.ts";
import { mfaOptionsOf } from "../credential_options.ts";
import { openCredentialSource } from "../vault_access.ts";
import type { rotateSpec } from "./specs.ts";
import { requireProfile } from "../profile_arg.ts";

/** Runs `rotate`. */
export async function run(context: CommandContext<typeof rotateSpec>): Promise<number> {
  const name = requireProfile(context.args.profile, context.env);
  const source = await openCredentialSource(context);
  const profile = await loadProfile(source, name, { log: context.log });
  await rotateAccessKey(profile, {
    vault: source.vault,
    noSession: context.flags.noSession,
    mfa: mfaOptionsOf(context),
    env: context.env,
    print: (line) => context.out.stdout(`${line}\n`),
    now: context.now,
    log: context.log,
  });
  return 0;
}
