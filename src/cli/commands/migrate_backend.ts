/**
 * `migrate-backend --from A --to B`: copy stored credentials between secret stores (docs/behaviour.md#migrate-backend,
 * from the
 * ByteNess fork), with the same messages; the copying itself lives in `vault/migrate.ts`.
 * @module
 */

import { AppError, VaultError } from "../../core/errors.ts";
import type { Keyring } from "../../vault/keyring.ts";
import { migrateCredentials, MigrationError, migrationProfiles, type ProfileMigration } from "../../vault/migrate.ts";
import { openKeyring } from "../../vault/open_keyring.ts";
import type { CommandContext } from "../command.ts";
import type { migrateBackendSpec } from "./specs.ts";
import { backendOpenOptions } from "../vault_access.ts";

/** Options of {@link runMigrateBackend}. */
export interface MigrateBackendOptions {
  /** Opens a backend by name; default `openKeyring` with {@link backendOpenOptions}. Tests plug in their stores. */
  open?: (backend: string) => Keyring | Promise<Keyring>;
}

function resultLine(result: ProfileMigration): string {
  switch (result.outcome) {
    case "skipped":
      return "skipped, already exists in destination";
    case "unreadable":
      return `skipped, not readable as aws-vault credentials: ${result.reason}`;
    default:
      return `${result.outcome}, verified${result.deletedSource ? ", deleted source" : ""}`;
  }
}

async function openAs(
  open: (backend: string) => Keyring | Promise<Keyring>,
  backend: string,
  role: "source" | "destination",
): Promise<Keyring> {
  try {
    return await open(backend);
  } catch (e) {
    throw new VaultError(`open ${role} backend ${JSON.stringify(backend)}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The command's action: prints aws-vault's progress lines and summary to stdout and resolves to 0; a failed
 * profile prints `failed: …` and rejects with the error (exit 1).
 */
export async function runMigrateBackend(
  context: CommandContext<typeof migrateBackendSpec>,
  options?: MigrateBackendOptions,
): Promise<number> {
  const { flags, out } = context;
  const { from, to } = flags;
  const profile = flags.profile || undefined;
  if (from === to) throw new AppError("source and destination backends must differ");
  const open = options?.open ?? ((backend: string) => openKeyring(backendOpenOptions(context, backend)));

  const source = await openAs(open, from, "source");
  const profiles = await migrationProfiles(source, profile);
  if (profiles.length === 0) {
    out.stdout(`No credentials found in source backend ${from}.\n`);
    return 0;
  }
  if (flags.dryRun) {
    out.stdout(`Would migrate ${profiles.length} credential profile(s) from ${from} to ${to}:\n`);
    out.stdout(profiles.map((p) => `  ${p}\n`).join("") + "\nNo changes made.\n");
    return 0;
  }
  const destination = await openAs(open, to, "destination");

  let summary;
  try {
    summary = await migrateCredentials(source, destination, {
      profiles,
      overwrite: flags.overwrite,
      deleteSource: flags.deleteSource,
      onStart: (p) => out.stdout(`Migrating ${p}... `),
      onDone: (result) => out.stdout(resultLine(result) + "\n"),
    });
  } catch (e) {
    if (e instanceof MigrationError) {
      out.stdout(`failed: ${e.message}\n`);
      if (e.stage === "copy") {
        out.stdout("Migration stopped. Source credentials were not deleted for the failed profile.\n");
      }
    }
    throw e;
  }
  out.stdout(
    `\nMigration summary:\n  copied: ${summary.copied}\n  overwritten: ${summary.overwritten}\n` +
      `  skipped: ${summary.skipped}\n` +
      (summary.unreadable > 0 ? `  not readable as credentials: ${summary.unreadable}\n` : "") +
      `  deleted from source: ${summary.deleted}\n`,
  );
  return 0;
}

/** Runs `migrate-backend`. */
export function run(context: CommandContext<typeof migrateBackendSpec>): Promise<number> {
  return runMigrateBackend(context);
}
