/**
 * Looks at the kernel keyring from outside aws-vault, with the `keyctl` program (Debian package `keyutils`) and
 * `/proc/keys`, and runs aws-vault with the keyring's system calls refused (`keyctl_denied.py`, a seccomp filter like
 * Docker's). Tests use it to inspect and, for the "a wrong passphrase is remembered" case, to plant a key.
 * @module
 */

import { type CliResult, PYTHON3, runProgram } from "./cli.ts";

const here = new URL(".", import.meta.url).pathname;

/** Runs `keyctl ARGS` with `stdin`; its output and status. */
export async function keyctl(args: readonly string[], options?: { stdin?: string }): Promise<CliResult> {
  const child = new Deno.Command("keyctl", { args: [...args], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  if (options?.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Why the kernel keyring cannot be inspected here (no `keyctl` program, keyctl refused), or undefined when it can. */
export async function keyctlMissing(): Promise<string | undefined> {
  try {
    const r = await keyctl(["show", "@u"]);
    return r.code === 0 ? undefined : `keyctl show @u failed: ${r.stderr.trim()}`;
  } catch {
    return "the keyctl program is not installed (Debian package keyutils)";
  }
}

/** The ID of the `user` key with `description` in the user keyring, or undefined (none, or expired). */
export async function findUserKey(description: string): Promise<number | undefined> {
  const r = await keyctl(["search", "@u", "user", description]);
  return r.code === 0 ? Number(r.stdout.trim()) : undefined;
}

/** A key as `keyctl rdescribe` shows it. */
export interface KeyDescription {
  readonly type: string;
  readonly uid: number;
  readonly gid: number;
  /** The permission mask (`0x3f0b0000`). */
  readonly perm: number;
  readonly description: string;
}

/** `keyctl rdescribe ID`: type, owner, permissions and description. */
export async function describeKey(id: number): Promise<KeyDescription> {
  const r = await keyctl(["rdescribe", String(id)]);
  if (r.code !== 0) throw new Error(`keyctl rdescribe ${id}: ${r.stderr}`);
  const [type, uid, gid, perm, ...rest] = r.stdout.trim().split(";");
  return { type, uid: Number(uid), gid: Number(gid), perm: parseInt(perm, 16), description: rest.join(";") };
}

/** The payload of key `id` (`keyctl pipe`), or undefined when it cannot be read. */
export async function readKey(id: number): Promise<string | undefined> {
  const r = await keyctl(["pipe", String(id)]);
  return r.code === 0 ? r.stdout : undefined;
}

/** The expiry column of `/proc/keys` for key `id`: `perm` (none), `59m`, `2s`, `expd`; undefined when not listed. */
export async function keyTimeout(id: number): Promise<string | undefined> {
  const hex = id.toString(16).padStart(8, "0");
  const line = (await Deno.readTextFile("/proc/keys")).split("\n").find((l) => l.startsWith(`${hex} `));
  return line?.trim().split(/\s+/)[3];
}

/** Adds a `user` key to the user keyring with the `keyctl` program (as another tool or an attacker could). */
export async function plantUserKey(description: string, payload: string): Promise<number> {
  const r = await keyctl(["padd", "user", description, "@u"], { stdin: payload });
  if (r.code !== 0) throw new Error(`keyctl padd: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/**
 * Waits until the kernel no longer finds the key (its expiry passed), polling every 100 ms, at most `withinMs`.
 * @throws Error when it is still there then
 */
export async function waitUntilGone(description: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (await findUserKey(description) !== undefined) {
    if (Date.now() > deadline) throw new Error(`key ${description} still there after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs aws-vault as a process without a terminal (like `runProgram`) with add_key, request_key and keyctl refused by
 * a seccomp filter (EPERM), as in a Docker container with the default profile.
 */
export function runWithKeyctlDenied(
  args: readonly string[],
  options: { env: Record<string, string>; stdin?: string },
): Promise<CliResult> {
  return runProgram(args, { ...options, wrapper: [PYTHON3, `${here}keyctl_denied.py`] });
}
