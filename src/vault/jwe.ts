/**
 * JWE compact tokens as written by aws-vault's file backend (jose2go): `PBES2-HS256+A128KW` key wrapping with a
 * 12-byte salt, `A256GCM` content encryption, an extra `created` header, no compression. jose2go writes p2c 8192 and
 * reads any p2c from the header; the file backend chooses a higher one for long-term keys (`file.ts`).
 *
 * WebCrypto does the cryptography (PBKDF2, AES key wrap, AES-GCM), which is all this format needs: importing
 * `npm:jose` for it cost ~5 ms of every cached credential_process run, half the budget. Compatibility with the Go
 * implementation is pinned by vectors it wrote and by live round trips in the tests.
 * @module
 */

import { VaultError } from "../core/errors.ts";
import { WrongPassphraseError } from "./keyring.ts";

/**
 * Iteration count aws-vault (jose2go) writes, and the one session and SSO token items keep: they are read on every
 * cached credential_process run, where each 8,192 iterations cost ~3 ms (docs/performance.md).
 */
export const DEFAULT_PBES2_COUNT = 8192;
/** Iteration count for long-term credential items: OWASP's 2023 figure for PBKDF2-HMAC-SHA256. */
export const CREDENTIAL_PBES2_COUNT = 600_000;
/**
 * Largest `p2c` accepted on decryption, as jose2go since v1.6.0 for PBES2-HS256+A128KW (v1.5.0, which aws-vault pins,
 * has no limit): bounds the work a planted file can cause (~0.2 s of PBKDF2 per item read here), and so also the most
 * that can be chosen for writing, which every jose2go must still read.
 */
export const MAX_PBES2_COUNT = 1_300_000;

const PBES2_ALGS = ["PBES2-HS256+A128KW", "PBES2-HS384+A192KW", "PBES2-HS512+A256KW"];
// aws-vault only ever writes A256GCM; the other GCM sizes cost nothing to accept. (jose2go could also write
// A*CBC-HS*, which no aws-vault version does.)
const ENC_ALGS = ["A128GCM", "A192GCM", "A256GCM"];
const B64URL = /^[A-Za-z0-9_-]*$/;
const encoder = new TextEncoder();

/** The token is not a JWE this backend can decrypt (not compact JWE, unsupported header, damaged, too costly). */
export class InvalidJweError extends VaultError {}

/** The protected header of a PBES2 JWE, with the fields decryption depends on validated. */
export interface JweHeader {
  /** A `PBES2-*` key management algorithm. */
  alg: string;
  /** Content encryption algorithm. */
  enc: string;
  /** PBKDF2 iteration count. */
  p2c: number;
  /** PBKDF2 salt input, base64url. */
  p2s: string;
  /** Any other header fields (`created`, `zip`, …). */
  [field: string]: unknown;
}

function b64u(part: string, what: string): Uint8Array<ArrayBuffer> {
  if (!B64URL.test(part) || part.length % 4 === 1) throw new InvalidJweError(`${what} is not base64url`);
  return Uint8Array.fromBase64(part, { alphabet: "base64url" });
}

function splitToken(token: string): string[] {
  const parts = token.trim().split(".");
  if (parts.length !== 5) throw new InvalidJweError(`not a JWE compact token (${parts.length} parts instead of 5)`);
  return parts;
}

/**
 * Checks that `token` is a compact JWE with a PBES2 header this module can decrypt, without the passphrase, and
 * returns the header. Throws {@link InvalidJweError} with the reason otherwise.
 */
export function readJweHeader(token: string): JweHeader {
  const parts = splitToken(token);
  parts.forEach((p, i) => b64u(p, ["header", "encrypted key", "iv", "ciphertext", "tag"][i]));
  if (parts[1] === "" || parts[2] === "" || parts[4] === "") throw new InvalidJweError("a required JWE part is empty");
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64u(parts[0], "header")));
  } catch {
    throw new InvalidJweError("header is not JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new InvalidJweError("header is not a JSON object");
  }
  const { alg, enc, p2c, p2s } = header;
  if (typeof alg !== "string" || !PBES2_ALGS.includes(alg)) throw new InvalidJweError(`unsupported alg ${String(alg)}`);
  if (typeof enc !== "string" || !ENC_ALGS.includes(enc)) throw new InvalidJweError(`unsupported enc ${String(enc)}`);
  if (typeof p2c !== "number" || !Number.isSafeInteger(p2c) || p2c < 1) throw new InvalidJweError("invalid p2c");
  if (typeof p2s !== "string" || b64u(p2s, "p2s").length < 8) throw new InvalidJweError("invalid p2s");
  return header as JweHeader;
}

/** Go's `time.Now().String()` shape (in UTC), stored by aws-vault in the `created` header. */
export function goTimeString(date: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const frac = date.getUTCMilliseconds() ? `.${p(date.getUTCMilliseconds(), 3).replace(/0+$/, "")}` : "";
  return `${p(date.getUTCFullYear(), 4)}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())} ` +
    `${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())}${frac} +0000 UTC ` +
    `m=+${(performance.now() / 1000).toFixed(9)}`;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const toB64u = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });

/** RFC 7518 §4.8: KEK = PBKDF2(passphrase, UTF8(alg) ‖ 0x00 ‖ p2s, p2c), as long as the AES-KW key of `alg`. */
async function deriveKek(header: JweHeader, passphrase: string, usage: "wrapKey" | "unwrapKey"): Promise<CryptoKey> {
  const salt = concat(encoder.encode(header.alg), new Uint8Array([0]), b64u(header.p2s, "p2s"));
  const base = await crypto.subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: `SHA-${header.alg.slice(8, 11)}`, salt, iterations: header.p2c },
    base,
    Number(header.alg.slice(13, 16)),
  );
  return await crypto.subtle.importKey("raw", bits, "AES-KW", false, [usage]);
}

/**
 * Encrypts `plaintext` into a JWE compact token the Go aws-vault can read. `p2c`: the PBKDF2 iteration count, default
 * {@link DEFAULT_PBES2_COUNT}; the caller keeps it within {@link MAX_PBES2_COUNT} so that the token stays readable.
 */
export async function encryptJwe(
  plaintext: Uint8Array,
  passphrase: string,
  options?: { p2c?: number; created?: string },
): Promise<string> {
  // Keys in the order Go's json.Marshal of jose2go's header map writes them (sorted).
  const header: JweHeader = {
    alg: "PBES2-HS256+A128KW",
    created: options?.created ?? goTimeString(),
    enc: "A256GCM",
    p2c: options?.p2c ?? DEFAULT_PBES2_COUNT,
    p2s: toB64u(crypto.getRandomValues(new Uint8Array(12))),
  };
  const protectedHeader = toB64u(encoder.encode(JSON.stringify(header)));
  const cek = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt"]);
  const wrapped = new Uint8Array(
    await crypto.subtle.wrapKey("raw", cek, await deriveKek(header, passphrase, "wrapKey"), "AES-KW"),
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(protectedHeader), tagLength: 128 },
      cek,
      new Uint8Array(plaintext),
    ),
  );
  return [protectedHeader, toB64u(wrapped), toB64u(iv), toB64u(sealed.subarray(0, -16)), toB64u(sealed.subarray(-16))]
    .join(".");
}

/**
 * Decrypts a token. Throws {@link WrongPassphraseError} when the passphrase does not unwrap the content key, and
 * {@link InvalidJweError} when the token is malformed, over the p2c limit, or its content fails authentication.
 */
export async function decryptJwe(
  token: string,
  passphrase: string,
  options?: { maxPbes2Count?: number },
): Promise<Uint8Array> {
  const header = readJweHeader(token);
  const max = options?.maxPbes2Count ?? MAX_PBES2_COUNT;
  if (header.p2c > max) {
    throw new InvalidJweError(`PBES2 iteration count p2c=${header.p2c} is larger than the allowed ${max}`);
  }
  if (header.zip !== undefined) {
    throw new InvalidJweError(`compressed content (zip=${String(header.zip)}) is not supported`);
  }
  const [protectedHeader, encryptedKey, iv, ciphertext, tag] = splitToken(token);
  const ivBytes = b64u(iv, "iv");
  if (ivBytes.length !== 12) throw new InvalidJweError("the iv is not 96 bits");
  const kek = await deriveKek(header, passphrase, "unwrapKey");
  let cek: CryptoKey;
  try {
    // AES-KW carries an integrity check: a wrong passphrase fails here, before any content is touched.
    cek = await crypto.subtle.unwrapKey("raw", b64u(encryptedKey, "encrypted key"), kek, "AES-KW", "AES-GCM", false, [
      "decrypt",
    ]);
  } catch {
    throw new WrongPassphraseError("wrong passphrase");
  }
  if ((cek.algorithm as AesKeyAlgorithm).length !== Number(header.enc.slice(1, 4))) {
    throw new InvalidJweError(`the content key does not fit ${header.enc}`);
  }
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: ivBytes, additionalData: encoder.encode(protectedHeader), tagLength: 128 },
        cek,
        concat(b64u(ciphertext, "ciphertext"), b64u(tag, "tag")),
      ),
    );
  } catch {
    throw new InvalidJweError("the encrypted content fails authentication (file damaged)");
  }
}
