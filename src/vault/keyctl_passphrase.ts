/**
 * Remembered unlock of the file vault (docs/behaviour.md#file-backend): a passphrase typed at the prompt that opened
 * the vault is kept in the Linux kernel's user keyring for the time the user chose (`--file-passphrase-ttl`), and
 * later commands (credential_process among them) recall it instead of prompting. The kernel holds it and expires it;
 * nothing is written to disk and no child process is handed it.
 *
 * - **Keyring: the user keyring (`@u`).** It is shared by every process of this user ID whatever its session, so a
 *   later, separate command finds it: a new terminal, an IDE's SDK calling `credential_process`, a cron job. The
 *   session keyring (`@s`) is per login session (pam_keyinit) and may be a fresh one in containers, tmux or `sudo`,
 *   so an SDK started from the desktop would miss a passphrase typed in a terminal. `@u` outlives the login session
 *   (current kernels keep it until the user namespace goes), which is why the key's own expiry is the bound.
 * - **Key:** type `user`, description `aws-vault:file-passphrase:<16 hex digits of SHA-256 of the resolved vault
 *   directory>`, so each vault has its own. It is made in this process's keyring, given its permissions and expiry,
 *   and only then linked into `@u` (replacing an older one at once): a process killed half-way leaves no key without
 *   an expiry behind, and no other process ever sees it with the kernel's default permissions.
 * - **Permissions** {@link PASSPHRASE_KEY_PERM}: the possessor everything; the owning user view, read and search, not
 *   write, link or setattr; group and others nothing. The user bits are needed: a process whose session keyring does
 *   not link `@u` (a container, `keyctl session`) finds the key by searching `@u` but reads it by ID, which the
 *   kernel checks against the user bits. Any process of this user can read it either way; that is the boundary, as
 *   for ssh-agent's socket.
 * - **Expiry:** set by the kernel (`keyctl_set_timeout`), counted from when the passphrase was typed; using it does
 *   not extend it, so the passphrase is asked again TTL after it was typed, however busy the vault.
 * @module
 */

import type { Logger } from "../core/log.ts";
import { formatDuration } from "../config/duration.ts";
import {
  KEY_PERM,
  KEY_SPEC_PROCESS_KEYRING,
  KEY_SPEC_USER_KEYRING,
  type Keyctl,
  KeyctlError,
  KeyctlUnavailableError,
  MAX_USER_PAYLOAD,
  openKeyctl,
} from "../os/keyctl.ts";
import type { PassphraseMemory, RememberedPassphrase } from "./file.ts";

/** The kernel key type of a remembered passphrase. */
export const PASSPHRASE_KEY_TYPE = "user";

/** What {@link passphraseKeyDescription} starts with. */
export const PASSPHRASE_KEY_PREFIX = "aws-vault:file-passphrase:";

/** Possessor: all; user: view, read, search; group and others: nothing (`0x3f0b0000`). */
export const PASSPHRASE_KEY_PERM = KEY_PERM.POS_ALL | KEY_PERM.USR_VIEW | KEY_PERM.USR_READ | KEY_PERM.USR_SEARCH;

/** The kernel takes an expiry in whole seconds, as an unsigned 32-bit number. */
const MAX_TIMEOUT_SECONDS = 0xffff_ffff;

const SEP = Deno.build.os === "windows" ? "\\" : "/";

/**
 * The vault directory as one path per directory: symbolic links resolved when it exists (`~/.awsvault/keys/` and
 * `/home/me/.awsvault/keys` are one vault), else made absolute, without trailing separators.
 */
export function resolveVaultDir(dir: string): string {
  try {
    return Deno.realPathSync(dir);
  } catch {
    let absolute = dir;
    if (!dir.startsWith(SEP) && !/^[A-Za-z]:[\\/]/.test(dir)) {
      try {
        absolute = `${Deno.cwd()}${SEP}${dir}`;
      } catch {
        // The working directory was deleted: the relative path is the best name left.
      }
    }
    return absolute.length > 1 ? absolute.replace(/[\\/]+$/, "") : absolute;
  }
}

/** The key description of the vault in `dir` (home already expanded): `aws-vault:file-passphrase:<16 hex digits>`. */
export async function passphraseKeyDescription(dir: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(resolveVaultDir(dir)));
  return PASSPHRASE_KEY_PREFIX + new Uint8Array(digest).toHex().slice(0, 16);
}

/** Options of {@link kernelPassphraseMemory}. */
export interface KernelPassphraseMemoryOptions {
  /** How long a typed passphrase is remembered, in ms (`--file-passphrase-ttl`); 0 remembers nothing. */
  readonly ttlMs: number;
  /** Debug lines: where the keyring is unusable, what was remembered or forgotten (never the passphrase). */
  readonly log: Logger;
  /** The keyutils library to open; tests point it at a missing file. Default `libkeyutils.so.1`. */
  readonly library?: string;
}

/**
 * The {@link PassphraseMemory} over the Linux kernel's user keyring. Recalling is always on (a passphrase remembered
 * by an earlier command is used whatever this one's TTL, so `credential_process` lines need no flag); remembering
 * needs `ttlMs` > 0. Where keyctl is unusable (not Linux, no libkeyutils, a seccomp filter) it recalls and remembers
 * nothing, with one debug line.
 */
export function kernelPassphraseMemory(options: KernelPassphraseMemoryOptions): PassphraseMemory {
  const { log } = options;
  let unavailable = false;
  const open = (why: string): Keyctl | undefined => {
    if (unavailable) return undefined;
    try {
      return openKeyctl({ library: options.library });
    } catch (e) {
      if (!(e instanceof KeyctlUnavailableError)) throw e;
      unavailable = true;
      log.debug(`The kernel keyring cannot be used (${e.message}): ${why}`);
      return undefined;
    }
  };
  const find = (keyctl: Keyctl, description: string) =>
    keyctl.search(KEY_SPEC_USER_KEYRING, { type: PASSPHRASE_KEY_TYPE, description });
  const drop = (keyctl: Keyctl, id: number) => keyctl.invalidate(id) || keyctl.unlink(id, KEY_SPEC_USER_KEYRING);

  return {
    async recall(dir) {
      const description = await passphraseKeyDescription(dir);
      const keyctl = open("the vault passphrase is not recalled from it");
      if (!keyctl) return undefined;
      const id = find(keyctl, description);
      if (id === undefined) {
        log.debug(`No vault passphrase is remembered for ${JSON.stringify(dir)} in the kernel keyring`);
        return undefined;
      }
      const payload = keyctl.read(id);
      if (!payload) return undefined;
      // A JS string cannot be wiped; the buffer the kernel copied into can.
      const passphrase = new TextDecoder().decode(payload);
      payload.fill(0);
      const remembered: RememberedPassphrase = {
        passphrase,
        forget: () => {
          drop(keyctl, id);
          return Promise.resolve();
        },
      };
      return remembered;
    },

    async remember(dir, passphrase) {
      if (options.ttlMs <= 0) return;
      const description = await passphraseKeyDescription(dir);
      const keyctl = open("the vault passphrase is not remembered");
      if (!keyctl) return;
      const payload = new TextEncoder().encode(passphrase);
      let id: number | undefined;
      try {
        if (payload.length > MAX_USER_PAYLOAD) {
          log.debug(
            `The vault passphrase is longer than a kernel key holds (${MAX_USER_PAYLOAD} bytes): not remembered`,
          );
          return;
        }
        const seconds = Math.min(Math.ceil(options.ttlMs / 1000), MAX_TIMEOUT_SECONDS);
        id = keyctl.add(KEY_SPEC_PROCESS_KEYRING, { type: PASSPHRASE_KEY_TYPE, description, payload });
        keyctl.setPerm(id, PASSPHRASE_KEY_PERM);
        keyctl.setTimeout(id, seconds);
        keyctl.link(id, KEY_SPEC_USER_KEYRING);
        keyctl.unlink(id, KEY_SPEC_PROCESS_KEYRING);
        log.debug(
          `Remembered the vault passphrase for ${JSON.stringify(dir)} in the kernel keyring for ` +
            `${formatDuration(seconds * 1000)} (key ${id}, ${description})`,
        );
      } catch (e) {
        if (!(e instanceof KeyctlError)) throw e;
        if (id !== undefined) drop(keyctl, id);
        log.debug(`The vault passphrase is not remembered: ${e.message}`);
      } finally {
        payload.fill(0);
      }
    },

    async forget(dir) {
      const description = await passphraseKeyDescription(dir);
      const keyctl = open("nothing to forget");
      const id = keyctl && find(keyctl, description);
      if (!keyctl || id === undefined) return false;
      const dropped = drop(keyctl, id);
      log.debug(
        dropped
          ? `Forgot the vault passphrase remembered for ${JSON.stringify(dir)} (key ${id}, ${description})`
          : `Cannot drop key ${id} (${description}) from the kernel keyring`,
      );
      return dropped;
    },
  };
}
