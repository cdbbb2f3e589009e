/**
 * `lock`: forget the file vault's passphrase remembered in the kernel keyring (docs/behaviour.md#lock), at once rather
 * than when its `--file-passphrase-ttl` runs out. The vault of `--file-dir` (or its default); no passphrase needed.
 * @module
 */

import { expandHome } from "../../vault/file.ts";
import { kernelPassphraseMemory } from "../../vault/keyctl_passphrase.ts";
import type { CommandContext } from "../command.ts";
import type { lockSpec } from "./specs.ts";

/** Runs `lock`: one line either way, exit 0 (nothing remembered is the state the user asked for). */
export async function run(context: CommandContext<typeof lockSpec>): Promise<number> {
  const dir = expandHome(context.global.fileDir, context.env);
  const forgot = await kernelPassphraseMemory({ ttlMs: 0, log: context.log }).forget(dir);
  context.out.stdout(
    forgot
      ? `Forgot the vault passphrase remembered for ${JSON.stringify(dir)}.\n`
      : `No vault passphrase was remembered for ${JSON.stringify(dir)}.\n`,
  );
  return 0;
}
