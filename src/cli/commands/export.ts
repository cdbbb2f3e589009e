/**
 * `export PROFILE`: print credentials as env lines, JSON (the `credential_process` format) or INI
 * (docs/behaviour.md#export).
 * @module
 */

import { handoutFacts } from "../../audit/handout.ts";
import { parentProcess } from "../../audit/process_info.ts";
import { recordHandout } from "../../audit/record.ts";
import { fetchCredentials } from "../../credentials/profile_credentials.ts";
import type { Services } from "../command.ts";
import type { CommandContext } from "../command.ts";
import { type CredentialFlagValues, mfaOptionsOf, profileFlagsOf, refuseNested } from "../credential_options.ts";
import { type ExportFormat, formatCredentials } from "../credentials_output.ts";
import { requireProfile } from "../profile_arg.ts";
import { openCredentialSource } from "../vault_access.ts";
import type { exportSpec } from "./specs.ts";

/** What {@link exportCredentials} reads from a command line: export's, or exec's for the deprecated `exec --json`. */
export interface ExportRequest {
  readonly profile: string | undefined;
  readonly flags: CredentialFlagValues & { readonly noSession: boolean; readonly noCache: boolean };
  readonly format: ExportFormat;
}

/** Prints the profile's credentials in the requested format. */
export async function exportCredentials(services: Services, request: ExportRequest): Promise<number> {
  refuseNested(services.env);
  const name = requireProfile(request.profile, services.env);
  const source = await openCredentialSource(services);
  const { profile, credentials, provider } = await fetchCredentials(source, name, {
    flags: profileFlagsOf(request.flags, services.global),
    noSession: request.flags.noSession,
    noCache: request.flags.noCache,
    sessionPolicy: true,
    mfa: mfaOptionsOf(services),
    now: services.now,
    log: services.log,
  });
  // credential_process is `export --format=json`: the parent is the SDK or tool that asked.
  await recordHandout(services, () => ({
    event: "export",
    profile: name,
    ...handoutFacts(profile, provider, { credentials }),
    format: request.format,
    requester: parentProcess(),
  }), { config: source.config });
  services.out.stdout(
    formatCredentials(credentials, { format: request.format, profile: name, region: profile.region }),
  );
  return 0;
}

/** Runs `export`. */
export function run(context: CommandContext<typeof exportSpec>): Promise<number> {
  return exportCredentials(context, {
    profile: context.args.profile,
    flags: context.flags,
    format: context.flags.format,
  });
}
