// The EC2 metadata server: the peer and Host checks, the IMDSv2 token flow (TTL bounds, expiry, X-Forwarded-For),
// IMDSv1 off by default, every path's exact answer, errors, bind failure, and real clients (SDK JS, AWS CLI, boto3).
import { PYTHON3 } from "./support/cli.ts";
import assert from "node:assert/strict";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromInstanceMetadata } from "@aws-sdk/credential-providers";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { AssumeRoleProvider } from "../src/credentials/assume_role_provider.ts";
import type { Credentials } from "../src/core/credentials.ts";
import { type CredentialsProvider } from "../src/credentials/provider.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { debugLogger } from "../src/core/log.ts";
import { checkEc2Request, type Ec2Server, parseTokenTtl, startEc2Server } from "../src/server/ec2_server.ts";
import { HttpHeaders, type HttpRequest, ServerError } from "../src/server/http_server.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { callerIdentityArgs, runClient } from "./support/clients.ts";
import { envFromRecord } from "../src/core/env.ts";

const ALICE = { userName: "alice", accessKeyId: "AKIAALICE0000000001", secretAccessKey: "alice-secret-key" };
const BASE_ROLE = "arn:aws:iam::222222222222:role/Base";
const CLIENTS_PY = new URL("./support/server_clients.py", import.meta.url).pathname;
const CREDS = "/latest/meta-data/iam/security-credentials/";
const SESSION: Credentials = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "sec-ret",
  sessionToken: "tok",
  expiration: new Date("2030-01-01T01:00:00Z"),
};

function scripted(...answers: (Credentials | Error)[]): CredentialsProvider & { calls: number } {
  return {
    description: "scripted",
    calls: 0,
    retrieve() {
      const a = answers[Math.min(this.calls++, answers.length - 1)];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  };
}

function clock(start = Date.parse("2030-01-01T00:00:00Z")) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

async function withServer(
  fn: (s: Ec2Server, port: number) => Promise<void>,
  options: { provider?: CredentialsProvider; allowImdsV1?: boolean; now?: () => Date } = {},
) {
  const server = await startEc2Server({
    provider: scripted(SESSION),
    port: 0,
    region: "eu-west-1",
    now: () => new Date(),
    ...options,
  });
  try {
    await fn(server, Number(new URL(server.url).port));
  } finally {
    await server.close();
  }
}

/** A raw HTTP/1.1 request, for Host headers fetch will not send as given. */
async function raw(port: number, method: string, path: string, headers: Record<string, string>) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await conn.write(new TextEncoder().encode(`${method} ${path} HTTP/1.1\r\n${head}Connection: close\r\n\r\n`));
  const text = await new Response(conn.readable).text();
  return { status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

async function putToken(server: Ec2Server, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/latest/api/token`, { method: "PUT", headers });
  return { status: res.status, body: await res.text(), ttl: res.headers.get("x-aws-ec2-metadata-token-ttl-seconds") };
}

async function getText(server: Ec2Server, path: string, token?: string) {
  const res = await fetch(server.url + path, { headers: token ? { "x-aws-ec2-metadata-token": token } : {} });
  return { status: res.status, body: await res.text() };
}

const request = (headers: Record<string, string>, peer = "127.0.0.1"): HttpRequest => ({
  method: "GET",
  path: "/",
  query: "",
  headers: new HttpHeaders(headers),
  body: new Uint8Array(),
  remote: { transport: "tcp", hostname: peer, port: 40000 },
});

Deno.test("ec2: the peer must be local, directly or in every X-Forwarded-For hop", () => {
  const host = { host: "169.254.169.254" };
  assert.equal(checkEc2Request(request(host), { port: 9099 }), undefined);
  assert.equal(checkEc2Request(request(host, "::1"), { port: 9099 }), undefined);
  for (const peer of ["192.168.1.20", "169.254.169.1", "::ffff:10.0.0.1", "fe80::1"]) {
    const res = checkEc2Request(request(host, peer), { port: 9099 });
    assert.equal(res?.status, 403, peer);
  }
  const proxied = (xff: string) => checkEc2Request(request({ ...host, "x-forwarded-for": xff }), { port: 9099 });
  assert.equal(proxied("127.0.0.1"), undefined);
  assert.equal(proxied("169.254.169.254"), undefined, "local clients reach the proxy from the alias address");
  assert.equal(proxied("203.0.113.7")?.status, 403);
  assert.equal(proxied("127.0.0.1, 203.0.113.7")?.status, 403);
});

Deno.test("ec2: Host must be the metadata address or this loopback server", () => {
  const check = (host: string) => checkEc2Request(request({ host }), { port: 9099 });
  for (const ok of ["169.254.169.254", "169.254.169.254:80", "127.0.0.1:9099", "localhost:9099", "[::1]:9099"]) {
    assert.equal(check(ok), undefined, ok);
  }
  for (const bad of ["evil.example", "evil.example:9099", "169.254.169.254:9099", "127.0.0.1", "127.0.0.1:80"]) {
    const res = check(bad);
    assert.equal(res?.status, 403, bad);
    assert.equal(res?.body, `Access denied for host '${bad}'\n`);
  }
  const res = checkEc2Request(request({ host: "x" }, "10.1.1.1"), { port: 9099 });
  assert.equal(res?.body, "Access denied from non-localhost address\n");
});

Deno.test("ec2: token TTL must be 1..21600 whole seconds", () => {
  for (const ok of ["1", "60", "21600"]) assert.equal(parseTokenTtl(ok), Number(ok));
  for (const bad of [null, "", "0", "21601", "-1", "1.5", " 5", "abc", "999999"]) {
    assert.equal(parseTokenTtl(bad), undefined, String(bad));
  }
});

Deno.test("ec2: IMDSv2 token flow; without v1 a GET needs a valid, unexpired token", async () => {
  const c = clock();
  await withServer(async (server, port) => {
    assert.equal((await putToken(server)).status, 400, "missing TTL");
    assert.equal((await putToken(server, { "x-aws-ec2-metadata-token-ttl-seconds": "0" })).status, 400);
    assert.equal((await putToken(server, { "x-aws-ec2-metadata-token-ttl-seconds": "21601" })).status, 400);
    const xff = { "x-aws-ec2-metadata-token-ttl-seconds": "60", "x-forwarded-for": "203.0.113.7" };
    assert.equal((await putToken(server, xff)).status, 403, "a relayed token request");
    const { status, body: token, ttl } = await putToken(server, { "x-aws-ec2-metadata-token-ttl-seconds": "60" });
    assert.equal(status, 200);
    assert.equal(ttl, "60");
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await getText(server, CREDS)).status, 401, "v1 request");
    assert.equal((await getText(server, CREDS, "forged")).status, 401);
    assert.deepEqual(await getText(server, CREDS, token), { status: 200, body: "local-credentials" });
    const viaProxyHost = await raw(port, "GET", CREDS, { Host: "169.254.169.254", "X-aws-ec2-metadata-token": token });
    assert.equal(viaProxyHost.status, 200);
    const rebound = await raw(port, "GET", CREDS, { Host: `evil.example:${port}`, "X-aws-ec2-metadata-token": token });
    assert.deepEqual(rebound, { status: 403, body: `Access denied for host 'evil.example:${port}'\n` });
    c.advance(59_999);
    assert.equal((await getText(server, CREDS, token)).status, 200);
    c.advance(1);
    assert.equal((await getText(server, CREDS, token)).status, 401, "expired");
    assert.equal((await getText(server, "/latest/api/token")).status, 405);
  }, { now: c.now });
});

Deno.test("ec2: with --ec2-imdsv1 tokenless GETs work but a bad token is still 401", async () => {
  await withServer(async (server) => {
    assert.deepEqual(await getText(server, CREDS), { status: 200, body: "local-credentials" });
    assert.equal((await getText(server, CREDS, "forged")).status, 401);
  }, { allowImdsV1: true });
});

Deno.test("ec2: every path's exact answer", async () => {
  const c = clock();
  await withServer(async (server) => {
    const { body: token } = await putToken(server, { "x-aws-ec2-metadata-token-ttl-seconds": "300" });
    const expected: [string, number, string][] = [
      [CREDS, 200, "local-credentials"],
      [CREDS.slice(0, -1), 200, "local-credentials"],
      [
        CREDS + "local-credentials",
        200,
        '{"AccessKeyId":"ASIAEXAMPLE","Code":"Success","Expiration":"2030-01-01T01:00:00Z",' +
        '"LastUpdated":"2030-01-01T00:00:00Z","SecretAccessKey":"sec-ret","Token":"tok","Type":"AWS-HMAC"}\n',
      ],
      [CREDS + "other-role", 404, "Not Found\n"],
      ["/latest/meta-data/iam/security-credentials-extended/", 404, "Not Found\n"],
      ["/latest/meta-data/instance-id/", 200, "aws-vault"],
      ["/latest/meta-data/instance-id", 200, "aws-vault"],
      ["/latest/meta-data/iam/info/", 200, '{"Code" : "Success"}'],
      ["/latest/dynamic/instance-identity/document", 200, '{"region": "eu-west-1"}'],
      ["/", 404, "Not Found\n"],
    ];
    for (const [path, status, body] of expected) assert.deepEqual(await getText(server, path, token), { status, body });
  }, { now: c.now });
});

Deno.test("ec2: a credential failure is 504 with its message; the next request retries", async () => {
  const failure = new CredentialsError("dev", "ExpiredToken: the session expired", { operation: "sts:AssumeRole" });
  const provider = scripted(failure, failure, SESSION);
  await withServer(async (server) => {
    assert.equal(provider.calls, 1, "pre-fetched at start, failure ignored");
    const { body: token } = await putToken(server, { "x-aws-ec2-metadata-token-ttl-seconds": "300" });
    assert.deepEqual(await getText(server, CREDS + "local-credentials", token), {
      status: 504,
      body: "profile dev: sts:AssumeRole failed: ExpiredToken: the session expired\n",
    });
    assert.equal((await getText(server, CREDS + "local-credentials", token)).status, 200);
    assert.equal(provider.calls, 3);
  }, { provider, now: clock().now });
});

Deno.test("ec2: a taken port is a ServerError naming the address", async () => {
  await withServer(async (_server, port) => {
    await assert.rejects(
      startEc2Server({ provider: scripted(SESSION), port, now: () => new Date() }),
      (e: Error) => e instanceof ServerError && e.message.startsWith(`cannot listen on 127.0.0.1:${port}: `),
    );
  });
  await assert.rejects(
    startEc2Server({ provider: scripted(SESSION), hostname: "0.0.0.0", port: 0, now: () => new Date() }),
    ServerError,
  );
});

Deno.test("ec2: SDK JS, AWS CLI and boto3 use IMDSv2 and call the fake with what they got; nothing secret logged", async () => {
  const fake = await startFakeAws();
  fake.addUser(ALICE);
  fake.addRole({ arn: BASE_ROLE });
  const env = envFromRecord({ AWS_ENDPOINT_URL: fake.url });
  const profile = resolveProfile(parseConfigFile(`[profile base]\nrole_arn = ${BASE_ROLE}\n`), "base", { env });
  // Debug lines go to stderr, as with --debug (captured below).
  const debugLog = debugLogger((text) => Deno.stderr.writeSync(new TextEncoder().encode(text)), {
    now: () => new Date(),
  });
  const provider = new AssumeRoleProvider(profile, scripted(ALICE), { env, now: () => new Date(), log: debugLog });
  const lines: string[] = [];
  const write = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (bytes: Uint8Array) => {
    lines.push(new TextDecoder().decode(bytes));
    return bytes.length;
  };
  let server: Ec2Server | undefined;
  try {
    server = await startEc2Server({ provider, port: 0, now: () => new Date(), log: debugLog });
    // botocore appends "latest/…" to the endpoint as given, so it needs the trailing slash.
    const endpoint = { AWS_EC2_METADATA_SERVICE_ENDPOINT: `${server.url}/` };
    const puts = () => lines.filter((l) => / 200 PUT \/latest\/api\/token /.test(l)).length;
    const arn = /^arn:aws:sts::222222222222:assumed-role\/Base\//;

    Deno.env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url);
    const sts = new STSClient({ endpoint: fake.url, region: "us-east-1", credentials: fromInstanceMetadata() });
    try {
      assert.match((await sts.send(new GetCallerIdentityCommand({}))).Arn ?? "", arn);
    } finally {
      sts.destroy();
      Deno.env.delete("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    }
    assert.equal(puts(), 1, "SDK JS fetched a token");

    const aws = await findAwsCli();
    if (aws) {
      const args = callerIdentityArgs(fake.url);
      const out = await runClient(aws, args, endpoint);
      assert.equal(out.code, 0, out.stderr);
      assert.match(JSON.parse(out.stdout).Arn, arn);
      assert.equal(puts(), 2, "the AWS CLI fetched a token");
    }
    const py = await runClient(PYTHON3, [CLIENTS_PY, fake.url], endpoint);
    assert.equal(py.code, 0, py.stderr);
    assert.equal(JSON.parse(py.stdout).method, "iam-role");
    assert.match(JSON.parse(py.stdout).arn, arn);
    assert.equal(puts(), aws ? 3 : 2, "boto3 fetched a token");

    const { body: token } = await putToken(server, { "x-aws-ec2-metadata-token-ttl-seconds": "60" });
    const served = JSON.parse((await getText(server, CREDS + "local-credentials", token)).body);
    const log = lines.join("");
    assert.doesNotMatch(log, /: 401 GET /, "no client tried IMDSv1");
    assert.equal(fake.callsTo("AssumeRole").length, 1, "one AssumeRole for every client: the server caches");
    assert.match(log, new RegExp(`Serving credentials via http \\*{16}${served.AccessKeyId.slice(-4)}, expiration of`));
    for (const secret of [served.AccessKeyId, served.SecretAccessKey, served.Token, token, ALICE.secretAccessKey]) {
      assert.ok(!log.includes(secret), "a secret reached the log");
    }
  } finally {
    Deno.stderr.writeSync = write;
    await server?.close();
    await fake.close();
  }
});
