/**
 * `export PROFILE`: print credentials as env lines, JSON (the `credential_process` format) or INI (spec §1.6).
 * @module
 */

import type { CommandContext } from "./command.ts";
import { formatCredentials } from "./credentials_output.ts";
import { fetchCredentials, refuseNested } from "./fetch_credentials.ts";
import type { ExportFormat } from "./flags.ts";
import { requireProfile } from "./profile_arg.ts";

/** Prints `name`'s credentials in `format`; shared with the deprecated `exec --json`. */
export async function exportCredentials(context: CommandContext, options: { format: ExportFormat }): Promise<number> {
  refuseNested(context);
  const name = requireProfile(context);
  const { profile, credentials } = await fetchCredentials(context, name);
  context.out.stdout(formatCredentials(credentials, { format: options.format, profile: name, region: profile.region }));
  return 0;
}

/** Runs `export`. */
export function run(context: CommandContext): Promise<number> {
  return exportCredentials(context, { format: context.flags.format as ExportFormat });
}
