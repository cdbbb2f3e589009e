/**
 * `rotate [--no-session] PROFILE`: replace the stored access key with a new one, never leaving the vault without a
 * working key (spec §1.4, §8; the sequence lives in `credentials/rotation.ts`).
 * @module
 */

import { resolveProfile } from "../config/profile.ts";
import { assertProfileExists } from "../config/suggest.ts";
import { rotateAccessKey } from "../credentials/rotation.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import { boolFlag, type Command, type CommandContext } from "./command.ts";
import { profileFlagsOf } from "./fetch_credentials.ts";
import { PROFILE_ARG, requireProfile } from "./profile_arg.ts";
import { loadConfig, openVault } from "./vault_access.ts";

async function run(context: CommandContext): Promise<number> {
  const name = requireProfile(context);
  const config = await loadConfig(context);
  const vault = openVault(context);
  if (!config.hasSection(name)) {
    assertProfileExists(config, name, { storedCredentialNames: await new CredentialKeyring(vault).keys() });
  }
  const profile = resolveProfile(config, name, { flags: profileFlagsOf(context), env: context.env });
  await rotateAccessKey(profile, {
    vault,
    noSession: boolFlag(context.flags, "no-session"),
    env: context.env,
    print: (line) => context.out.stdout(`${line}\n`),
  });
  return 0;
}

/** The `rotate` command. */
export const rotateCommand: Command = {
  spec: {
    name: "rotate",
    help: "Rotate credentials.",
    flags: [{ name: "no-session", short: "n", kind: "bool", help: "Use master credentials, no session or role used" }],
    args: [PROFILE_ARG],
  },
  run,
};
