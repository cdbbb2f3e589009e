/**
 * Moving long-term credentials from one secret store to another (`migrate-backend`, docs/behaviour.md#migrate-backend),
 * so that an interruption or a failure at any point loses nothing: the source goes only after the copy was read back
 * and matched, and a failed overwrite puts the destination's previous item back.
 * @module
 */

import type { Credentials } from "../core/credentials.ts";
import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import { credentialItem, CredentialKeyring, credentialsFromJson } from "./credential_keyring.ts";
import { CorruptItemError, InvalidDataError, type Keyring, type VaultItem } from "./keyring.ts";

/** What happened to one profile. `unreadable`: the source entry is not aws-vault credentials; it was left alone. */
export type MigrationOutcome = "copied" | "overwritten" | "skipped" | "unreadable";

/** The result of one profile's migration. */
export interface ProfileMigration {
  readonly profile: string;
  readonly outcome: MigrationOutcome;
  /** The source item was deleted after the verified copy (`--delete-source`). */
  readonly deletedSource: boolean;
  /** For `unreadable`: why the source entry could not be read as credentials. */
  readonly reason?: string;
}

/** Counts per outcome, for the summary block. */
export interface MigrationSummary {
  copied: number;
  overwritten: number;
  skipped: number;
  unreadable: number;
  deleted: number;
}

/** Options of {@link migrateCredentials}. */
export interface MigrateOptions {
  /** Profiles to migrate, in order (see {@link migrationProfiles}). */
  readonly profiles: readonly string[];
  /** Replace credentials that already exist in the destination. */
  readonly overwrite?: boolean;
  /** Delete each source item once its copy is verified. */
  readonly deleteSource?: boolean;
  /** Called before a profile is touched (the CLI prints `Migrating <p>... `). */
  readonly onStart?: (profile: string) => void;
  /** Called after a profile is done. */
  readonly onDone?: (result: ProfileMigration) => void;
}

/** A profile's migration failed; everything before it is done, nothing after it was tried. */
export class MigrationError extends VaultError {
  /** The profile that failed. */
  readonly profile: string;
  /** `copy`: the source still holds the credentials; `delete-source`: the copy is verified, the source delete failed.
   */
  readonly stage: "copy" | "delete-source";
  /** What was done before the failure. */
  readonly summary: MigrationSummary;
  constructor(
    message: string,
    options: { profile: string; stage: "copy" | "delete-source"; summary: MigrationSummary; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.profile = options.profile;
    this.stage = options.stage;
    this.summary = options.summary;
  }
}

/**
 * The source's credential profiles, sorted; only `profile` when given. Lists keys only: no secret is read.
 * @throws VaultError `profile "<p>" not found in source backend`
 */
export async function migrationProfiles(source: Keyring, profile?: string): Promise<string[]> {
  const keys = (await new CredentialKeyring(source).keys()).sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  if (profile === undefined || profile === "") return keys;
  if (!keys.includes(profile)) throw new VaultError(`profile ${JSON.stringify(profile)} not found in source backend`);
  return [profile];
}

const message = (e: unknown) => e instanceof Error ? e.message : String(e);

function sameCredentials(a: Credentials, b: Credentials): boolean {
  return a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey &&
    (a.sessionToken ?? "") === (b.sessionToken ?? "") && a.expiration?.getTime() === b.expiration?.getTime();
}

/** Reads an item and parses its credentials (CorruptItemError / InvalidDataError when it holds none). */
async function readCredentials(keyring: Keyring, key: string): Promise<{ item: VaultItem; creds: Credentials }> {
  const item = await keyring.get(key);
  return { item, creds: credentialsFromJson(new TextDecoder().decode(item.data)) };
}

const isUnreadable = (e: unknown) => e instanceof CorruptItemError || e instanceof InvalidDataError;

/**
 * Copies each profile's item from `source` to `destination`, reads it back and compares the credentials; then,
 * with `deleteSource`, deletes the source item. Items are copied as they are (label and extra JSON fields kept), with
 * the access flags of long-term credentials ({@link credentialItem}).
 * Stops at the first failure with a {@link MigrationError}; if the failed profile's copy was written but does not
 * verify, the destination's previous item is restored (or the bad copy removed when there was none).
 */
export async function migrateCredentials(
  source: Keyring,
  destination: Keyring,
  options: MigrateOptions,
): Promise<MigrationSummary> {
  const summary: MigrationSummary = { copied: 0, overwritten: 0, skipped: 0, unreadable: 0, deleted: 0 };
  const existing = new Set(await new CredentialKeyring(destination).keys());
  for (const profile of options.profiles) {
    options.onStart?.(profile);
    const fail = (text: string, cause: unknown, stage: "copy" | "delete-source" = "copy") =>
      new MigrationError(text, { profile, stage, summary: { ...summary }, cause });
    const exists = existing.has(profile);
    if (exists && !options.overwrite) {
      summary.skipped++;
      options.onDone?.({ profile, outcome: "skipped", deletedSource: false });
      continue;
    }
    let read: { item: VaultItem; creds: Credentials };
    try {
      read = await readCredentials(source, profile);
    } catch (e) {
      // A pass store without prefix lists the user's other passwords too: leave such entries where they are.
      if (!isUnreadable(e)) throw fail(`read source profile ${JSON.stringify(profile)}: ${message(e)}`, e);
      summary.unreadable++;
      options.onDone?.({ profile, outcome: "unreadable", deletedSource: false, reason: message(e) });
      continue;
    }
    const previous = exists
      ? await backup(destination, profile).catch((e) => {
        throw fail(`read destination profile ${JSON.stringify(profile)}: ${message(e)}`, e);
      })
      : undefined;
    try {
      await destination.set(credentialItem({ ...read.item, key: profile }));
    } catch (e) {
      const undo = await rollback(destination, profile, { previous, existed: exists });
      throw fail(`write destination profile ${JSON.stringify(profile)}: ${message(e)}${undo}`, e);
    }
    let verified: Credentials;
    try {
      verified = (await readCredentials(destination, profile)).creds;
    } catch (e) {
      const undo = await rollback(destination, profile, { previous, existed: exists });
      throw fail(`verify destination profile ${JSON.stringify(profile)}: ${message(e)}${undo}`, e);
    }
    if (!sameCredentials(verified, read.creds)) {
      const undo = await rollback(destination, profile, { previous, existed: exists });
      throw fail(`verify destination profile ${JSON.stringify(profile)}: credential mismatch${undo}`, undefined);
    }
    existing.add(profile);
    if (exists) summary.overwritten++;
    else summary.copied++;
    let deletedSource = false;
    if (options.deleteSource) {
      try {
        await source.remove(profile);
      } catch (e) {
        throw fail(`delete source profile ${JSON.stringify(profile)}: ${message(e)}`, e, "delete-source");
      }
      deletedSource = true;
      summary.deleted++;
    }
    options.onDone?.({ profile, outcome: exists ? "overwritten" : "copied", deletedSource });
  }
  return summary;
}

/** The destination's current item, to put back if the overwrite fails; an unreadable one cannot be kept anyway. */
async function backup(destination: Keyring, profile: string): Promise<VaultItem | undefined> {
  try {
    return await destination.get(profile);
  } catch (e) {
    if (e instanceof ItemNotFoundError || e instanceof CorruptItemError) return undefined;
    throw e;
  }
}

/** Undoes a failed write; returns a note for the error message ("" when all is back as it was). */
async function rollback(
  destination: Keyring,
  profile: string,
  state: { previous?: VaultItem; existed: boolean },
): Promise<string> {
  const { previous } = state;
  // An unreadable previous item could not be saved; removing whatever is there now could only lose more.
  if (!previous && state.existed) return "";
  try {
    if (previous) {
      // It is the destination's credential item: put back with the flags of a credential, whatever its get reported.
      await destination.set(credentialItem({ ...previous, key: profile }));
      return "; the destination's previous credentials were restored";
    }
    await destination.remove(profile).catch((e) => {
      if (!(e instanceof ItemNotFoundError)) throw e;
    });
    return "";
  } catch (e) {
    return previous
      ? `; restoring the destination's previous credentials failed too: ${message(e)}`
      : `; removing the unverified copy failed too: ${message(e)}`;
  }
}
