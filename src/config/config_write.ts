/**
 * Writing the AWS config file: new profile sections are appended, never rewriting what is already there.
 * @module
 */

import { AppError, ConfigError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";
import { withFileLock } from "../os/file_lock.ts";
import { AwsConfigFile, type SectionEntries } from "./config_file.ts";
import { parseIni } from "./ini.ts";

function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}

function dirName(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i <= 0 ? (i === 0 ? path[0] : ".") : path.slice(0, i);
}

async function readBytes(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sectionText(
  name: string,
  entries: readonly (readonly [string, string])[],
  options: { eol: string; log: Logger },
): string {
  const { eol, log } = options;
  const header = name === "default" ? "[default]" : `[profile ${name}]`;
  const text = [header, ...entries.map(([k, v]) => `${k} = ${v}`)].join(eol) + eol;
  // Refuse anything that would not read back as written (newlines, " #" comments, padding, odd keys or names).
  let back: SectionEntries | undefined;
  try {
    back = new AwsConfigFile("", parseIni(text), { log }).profile(name);
  } catch {
    back = undefined;
  }
  const same = back?.size === entries.length &&
    entries.every(([k, v]) => back.get(k)?.value === v && back.get(k)?.nested === undefined);
  if (!same || name.trim() !== name || name === "") {
    throw new ConfigError(
      `cannot write profile ${JSON.stringify(name)}: a name or setting would not read back as written`,
    );
  }
  return text;
}

/**
 * Checks that a section for `name` with `entries` can be written and read back as written, before anything is changed
 * (`add` calls it before it stores a key).
 * @throws ConfigError naming the profile when it cannot
 */
export function checkProfileSection(name: string, entries: readonly (readonly [string, string])[]): void {
  sectionText(name, entries, { eol: "\n", log: SILENT });
}

/**
 * Appends a new `[profile NAME]` (or `[default]`) section to the end of the config file, keeping every existing byte.
 * Creates the parent directory (0700) and the file (0600) when missing; an existing file keeps its mode.
 *
 * The new content is written to a temporary file beside the real one (symlinks resolved), synced, and renamed over
 * it, so a crash never leaves a torn section. Plain `O_APPEND` would avoid the rename but can leave half a section
 * behind on a full disk.
 *
 * Concurrent aws-vault writers take turns: the whole read-modify-rename runs under an exclusive lock on
 * `.<file name>.aws-vault.lock` beside the file (docs/behaviour.md#cross-process-locks), and the holder first removes
 * the temporary files of writers that were killed. Other programs do not take the lock, so just before the rename the
 * file is read again: if it changed meanwhile, the attempt starts over from the new content.
 *
 * @param path the config file
 * @param name the profile name
 * @param options.entries the `key = value` settings, in order
 * @param options.log debug lines (silent when not given)
 * @throws ConfigError when a setting cannot be represented or the file cannot be written
 */
export async function appendProfileSection(
  path: string,
  name: string,
  options: { entries: readonly (readonly [string, string])[]; log?: Logger },
): Promise<void> {
  const log = options.log ?? SILENT;
  await withConfigLock(path, log, (target) =>
    replaceLocked(target, (before) => {
      // Bytes, not text: whatever else the file holds is kept exactly, even if it is not UTF-8.
      const old = before ? new TextDecoder().decode(before) : "";
      const eol = old.includes("\r\n") ? "\r\n" : "\n";
      let gap = "";
      if (old !== "" && !old.endsWith("\n")) gap = eol + eol;
      else if (old !== "" && !old.endsWith(eol + eol) && !old.endsWith("\n\n")) gap = eol;
      return concat(before, new TextEncoder().encode(gap + sectionText(name, options.entries, { eol, log })));
    }, { what: `profile ${JSON.stringify(name)}`, log }));
}

/**
 * Runs `write` with the config file's real path while holding the config lock (`.<file>.aws-vault.lock` beside it,
 * waited for at most 30 s), creating the directory (0700) when missing. Failures other than our own errors become a
 * ConfigError naming the file.
 */
async function withConfigLock<T>(path: string, log: Logger, write: (target: string) => Promise<T>): Promise<T> {
  let target = path;
  try {
    target = await Deno.realPath(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw new ConfigError(`cannot write ${path}: ${(e as Error).message}`);
  }
  const lock = `${dirName(target)}/.${baseName(target)}.aws-vault.lock`;
  try {
    await Deno.mkdir(dirName(target), { recursive: true, mode: 0o700 });
    return await withFileLock(lock, () => write(target), { what: `a change to ${path}`, waitMs: 30_000, log });
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new ConfigError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The read-modify-rename, run while holding the config lock: `next` gives the new bytes for the current ones
 * (undefined: leave the file), written to a synced temporary file that is renamed over the original only if the file
 * did not change meanwhile; otherwise `next` runs again on the new content (at most three times).
 * @returns whether the file was written
 */
async function replaceLocked(
  target: string,
  next: (before: Uint8Array | undefined) => Uint8Array | undefined,
  options: { what: string; log: Logger },
): Promise<boolean> {
  const log = options.log;
  await removeLeftTempFiles(target, log);
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await readBytes(target);
    const after = next(before);
    if (after === undefined) return false;
    const mode = before ? ((await Deno.stat(target)).mode ?? 0o600) & 0o7777 : 0o600;
    const temp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    let renamed = false;
    try {
      await writeSynced(temp, after, mode);
      if (!sameBytes(before, await readBytes(target))) {
        log.debug(`${target} changed while writing ${options.what}; retrying`);
        continue;
      }
      await Deno.rename(temp, target);
      renamed = true;
    } finally {
      if (!renamed) await Deno.remove(temp).catch(() => {});
    }
    await syncDir(dirName(target));
    log.debug(`Wrote ${options.what} to ${target}`);
    return true;
  }
  throw new ConfigError(`${target} kept changing while writing ${options.what}; nothing written, try again`);
}

/**
 * Removes `<file>.<8 hex>.tmp` files left beside the config by writers that were killed before their rename. Only the
 * lock holder calls it, so none of them belongs to a writer still at work.
 */
async function removeLeftTempFiles(target: string, log: Logger): Promise<void> {
  const base = baseName(target);
  try {
    for await (const entry of Deno.readDir(dirName(target))) {
      if (
        !entry.isFile || !entry.name.startsWith(`${base}.`) ||
        !/^\.[0-9a-f]{8}\.tmp$/.test(entry.name.slice(base.length))
      ) {
        continue;
      }
      await Deno.remove(`${dirName(target)}/${entry.name}`).then(
        () => log.debug(`Removed ${entry.name}, left by an interrupted write`),
        () => {},
      );
    }
  } catch {
    // A directory that cannot be listed has nothing of ours to clean.
  }
}

function concat(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  const all = new Uint8Array((a?.length ?? 0) + b.length);
  all.set(a ?? new Uint8Array(), 0);
  all.set(b, a?.length ?? 0);
  return all;
}

async function writeSynced(path: string, data: Uint8Array, mode: number): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode });
  try {
    if (Deno.build.os !== "windows") await Deno.chmod(path, mode); // the umask may have narrowed it
    for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
    await file.sync();
  } finally {
    file.close();
  }
}

/** Makes the rename durable; not every platform can open a directory, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Rewrites the config file through `change`, with {@link appendProfileSection}'s guarantees: under the config lock,
 * via a synced temporary file renamed over the original (an interrupted write leaves the old file), re-reading before
 * the rename and starting over (calling `change` again) when another program changed the file meanwhile. `sso sync`
 * replaces its generated block this way.
 *
 * @param path the config file (created 0600, its directory 0700, when missing)
 * @param change the new text for the current text (`""` when the file does not exist), or undefined to leave it
 * @param options.what what the change is, for messages (`the profiles of sso-session corp`)
 * @param options.log debug lines (silent when not given)
 * @returns whether the file was written
 * @throws ConfigError when the file cannot be written; whatever `change` throws
 */
export function rewriteConfigFile(
  path: string,
  change: (text: string) => string | undefined,
  options: { what: string; log?: Logger },
): Promise<boolean> {
  const log = options.log ?? SILENT;
  return withConfigLock(path, log, (target) =>
    replaceLocked(target, (before) => {
      let old = "";
      try {
        old = before ? new TextDecoder("utf-8", { fatal: true }).decode(before) : "";
      } catch {
        // Decoding with replacement characters would silently change the rest of the file.
        throw new ConfigError(`cannot rewrite ${path}: it is not valid UTF-8`);
      }
      const text = change(old);
      return text === undefined || text === old ? undefined : new TextEncoder().encode(text);
    }, { what: options.what, log }));
}
