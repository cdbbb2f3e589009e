/**
 * Backend names: the ones aws-vault knows, the ones this OS offers, the default, and the up-front check of
 * `--backend`. Names only, so the command line can be parsed without loading any backend.
 * @module
 */

import type { Env } from "../core/env.ts";
import { VaultError } from "../core/errors.ts";

/** Every backend name aws-vault (and its maintained fork) knows, in its preference order. */
export const KNOWN_BACKENDS: readonly string[] = [
  "wincred",
  "winhello",
  "keychain",
  "secret-service",
  "kwallet",
  "keyctl",
  "pass",
  "passage",
  "file",
  "op-connect",
  "op",
  "op-desktop",
  "proton-pass",
];

/** Backends usable on this OS, in aws-vault's preference order: the values `--backend` accepts. */
export const AVAILABLE_BACKENDS: readonly string[] = Deno.build.os === "windows"
  ? ["wincred", "file"]
  : Deno.build.os === "darwin"
  ? ["keychain", "pass", "file"]
  : ["secret-service", "kwallet", "pass", "file"];

/**
 * The backend used when `--backend` is not given, as aws-vault: the keychain on macOS, Credential Manager on Windows,
 * and on Linux the encrypted file, which unlike secret-service needs no desktop session.
 */
export const DEFAULT_BACKEND = Deno.build.os === "windows"
  ? "wincred"
  : Deno.build.os === "darwin"
  ? "keychain"
  : "file";

/**
 * The session bus address GIO would use: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` when that is a socket
 * (systemd's user bus); undefined when there is no session bus to reach (secret-service and kwallet need one).
 * @param isSocket whether a path is a socket; default a stat of the file system (injectable for tests)
 */
export function sessionBusAddress(env: Env, isSocket: (path: string) => boolean = statIsSocket): string | undefined {
  const address = env.get("DBUS_SESSION_BUS_ADDRESS");
  if (address) return address;
  const runtime = env.get("XDG_RUNTIME_DIR");
  return runtime && isSocket(`${runtime}/bus`) ? `unix:path=${runtime}/bus` : undefined;
}

function statIsSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

/** Options of {@link offeredBackends}. */
export interface OfferedBackendsOptions {
  /** The environment (`DBUS_SESSION_BUS_ADDRESS`, `XDG_RUNTIME_DIR`). */
  readonly env: Env;
  /** Whether `path` is a socket; default a stat of the file system (injectable for tests). */
  readonly isSocket?: (path: string) => boolean;
}

/**
 * The backends worth offering here (help and completion of `--backend`, and the alternatives an error suggests):
 * {@link AVAILABLE_BACKENDS}, minus secret-service and kwallet when there is no D-Bus session bus to reach them
 * ({@link sessionBusAddress}). The default backend is always offered.
 */
export function offeredBackends(options: OfferedBackendsOptions): string[] {
  let bus: boolean | undefined;
  const hasBus = () => bus ??= sessionBusAddress(options.env, options.isSocket) !== undefined;
  const needsBus = (b: string) => b === "secret-service" || b === "kwallet";
  return AVAILABLE_BACKENDS.filter((b) => b === DEFAULT_BACKEND || !needsBus(b) || hasBus());
}

/**
 * The advice a backend that cannot work here ends its error with: `choose another --backend (available: a, b)`, or
 * without the list when there is nothing else to offer.
 */
export function chooseAnotherBackend(others: readonly string[]): string {
  return `choose another --backend${others.length ? ` (available: ${others.join(", ")})` : ""}`;
}

/** Whether no desktop dialog can appear (neither `DISPLAY` nor `WAYLAND_DISPLAY` is set). */
export function isHeadless(env: Env): boolean {
  return !env.get("DISPLAY") && !env.get("WAYLAND_DISPLAY");
}

/**
 * The default bound for a D-Bus call that may show a desktop dialog (an unlock or password prompt): 120 s with a
 * display, 5 s without ({@link isHeadless}), where no one can answer it.
 */
export function defaultPromptTimeoutMs(env: Env): number {
  return isHeadless(env) ? 5_000 : 120_000;
}

/**
 * Checks a backend name without opening anything, so a wrong `--backend` / `AWS_VAULT_BACKEND` fails up front for
 * every command, as aws-vault's enum flag does.
 * @throws VaultError naming the available backends
 */
export function assertBackendAvailable(backend: string): void {
  if (AVAILABLE_BACKENDS.includes(backend)) return;
  const available = AVAILABLE_BACKENDS.join(", ");
  if (KNOWN_BACKENDS.includes(backend)) {
    throw new VaultError(`backend ${JSON.stringify(backend)} is not available on this system; available: ${available}`);
  }
  throw new VaultError(`unknown backend ${JSON.stringify(backend)}; available: ${available}`);
}
