/**
 * `rotate [--no-session] PROFILE`: replace the stored access key with a new one, never leaving the vault without a
 * working key (spec §1.4, §8; the sequence lives in `credentials/rotation.ts`).
 * @module
 */

import { rotateAccessKey } from "../credentials/rotation.ts";
import { boolFlag, type CommandContext } from "./command.ts";
import { loadProfile } from "./fetch_credentials.ts";
import { requireProfile } from "./profile_arg.ts";

/** Runs `rotate`. */
export async function run(context: CommandContext): Promise<number> {
  const name = requireProfile(context);
  const { profile, vault } = await loadProfile(context, name);
  await rotateAccessKey(profile, {
    vault,
    noSession: boolFlag(context.flags, "no-session"),
    env: context.env,
    print: (line) => context.out.stdout(`${line}\n`),
  });
  return 0;
}
