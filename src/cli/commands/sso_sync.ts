/**
 * `sso sync --sso-session NAME` (docs/behaviour.md#sso-sync): signs in to the sso-session as `exec` does for an SSO
 * profile (the vault's `oidc:<start url>` token, refreshed, else a browser or device login), lists every account and
 * role the user can reach (ListAccounts, ListAccountRoles, every page), and writes one profile per account and role
 * into the config file's block for that session, through the locked config writer. Only the block changes.
 * @module
 */

import { describeAwsError } from "../../aws/clients.ts";
import { createSsoClient } from "../../aws/sso_clients.ts";
import { AwsConfigFile } from "../../config/config_file.ts";
import { rewriteConfigFile } from "../../config/config_write.ts";
import type { IniSection } from "../../config/ini.ts";
import { resolveProfile } from "../../config/profile.ts";
import type { ProfileConfig } from "../../config/profile_config.ts";
import {
  type BlockDiff,
  blockProfiles,
  checkTemplate,
  describeAssignment,
  diffProfiles,
  findBlock,
  formatDiff,
  planProfiles,
  profilesOutsideBlock,
  renderBlock,
  replaceBlock,
  type SkippedAssignment,
  type SsoAssignment,
} from "../../config/sso_profiles.ts";
import { didYouMean } from "../../config/suggest.ts";
import { AppError, ConfigError, UsageError } from "../../core/errors.ts";
import { SsoLoginRequiredError, SsoRoleCredentialsProvider } from "../../credentials/sso_provider.ts";
import type { CommandContext, Services } from "../command.ts";
import { loadConfig, openVault } from "../vault_access.ts";
import type { ssoSpec } from "./specs.ts";

/** Not logged in, and no terminal to log in from. */
export class SsoNotLoggedInError extends AppError {}

/** A portal call failed: `sso-session corp: sso:ListAccounts failed: <AWS's error>`. */
export class SsoPortalError extends AppError {}

/** What `sso sync` was asked to do. */
export interface SyncRequest {
  /** `--sso-session`. */
  readonly session: string;
  /** `--template`. */
  readonly template: string;
  /** `--region`; the sso-session's `sso_region` when undefined. */
  readonly region?: string;
  /** `--dry-run`. */
  readonly dryRun: boolean;
  /** `--stdout`: the device-code link instead of opening a browser. */
  readonly useStdout: boolean;
}

/** How many ListAccountRoles calls run at once: fast for hundreds of accounts, well under the portal's rate limit. */
const ROLE_LISTING_CONCURRENCY = 8;

/** Runs `sso <action>`; `sync` is the only action. */
export function run(context: CommandContext<typeof ssoSpec>): Promise<number> {
  const { flags } = context;
  return syncProfiles(context, {
    session: flags.ssoSession,
    template: flags.template,
    region: flags.region,
    dryRun: flags.dryRun,
    useStdout: flags.stdout,
  });
}

/**
 * Lists the session's accounts and roles and brings the generated block up to date (or, with `dryRun`, only says
 * what would change). Prints the changes and a summary on stdout, skipped profiles on stderr.
 * @throws ConfigError for an unknown sso-session or a damaged block; SsoNotLoggedInError; SsoPortalError;
 *   ProfileNameCollisionError (nothing is written then)
 */
export async function syncProfiles(services: Services, request: SyncRequest): Promise<number> {
  const { session } = request;
  checkTemplate(request.template);
  if (request.region !== undefined && !/^[a-z0-9-]+$/.test(request.region)) {
    throw new UsageError(`--region: ${JSON.stringify(request.region)} is not a region name`);
  }
  const config = await loadConfig(services);
  const profile = sessionProfile(config, { session, services, useStdout: request.useStdout });
  const region = request.region ?? profile.ssoRegion;
  const assignments = await listAssignments(profile, services);

  let outcome: { diff: BlockDiff; skipped: SkippedAssignment[] } | undefined;
  // Planned from the text the writer read under the config lock (and again if the file changed before the rename), so
  // a section another writer just added is kept and, if it has a generated name, wins over the generated profile.
  const plan = (text: string): string | undefined => {
    const block = findBlock(text, session, { path: config.path });
    const { profiles, skipped } = planProfiles(assignments, {
      template: request.template,
      session,
      region,
      taken: profilesOutsideBlock(text, block),
    });
    const old = block ? blockProfiles(text.slice(block.start, block.end)) : new Map();
    outcome = { diff: diffProfiles(old, profiles), skipped };
    const eol = text.includes("\r\n") ? "\r\n" : "\n";
    return replaceBlock(text, { block, blockText: renderBlock(session, profiles, { eol }) });
  };
  let written = false;
  if (request.dryRun) {
    plan(await readText(config.path));
  } else {
    written = await rewriteConfigFile(config.path, plan, {
      what: `the profiles of sso-session ${session}`,
      log: services.log,
    });
  }
  const { diff, skipped } = outcome!;
  for (const s of skipped) {
    services.out.stderr(
      `Skipped ${describeAssignment(s.assignment)}${s.name ? ` (${JSON.stringify(s.name)})` : ""}: ${s.reason}\n`,
    );
  }
  services.out.stdout(formatDiff(diff));
  const counts = request.dryRun
    ? `${diff.added.length} to add, ${diff.changed.length} to change, ${diff.removed.length} to remove`
    : `${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed`;
  const what = request.dryRun
    ? "nothing written (--dry-run)"
    : written
    ? `written to ${config.path}`
    : "nothing to write";
  services.out.stdout(`sso-session ${session}: ${counts}, ${diff.unchanged} unchanged; ${what}\n`);
  return 0;
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The sso-session as a profile the SSO code understands (`sso-session NAME` with only `sso_session` set), resolved
 * as any profile is, so endpoints, the CA bundle and `--stdout` apply as they do for `exec`.
 */
function sessionProfile(
  config: AwsConfigFile,
  options: { session: string; services: Services; useStdout: boolean },
): ProfileConfig {
  const { session, services, useStdout } = options;
  const section = config.ssoSession(session);
  if (!section) {
    const names = config.ssoSessionNames();
    const hint = didYouMean(session, names) ||
      (names.length === 0
        ? "; it has no [sso-session] sections"
        : ` (it has ${names.map((n) => JSON.stringify(n)).join(", ")})`);
    throw new ConfigError(`sso-session ${JSON.stringify(session)} not found in ${config.path}${hint}`);
  }
  for (const key of ["sso_start_url", "sso_region"]) {
    if (!section.get(key)?.value) {
      throw new ConfigError(`[sso-session ${session}] in ${config.path} has no ${key}`);
    }
  }
  const name = `sso-session ${session}`;
  const sections: IniSection[] = [
    { name: `profile ${name}`, line: 0, entries: new Map([["sso_session", { value: session, line: 0 }]]) },
    { name: `sso-session ${session}`, line: 0, entries: section },
  ];
  return resolveProfile(new AwsConfigFile(config.path, sections), name, {
    env: services.env,
    flags: { ssoUseStdout: useStdout || undefined },
    log: services.log,
  });
}

function isUnauthorized(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.$metadata?.httpStatusCode === 401 || err?.name === "UnauthorizedException";
}

/**
 * Every account and role of the session, sorted. Gets the access token as `exec` does, but a login starts only when
 * a person can answer it (a terminal on stdin or stderr); a stored token the portal rejects is replaced once.
 */
async function listAssignments(profile: ProfileConfig, services: Services): Promise<SsoAssignment[]> {
  const session = profile.ssoSession!;
  const provider = new SsoRoleCredentialsProvider(profile, {
    vault: await openVault(services),
    env: services.env,
    now: services.now,
    log: services.log,
    allowLogin: services.terminal.stdin || services.terminal.stderr,
    write: (text) => services.out.stderr(text),
  });
  const token = async (retry?: { rejected: string }) => {
    try {
      return await provider.accessToken(retry);
    } catch (e) {
      if (!(e instanceof SsoLoginRequiredError)) throw e;
      throw new SsoNotLoggedInError(
        `not logged in to sso-session ${session} (${profile.ssoStartUrl}) and no terminal to log in from; ` +
          `run "aws-vault sso sync --sso-session ${session}" in a terminal once`,
        { cause: e },
      );
    }
  };
  const first = await token();
  try {
    return await listWithToken(profile, { accessToken: first.accessToken, services });
  } catch (e) {
    if (!first.reusable || !isUnauthorized(e)) throw portalError(session, e);
    services.log.debug(`The SSO token for sso-session ${session} was rejected; getting a new one`);
    const second = await token({ rejected: first.accessToken });
    try {
      return await listWithToken(profile, { accessToken: second.accessToken, services });
    } catch (e2) {
      throw portalError(session, e2);
    }
  }
}

function portalError(session: string, e: unknown): unknown {
  if (e instanceof AppError || !(e instanceof Error)) return e;
  const operation = (e as { operation?: string }).operation ?? "sso";
  return new SsoPortalError(`sso-session ${session}: ${operation} failed: ${describeAwsError(e, { service: "sso" })}`, {
    cause: e,
  });
}

/** Follows `nextToken` until the last page; a token seen twice (a portal bug) would otherwise loop for ever. */
async function allPages<T>(
  operation: string,
  fetchPage: (nextToken: string | undefined) => Promise<{ items?: T[]; nextToken?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await fetchPage(nextToken);
    } catch (e) {
      throw Object.assign(e as Error, { operation });
    }
    items.push(...page.items ?? []);
    nextToken = page.nextToken || undefined;
    if (nextToken !== undefined) {
      if (seen.has(nextToken)) throw new Error(`${operation} returned the same nextToken twice`);
      seen.add(nextToken);
    }
  } while (nextToken !== undefined);
  return items;
}

async function listWithToken(
  profile: ProfileConfig,
  options: { accessToken: string; services: Services },
): Promise<SsoAssignment[]> {
  const { accessToken, services } = options;
  const { client, sdk } = await createSsoClient(profile, { env: services.env, log: services.log });
  try {
    const accounts = await allPages("sso:ListAccounts", async (nextToken) => {
      const out = await client.send(new sdk.ListAccountsCommand({ accessToken, nextToken }));
      return { items: out.accountList, nextToken: out.nextToken };
    });
    const queue = accounts.filter((a) => a.accountId);
    const assignments: SsoAssignment[] = [];
    const worker = async () => {
      for (let account = queue.shift(); account; account = queue.shift()) {
        const accountId = account.accountId!;
        const roles = await allPages("sso:ListAccountRoles", async (nextToken) => {
          const out = await client.send(new sdk.ListAccountRolesCommand({ accessToken, accountId, nextToken }));
          return { items: out.roleList, nextToken: out.nextToken };
        });
        for (const role of roles) {
          if (!role.roleName) continue;
          assignments.push({ accountId, accountName: account.accountName || accountId, roleName: role.roleName });
        }
      }
    };
    await Promise.all(Array.from({ length: ROLE_LISTING_CONCURRENCY }, worker));
    services.log.debug(
      `sso-session ${profile.ssoSession}: ${accounts.length} accounts, ${assignments.length} account roles`,
    );
    return assignments.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  } finally {
    client.destroy();
  }
}

const key = (a: SsoAssignment) => `${a.accountId}\0${a.roleName}`;
