import assert from "node:assert/strict";
import { ItemNotFoundError } from "../src/core/errors.ts";
import { CredentialKeyring, credentialsFromJson, credentialsToJson } from "../src/vault/credential_keyring.ts";

import { OidcTokenKeyring, oidcTokenToJson } from "../src/vault/oidc_keyring.ts";
import {
  formatSessionKey,
  isLegacySessionKey,
  isSessionKey,
  parseSessionKey,
  SESSION_TYPES,
  sessionCredentialsToJson,
  SessionKeyring,
} from "../src/vault/session_keyring.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";
import { parseRfc3339 } from "../src/core/time.ts";

Deno.test("credentials: exact Go bytes, item fields, tolerant reading, invalid data without secrets", async () => {
  const mem = new MemoryKeyring();
  const creds = new CredentialKeyring(mem);
  await creds.set("work", { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cr<e>t" });
  assert.equal(
    mem.raw("work"),
    '{"AccessKeyID":"AKIAEXAMPLE","SecretAccessKey":"s3cr\\u003ce\\u003et","SessionToken":"","Source":"",' +
      '"CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}',
  );
  const item = mem.items.get("work")!;
  assert.equal(item.label, "aws-vault (work)");
  assert.equal(item.description, "");
  assert.equal(item.keychainNotTrustApplication, true);
  assert.equal(item.keychainNotSynchronizable, false);
  assert.deepEqual(await creds.get("work"), { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cr<e>t" });

  assert.deepEqual(credentialsFromJson('{"AccessKeyID":"ABC","SecretAccessKey":"XYZ"}'), {
    accessKeyId: "ABC",
    secretAccessKey: "XYZ",
  });
  assert.deepEqual(credentialsFromJson('{"accesskeyid":"ABC","SECRETACCESSKEY":"XYZ","AccountID":""}'), {
    accessKeyId: "ABC",
    secretAccessKey: "XYZ",
  });
  const expiring = {
    accessKeyId: "A",
    secretAccessKey: "S",
    sessionToken: "T",
    expiration: new Date("2030-01-02T03:04:05.5Z"),
  };
  assert.match(
    credentialsToJson(expiring),
    /"SessionToken":"T","Source":"","CanExpire":true,"Expires":"2030-01-02T03:04:05.5Z"\}$/,
  );
  assert.deepEqual(credentialsFromJson(credentialsToJson(expiring)), expiring);
  mem.put("broken", '{"AccessKeyID":"AKIA","SecretAccessKey":"topsecret"');
  await assert.rejects(creds.get("broken"), (e) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /^Invalid data in keyring: /);
    assert.doesNotMatch(e.message, /topsecret/);
    return true;
  });
  await assert.rejects(creds.get("nope"), ItemNotFoundError);
});

Deno.test("credential keys exclude session keys (all formats) and oidc tokens", async () => {
  const mem = new MemoryKeyring();
  for (
    const key of [
      "work",
      "sts.GetSessionToken,d29yaw,,1685000000",
      "session,d29yaw,,1685000000",
      "session:work:arn:1685000000",
      "work session (1685000000)",
      "oidc:https://x/start",
      "prod,with,commas",
    ]
  ) mem.put(key, "{}");
  const creds = new CredentialKeyring(mem);
  assert.deepEqual(await creds.keys(), ["prod,with,commas", "work"]);
  assert.equal(await creds.has("work"), true);
  assert.equal(await creds.has("oidc:https://x/start"), false);
  await creds.remove("work");
  assert.equal(await creds.has("work"), false);
});

Deno.test("session keys: format, parse, legacy patterns, extension types", () => {
  const key = {
    type: SESSION_TYPES.getSessionToken,
    profileName: "jonsmith",
    mfaSerial: "arn:aws:iam::111111111111:mfa/jonsmith",
    expiration: new Date(1685000000_900),
  };
  const name = "sts.GetSessionToken,am9uc21pdGg,YXJuOmF3czppYW06OjExMTExMTExMTExMTptZmEvam9uc21pdGg,1685000000";
  assert.equal(formatSessionKey(key), name);
  assert.deepEqual(parseSessionKey(name), { ...key, expiration: new Date(1685000000_000) });
  assert.deepEqual(parseSessionKey("credential_process,cA,,5"), {
    type: "credential_process",
    profileName: "p",
    mfaSerial: "",
    expiration: new Date(5000),
  });
  const ext = { ...key, type: "sts.AssumeRole.3f2a9c", mfaSerial: "" };
  assert.deepEqual(parseSessionKey(formatSessionKey(ext)), { ...ext, expiration: new Date(1685000000_000) });
  for (const bad of ["work", "a,,b,1", "a,b,c,", "a,b+,c,1", "a,b,c,1x", "a,b=,,1", "a,b,c,d,1", "a,bbbbb,,1"]) {
    assert.equal(parseSessionKey(bad), undefined, bad);
  }
  assert.throws(() => formatSessionKey({ ...key, type: "a,b" }), /invalid session type/);
  for (const legacy of ["session,d29yaw,,1685000000", "session:work:arn:x:1685000000", "work session (1685000000)"]) {
    assert.equal(isLegacySessionKey(legacy), true, legacy);
    assert.equal(isSessionKey(legacy), true, legacy);
  }
  assert.equal(isLegacySessionKey("session,d29yaw,,1"), false, "legacy expiry needs two digits");
  assert.equal(isLegacySessionKey("work"), false);
});

Deno.test("session data: exact Go bytes (RFC3339Nano), item fields; get/set/list/remove", async () => {
  const mem = new MemoryKeyring();
  let now = new Date("2023-05-25T00:00:00Z");
  const sessions = new SessionKeyring(mem, { now: () => now });
  const lookup = { type: SESSION_TYPES.assumeRole, profileName: "prod", mfaSerial: "arn:mfa" };
  const c1 = {
    accessKeyId: "ASIA1",
    secretAccessKey: "S1",
    sessionToken: "T1",
    expiration: new Date("2023-05-25T01:02:03Z"),
  };
  const k1 = await sessions.set(lookup, c1);
  const n1 = formatSessionKey(k1);
  assert.equal(n1, "sts.AssumeRole,cHJvZA,YXJuOm1mYQ,1684976523");
  assert.equal(
    mem.raw(n1),
    '{"AccessKeyId":"ASIA1","Expiration":"2023-05-25T01:02:03Z","SecretAccessKey":"S1","SessionToken":"T1"}',
  );
  assert.equal(mem.items.get(n1)!.label, "aws-vault session for prod (expires 2023-05-25T01:02:03Z)");
  assert.equal(mem.items.get(n1)!.description, "aws-vault session");
  assert.equal(
    sessionCredentialsToJson({ ...c1, expiration: new Date(c1.expiration.getTime() + 250) }).includes(
      '"2023-05-25T01:02:03.25Z"',
    ),
    true,
  );
  assert.deepEqual(await sessions.get(lookup), { key: k1, credentials: c1 });
  assert.equal(await sessions.get({ ...lookup, mfaSerial: "" }), undefined);

  const c2 = { ...c1, accessKeyId: "ASIA2", expiration: new Date("2023-05-25T02:00:00Z") };
  const k2 = await sessions.set(lookup, c2);
  assert.deepEqual(await mem.keys(), [formatSessionKey(k2)], "set replaced the previous key of the same session");
  assert.equal((await sessions.get(lookup))?.credentials.accessKeyId, "ASIA2");

  now = new Date("2023-05-25T03:00:00Z");
  assert.equal(await sessions.get(lookup), undefined, "expired by the key name");
  await sessions.set({ ...lookup, profileName: "other" }, { ...c1, expiration: new Date("2023-05-25T04:00:00Z") });
  assert.deepEqual((await sessions.list()).map((k) => k.profileName).sort(), ["other", "prod"]);
  assert.equal(await sessions.removeForProfile("prod"), 1);
  assert.equal(await sessions.removeAll(), 1);
  assert.deepEqual(await mem.keys(), []);
});

Deno.test("session get ignores invalid data; removeOldSessions removes legacy and expired keys only", async () => {
  const mem = new MemoryKeyring();
  const now = new Date("2023-05-25T00:00:00Z");
  const lookup = { type: SESSION_TYPES.getSessionToken, profileName: "p", mfaSerial: "" };
  mem.put(formatSessionKey({ ...lookup, expiration: new Date("2023-05-26T00:00:00Z") }), "not json");
  assert.equal(await new SessionKeyring(mem, { now: () => now }).get(lookup), undefined);

  const old = ["session,cA,,1685000000", "session:p:arn:1685000000", "p session (1685000000)"];
  const expired = formatSessionKey({ ...lookup, profileName: "q", expiration: new Date("2023-05-24T00:00:00Z") });
  const live = formatSessionKey({ ...lookup, profileName: "r", expiration: new Date("2023-05-26T00:00:00Z") });
  for (const k of [...old, expired, live, "work"]) mem.put(k, "{}");
  assert.equal(await new SessionKeyring(mem, { now: () => now }).removeOldSessions(), 4);
  assert.deepEqual((await mem.keys()).filter((k) => k !== live && !k.startsWith("sts.GetSessionToken,cA")), ["work"]);

  mem.put(old[0], "{}");
  await new SessionKeyring(mem, { now: () => now }).get(lookup);
  assert.equal(mem.items.has(old[0]), false, "get sweeps legacy keys");
});

Deno.test("oidc: data format, label, expiry removal, ExpiresIn rewritten, list and removeAll", async () => {
  const mem = new MemoryKeyring();
  let now = new Date("2023-05-25T07:30:06.123Z");
  const oidc = new OidcTokenKeyring(mem, { now: () => now });
  const url = "https://acme.awsapps.com/start";
  const token = { accessToken: "AT", expiresIn: 28800, idToken: null, refreshToken: "RT", tokenType: "Bearer" };
  await oidc.set(url, token);
  const item = mem.items.get(`oidc:${url}`)!;
  assert.equal(item.description, "aws-vault oidc token");
  const label = /^aws-vault oidc token for https:\/\/acme\.awsapps\.com\/start \(expires (\S+)\)$/.exec(item.label);
  assert.equal(parseRfc3339(label![1])?.toISOString(), "2023-05-25T15:30:06.000Z", "local time, any zone");
  const data = JSON.parse(mem.raw(`oidc:${url}`));
  assert.deepEqual(data.Token, {
    AccessToken: "AT",
    ExpiresIn: 28800,
    IdToken: null,
    RefreshToken: "RT",
    TokenType: "Bearer",
    ResultMetadata: {},
  });
  assert.equal(new Date(data.Expiration).getTime(), now.getTime() + 28800_000);
  assert.equal(
    oidcTokenToJson(token, new Date("2023-05-25T15:30:06.123Z")).replace(/"Expiration":"[^"]+"/, ""),
    '{"Token":{"AccessToken":"AT","ExpiresIn":28800,"IdToken":null,"RefreshToken":"RT","TokenType":"Bearer","ResultMetadata":{}},}',
  );

  now = new Date(now.getTime() + 100_500);
  assert.deepEqual(await oidc.get(url), { ...token, expiresIn: 28699 });
  assert.deepEqual(await oidc.list(), [url]);
  assert.equal(await oidc.has(url), true);
  assert.equal(await oidc.has(`oidc:${url}`), false);

  now = new Date(now.getTime() + 28800_000);
  assert.equal(await oidc.get(url), undefined);
  assert.equal(mem.items.size, 0, "expired token removed");

  mem.put("oidc:https://a/start", "garbage");
  assert.equal(await oidc.get("https://a/start"), undefined, "invalid data counts as not found");
  await oidc.set("https://b/start", token);
  assert.equal(await oidc.removeAll(), 2);
  assert.equal(await oidc.get("https://nothing"), undefined);
});

Deno.test("sessionTypeLabel shows extension types as their standard type", async () => {
  const { sessionTypeLabel } = await import("../src/vault/session_keyring.ts");
  assert.equal(sessionTypeLabel("sts.AssumeRole.0123456789abcdef"), "sts.AssumeRole");
  assert.equal(sessionTypeLabel("sts.GetSessionToken"), "sts.GetSessionToken");
  assert.equal(sessionTypeLabel("sts.AssumeRole.notahash"), "sts.AssumeRole.notahash");
});
