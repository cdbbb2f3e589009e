/**
 * The `secret-service` backend: items in a Secret Service collection (gnome-keyring, KeePassXC, …) through libsecret,
 * stored exactly like aws-vault stores them (attributes `{"profile": key}`, label = key, secret = item JSON with
 * content type `application/json`, no libsecret schema attribute), so both tools see each other's items.
 * Every D-Bus round trip is time-bounded and cancelled when it overruns; failures become messages that say what to do.
 * @module
 */

import type { Env } from "../core/env.ts";
import { ItemNotFoundError, VaultError } from "../core/errors.ts";
import {
  CorruptItemError,
  InvalidDataError,
  itemFromJson,
  itemToJson,
  type Keyring,
  type VaultItem,
} from "./keyring.ts";
import { type GErrorInfo, loadLibSecret } from "./libsecret_ffi.ts";
import { Session } from "./secret_service_session.ts";
import { chooseAnotherBackend, defaultPromptTimeoutMs, isHeadless, sessionBusAddress } from "./backends.ts";

export { decodeObjectPathName } from "./secret_service_session.ts";

/** Collection used when none is configured (`--secret-service-collection`), as in aws-vault. */
export const DEFAULT_COLLECTION = "awsvault";

/** Options of {@link SecretServiceKeyring}. */
export interface SecretServiceKeyringOptions {
  /** Collection name; default {@link DEFAULT_COLLECTION}. Created on the first `set` if missing. */
  collection?: string;
  /**
   * Environment accessor for the pre-flight checks and messages (D-Bus address, display). libsecret itself reads the
   * process environment, so pass a view of it.
   */
  env: Env;
  /** Backends to suggest when this one cannot work; shown as `(available: …)`. */
  otherBackends?: readonly string[];
  /** Bound for one D-Bus round trip. Default 10 s. */
  timeoutMs?: number;
  /** Bound for calls that may show a desktop prompt. Default 120 s with a display, 5 s without. */
  promptTimeoutMs?: number;
}

/** The backend cannot work here: no libsecret, no D-Bus session bus or no Secret Service on it. */
export class SecretServiceUnavailableError extends VaultError {}
/** The collection is locked and could not be unlocked (no prompt possible, or the user dismissed it). */
export class SecretServiceLockedError extends VaultError {}
/** The collection does not exist and could not be created. */
export class SecretServiceCreateError extends VaultError {}
/** Any other failure reported by the Secret Service. */
export class SecretServiceError extends VaultError {}
/** A D-Bus call overran its time bound and was cancelled. */
export class SecretServiceTimeoutError extends SecretServiceError {}

/** True when this backend can be tried: Linux, libsecret loadable and a D-Bus session bus address known. */
export function secretServiceAvailable(env: Env): boolean {
  if (Deno.build.os !== "linux" || sessionBusAddress(env) === undefined) return false;
  try {
    loadLibSecret();
    return true;
  } catch {
    return false;
  }
}

/** An unlock prompt that never completed leaves the collection locked. */
const stillLocked = (e: unknown) => {
  if (e instanceof SecretServiceTimeoutError) return false;
  throw e;
};

/** The `secret-service` keyring. Each call opens a fresh service connection, so no cached D-Bus state goes stale. */
export class SecretServiceKeyring implements Keyring {
  /** Always `secret-service`. */
  readonly backend = "secret-service";
  /** The collection name. */
  readonly collection: string;
  #env: Env;
  #others: readonly string[];
  #timeoutMs: number;
  #promptTimeoutMs?: number;

  constructor(options: SecretServiceKeyringOptions) {
    this.collection = options.collection || DEFAULT_COLLECTION;
    this.#env = options.env;
    this.#others = options.otherBackends ?? [];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#promptTimeoutMs = options.promptTimeoutMs;
  }

  /** Returns the first item whose `profile` attribute is `key`. */
  async get(key: string): Promise<VaultItem> {
    const text = await this.#session(false, async (s, coll) => {
      const [item] = coll ? await s.search(coll, { profile: key }, false) : [];
      return item ? await s.secret(item) : undefined;
    });
    if (text === undefined) throw new ItemNotFoundError(key);
    try {
      return itemFromJson(text);
    } catch (e) {
      if (e instanceof InvalidDataError) throw new CorruptItemError(`${this.collection}/${key}`, e.message);
      throw e;
    }
  }

  /** Creates or replaces the item, creating the collection first if it does not exist. */
  async set(item: VaultItem): Promise<void> {
    await this.#session(true, (s, coll) => s.create(coll!, item.key, itemToJson(item)));
  }

  /** Deletes every item whose `profile` attribute is `key` (aws-vault deletes only the first). */
  async remove(key: string): Promise<void> {
    const found = await this.#session(false, async (s, coll) => {
      const items = coll ? await s.search(coll, { profile: key }, true) : [];
      for (const item of items) await s.delete(item);
      return items.length > 0;
    });
    if (!found) throw new ItemNotFoundError(key);
  }

  /**
   * The `profile` attributes of the collection's items, sorted. Items without one belong to other programs (this
   * matters for shared collections such as `login`) and are skipped; aws-vault lists every item's label instead.
   */
  async keys(): Promise<string[]> {
    const keys = await this.#session(false, async (s, coll) => coll ? s.profiles(await s.search(coll, {}, true)) : []);
    return [...new Set(keys)].sort();
  }

  async #session<T>(create: boolean, body: (s: Session, coll: Deno.PointerValue) => Promise<T>): Promise<T> {
    if (sessionBusAddress(this.#env) === undefined) {
      throw new SecretServiceUnavailableError(
        "the secret-service backend needs a D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set); start one " +
          `or ${this.#chooseOther()}`,
      );
    }
    const headless = isHeadless(this.#env);
    const s = new Session(loadLibSecret(), {
      timeoutMs: this.#timeoutMs,
      promptTimeoutMs: this.#promptTimeoutMs ?? defaultPromptTimeoutMs(this.#env),
      describe: (what, e) => this.#describe(what, e),
      unreadable: () => new SecretServiceError("secret-service: the item's secret could not be read (is it locked?)"),
    });
    try {
      await s.connect();
      let coll = s.findCollection(this.collection);
      if (!coll && create) coll = await this.#createCollection(s, headless);
      const unlocked = coll ? await s.ensureUnlocked(coll).catch(stillLocked) : true;
      if (!unlocked) {
        throw new SecretServiceLockedError(
          `the secret-service collection ${JSON.stringify(this.collection)} is locked; unlock it (e.g. by logging ` +
            `in to your desktop session${headless ? "; no unlock prompt can appear here: there is no display" : ""})`,
        );
      }
      return await body(s, coll);
    } finally {
      s.close();
    }
  }

  async #createCollection(s: Session, headless: boolean): Promise<Deno.PointerValue> {
    const coll = await s.createCollection(this.collection).catch((e) => {
      if (e instanceof SecretServiceTimeoutError) return null; // the prompt never completed: same advice
      throw e;
    });
    if (coll) return coll;
    const name = JSON.stringify(this.collection);
    throw new SecretServiceCreateError(
      headless
        ? `cannot create the secret-service collection ${name}: the Secret Service needs to show a desktop prompt to ` +
          `create it, and none can appear here (no display). Create it from a desktop session, or use an existing ` +
          `unlocked collection with --secret-service-collection login`
        : `cannot create the secret-service collection ${name}: the prompt was dismissed or did not complete; ` +
          `try again, or use an existing collection with --secret-service-collection login`,
    );
  }

  #chooseOther(): string {
    return chooseAnotherBackend(this.#others);
  }

  #describe(what: string, e: GErrorInfo | "timeout"): VaultError {
    if (e === "timeout") {
      return new SecretServiceTimeoutError(
        `secret-service: ${what} did not finish in time; the Secret Service is not answering (is it stuck waiting ` +
          `for a prompt?)`,
      );
    }
    const remote = e.remote ?? "";
    if (/ServiceUnknown|NameHasNoOwner|Spawn\./.test(remote)) {
      return new SecretServiceUnavailableError(
        "no Secret Service (org.freedesktop.secrets) is running on the D-Bus session bus; start one (e.g. " +
          `gnome-keyring-daemon --start --components=secrets, or KeePassXC's Secret Service integration) or ` +
          this.#chooseOther(),
      );
    }
    if (what === "connecting" && !remote) {
      return new SecretServiceUnavailableError(
        `cannot connect to the D-Bus session bus at ${sessionBusAddress(this.#env)}: ${e.message}; check ` +
          `DBUS_SESSION_BUS_ADDRESS or ${this.#chooseOther()}`,
      );
    }
    return new SecretServiceError(`secret-service: ${what} failed: ${e.message}`);
  }
}
