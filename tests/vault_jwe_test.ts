import assert from "node:assert/strict";
import {
  decryptJwe,
  encryptJwe,
  goTimeString,
  InvalidJweError,
  MAX_PBES2_COUNT,
  readJweHeader,
} from "../src/vault/jwe.ts";
import { WrongPassphraseError } from "../src/vault/keyring.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64u = (s: string) => enc.encode(s).toBase64({ alphabet: "base64url", omitPadding: true });
const headerOf = (token: string) =>
  JSON.parse(dec.decode(Uint8Array.fromBase64(token.split(".")[0], { alphabet: "base64url" })));

Deno.test("encryptJwe writes jose2go's header: sorted keys, p2c 8192, 12-byte p2s, created, no zip", async () => {
  const token = await encryptJwe(enc.encode("payload"), "pw");
  const rawHeader = dec.decode(Uint8Array.fromBase64(token.split(".")[0], { alphabet: "base64url" }));
  assert.match(
    rawHeader,
    /^\{"alg":"PBES2-HS256\+A128KW","created":"[^"]+","enc":"A256GCM","p2c":8192,"p2s":"[\w-]{16}"\}$/,
  );
  const header = JSON.parse(rawHeader);
  assert.equal(Uint8Array.fromBase64(header.p2s, { alphabet: "base64url" }).length, 12);
  assert.match(header.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC m=\+\d+\.\d{9}$/);
  assert.equal(token.split(".").length, 5);
  assert.equal(Uint8Array.fromBase64(token.split(".")[2], { alphabet: "base64url" }).length, 12, "96-bit IV");
  assert.equal(Uint8Array.fromBase64(token.split(".")[4], { alphabet: "base64url" }).length, 16, "128-bit tag");
  assert.equal(dec.decode(await decryptJwe(token, "pw")), "payload");
});

Deno.test("goTimeString looks like Go's time.Now().String()", () => {
  const s = goTimeString(new Date(Date.UTC(2026, 10, 21, 15, 30, 6, 120)));
  assert.match(s, /^2026-11-21 15:30:06\.12 \+0000 UTC m=\+\d+\.\d{9}$/);
});

Deno.test("decryptJwe: wrong passphrase and damaged content are different errors", async () => {
  const token = await encryptJwe(enc.encode("x"), "right");
  await assert.rejects(decryptJwe(token, "wrong"), (e) => e instanceof WrongPassphraseError);
  const parts = token.split(".");
  const ct = Uint8Array.fromBase64(parts[3], { alphabet: "base64url" });
  ct[0] ^= 1;
  parts[3] = ct.toBase64({ alphabet: "base64url", omitPadding: true });
  await assert.rejects(
    decryptJwe(parts.join("."), "right"),
    (e) => e instanceof InvalidJweError && /damaged/.test(e.message),
  );
});

Deno.test("empty passphrase works (AWS_VAULT_FILE_PASSPHRASE= counts)", async () => {
  assert.equal(dec.decode(await decryptJwe(await encryptJwe(enc.encode("e"), ""), "")), "e");
});

Deno.test("a large p2c (100000) decrypts; one over the limit is refused before any key derivation", async () => {
  const token = await encryptJwe(enc.encode("big"), "pw", { p2c: 100_000 });
  assert.equal(headerOf(token).p2c, 100_000);
  assert.equal(dec.decode(await decryptJwe(token, "pw")), "big");
  // Rewriting the header breaks the AAD, which does not matter: the limit check comes first and costs nothing.
  const over = { ...headerOf(token), p2c: MAX_PBES2_COUNT + 1 };
  const forged = [b64u(JSON.stringify(over)), ...token.split(".").slice(1)].join(".");
  // Count PBKDF2 derivations while the forged token is read: the refusal must come before the first.
  const deriveBits = crypto.subtle.deriveBits;
  let derivations = 0;
  crypto.subtle.deriveBits = (...args: Parameters<SubtleCrypto["deriveBits"]>) => {
    derivations++;
    return deriveBits.apply(crypto.subtle, args);
  };
  try {
    await assert.rejects(
      decryptJwe(forged, "pw"),
      (e) => e instanceof InvalidJweError && /p2c=1300001/.test(e.message),
    );
    assert.equal(derivations, 0, "no key derivation for a refused p2c");
    await decryptJwe(token, "pw");
    assert.equal(derivations, 1, "the counter sees the derivation of a normal token");
  } finally {
    crypto.subtle.deriveBits = deriveBits;
  }
  await assert.rejects(decryptJwe(token, "pw", { maxPbes2Count: 50_000 }), /larger than the allowed 50000/);
});

Deno.test("readJweHeader validates without the passphrase", () => {
  const good = b64u('{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":"AAAAAAAAAAAAAAAA"}');
  assert.equal(readJweHeader(`${good}.aa.bb.cc.dd`).p2c, 8192);
  const bad: [string, RegExp][] = [
    ["", /1 parts/],
    ["a.b.c", /3 parts/],
    ["Bud1\0\0\0.x.y.z.w", /not base64url/],
    [`${b64u("not json")}.aa.bb.cc.dd`, /not JSON/],
    [`${b64u('{"alg":"dir","enc":"A256GCM"}')}..bb.cc.dd`, /required JWE part is empty|unsupported alg/],
    [`${b64u('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.aa.bb.cc.dd`, /unsupported alg RSA-OAEP/],
    [`${b64u('{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2s":"AAAAAAAAAAA"}')}.aa.bb.cc.dd`, /invalid p2c/],
    [`${b64u('{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":1,"p2s":"AA"}')}.aa.bb.cc.dd`, /invalid p2s/],
    [`${b64u('{"alg":"PBES2-HS256+A128KW","enc":"XYZ","p2c":1}')}.aa.bb.cc.dd`, /unsupported enc XYZ/],
  ];
  for (const [token, reason] of bad) assert.throws(() => readJweHeader(token), reason, token);
});
