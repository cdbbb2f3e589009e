// Through the command line against the fake AWS: a duration AWS would refuse is refused before any call, in one
// line naming where it came from and the range; `-d 0` is the default; an answer the SDK cannot read is one line.
import { deepStrictEqual, equal } from "node:assert/strict";
import { makeSandbox, runCli } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";

const USER = { userName: "work", accessKeyId: "AKIAWORK00000000001", secretAccessKey: "work-secret/abc" };
const ROLE = "arn:aws:iam::111111111111:role/admin";
const GST = "AWS accepts 900 to 129600 seconds (15m to 36h)";
const AR = "AWS accepts 900 to 43200 seconds (15m to 12h)";

async function setup() {
  const fake = await startFakeAws();
  fake.addUser(USER);
  fake.addRole({ arn: ROLE, maxSessionDuration: 43_200 });
  const sb = await makeSandbox({
    config: `[profile work]\nregion = eu-west-1\n\n[profile admin]\nsource_profile = work\nrole_arn = ${ROLE}\n\n` +
      `[profile configured]\nsource_profile = work\nrole_arn = ${ROLE}\nduration_seconds = 43201\n`,
  });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
  const added = await runCli(["add", "--env", "work"], {
    env: { ...env, AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey },
  });
  equal(added.code, 0, added.stderr);
  return {
    fake,
    env,
    async [Symbol.asyncDispose]() {
      await fake.close();
      await sb.cleanup();
    },
  };
}

Deno.test("cli: a duration outside AWS's range is refused in one line before any STS call", async () => {
  await using t = await setup();
  const cases: [string[], Record<string, string>, string | RegExp][] = [
    [
      ["-d", "10m", "work"],
      {},
      `export: profile work: sts:GetSessionToken duration 10m0s (from --duration) is out of range: ${GST}`,
    ],
    [
      ["-d", "1ns", "work"],
      {},
      `export: profile work: sts:GetSessionToken duration 1ns (0 whole seconds, from --duration) is out of range: ${GST}`,
    ],
    [
      ["-d", "36h0m1s", "work"],
      {},
      `export: profile work: sts:GetSessionToken duration 36h0m1s (from --duration) is out of range: ${GST}`,
    ],
    [
      ["-d", "899.9s", "admin"],
      {},
      `export: profile admin: sts:AssumeRole duration 14m59.9s (899 whole seconds, from --duration) is out of range: ${AR}`,
    ],
    [
      ["admin"],
      { AWS_ASSUME_ROLE_TTL: "13h" },
      `export: profile admin: sts:AssumeRole duration 13h0m0s (from AWS_ASSUME_ROLE_TTL) is out of range: ${AR}`,
    ],
    [
      ["work"],
      { AWS_SESSION_TOKEN_TTL: "5m" },
      `export: profile work: sts:GetSessionToken duration 5m0s (from AWS_SESSION_TOKEN_TTL) is out of range: ${GST}`,
    ],
    [
      ["configured"],
      {},
      // The sandbox's config path varies.
      new RegExp(
        "^export: profile configured: sts:AssumeRole duration 12h0m1s \\(from duration_seconds at [^ ]+/config:11\\) " +
          "is out of range: AWS accepts 900 to 43200 seconds \\(15m to 12h\\)$",
      ),
    ],
    [
      ["-d", "9999999999999999h", "work"],
      {},
      '--duration: invalid duration "9999999999999999h": out of range (the longest is 2562047h47m16.854775807s), ' +
      "try --help",
    ],
    [
      ["-d", "999999999999999999999999s", "work"],
      {},
      '--duration: invalid duration "999999999999999999999999s": out of range (the longest is ' +
      "2562047h47m16.854775807s), try --help",
    ],
    [["--duration=-5m", "work"], {}, '--duration: invalid duration "-5m": must not be negative, try --help'],
    [
      ["work"],
      { AWS_VAULT_DURATION: "-1h" },
      '$AWS_VAULT_DURATION: invalid duration "-1h": must not be negative, try --help',
    ],
    [
      ["work"],
      { AWS_VAULT_DURATION: "10m" },
      `export: profile work: sts:GetSessionToken duration 10m0s (from --duration or AWS_VAULT_DURATION) is out of ` +
      `range: ${GST}`,
    ],
  ];
  for (const [args, extra, message] of cases) {
    const r = await runCli(["export", ...args], { env: { ...t.env, ...extra } });
    const what = `${args.join(" ")} ${JSON.stringify(extra)}`;
    equal(r.code, 1, what);
    equal(r.stdout, "", what);
    const line = r.stderr.replace(/^aws-vault: error: (.*)\n$/, "$1");
    if (message instanceof RegExp) equal(message.test(line), true, r.stderr);
    else equal(r.stderr, `aws-vault: error: ${message}\n`, what);
    deepStrictEqual(t.fake.calls, [], `${what}: no call made`);
  }
});

Deno.test("cli: -d 0 is the default; 900 s and the maximum reach AWS as they are", async () => {
  await using t = await setup();
  const sent = async (args: string[]) => {
    t.fake.clearCalls();
    const r = await runCli(["export", "--no-cache", ...args], { env: t.env });
    equal(r.code, 0, r.stderr);
    return t.fake.calls.map((c) => `${c.action} ${c.params.DurationSeconds}`);
  };
  deepStrictEqual(await sent(["-d", "0", "work"]), ["GetSessionToken 3600"]);
  deepStrictEqual(await sent(["-d", "900s", "work"]), ["GetSessionToken 900"]);
  deepStrictEqual(await sent(["-d", "900.9s", "work"]), ["GetSessionToken 900"]);
  deepStrictEqual(await sent(["-d", "36h", "work"]), ["GetSessionToken 129600"]);
  deepStrictEqual(await sent(["-d", "0", "admin"]), ["AssumeRole 3600"]);
  deepStrictEqual(await sent(["-d", "12h", "admin"]), ["AssumeRole 43200"]);
});

Deno.test("cli: an STS answer the SDK cannot read is one line naming the profile and the call", async () => {
  await using t = await setup();
  for (const status of [200, 400]) {
    t.fake.injectFault({ action: "AssumeRole", kind: "garbage", status });
    const r = await runCli(["export", "--no-cache", "admin"], { env: t.env });
    equal(r.code, 1);
    equal(
      r.stderr,
      "aws-vault: error: export: profile admin: sts:AssumeRole failed: AWS answered with something that is not a " +
        `valid STS response (HTTP ${status})\n`,
    );
  }
});
