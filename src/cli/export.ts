/**
 * `export PROFILE`: print credentials as env lines, JSON (the `credential_process` format) or INI (spec §1.6).
 * @module
 */

import type { Command, CommandContext } from "./command.ts";
import { EXPORT_FORMATS, type ExportFormat, formatCredentials } from "./credentials_output.ts";
import { DURATION_FLAG, MFA_TOKEN_FLAG, NO_SESSION_FLAG, REGION_FLAG, STDOUT_FLAG } from "./duration_flags.ts";
import { fetchCredentials, NO_CACHE_FLAG, refuseNested } from "./fetch_credentials.ts";
import { PROFILE_ARG, requireProfile } from "./profile_arg.ts";

/** Prints `name`'s credentials in `format`; shared with the deprecated `exec --json`. */
export async function exportCredentials(context: CommandContext, options: { format: ExportFormat }): Promise<number> {
  refuseNested(context);
  const name = requireProfile(context);
  const { profile, credentials } = await fetchCredentials(context, name);
  context.out.stdout(formatCredentials(credentials, { format: options.format, profile: name, region: profile.region }));
  return 0;
}

/** The `export` command. */
export const exportCommand: Command = {
  spec: {
    name: "export",
    help: "Export AWS credentials.",
    flags: [
      DURATION_FLAG,
      NO_SESSION_FLAG,
      NO_CACHE_FLAG,
      REGION_FLAG,
      MFA_TOKEN_FLAG,
      {
        name: "format",
        kind: "enum",
        values: EXPORT_FORMATS,
        default: "env",
        placeholder: "FORMAT",
        help: "Format to output credentials",
      },
      STDOUT_FLAG,
    ],
    args: [PROFILE_ARG],
  },
  run: (context) => exportCredentials(context, { format: context.flags.format as ExportFormat }),
};
