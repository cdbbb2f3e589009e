// The ECS credentials server: token and Host checks, /role-arn/ against the fake STS, errors, lazy and eager start,
// the exact body, the debug log, and real clients (SDK JS, AWS CLI, boto3) calling the fake with what they got.
import { PYTHON3 } from "./support/cli.ts";
import assert from "node:assert/strict";
import { STSClient } from "@aws-sdk/client-sts";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromContainerMetadata, fromHttp } from "@aws-sdk/credential-providers";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { AssumeRoleProvider } from "../src/credentials/assume_role_provider.ts";
import type { Credentials } from "../src/core/credentials.ts";
import type { CredentialsProvider } from "../src/credentials/provider.ts";
import { debugLogger, type Logger } from "../src/core/log.ts";
import { type EcsServer, isRoleArn, startEcsServer } from "../src/server/ecs_server.ts";
import { constantTimeEqual } from "../src/server/http_guard.ts";
import { ServerError } from "../src/server/http_server.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { callerIdentityArgs, runClient } from "./support/clients.ts";
import { envFromRecord } from "../src/core/env.ts";

const ALICE = { userName: "alice", accessKeyId: "AKIAALICE0000000001", secretAccessKey: "alice-secret-key" };
const BASE_ROLE = "arn:aws:iam::222222222222:role/Base";
const OTHER_ROLE = "arn:aws:iam::333333333333:role/team/Other";
const CLIENTS_PY = new URL("./support/server_clients.py", import.meta.url).pathname;

const staticProvider = (creds: Credentials): CredentialsProvider & { calls: number } => ({
  description: "static test credentials",
  calls: 0,
  retrieve() {
    this.calls++;
    return Promise.resolve(creds);
  },
});

/** A fake AWS with alice and two roles; the base provider assumes Base with alice's keys, as a profile would. */
async function withStack(
  fn: (s: { fake: FakeAws; server: EcsServer; base: CredentialsProvider }) => Promise<void>,
  options: { lazy?: boolean; log?: Logger } = {},
) {
  const fake = await startFakeAws();
  fake.addUser(ALICE);
  fake.addRole({ arn: BASE_ROLE });
  fake.addRole({ arn: OTHER_ROLE });
  const env = envFromRecord({ AWS_ENDPOINT_URL: fake.url });
  const file = parseConfigFile(`[profile base]\nrole_arn = ${BASE_ROLE}\nregion = us-east-1\n`);
  const profile = resolveProfile(file, "base", { env });
  const base = new AssumeRoleProvider(profile, staticProvider(ALICE), { env, now: () => new Date(), log: options.log });
  let server: EcsServer | undefined;
  try {
    server = await startEcsServer({
      provider: base,
      roleProvider: (arn) =>
        new AssumeRoleProvider({ ...profile, roleArn: arn }, base, { env, now: () => new Date(), log: options.log }),
      lazy: options.lazy,
      now: () => new Date(),
      log: options.log,
    });
    await fn({ fake, server, base });
  } finally {
    await server?.close();
    await fake.close();
  }
}

function get(server: EcsServer, path = "/", headers: Record<string, string> = { authorization: server.token }) {
  return fetch(server.url + path, { headers });
}

/** A raw HTTP/1.1 GET, for headers fetch will not send as given (Host). */
async function rawGet(port: number, path: string, headers: Record<string, string>) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\n${head}Connection: close\r\n\r\n`));
  const text = await new Response(conn.readable).text();
  return { status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

Deno.test("ecs: token is 256 random bits in base64url, fresh per server", async () => {
  const creds = { accessKeyId: "AKIAX", secretAccessKey: "s" };
  const opts = { provider: staticProvider(creds), roleProvider: () => staticProvider(creds), now: () => new Date() };
  const [a, b] = [await startEcsServer(opts), await startEcsServer(opts)];
  try {
    assert.match(a.token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.token, b.token);
    assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ecs: exact success body, content type, and the base path for any non-role path", async () => {
  const creds = {
    accessKeyId: "ASIAEXAMPLE",
    secretAccessKey: "sec<&>",
    sessionToken: "tok",
    expiration: new Date("2030-01-01T01:00:00.123Z"),
  };
  const now = () => new Date("2030-01-01T00:00:00Z");
  const server = await startEcsServer({
    provider: staticProvider(creds),
    roleProvider: () => staticProvider(creds),
    now,
  });
  try {
    for (const path of ["/", "/anything/else"]) {
      const res = await get(server, path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.equal(
        await res.text(),
        '{"AccessKeyId":"ASIAEXAMPLE","Expiration":"2030-01-01T01:00:00Z","SecretAccessKey":"sec\\u003c\\u0026\\u003e",' +
          '"Token":"tok"}\n',
      );
    }
  } finally {
    await server.close();
  }
});

Deno.test("ecs: requests without the exact token are refused with 403", async () => {
  const creds = { accessKeyId: "AKIAX", secretAccessKey: "s" };
  const server = await startEcsServer({
    provider: staticProvider(creds),
    roleProvider: () => staticProvider(creds),
    now: () => new Date(),
  });
  try {
    const flipped = server.token.slice(0, -1) + (server.token.endsWith("A") ? "B" : "A");
    const presented: Record<string, string>[] = [
      {},
      { authorization: "nope" },
      { authorization: flipped },
      { authorization: server.token + "x" },
      { authorization: server.token.slice(0, -1) },
      { authorization: `Basic ${server.token}` },
    ];
    for (const headers of presented) {
      const res = await get(server, "/", headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(await res.text(), '{"Message":"invalid Authorization token"}\n');
    }
    const bearer = await get(server, "/", { authorization: `Bearer ${server.token}` });
    assert.equal(bearer.status, 200);
    await bearer.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("ecs: a Host that is not this loopback server is refused (DNS rebinding)", async () => {
  const creds = { accessKeyId: "AKIAX", secretAccessKey: "s" };
  const server = await startEcsServer({
    provider: staticProvider(creds),
    roleProvider: () => staticProvider(creds),
    now: () => new Date(),
  });
  const port = Number(new URL(server.url).port);
  try {
    for (const host of [`evil.example:${port}`, "127.0.0.1", `127.0.0.1:${port + 1}`, `10.0.0.1:${port}`, ""]) {
      const res = await rawGet(port, "/", { Host: host, Authorization: server.token });
      assert.equal(res.status, 403, host);
      assert.equal(res.body, `{"Message":"Access denied for host '${host}'"}\n`);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `127.1.2.3:${port}`, `[::1]:${port}`]) {
      assert.equal((await rawGet(port, "/", { Host: host, Authorization: server.token })).status, 200, host);
    }
  } finally {
    await server.close();
  }
});

Deno.test("ecs: a non-loopback bind needs allowNonLoopback", async () => {
  const creds = { accessKeyId: "AKIAX", secretAccessKey: "s" };
  await assert.rejects(
    startEcsServer({
      provider: staticProvider(creds),
      roleProvider: () => staticProvider(creds),
      hostname: "0.0.0.0",
      now: () => new Date(),
    }),
    (e: Error) => e instanceof ServerError && /non-loopback address 0\.0\.0\.0/.test(e.message),
  );
});

Deno.test("ecs: /role-arn/ assumes the role once and caches it; bad ARNs are 400", async () => {
  await withStack(async ({ fake, server }) => {
    const roleCalls = () => fake.callsTo("AssumeRole").filter((c) => c.params.RoleArn === OTHER_ROLE);
    for (const path of [`/role-arn/${OTHER_ROLE}`, `/role-arn/${encodeURIComponent(OTHER_ROLE)}`]) {
      const res = await get(server, path);
      assert.equal(res.status, 200);
      const body = await res.json();
      const sts = new STSClient({
        endpoint: fake.url,
        region: "us-east-1",
        credentials: { accessKeyId: body.AccessKeyId, secretAccessKey: body.SecretAccessKey, sessionToken: body.Token },
      });
      try {
        const id = await sts.send(new GetCallerIdentityCommand({}));
        assert.match(id.Arn ?? "", /^arn:aws:sts::333333333333:assumed-role\/Other\//);
      } finally {
        sts.destroy();
      }
    }
    assert.equal(roleCalls().length, 1, "the second request is served from the per-ARN cache");
    assert.equal(roleCalls()[0].status, 200);
    for (const bad of ["not-an-arn", "arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/bob", "%E0%A4%A"]) {
      const res = await get(server, `/role-arn/${bad}`);
      assert.equal(res.status, 400, bad);
      assert.match((await res.json()).Message, /^invalid role ARN/);
    }
    assert.ok(isRoleArn("arn:aws-us-gov:iam::123456789012:role/a/b/c+=,.@-_"));
  });
});

Deno.test("ecs: a failing provider gives 500 with its message, the server stays up and the next request retries", async () => {
  await withStack(async ({ fake, server }) => {
    fake.injectFault({ action: "AssumeRole", kind: "server-error", times: 3 });
    const res = await get(server);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    const { Message } = await res.json();
    assert.match(Message, /^profile base: sts:AssumeRole failed: /);
    assert.doesNotMatch(Message, /alice-secret-key/);
    const ok = await get(server);
    assert.equal(ok.status, 200);
    assert.match((await ok.json()).AccessKeyId, /^ASIA/);
  }, { lazy: true });
});

Deno.test("ecs: eager start fetches at once and fails the start; lazy start waits for the first request", async () => {
  await withStack(({ fake }) => {
    assert.equal(fake.callsTo("AssumeRole").length, 1, "fetched before any request");
    return Promise.resolve();
  });
  await withStack(async ({ fake, server }) => {
    assert.equal(fake.callsTo("AssumeRole").length, 0);
    await (await get(server)).body?.cancel();
    assert.equal(fake.callsTo("AssumeRole").length, 1);
  }, { lazy: true });
  const failing: CredentialsProvider = {
    description: "failing",
    retrieve: () => Promise.reject(new ServerError("no MFA device")),
  };
  await assert.rejects(
    startEcsServer({ provider: failing, roleProvider: () => failing, now: () => new Date() }),
    (e: Error) => e instanceof ServerError && e.message === "Retrieving creds: no MFA device",
  );
});

Deno.test("ecs: debug log names each request and masks the key; no secret in any line", async () => {
  const lines: string[] = [];
  const write = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (bytes: Uint8Array) => {
    lines.push(new TextDecoder().decode(bytes));
    return bytes.length;
  };
  // Debug lines go to stderr, as with --debug (captured above).
  const debugLog = debugLogger((text) => Deno.stderr.writeSync(new TextEncoder().encode(text)), {
    now: () => new Date(),
  });
  try {
    await withStack(async ({ server }) => {
      const body = await (await get(server)).json();
      await (await get(server, "/", {})).body?.cancel();
      const log = lines.join("");
      assert.match(log, /http: 127\.0\.0\.1:\d+: 200 GET \/ \(/);
      assert.match(log, /http: 127\.0\.0\.1:\d+: 403 GET \/ \(/);
      assert.match(log, new RegExp(`Serving credentials via http \\*{16}${body.AccessKeyId.slice(-4)}, expiration of`));
      for (const secret of [body.SecretAccessKey, body.Token, body.AccessKeyId, server.token, ALICE.secretAccessKey]) {
        assert.ok(!log.includes(secret), "a secret reached the log");
      }
    }, { log: debugLog });
  } finally {
    Deno.stderr.writeSync = write;
  }
});

Deno.test("ecs: SDK JS fromHttp and fromContainerMetadata get working credentials", async () => {
  await withStack(async ({ fake, server }) => {
    const viaEnv = () => {
      Deno.env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url);
      Deno.env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", server.token);
      return fromContainerMetadata()().finally(() => {
        Deno.env.delete("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        Deno.env.delete("AWS_CONTAINER_AUTHORIZATION_TOKEN");
      });
    };
    const fromHttpProvider = fromHttp({
      awsContainerCredentialsFullUri: server.url,
      awsContainerAuthorizationToken: server.token,
    });
    for (const credentials of [fromHttpProvider, viaEnv]) {
      const sts = new STSClient({ endpoint: fake.url, region: "us-east-1", credentials });
      try {
        const id = await sts.send(new GetCallerIdentityCommand({}));
        assert.match(id.Arn ?? "", /^arn:aws:sts::222222222222:assumed-role\/Base\//);
      } finally {
        sts.destroy();
      }
    }
  });
});

Deno.test("ecs: the AWS CLI and boto3 get working credentials from the container variables alone", async () => {
  await withStack(async ({ fake, server }) => {
    const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: server.url, AWS_CONTAINER_AUTHORIZATION_TOKEN: server.token };
    const aws = await findAwsCli();
    if (aws) {
      const args = callerIdentityArgs(fake.url);
      const out = await runClient(aws, args, env);
      assert.equal(out.code, 0, out.stderr);
      assert.match(JSON.parse(out.stdout).Arn, /^arn:aws:sts::222222222222:assumed-role\/Base\//);
    }
    const py = await runClient(PYTHON3, [CLIENTS_PY, fake.url], env);
    assert.equal(py.code, 0, py.stderr);
    const result = JSON.parse(py.stdout);
    assert.equal(result.method, "container-role");
    assert.match(result.arn, /^arn:aws:sts::222222222222:assumed-role\/Base\//);
  });
});

Deno.test("constantTimeEqual: equal and unequal tokens, ASCII or not, encoded once or not", () => {
  const token = "Zm9vYmFyLWJhei1xdXV4LTEyMzQ1Njc4OTAtYWJjZGVm";
  const bytes = new TextEncoder().encode(token);
  for (const secret of [token, bytes]) {
    assert.equal(constantTimeEqual(token, secret), true);
    assert.equal(constantTimeEqual(token.slice(0, -1), secret), false, "a prefix");
    assert.equal(constantTimeEqual(token + "x", secret), false, "longer");
    assert.equal(constantTimeEqual("", secret), false, "empty");
    assert.equal(constantTimeEqual(token.slice(0, -1) + "\u00e9", secret), false, "a non-ASCII unit");
  }
  assert.equal(constantTimeEqual("päss", "päss"), true, "a non-ASCII secret");
  assert.equal(constantTimeEqual("pass", "päss"), false);
});
