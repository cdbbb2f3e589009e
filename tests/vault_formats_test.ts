import assert from "node:assert/strict";
import { decode, encode } from "../src/vault/percent.ts";
import { goJsonString, InvalidDataError, itemFromJson, itemToJson, type VaultItem } from "../src/vault/keyring.ts";
import { formatRfc3339, parseRfc3339 } from "../src/core/time.ts";

Deno.test("percent.encode escapes only % and / (uppercase, per UTF-8 byte)", () => {
  assert.equal(encode("work", "/"), "work");
  assert.equal(
    encode("sts.GetSessionToken,d29yaw,YXJuOm-_,1685000000", "/"),
    "sts.GetSessionToken,d29yaw,YXJuOm-_,1685000000",
  );
  assert.equal(encode("oidc:https://acme.awsapps.com/start", "/"), "oidc:https:%2F%2Facme.awsapps.com%2Fstart");
  assert.equal(encode("100%", "/"), "100%25");
  assert.equal(encode("a b\\c:ü", "/"), "a b\\c:ü");
  assert.equal(encode("ü/é", "/é"), "ü%2F%C3%A9");
  assert.equal(encode("", "/"), "");
});

Deno.test("percent.decode is lenient and inverts encode", () => {
  assert.equal(decode("oidc:https:%2F%2Facme.awsapps.com%2Fstart"), "oidc:https://acme.awsapps.com/start");
  assert.equal(decode("%2f%2F"), "//");
  assert.equal(decode("100%25"), "100%");
  assert.equal(decode("%"), "%");
  assert.equal(decode("abc%2"), "abc%2");
  assert.equal(decode("%zz%4"), "%zz%4");
  assert.equal(decode("%C3%A9"), "é");
  assert.equal(decode("%41%"), "A%");
  for (const s of ["", "a/b%c", "%%//", "ü/%2F", "oidc:https://x/y?z=%41"]) assert.equal(decode(encode(s, "/")), s);
});

const item: VaultItem = {
  key: "k<&>\u2028",
  data: new TextEncoder().encode("hello"),
  label: 'l "q"',
  description: "ü",
  keychainNotTrustApplication: true,
  keychainNotSynchronizable: false,
};

Deno.test("itemToJson writes Go's json.Marshal(Item) bytes", () => {
  assert.equal(
    itemToJson(item),
    '{"Key":"k\\u003c\\u0026\\u003e\\u2028","Data":"aGVsbG8=","Label":"l \\"q\\"","Description":"ü",' +
      '"KeychainNotTrustApplication":true,"KeychainNotSynchronizable":false}',
  );
  assert.equal(goJsonString("<a>&"), '"\\u003ca\\u003e\\u0026"');
  assert.deepEqual(itemFromJson(itemToJson(item)), item);
  assert.equal(itemToJson({ ...item, data: new Uint8Array() }).includes('"Data":""'), true);
});

Deno.test("itemFromJson is tolerant like Go: case-insensitive names, defaults, null data", () => {
  const parsed = itemFromJson('{"key":"a","DATA":"aGk","label":null,"keychainnottrustapplication":true,"extra":1}');
  assert.equal(parsed.key, "a");
  assert.equal(new TextDecoder().decode(parsed.data), "hi");
  assert.equal(parsed.label, "");
  assert.equal(parsed.description, "");
  assert.equal(parsed.keychainNotTrustApplication, true);
  assert.equal(parsed.keychainNotSynchronizable, false);
  assert.deepEqual(itemFromJson('{"Data":null}').data, new Uint8Array());
  assert.throws(
    () => itemFromJson("not json {secret}"),
    (e) => e instanceof InvalidDataError && !/secret/.test(e.message),
  );
  assert.throws(() => itemFromJson('{"Key":5}'), /field Key must be a string/);
  assert.throws(() => itemFromJson('{"Data":"@@@"}'), /base64/);
  assert.throws(() => itemFromJson("[]"), InvalidDataError);
});

Deno.test("RFC 3339 formatting and parsing follow Go", () => {
  const d = new Date(Date.UTC(2023, 4, 25, 1, 2, 3));
  assert.equal(formatRfc3339(d), "2023-05-25T01:02:03Z");
  assert.equal(formatRfc3339(d, { nano: true }), "2023-05-25T01:02:03Z");
  assert.equal(formatRfc3339(new Date(d.getTime() + 500), { nano: true }), "2023-05-25T01:02:03.5Z");
  assert.equal(formatRfc3339(new Date(d.getTime() + 120), { nano: true }), "2023-05-25T01:02:03.12Z");
  assert.equal(parseRfc3339("2023-05-25T01:02:03Z")?.getTime(), d.getTime());
  assert.equal(parseRfc3339("2023-05-25T11:02:03.123456789+10:00")?.getTime(), d.getTime() + 123);
  assert.equal(parseRfc3339("2023-05-24T23:02:03.57-02:00")?.getTime(), d.getTime() + 570);
  assert.equal(formatRfc3339(parseRfc3339("0001-01-01T00:00:00Z")!), "0001-01-01T00:00:00Z");
  assert.equal(parseRfc3339("2023-05-25 01:02:03Z"), undefined);
  const local = formatRfc3339(d, { local: true });
  assert.equal(parseRfc3339(local)?.getTime(), d.getTime());
});
