/**
 * File-name escaping of the file backend, byte-compatible with `github.com/mtibben/percent` as used by
 * `keyring`'s file backend: `Encode(key, "/")` and the lenient `Decode`.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX = "0123456789ABCDEF";

/**
 * Escapes `%` and every character in `charsToEscape` as uppercase `%XX`, one triple per UTF-8 byte; everything
 * else is kept literally. `encode("oidc:https://x/start", "/")` → `oidc:https:%2F%2Fx%2Fstart`.
 */
export function encode(value: string, charsToEscape: string): string {
  let out = "";
  for (const ch of value) {
    if (ch !== "%" && !charsToEscape.includes(ch)) {
      out += ch;
      continue;
    }
    for (const b of encoder.encode(ch)) out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/**
 * Decodes every `%XX` (either hex case) to its byte and keeps anything else, including invalid or truncated `%`
 * sequences, as it is. The resulting bytes are read as UTF-8.
 */
export function decode(value: string): string {
  const src = encoder.encode(value);
  const out = new Uint8Array(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    if (src[i] === 0x25 && i + 2 < src.length && isHex(src[i + 1]) && isHex(src[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(src[i + 1], src[i + 2]), 16);
      i += 2;
    } else {
      out[n++] = src[i];
    }
  }
  return decoder.decode(out.subarray(0, n));
}
