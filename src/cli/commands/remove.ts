/**
 * `remove PROFILE` (alias `rm`): delete stored credentials (docs/behaviour.md#remove).
 * @module
 */

import { didYouMean } from "../../config/suggest.ts";
import { VaultError } from "../../core/errors.ts";
import { NoTerminalError } from "../../prompt/prompter.ts";
import { CredentialKeyring } from "../../vault/credential_keyring.ts";
import { SessionKeyring } from "../../vault/session_keyring.ts";
import type { CommandContext } from "../command.ts";
import type { removeSpec } from "./specs.ts";
import { requireProfile } from "../profile_arg.ts";
import { openVault } from "../vault_access.ts";

/** Runs `remove`. */
export async function run(context: CommandContext<typeof removeSpec>): Promise<number> {
  const profile = requireProfile(context.args.profile, context.env);
  const vault = await openVault(context);
  const sessions = new SessionKeyring(vault, { now: context.now, log: context.log });

  if (context.flags.sessionsOnly) {
    const n = await sessions.removeForProfile(profile);
    context.out.stdout(`Deleted ${n} sessions.\n`);
    return 0;
  }

  const credentials = new CredentialKeyring(vault);
  const stored = await credentials.keys();
  if (!stored.includes(profile)) {
    // Checked before asking, so nobody confirms a deletion that cannot happen.
    const hint = didYouMean(profile, stored);
    throw new VaultError(
      `no credentials stored for profile ${JSON.stringify(profile)} in the ${vault.backend} vault${hint}`,
    );
  }
  if (!context.flags.force) {
    let yes: boolean;
    try {
      yes = await context.prompter.confirm(`Delete credentials for profile ${JSON.stringify(profile)}? (y|N) `);
    } catch (e) {
      if (!(e instanceof NoTerminalError)) throw e;
      throw new NoTerminalError(`${e.message}; use -f (--force) to delete without asking`, { cause: e });
    }
    if (!yes) return 0;
  }
  await credentials.remove(profile);
  context.out.stdout("Deleted credentials.\n");
  // Sessions made from the deleted key would otherwise keep working until they expire.
  const n = await sessions.removeForProfile(profile);
  if (n > 0) context.out.stdout(`Deleted ${n} sessions.\n`);
  return 0;
}
