/**
 * Opening a secret store by backend name. The names alone are in `backends.ts` (re-exported here), which start-up
 * loads without any backend.
 * @module
 */

import type { Env } from "../core/env.ts";
import { VaultError } from "../core/errors.ts";
import {
  assertBackendAvailable,
  AVAILABLE_BACKENDS,
  chooseAnotherBackend,
  DEFAULT_BACKEND,
  offeredBackends,
} from "./backends.ts";
import { FileKeyring, type FileKeyringOptions } from "./file.ts";
import type { Keyring } from "./keyring.ts";
import type { PassKeyringOptions } from "./pass.ts";

export {
  assertBackendAvailable,
  AVAILABLE_BACKENDS,
  DEFAULT_BACKEND,
  KNOWN_BACKENDS,
  offeredBackends,
} from "./backends.ts";

/** Options of {@link openKeyring}: the backend name plus every backend's own options. */
export interface OpenKeyringOptions {
  /** Backend name; default {@link DEFAULT_BACKEND}. */
  backend?: string;
  /** Options for the `file` backend (directory, passphrase prompt, environment). */
  file: FileKeyringOptions;
  /** Options for the `pass` backend (store directory, command, prefix). */
  pass: PassKeyringOptions;
  /** Options for the `secret-service` backend. */
  secretService: { collection?: string; env: Env };
  /** Options for the `kwallet` backend; default: the secret-service options' environment. */
  kwallet?: { env: Env };
  /** Options for the `keychain` backend (macOS). */
  keychain?: { name?: string };
}

/**
 * Opens the named backend. There is no fallback between backends (as in aws-vault): an unavailable name is an
 * error listing the available ones. Every backend but `file` is loaded when it is opened: they bind OS libraries or
 * run programs, and a run that does not use them should not load them (docs/performance.md).
 */
export async function openKeyring(options: OpenKeyringOptions): Promise<Keyring> {
  const backend = options.backend ?? DEFAULT_BACKEND;
  // Suggested instead of a backend that cannot open: only those that can work here (no D-Bus, no secret-service).
  const others = () => offeredBackends({ env: options.secretService.env }).filter((b) => b !== backend);
  switch (backend) {
    case "file":
      return new FileKeyring(options.file);
    case "pass": {
      const { PassKeyring, PassNotAvailableError } = await import("./pass.ts");
      try {
        return new PassKeyring(options.pass);
      } catch (e) {
        if (!(e instanceof PassNotAvailableError)) throw e;
        throw new PassNotAvailableError(`${e.message}; or ${chooseAnotherBackend(others())}`);
      }
    }
    case "secret-service": {
      if (!AVAILABLE_BACKENDS.includes("secret-service")) break;
      const { SecretServiceKeyring } = await import("./secret_service.ts");
      return new SecretServiceKeyring({
        collection: options.secretService.collection,
        env: options.secretService.env,
        otherBackends: others(),
      });
    }
    case "kwallet": {
      if (!AVAILABLE_BACKENDS.includes("kwallet")) break;
      const { KWalletKeyring } = await import("./kwallet.ts");
      return new KWalletKeyring({
        env: options.kwallet?.env ?? options.secretService.env,
        otherBackends: others(),
      });
    }
    case "keychain":
      if (!AVAILABLE_BACKENDS.includes("keychain")) break;
      return (await import("./keychain_ffi.ts")).openKeychainKeyring({ name: options.keychain?.name });
    case "wincred":
      if (!AVAILABLE_BACKENDS.includes("wincred")) break;
      return (await import("./wincred_ffi.ts")).openWincredKeyring();
  }
  assertBackendAvailable(backend);
  throw new VaultError(`backend ${JSON.stringify(backend)} has no implementation`);
}
