/**
 * One `secret-service` operation's libsecret state ({@link Session}): the service connection, the calls it makes
 * (each time-bounded) and every native object to release when the operation ends. The keyring in
 * `secret_service.ts` supplies the bounds and turns failures into user-facing errors.
 * @module
 */

import type { VaultError } from "../core/errors.ts";
import {
  callBounded,
  cString,
  type GErrorInfo,
  type LibSecret,
  lookupAttribute,
  newAttributes,
  readCString,
  takeList,
  unref,
} from "./libsecret_ffi.ts";

const COLLECTION_PATH = "/org/freedesktop/secrets/collection/";
// libsecret flag values (secret-service.h, secret-collection.h, secret-item.h, secret-paths.h).
const SERVICE_OPEN_SESSION = 1 << 1;
const SERVICE_LOAD_COLLECTIONS = 1 << 2;
const SEARCH_ALL = 1 << 1;
const ITEM_CREATE_REPLACE = 1 << 1;

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

/**
 * Bounds and error mapping a {@link Session} needs from its keyring. The keyring owns the error classes and messages,
 * so every error a session throws comes from here.
 */
export interface SessionOptions {
  /** Bound for one D-Bus round trip, in ms. */
  timeoutMs: number;
  /** Bound for calls that may show a desktop prompt, in ms. */
  promptTimeoutMs: number;
  /** The error for a failed (`GErrorInfo`) or overrun (`"timeout"`) call; `what` names the step. */
  describe: (what: string, e: GErrorInfo | "timeout") => VaultError;
  /** The error for an item whose secret comes back empty although loading it succeeded. */
  unreadable: () => VaultError;
}

type Run<R> = (cancellable: Deno.PointerValue, error: BigUint64Array<ArrayBuffer>) => Promise<R>;
const UNKNOWN: GErrorInfo = { domain: 0, code: 0, message: "no reason given" };

/** One operation's native state: the SecretService proxy and every object to release when done. */
export class Session {
  #lib: LibSecret;
  #opts: SessionOptions;
  #service: Deno.PointerValue = null;
  #releases: (() => void)[] = [];

  /** Connects nothing yet: {@link Session.connect} opens the service. */
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
    if (!value) throw this.#opts.unreadable();
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
