// The transport: STS over HTTPS with a private CA (AWS_CA_BUNDLE is trusted in addition to the system roots, and a
// certificate nobody trusts fails naming the endpoint), and time-outs.
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { getProviderForProfile } from "../src/credentials/chain.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { EndpointUnreachableError, FetchRequestHandler } from "../src/aws/http_handler.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { envFromRecord } from "../src/core/env.ts";

// A test-only CA and a localhost certificate it signed (EC P-256, valid until 2125).
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBnjCCAUWgAwIBAgIUOga72zUf9WB8BP/WmIivJxT6ur8wCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRYXdzLXZhdWx0IHRlc3QgQ0EwIBcNMjYxMTIxMTU1MDMwWhgP
MjEyNjEwMjgxNTUwMzBaMBwxGjAYBgNVBAMMEWF3cy12YXVsdCB0ZXN0IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElReca8GMgGYMhKnoIdX3dQdkD0cmaeWk
t2aGcRCMVQc2Q7UFV1Gi/XttfY8I5TC/WFnXkPNvCZpbRj1nQpxDc6NjMGEwHQYD
VR0OBBYEFLFhsfFnr/OJihg0OE1w0S8Li1XgMB8GA1UdIwQYMBaAFLFhsfFnr/OJ
ihg0OE1w0S8Li1XgMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMAoG
CCqGSM49BAMCA0cAMEQCIDozhIB2IkzjUlrNfiihvilCZJ9SqHw1GEPXKOz/uPp8
AiBdAjFFvtqlVNuPeNvYamZ3GvSe/MBCOBUovFhllH8XsA==
-----END CERTIFICATE-----
`;
const LEAF_PEM = `-----BEGIN CERTIFICATE-----
MIIBsjCCAVigAwIBAgIUKSUhAMxxmoovtw40t/gsd1FnMkIwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRYXdzLXZhdWx0IHRlc3QgQ0EwIBcNMjYxMTIxMTU1MDMwWhgP
MjEyNjEwMjgxNTUwMzBaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABDrewWTWsJMG0x6ZuYcJ4p+4Mn983w5qw6ox2TzYkjBx
IA5uMXeJ7W7QGN8Ul6jP+1yavcEqkd4Pg+/MeSThd46jfjB8MBoGA1UdEQQTMBGC
CWxvY2FsaG9zdIcEfwAAATAJBgNVHRMEAjAAMBMGA1UdJQQMMAoGCCsGAQUFBwMB
MB0GA1UdDgQWBBSWhB1GSCFeL0d9lzuVkOPlLCwYazAfBgNVHSMEGDAWgBSxYbHx
Z6/ziYoYNDhNcNEvC4tV4DAKBggqhkjOPQQDAgNIADBFAiA4rnCpmW8Ec7zCIwAJ
SQm9Eel74wbw/KIiwYH2mwRzPAIhAKLFgOn3PX9MRiGMg43/JttPUZT0RpQSBe9C
SnIJKv0W
-----END CERTIFICATE-----
`;
const LEAF_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCNKtbAKO0mdMziOo
m1sKLbUefE2eg4kXgYBK5MD+0VahRANCAAQ63sFk1rCTBtMembmHCeKfuDJ/fN8O
asOqMdk82JIwcSAObjF3ie1u0BjfFJeoz/tcmr3BKpHeD4PvzHkk4XeO
-----END PRIVATE KEY-----
`;

const JON = { userName: "jonsmith", accessKeyId: "AKIAJONSMITH0000001", secretAccessKey: "jon-secret" };

Deno.test("AWS_CA_BUNDLE: STS behind a TLS endpoint signed by a private CA", async () => {
  const fake = await startFakeAws();
  fake.addUser(JON);
  // A TLS front for the plain-HTTP fake that passes the bytes through unchanged, so the signed Host header still
  // matches what the client signed.
  const front = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: LEAF_PEM, key: LEAF_KEY });
  const port = Number(new URL(fake.url).port);
  const relay = (async () => {
    for await (const tls of front) {
      Deno.connect({ hostname: "127.0.0.1", port }).then((plain) =>
        Promise.all([tls.readable.pipeTo(plain.writable), plain.readable.pipeTo(tls.writable)])
      ).catch(() => {});
    }
  })().catch(() => {});
  const dir = await Deno.makeTempDir({ prefix: "credentials-tls-" });
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, CA_PEM);
    const vault = new FileKeyring({
      dir: `${dir}/keys`,
      env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "t" }),
    });
    await new CredentialKeyring(vault).set("jonsmith", JON);
    const run = async (vars: Record<string, string>) => {
      const env = envFromRecord(vars);
      const profile = resolveProfile(parseConfigFile("[profile jonsmith]\n"), "jonsmith", { env });
      return await (await getProviderForProfile(profile, { vault, env, noCache: true, now: () => new Date() }))
        .retrieve();
    };
    const endpoint = `https://localhost:${front.addr.port}`;
    const creds = await run({ AWS_ENDPOINT_URL: endpoint, AWS_CA_BUNDLE: `${dir}/ca.pem` });
    assert.match(creds.accessKeyId, /^ASIA/);
    assert.equal(fake.callsTo("GetSessionToken").length, 1);
    const err = await run({ AWS_ENDPOINT_URL: endpoint }).catch((e) => e);
    assert.ok(err.message.startsWith(`profile jonsmith: sts:GetSessionToken failed: could not reach ${endpoint}: `));
    assert.match(err.message, /certificate|UnknownIssuer/i);
    const missing = await run({ AWS_ENDPOINT_URL: endpoint, AWS_CA_BUNDLE: `${dir}/none.pem` }).catch((e) => e);
    assert.match(missing.message, /^AWS_CA_BUNDLE .*none\.pem: /);
  } finally {
    front.close();
    await relay;
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("request handler: a time-out names the endpoint and is retryable for the SDK", async () => {
  const fake = await startFakeAws();
  try {
    fake.injectFault({ kind: "slow", delayMs: 2000 });
    const handler = new FetchRequestHandler({ requestTimeout: 200 });
    const { hostname, port } = new URL(fake.url);
    const request = {
      method: "POST",
      protocol: "http:",
      hostname,
      port: Number(port),
      path: "/",
      query: {},
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=GetCallerIdentity&Version=2011-06-15",
    } as unknown as Parameters<FetchRequestHandler["handle"]>[0];
    const err = await handler.handle(request).catch((e) => e);
    assert.ok(err instanceof EndpointUnreachableError);
    assert.equal(err.message, `could not reach ${fake.url}: no answer within 0.2s`);
    assert.equal(err.code, "ETIMEDOUT");
    handler.destroy();
    // Without the fault the endpoint answers (a handler with the default time-out, so a loaded machine cannot fail it).
    const patient = new FetchRequestHandler({});
    const { response } = await patient.handle(request);
    assert.equal(response.statusCode, 403, "unsigned: answered, not a transport error");
    patient.destroy();
  } finally {
    await fake.close();
  }
});
