/**
 * The `secret-service` backend: items in a Secret Service collection (gnome-keyring, KeePassXC, …) through libsecret,
 * stored exactly like aws-vault stores them (attributes `{"profile": key}`, label = key, secret = item JSON with
 * content type `application/json`, no libsecret schema attribute), so both tools see each other's items.
 * Every D-Bus round trip is time-bounded and cancelled when it overruns; failures become messages that say what to do.
 * @module
 */

import { ItemNotFoundError, VaultError } from "../errors.ts";
import {
  CorruptItemError,
  InvalidDataError,
  itemFromJson,
  itemToJson,
  type Keyring,
  type VaultItem,
} from "./keyring.ts";
import {
  callBounded,
  cString,
  type GErrorInfo,
  type LibSecret,
  loadLibSecret,
  lookupAttribute,
  newAttributes,
  readCString,
  takeList,
  unref,
} from "./libsecret_ffi.ts";

/** Collection used when none is configured (`--secret-service-collection`), as in aws-vault. */
export const DEFAULT_COLLECTION = "awsvault";
const COLLECTION_PATH = "/org/freedesktop/secrets/collection/";
// libsecret flag values (secret-service.h, secret-collection.h, secret-item.h, secret-paths.h).
const SERVICE_OPEN_SESSION = 1 << 1;
const SERVICE_LOAD_COLLECTIONS = 1 << 2;
const SEARCH_ALL = 1 << 1;
const ITEM_CREATE_REPLACE = 1 << 1;

type Env = (name: string) => string | undefined;

/** Options of {@link SecretServiceKeyring}. */
export interface SecretServiceKeyringOptions {
  /** Collection name; default {@link DEFAULT_COLLECTION}. Created on the first `set` if missing. */
  collection?: string;
  /**
   * Environment accessor for the pre-flight checks and messages (D-Bus address, display). libsecret itself reads the
   * process environment, so pass a view of it. Default `Deno.env.get`.
   */
  env?: Env;
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
export function secretServiceAvailable(env: Env = (n) => Deno.env.get(n)): boolean {
  if (Deno.build.os !== "linux" || busAddress(env) === undefined) return false;
  try {
    loadLibSecret();
    return true;
  } catch {
    return false;
  }
}

/** The session bus address GLib will use: DBUS_SESSION_BUS_ADDRESS, else `$XDG_RUNTIME_DIR/bus` if it exists. */
function busAddress(env: Env): string | undefined {
  const address = env("DBUS_SESSION_BUS_ADDRESS");
  if (address) return address;
  const runtime = env("XDG_RUNTIME_DIR");
  try {
    if (runtime && Deno.statSync(`${runtime}/bus`).isSocket) return `unix:path=${runtime}/bus`;
  } catch { /* no systemd user bus either */ }
  return undefined;
}

/** Undoes the Secret Service's object path escaping (`_XX` = hex byte), like aws-vault's `decodeKeyringString`. */
export function decodeObjectPathName(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "_") {
      bytes.push(...new TextEncoder().encode(text[i]));
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return text;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
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

  constructor(options: SecretServiceKeyringOptions = {}) {
    this.collection = options.collection || DEFAULT_COLLECTION;
    this.#env = options.env ?? ((n) => Deno.env.get(n));
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
    if (busAddress(this.#env) === undefined) {
      throw new SecretServiceUnavailableError(
        "the secret-service backend needs a D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set); start one " +
          `or ${this.#chooseOther()}`,
      );
    }
    const headless = !this.#env("DISPLAY") && !this.#env("WAYLAND_DISPLAY");
    const s = new Session(loadLibSecret(), {
      timeoutMs: this.#timeoutMs,
      promptTimeoutMs: this.#promptTimeoutMs ?? (headless ? 5_000 : 120_000),
      describe: (what, e) => this.#describe(what, e),
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
    return `choose another --backend${this.#others.length ? ` (available: ${this.#others.join(", ")})` : ""}`;
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
        `cannot connect to the D-Bus session bus at ${busAddress(this.#env)}: ${e.message}; check ` +
          `DBUS_SESSION_BUS_ADDRESS or ${this.#chooseOther()}`,
      );
    }
    return new SecretServiceError(`secret-service: ${what} failed: ${e.message}`);
  }
}

/** Bounds and error mapping a {@link Session} needs from its keyring. */
interface SessionOptions {
  timeoutMs: number;
  promptTimeoutMs: number;
  describe: (what: string, e: GErrorInfo | "timeout") => VaultError;
}

type Run<R> = (cancellable: Deno.PointerValue, error: BigUint64Array<ArrayBuffer>) => Promise<R>;
const UNKNOWN: GErrorInfo = { domain: 0, code: 0, message: "no reason given" };

/** One operation's native state: the SecretService proxy and every object to release when done. */
class Session {
  #lib: LibSecret;
  #opts: SessionOptions;
  #service: Deno.PointerValue = null;
  #releases: (() => void)[] = [];

  constructor(lib: LibSecret, opts: SessionOptions) {
    this.#lib = lib;
    this.#opts = opts;
  }

  /** A bounded call; `prompt` calls may show a desktop prompt and get the longer bound. */
  async #call<R>(what: string, run: Run<R>, prompt = false): Promise<{ result: R; error?: GErrorInfo }> {
    const r = await callBounded(this.#lib, prompt ? this.#opts.promptTimeoutMs : this.#opts.timeoutMs, run);
    if (r.timedOut) throw this.#opts.describe(what, "timeout");
    return r as { result: R; error?: GErrorInfo };
  }

  /** Takes over one reference (transfer full), released in close(). */
  #own(object: Deno.PointerValue): Deno.PointerValue {
    if (object) this.#releases.push(() => unref(this.#lib, object));
    return object;
  }

  /** Opens the service with a plain session and its collections loaded. */
  async connect(): Promise<void> {
    const flags = SERVICE_OPEN_SESSION | SERVICE_LOAD_COLLECTIONS;
    const { result, error } = await this.#call(
      "connecting",
      (c, e) => this.#lib.secret.secret_service_get_sync(flags, c, e),
    );
    this.#service = this.#own(result); // transfer full
    if (!result) throw this.#opts.describe("connecting", error ?? UNKNOWN);
  }

  /** The collection whose unescaped object path is `/org/freedesktop/secrets/collection/<name>` (aws-vault's rule). */
  findCollection(name: string): Deno.PointerValue {
    // transfer full: the list (freed by takeList) and a reference to each collection (owned)
    const all = takeList(this.#lib, this.#lib.secret.secret_service_get_collections(this.#service));
    return all.map((c) => this.#own(c)).find((c) => {
      const path = readCString(this.#lib.gio.g_dbus_proxy_get_object_path(c)) ?? ""; // owned by the proxy
      return decodeObjectPathName(path) === COLLECTION_PATH + name;
    }) ?? null;
  }

  /** Creates a collection labelled `name` (the service derives the path from the label); null if not created. */
  async createCollection(name: string): Promise<Deno.PointerValue> {
    const label = cString(name); // referenced by this frame until the call returns
    const { result, error } = await this.#call(
      "creating the collection",
      (c, e) => this.#lib.secret.secret_collection_create_sync(this.#service, label, null, 0, c, e),
      true,
    );
    // A dismissed or failed prompt makes the service answer with the null path "/", which libsecret then fails to
    // open; that (or no error at all) means "the prompt did not complete". Anything else is a real failure.
    if (!result && error && !/ path: \/$/.test(error.message)) {
      throw this.#opts.describe("creating the collection", error);
    }
    return this.#own(result);
  }

  /** Unlocks the collection if needed (this may prompt); false when it stays locked. */
  async ensureUnlocked(coll: Deno.PointerValue): Promise<boolean> {
    const { secret, glib } = this.#lib;
    if (!secret.secret_collection_get_locked(coll)) return true;
    const list = glib.g_list_append(null, coll); // the cells are ours (g_list_free below), the element is not ref'd
    try {
      const { result } = await this.#call(
        "unlocking the collection",
        (c, e) => secret.secret_service_unlock_sync(this.#service, list, c, null, e),
        true,
      );
      return result > 0;
    } finally {
      glib.g_list_free(list);
    }
  }

  /** Items matching `attributes` exactly (first match only unless `all`); owned by this session. */
  async search(
    coll: Deno.PointerValue,
    attributes: Record<string, string>,
    all: boolean,
  ): Promise<Deno.PointerValue[]> {
    const attrs = newAttributes(this.#lib, attributes); // ours: unref'd below
    try {
      // A null schema matches the attributes alone: items written by aws-vault carry no xdg:schema attribute.
      const { result, error } = await this.#call(
        "searching",
        (c, e) => this.#lib.secret.secret_collection_search_sync(coll, null, attrs, all ? SEARCH_ALL : 0, c, e),
      );
      if (error) throw this.#opts.describe("searching", error);
      return takeList(this.#lib, result).map((i) => this.#own(i)); // transfer full, like the collections
    } finally {
      this.#lib.glib.g_hash_table_unref(attrs);
    }
  }

  /** The item's secret as text (item JSON). */
  async secret(item: Deno.PointerValue): Promise<string> {
    const { secret } = this.#lib;
    const { error } = await this.#call("reading the item", (c, e) => secret.secret_item_load_secret_sync(item, c, e));
    if (error) throw this.#opts.describe("reading the item", error);
    const value = secret.secret_item_get_secret(item); // transfer full: secret_value_unref below
    if (!value) throw new SecretServiceError("secret-service: the item's secret could not be read (is it locked?)");
    try {
      const length = new BigUint64Array(1);
      const bytes = secret.secret_value_get(value, length); // owned by the value: copied before the unref
      const copy = bytes ? new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(bytes, Number(length[0]))).slice() : [];
      return new TextDecoder().decode(new Uint8Array(copy));
    } finally {
      secret.secret_value_unref(value);
    }
  }

  /** Stores `json` under `key` like aws-vault: label = key, attributes {"profile": key}, replacing a match. */
  async create(coll: Deno.PointerValue, key: string, json: string): Promise<void> {
    const { secret, glib } = this.#lib;
    const bytes = new TextEncoder().encode(json);
    // secret_value_new copies the bytes and the content type; the value is ours: secret_value_unref below.
    const value = secret.secret_value_new(bytes, BigInt(bytes.length), cString("application/json"));
    const attrs = newAttributes(this.#lib, { profile: key }); // ours: unref'd below
    const label = cString(key); // referenced by this frame until the call returns
    try {
      const { result, error } = await this.#call(
        "storing the item",
        (c, e) => secret.secret_item_create_sync(coll, null, attrs, label, value, ITEM_CREATE_REPLACE, c, e),
      );
      if (!this.#own(result)) throw this.#opts.describe("storing the item", error ?? UNKNOWN);
    } finally {
      glib.g_hash_table_unref(attrs);
      secret.secret_value_unref(value);
    }
  }

  /** Deletes one item. */
  async delete(item: Deno.PointerValue): Promise<void> {
    const { error } = await this.#call(
      "deleting the item",
      (c, e) => this.#lib.secret.secret_item_delete_sync(item, c, e),
    );
    if (error) throw this.#opts.describe("deleting the item", error);
  }

  /** The `profile` attribute of each item that has one. */
  profiles(items: Deno.PointerValue[]): string[] {
    return items.flatMap((item) => {
      const table = this.#lib.secret.secret_item_get_attributes(item); // transfer full: unref'd here
      try {
        const profile = lookupAttribute(this.#lib, table, "profile");
        return profile === undefined ? [] : [profile];
      } finally {
        this.#lib.glib.g_hash_table_unref(table);
      }
    });
  }

  /** Releases every object this session took, newest first. */
  close(): void {
    for (const release of this.#releases.reverse()) release();
    this.#releases = [];
  }
}
