/**
 * The Linux kernel's key retention service (keyrings(7)) through libkeyutils.so.1, opened with `Deno.dlopen` on first
 * use. Only the library's non-variadic wrappers are declared: `keyctl()` itself is variadic, and Deno's FFI cannot call
 * variadic functions portably. Thin on purpose: what is stored, where and for how long is decided by the caller
 * (`src/vault/keyctl_passphrase.ts`).
 *
 * No decision rests on `errno`. Deno cannot call a function and read `errno` in one native step; between the two
 * FFI calls, Deno's return path and V8 may make libc calls that overwrite it. So availability is decided by a probe
 * whose *result* says it all ({@link Keyctl.userKeyring}: the user keyring's ID or -1), a failed search means
 * "not there", and `errno` is read after a failed call only for the words in a message.
 * @module
 */

import { AppError } from "../core/errors.ts";

/** `KEY_SPEC_PROCESS_KEYRING`: this process's keyring, created on first use and gone when the process exits. */
export const KEY_SPEC_PROCESS_KEYRING = -2;
/** `KEY_SPEC_USER_KEYRING`: the keyring shared by every process of this user ID. */
export const KEY_SPEC_USER_KEYRING = -4;

/** Permission bits of keyutils.h: possessor (`POS`), owner user (`USR`); group and others are never granted here. */
export const KEY_PERM = {
  POS_VIEW: 0x01000000,
  POS_READ: 0x02000000,
  POS_WRITE: 0x04000000,
  POS_SEARCH: 0x08000000,
  POS_LINK: 0x10000000,
  POS_SETATTR: 0x20000000,
  POS_ALL: 0x3f000000,
  USR_VIEW: 0x00010000,
  USR_READ: 0x00020000,
  USR_SEARCH: 0x00080000,
} as const;

/** The most a `user` key's payload may hold (the kernel refuses more). */
export const MAX_USER_PAYLOAD = 32767;

const B = "buffer" as const;
/**
 * What finding and reading a key needs: every command that recalls a passphrase. Deno prepares each declared symbol
 * when the library is opened (about half a millisecond each, measured), so the calls that change keys are a second set,
 * opened only when one is made.
 */
const FIND_SYMBOLS = {
  keyctl_get_keyring_ID: { parameters: ["i32", "i32"], result: "i32" }, // (id, create)
  // long keyctl_search(key_serial_t ring, const char *type, const char *desc, key_serial_t dest)
  keyctl_search: { parameters: ["i32", B, B, "i32"], result: "i64" },
  // long keyctl_read(key_serial_t id, char *buffer, size_t buflen): the payload's full length, even when longer
  keyctl_read: { parameters: ["i32", B, "usize"], result: "i64" },
} as const;

/** What adding, dropping and limiting a key needs. */
const CHANGE_SYMBOLS = {
  // key_serial_t add_key(const char *type, const char *desc, const void *payload, size_t plen, key_serial_t ring)
  add_key: { parameters: [B, B, B, "usize", "i32"], result: "i32" },
  keyctl_set_timeout: { parameters: ["i32", "u32"], result: "i64" }, // (id, unsigned seconds)
  keyctl_setperm: { parameters: ["i32", "u32"], result: "i64" }, // (id, key_perm_t)
  keyctl_link: { parameters: ["i32", "i32"], result: "i64" }, // (id, ring)
  keyctl_unlink: { parameters: ["i32", "i32"], result: "i64" }, // (id, ring)
  keyctl_invalidate: { parameters: ["i32"], result: "i64" },
} as const;

type FindFunctions = Deno.DynamicLibrary<typeof FIND_SYMBOLS>["symbols"];
type ChangeFunctions = Deno.DynamicLibrary<typeof CHANGE_SYMBOLS>["symbols"];

const ERRNO_SYMBOLS = { __errno_location: { parameters: [], result: "pointer" } } as const;

/** Names of the errors keyctl calls give, for messages (keyctl(2)). */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  22: "EINVAL",
  38: "ENOSYS",
  122: "EDQUOT",
  126: "ENOKEY",
  127: "EKEYEXPIRED",
  128: "EKEYREVOKED",
  129: "EKEYREJECTED",
};

/** The kernel keyring cannot be used here: not Linux, no libkeyutils, or the calls are refused (seccomp, ENOSYS). */
export class KeyctlUnavailableError extends AppError {}

/** A keyctl call that should have worked failed; the message names the call and the error. */
export class KeyctlError extends AppError {}

const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(text + "\0");

/** The calls this program makes, over an opened libkeyutils. */
export class Keyctl {
  readonly #find: FindFunctions;
  readonly #openChange: () => ChangeFunctions;
  #change?: ChangeFunctions;
  readonly #errno: () => number;

  /** Use {@link openKeyctl}. */
  constructor(fns: { find: FindFunctions; openChange: () => ChangeFunctions; errno: () => number }) {
    this.#find = fns.find;
    this.#openChange = fns.openChange;
    this.#errno = fns.errno;
  }

  /** The calls that change keys, opened on first use (the library is already loaded by then). */
  get #fns(): ChangeFunctions {
    return this.#change ??= this.#openChange();
  }

  /** `what failed: ENOKEY (errno 126)`, from errno read at once after the failed call. */
  #failure(call: string): string {
    const n = this.#errno();
    return `${call} failed: ${ERRNO_NAMES[n] ?? "error"} (errno ${n})`;
  }

  /**
   * The user keyring's ID, created if this user has none yet. This is the availability probe: when the kernel has no
   * keyrings or a seccomp filter refuses the calls (Docker's default profile does), it fails.
   * @throws KeyctlUnavailableError when the call fails
   */
  userKeyring(): number {
    const id = this.#find.keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 1);
    if (id === -1) throw new KeyctlUnavailableError(this.#failure("keyctl_get_keyring_ID(@u)"));
    return id;
  }

  /** The ID of the key of `type` and `description` found in `ring` (recursively), or undefined (missing, expired). */
  search(ring: number, options: { type: string; description: string }): number | undefined {
    const id = Number(this.#find.keyctl_search(ring, cString(options.type), cString(options.description), 0));
    return id === -1 ? undefined : id;
  }

  /**
   * The payload of key `id`, in a buffer the caller must zero when done; undefined when it cannot be read (it expired
   * or was dropped since it was found). Buffers that held a partial read are zeroed here.
   */
  read(id: number): Uint8Array | undefined {
    let buffer = new Uint8Array(256);
    for (;;) {
      const length = Number(this.#find.keyctl_read(id, buffer, BigInt(buffer.length)));
      if (length === -1) {
        buffer.fill(0);
        return undefined;
      }
      if (length <= buffer.length) return buffer.subarray(0, length);
      buffer.fill(0);
      buffer = new Uint8Array(length); // grew since the first call: read again into a buffer that fits
    }
  }

  /**
   * Adds a key to `ring` (replacing one of the same type and description there) and returns its ID.
   * @throws KeyctlError when the kernel refuses (quota, permission)
   */
  add(ring: number, options: { type: string; description: string; payload: Uint8Array }): number {
    const { type, description, payload } = options;
    const id = this.#fns.add_key(cString(type), cString(description), payload, BigInt(payload.length), ring);
    if (id === -1) throw new KeyctlError(this.#failure("add_key"));
    return id;
  }

  /** Sets key `id`'s permission mask. @throws KeyctlError */
  setPerm(id: number, perm: number): void {
    if (Number(this.#fns.keyctl_setperm(id, perm)) === -1) throw new KeyctlError(this.#failure("keyctl_setperm"));
  }

  /** Makes the kernel expire key `id` `seconds` from now (0: never). @throws KeyctlError */
  setTimeout(id: number, seconds: number): void {
    if (Number(this.#fns.keyctl_set_timeout(id, seconds)) === -1) {
      throw new KeyctlError(this.#failure("keyctl_set_timeout"));
    }
  }

  /** Links key `id` into `ring`, displacing a key of the same type and description there. @throws KeyctlError */
  link(id: number, ring: number): void {
    if (Number(this.#fns.keyctl_link(id, ring)) === -1) throw new KeyctlError(this.#failure("keyctl_link"));
  }

  /** Unlinks key `id` from `ring`; whether it was linked there. */
  unlink(id: number, ring: number): boolean {
    return Number(this.#fns.keyctl_unlink(id, ring)) !== -1;
  }

  /** Marks key `id` invalid: it disappears from every keyring at once. Whether that worked. */
  invalidate(id: number): boolean {
    return Number(this.#fns.keyctl_invalidate(id)) !== -1;
  }
}

/** The default library: Debian's libkeyutils1 package (every Linux with keyutils has this soname). */
export const KEYUTILS_LIBRARY = "libkeyutils.so.1";

const opened = new Map<string, Keyctl>();

/**
 * Opens libkeyutils (once per process and path) and checks that keyctl works here.
 * @param options.library the library to open (default {@link KEYUTILS_LIBRARY}); tests point it at a missing file
 * @throws KeyctlUnavailableError saying why (not Linux, the library is missing, the calls are refused)
 */
export function openKeyctl(options?: { library?: string }): Keyctl {
  const library = options?.library ?? KEYUTILS_LIBRARY;
  let keyctl = opened.get(library);
  if (!keyctl) {
    if (Deno.build.os !== "linux") {
      throw new KeyctlUnavailableError(`the kernel keyring is Linux's; this is ${Deno.build.os}`);
    }
    let find: FindFunctions;
    try {
      find = Deno.dlopen(library, FIND_SYMBOLS).symbols;
    } catch (e) {
      throw new KeyctlUnavailableError(`${library} cannot be loaded: ${e instanceof Error ? e.message : e}`);
    }
    // libc is opened only after a failure (the common path, a search and a read, never needs errno); that may
    // itself change errno, which is acceptable for a number that only goes into a message.
    let errnoLocation: (() => Deno.PointerValue) | undefined;
    const errno = () => {
      errnoLocation ??= Deno.dlopen("libc.so.6", ERRNO_SYMBOLS).symbols.__errno_location;
      const at = errnoLocation();
      return at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
    };
    keyctl = new Keyctl({ find, openChange: () => Deno.dlopen(library, CHANGE_SYMBOLS).symbols, errno });
    opened.set(library, keyctl);
  }
  keyctl.userKeyring();
  return keyctl;
}
