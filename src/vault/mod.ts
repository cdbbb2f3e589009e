/**
 * Opening a secret store by backend name, and the names the CLI offers for `--backend`.
 * @module
 */

import { VaultError } from "../errors.ts";
import { FileKeyring, type FileKeyringOptions } from "./file.ts";
import type { Keyring } from "./keyring.ts";
import { openKeychainKeyring } from "./keychain_ffi.ts";
import { PassKeyring, type PassKeyringOptions, PassNotAvailableError } from "./pass.ts";
import { SecretServiceKeyring } from "./secret_service.ts";
import { openWincredKeyring } from "./wincred_ffi.ts";

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
  : ["secret-service", "pass", "file"];

/**
 * The backend used when `--backend` is not given, as aws-vault: the keychain on macOS, Credential Manager on Windows,
 * and on Linux the encrypted file, which unlike secret-service needs no desktop session.
 */
export const DEFAULT_BACKEND = Deno.build.os === "windows"
  ? "wincred"
  : Deno.build.os === "darwin"
  ? "keychain"
  : "file";

/** Options of {@link openKeyring}: the backend name plus every backend's own options. */
export interface OpenKeyringOptions {
  /** Backend name; default {@link DEFAULT_BACKEND}. */
  backend?: string;
  /** Options for the `file` backend (directory, passphrase prompt, environment). */
  file?: FileKeyringOptions;
  /** Options for the `pass` backend (store directory, command, prefix). */
  pass?: PassKeyringOptions;
  /** Options for the `secret-service` backend. */
  secretService?: { collection?: string };
  /** Options for the `keychain` backend (macOS). */
  keychain?: { name?: string };
}

/**
 * Opens the named backend. There is no fallback between backends (as in aws-vault): an unavailable name is an
 * error listing the available ones.
 */
export function openKeyring(options: OpenKeyringOptions = {}): Keyring {
  const backend = options.backend ?? DEFAULT_BACKEND;
  switch (backend) {
    case "file":
      return new FileKeyring(options.file);
    case "pass":
      try {
        return new PassKeyring(options.pass);
      } catch (e) {
        if (!(e instanceof PassNotAvailableError)) throw e;
        const others = AVAILABLE_BACKENDS.filter((b) => b !== "pass").join(", ");
        throw new PassNotAvailableError(`${e.message}; or choose another --backend (available: ${others})`);
      }
    case "secret-service":
      if (!AVAILABLE_BACKENDS.includes("secret-service")) break;
      return new SecretServiceKeyring({
        collection: options.secretService?.collection,
        otherBackends: AVAILABLE_BACKENDS.filter((b) => b !== "secret-service"),
      });
    case "keychain":
      if (AVAILABLE_BACKENDS.includes("keychain")) return openKeychainKeyring({ name: options.keychain?.name });
      break;
    case "wincred":
      if (AVAILABLE_BACKENDS.includes("wincred")) return openWincredKeyring();
      break;
  }
  assertBackendAvailable(backend);
  throw new VaultError(`backend ${JSON.stringify(backend)} has no implementation`);
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
