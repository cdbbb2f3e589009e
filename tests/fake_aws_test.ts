/**
 * The fake AWS endpoint against real clients: the AWS SDK for JS v3 STS/IAM clients and the AWS CLI.
 * @module
 */

import assert from "node:assert/strict";
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  GetFederationTokenCommand,
  GetSessionTokenCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
} from "@aws-sdk/client-iam";
import type { FakeRole } from "./support/fake_aws/mod.ts";
import {
  assertAwsError,
  type FakeAwsHarness,
  findAwsCli,
  keysOf,
  queryRequest,
  type StaticKeys,
  withFakeAws,
} from "./support/fake_aws/testing.ts";

const SERIAL = "arn:aws:iam::111111111111:mfa/alice";
const ALICE = {
  userName: "alice",
  accessKeyId: "AKIAALICEEXAMPLE0001",
  secretAccessKey: "aliceSecretKey/0123456789abcdefghijklmnopq",
  mfaSerial: SERIAL,
  mfaSecret: "JBSWY3DPEHPK3PXP",
};
const ROLE = "arn:aws:iam::222222222222:role/admin";
const LONG_ROLE = "arn:aws:iam::222222222222:role/ops/long";
const MFA_ROLE = "arn:aws:iam::222222222222:role/mfa-only";
const EXT_ROLE = "arn:aws:iam::333333333333:role/partner";

const ROLES: FakeRole[] = [
  { arn: ROLE },
  { arn: LONG_ROLE, maxSessionDuration: 43200 },
  { arn: MFA_ROLE, requireMfa: true },
  { arn: EXT_ROLE, externalId: "ext-123" },
];

// A frozen clock in the middle of a TOTP window, so codes computed by a test never roll over before they are used.
const MID_WINDOW = new Date(Math.floor(Date.now() / 30_000) * 30_000 + 15_000);

const withFake = (fn: (harness: FakeAwsHarness) => Promise<void>, options: { now?: () => Date } = {}) =>
  withFakeAws(fn, { users: [ALICE], roles: ROLES, now: () => MID_WINDOW, ...options });

Deno.test("signature checks: valid key, unknown key, tampered secret, wrong session token", () =>
  withFake(async ({ fake, sts }) => {
    const identity = await sts().send(new GetCallerIdentityCommand({}));
    assert.equal(identity.Arn, "arn:aws:iam::111111111111:user/alice");
    assert.equal(identity.Account, "111111111111");
    assert.match(identity.UserId ?? "", /^AIDA/);
    await assertAwsError(
      sts({ ...ALICE, accessKeyId: "AKIAUNKNOWN000000000" }).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      { status: 403 },
    );
    await assertAwsError(
      sts({ ...ALICE, secretAccessKey: ALICE.secretAccessKey + "x" }).send(new GetCallerIdentityCommand({})),
      "SignatureDoesNotMatch",
      { status: 403 },
    );
    const session = keysOf((await sts().send(new GetSessionTokenCommand({}))).Credentials);
    await assertAwsError(
      sts({ ...session, sessionToken: "forged" }).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
    );
    await assertAwsError(
      sts({ ...session, sessionToken: undefined }).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
    );
    assert.deepEqual(fake.callsTo("GetCallerIdentity").map((c) => [c.status, c.errorCode ?? ""]), [
      [200, ""],
      [403, "InvalidClientTokenId"],
      [403, "SignatureDoesNotMatch"],
      [403, "InvalidClientTokenId"],
      [403, "InvalidClientTokenId"],
    ]);
    assert.equal(fake.calls[1].accessKeyId, "AKIAUNKNOWN000000000");
  }));

Deno.test("raw Query requests: signed GET, unsigned, clock skew", () =>
  withFake(async ({ fake }) => {
    const action = { Action: "GetCallerIdentity", Version: "2011-06-15" };
    const ok = await queryRequest(fake.url, action, { keys: ALICE });
    assert.equal(ok.status, 200, ok.body);
    assert.match(ok.body, /<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.match(ok.body, /<Arn>arn:aws:iam::111111111111:user\/alice<\/Arn>/);
    const unsigned = await queryRequest(fake.url, action);
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.body, /<Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
    const stale = await queryRequest(fake.url, action, { keys: ALICE, signingDate: new Date(Date.now() - 6 * 60_000) });
    assert.equal(stale.status, 403);
    assert.match(stale.body, /SignatureDoesNotMatch.*Signature expired/);
    const unknown = await queryRequest(fake.url, { Action: "DeleteEverything", Version: "2011-06-15" }, {
      keys: ALICE,
    });
    assert.match(unknown.body, /<Code>InvalidAction<\/Code>/);
    assert.deepEqual(fake.calls.map((c) => [c.service, c.status, c.accessKeyId ?? "-"]), [
      ["sts", 200, ALICE.accessKeyId],
      ["sts", 403, "-"],
      ["sts", 403, ALICE.accessKeyId],
      ["sts", 400, ALICE.accessKeyId],
    ]);
  }));

Deno.test("GetSessionToken: MFA windows, reused and wrong codes, bounds, not with session credentials", () =>
  withFake(async ({ fake, sts, iam }) => {
    const plain = await sts().send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    assert.match(plain.Credentials?.AccessKeyId ?? "", /^ASIA/);
    assert.equal(plain.Credentials?.Expiration?.toISOString(), new Date(MID_WINDOW.getTime() + 900_000).toISOString());
    assert.deepEqual(fake.callsTo("GetSessionToken")[0].params.DurationSeconds, "900");
    // Without MFA, IAM refuses session credentials the way AWS does.
    await assertAwsError(iam(keysOf(plain.Credentials)).send(new GetUserCommand({})), "InvalidClientTokenId");

    for (const offsetSteps of [-1, 0, 1]) {
      const TokenCode = fake.totp(SERIAL, { offsetSteps });
      await sts().send(new GetSessionTokenCommand({ SerialNumber: SERIAL, TokenCode }));
    }
    const code = fake.totp(SERIAL, { offsetSteps: -1 });
    await assertAwsError(
      sts().send(new GetSessionTokenCommand({ SerialNumber: SERIAL, TokenCode: code })),
      "AccessDenied",
      { message: /invalid MFA one time pass code/ },
    );
    const valid = [-1, 0, 1].map((offsetSteps) => fake.totp(SERIAL, { offsetSteps }));
    const wrong = ["000000", "111111", "222222", "333333"].find((code) => !valid.includes(code)) ?? "";
    await assertAwsError(
      sts().send(new GetSessionTokenCommand({ SerialNumber: SERIAL, TokenCode: wrong })),
      "AccessDenied",
    );
    const other = "arn:aws:iam::111111111111:mfa/bob";
    await assertAwsError(
      sts().send(new GetSessionTokenCommand({ SerialNumber: other, TokenCode: "123456" })),
      "AccessDenied",
    );
    await assertAwsError(sts().send(new GetSessionTokenCommand({ SerialNumber: SERIAL })), "ValidationError");
    await assertAwsError(sts().send(new GetSessionTokenCommand({ DurationSeconds: 129601 })), "ValidationError");

    const tooEarly = fake.totp(SERIAL, { offsetSteps: 2 });
    await assertAwsError(
      sts().send(new GetSessionTokenCommand({ SerialNumber: SERIAL, TokenCode: tooEarly })),
      "AccessDenied",
    );
    const session = keysOf(plain.Credentials);
    await assertAwsError(sts(session).send(new GetSessionTokenCommand({})), "AccessDenied", {
      status: 403,
      message: /Cannot call GetSessionToken with session credentials/,
    });
    assert.equal(
      (await sts(session).send(new GetCallerIdentityCommand({}))).Arn,
      "arn:aws:iam::111111111111:user/alice",
    );
  }));

Deno.test("AssumeRole: unknown role, duration bounds, role chaining cap, MFA roles, external id, tags", () =>
  withFake(async ({ fake, sts }) => {
    const assume = (keys: StaticKeys | undefined, input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>) =>
      sts(keys).send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "s1", ...input }));
    await assertAwsError(assume(undefined, { RoleArn: "arn:aws:iam::222222222222:role/nope" }), "AccessDenied", {
      message: /User: arn:aws:iam::111111111111:user\/alice is not authorized to perform: sts:AssumeRole on resource/,
    });
    await assertAwsError(assume(undefined, { RoleSessionName: "bad name" }), "ValidationError");
    await assertAwsError(assume(undefined, { DurationSeconds: 899 }), "ValidationError");
    await assertAwsError(assume(undefined, { DurationSeconds: 7200 }), "ValidationError", {
      message: /MaxSessionDuration/,
    });

    const long = await assume(undefined, {
      RoleArn: LONG_ROLE,
      DurationSeconds: 7200,
      RoleSessionName: "me@example.com",
      Tags: [{ Key: "team", Value: "blue" }],
      TransitiveTagKeys: ["team"],
      SourceIdentity: "alice",
    });
    assert.equal(long.AssumedRoleUser?.Arn, "arn:aws:sts::222222222222:assumed-role/long/me@example.com");
    assert.equal(long.SourceIdentity, "alice");
    const params = fake.callsTo("AssumeRole").at(-1)?.params ?? {};
    assert.equal(params["Tags.member.1.Key"], "team");
    assert.equal(params["Tags.member.1.Value"], "blue");
    assert.equal(params["TransitiveTagKeys.member.1"], "team");
    const role = keysOf(long.Credentials);
    const identity = await sts(role).send(new GetCallerIdentityCommand({}));
    assert.equal(identity.Arn, "arn:aws:sts::222222222222:assumed-role/long/me@example.com");
    assert.equal(identity.Account, "222222222222");

    await assertAwsError(assume(role, { RoleArn: LONG_ROLE, DurationSeconds: 3601 }), "ValidationError", {
      message: /1 hour session limit for roles assumed by role chaining/,
    });
    await assume(role, { RoleArn: LONG_ROLE, DurationSeconds: 3600 });

    await assertAwsError(assume(undefined, { RoleArn: MFA_ROLE }), "AccessDenied");
    await assume(undefined, { RoleArn: MFA_ROLE, SerialNumber: SERIAL, TokenCode: fake.totp(SERIAL) });
    const mfaSession = await sts().send(
      new GetSessionTokenCommand({ SerialNumber: SERIAL, TokenCode: fake.totp(SERIAL, { offsetSteps: 1 }) }),
    );
    await assume(keysOf(mfaSession.Credentials), { RoleArn: MFA_ROLE });
    await assertAwsError(
      assume(keysOf(mfaSession.Credentials), { RoleArn: LONG_ROLE, DurationSeconds: 7200 }),
      "ValidationError",
      { message: /role chaining/ },
    );

    await assertAwsError(assume(undefined, { RoleArn: EXT_ROLE }), "AccessDenied");
    await assertAwsError(assume(undefined, { RoleArn: EXT_ROLE, ExternalId: "ext-999" }), "AccessDenied");
    await assume(undefined, { RoleArn: EXT_ROLE, ExternalId: "ext-123" });
  }));

Deno.test("AssumeRoleWithWebIdentity is unsigned; GetFederationToken needs long-term keys", () =>
  withFake(async ({ fake, sts }) => {
    const claims = btoa(JSON.stringify({ sub: "repo:me/app", aud: "sts.amazonaws.com", iss: "https://idp.test" }));
    const web = await sts().send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: "ci", WebIdentityToken: `h.${claims}.s` }),
    );
    assert.equal(web.SubjectFromWebIdentityToken, "repo:me/app");
    assert.equal(web.AssumedRoleUser?.Arn, "arn:aws:sts::222222222222:assumed-role/admin/ci");
    const call = fake.callsTo("AssumeRoleWithWebIdentity")[0];
    assert.equal(call.accessKeyId, undefined);
    assert.equal(call.status, 200);
    await assertAwsError(
      sts().send(
        new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: "ci", WebIdentityToken: "invalid" }),
      ),
      "InvalidIdentityToken",
    );

    const federated = await sts().send(new GetFederationTokenCommand({ Name: "alice", DurationSeconds: 3600 }));
    assert.equal(federated.FederatedUser?.Arn, "arn:aws:sts::111111111111:federated-user/alice");
    const fedKeys = keysOf(federated.Credentials);
    assert.equal((await sts(fedKeys).send(new GetCallerIdentityCommand({}))).Arn, federated.FederatedUser?.Arn);
    await assertAwsError(sts(fedKeys).send(new GetFederationTokenCommand({ Name: "again" })), "AccessDenied");
    await assertAwsError(sts().send(new GetFederationTokenCommand({ Name: "x" })), "ValidationError");
  }));

Deno.test("session credentials expire by the fake's clock", async () => {
  let now = new Date();
  await withFake(async ({ sts }) => {
    const session = keysOf((await sts().send(new GetSessionTokenCommand({ DurationSeconds: 900 }))).Credentials);
    await sts(session).send(new GetCallerIdentityCommand({}));
    now = new Date(now.getTime() + 901_000);
    await assertAwsError(sts(session).send(new GetCallerIdentityCommand({})), "ExpiredToken", {
      status: 400,
      message: /The security token included in the request is expired/,
    });
    await sts().send(new GetCallerIdentityCommand({}));
  }, { now: () => now });
});

Deno.test("IAM: GetUser, CreateAccessKey up to two keys, ListAccessKeys, DeleteAccessKey", () =>
  withFake(async ({ fake, sts, iam }) => {
    const user = await iam().send(new GetUserCommand({}));
    assert.equal(user.User?.Arn, "arn:aws:iam::111111111111:user/alice");
    await assertAwsError(iam().send(new GetUserCommand({ UserName: "nobody" })), "NoSuchEntity", { status: 404 });
    const created = await iam().send(new CreateAccessKeyCommand({}));
    const fresh = {
      accessKeyId: created.AccessKey?.AccessKeyId ?? "",
      secretAccessKey: created.AccessKey?.SecretAccessKey ?? "",
    };
    assert.match(fresh.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal((await sts(fresh).send(new GetCallerIdentityCommand({}))).Arn, user.User?.Arn);
    // The SDK classes IAM's LimitExceeded as throttling and would retry it; one attempt keeps the log exact.
    await assertAwsError(iam(undefined, { maxAttempts: 1 }).send(new CreateAccessKeyCommand({})), "LimitExceeded", {
      status: 409,
    });
    const listed = await iam(fresh).send(new ListAccessKeysCommand({}));
    assert.deepEqual(listed.AccessKeyMetadata?.map((k) => [k.AccessKeyId, k.Status]), [
      [ALICE.accessKeyId, "Active"],
      [fresh.accessKeyId, "Active"],
    ]);
    assert.ok(listed.AccessKeyMetadata?.[0].CreateDate instanceof Date);
    await iam(fresh).send(new DeleteAccessKeyCommand({ AccessKeyId: ALICE.accessKeyId }));
    await assertAwsError(sts().send(new GetCallerIdentityCommand({})), "InvalidClientTokenId");
    await assertAwsError(
      iam(fresh).send(new DeleteAccessKeyCommand({ AccessKeyId: ALICE.accessKeyId })),
      "NoSuchEntity",
    );
    assert.deepEqual(fake.calls.filter((c) => c.service === "iam").map((c) => c.action), [
      "GetUser",
      "GetUser",
      "CreateAccessKey",
      "CreateAccessKey",
      "ListAccessKeys",
      "DeleteAccessKey",
      "DeleteAccessKey",
    ]);
  }));

Deno.test("faults: throttling is retried by the SDK, 5xx, slow answers, connection refused", () =>
  withFake(async ({ fake, sts }) => {
    fake.injectFault({ action: "AssumeRole", kind: "throttle" });
    await sts().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "retry" }));
    assert.deepEqual(fake.callsTo("AssumeRole").map((c) => c.errorCode ?? "ok"), ["Throttling", "ok"]);

    fake.injectFault({ kind: "server-error" });
    await assertAwsError(sts(undefined, { maxAttempts: 1 }).send(new GetCallerIdentityCommand({})), "InternalFailure", {
      status: 500,
    });

    fake.clearCalls();
    fake.injectFault({ action: "GetCallerIdentity", kind: "slow", delayMs: 300 });
    const started = performance.now();
    await sts().send(new GetCallerIdentityCommand({}));
    assert.ok(performance.now() - started >= 290);
    assert.equal(fake.calls.length, 1);

    const url = fake.url;
    await fake.close();
    const client = new STSClient({ endpoint: url, region: "us-east-1", credentials: ALICE, maxAttempts: 1 });
    await assert.rejects(client.send(new GetCallerIdentityCommand({})), /ECONNREFUSED|refused/i);
    client.destroy();
  }));

Deno.test("the AWS CLI verifies against the fake with long-term and session credentials", async (t) => {
  const aws = await findAwsCli();
  if (!aws) {
    console.log("skipped: no `aws` CLI installed");
    return;
  }
  await withFake(async ({ fake, sts }) => {
    const role = keysOf(
      (await sts().send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "cli" }))).Credentials,
    );
    const run = async (keys: StaticKeys) => {
      const env: Record<string, string> = {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.makeTempDirSync(),
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_DEFAULT_REGION: "eu-west-1",
        AWS_ACCESS_KEY_ID: keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
      };
      if (keys.sessionToken) env.AWS_SESSION_TOKEN = keys.sessionToken;
      const out = await new Deno.Command(aws, {
        args: ["sts", "get-caller-identity", "--endpoint-url", fake.url, "--output", "json"],
        env,
        clearEnv: true,
      }).output();
      await Deno.remove(env.HOME, { recursive: true });
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout)).Arn;
    };
    await t.step("long-term key", async () => assert.equal(await run(ALICE), "arn:aws:iam::111111111111:user/alice"));
    await t.step("role session", async () => {
      assert.equal(await run(role), "arn:aws:sts::222222222222:assumed-role/admin/cli");
    });
    assert.equal(fake.callsTo("GetCallerIdentity").at(-1)?.accessKeyId, role.accessKeyId);
  });
});

Deno.test("main.ts serves a seeded fake in its own process, driven through the control API", async () => {
  const dir = await Deno.makeTempDir();
  const seed = `${dir}/seed.json`;
  await Deno.writeTextFile(seed, JSON.stringify({ accountId: "444444444444", users: [ALICE], roles: [{ arn: ROLE }] }));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./support/fake_aws/main.ts", import.meta.url).pathname, "--seed", seed],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const client = (url: string) => new STSClient({ endpoint: url, region: "us-east-1", credentials: ALICE });
  let sts: STSClient | undefined;
  try {
    let firstLine = "";
    while (!firstLine.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("main.ts exited before printing its URL");
      firstLine += value;
    }
    const url = firstLine.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    sts = client(url);
    const { code } = await (await fetch(`${url}/__fake_aws/totp?serial=${encodeURIComponent(SERIAL)}`)).json();
    await sts.send(new GetSessionTokenCommand({ SerialNumber: SERIAL, TokenCode: code }));
    assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Account, "444444444444");
    const calls = await (await fetch(`${url}/__fake_aws/calls`)).json();
    assert.deepEqual(calls.map((c: { action: string }) => c.action), ["GetSessionToken", "GetCallerIdentity"]);
  } finally {
    sts?.destroy();
    child.kill("SIGTERM");
    await reader.cancel();
    assert.equal((await child.status).code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});
