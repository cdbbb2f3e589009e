/**
 * `login`: console federation URLs per partition, then the command end to end against the fake AWS endpoint (STS,
 * IAM and the federation endpoint through AWS_ENDPOINT_URL_SIGNIN), the printed URL's token checked by the fake.
 */
import { deepStrictEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import {
  consoleDestination,
  federationEndpoint,
  getSigninToken,
  loginUrl,
  logoutUrl,
  partitionHosts,
} from "../src/aws/signin.ts";
import type { ProfileConfig } from "../src/config/profile_config.ts";
import { openerCommand } from "../src/os/browser.ts";
import { environmentCredentials } from "../src/cli/commands/login.ts";
import { ALLOW_ALL_POLICY } from "../src/credentials/federation.ts";
import { makeSandbox, runCli, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { envFromRecord } from "../src/core/env.ts";

const ACCOUNT = "111111111111";
const LONG_NAME = "a-very-long-iam-user-name-over-32-characters";
const USER = { userName: LONG_NAME, accessKeyId: "AKIALOGINUSEREXAMPLE", secretAccessKey: "login-secret/abc+def" };
const ROLE = `arn:aws:iam::${ACCOUNT}:role/console`;
const CONFIG = `[profile user]
region = eu-west-1

[profile role]
source_profile = user
role_arn = ${ROLE}
`;

Deno.test("partition hosts and destinations follow the region", () => {
  equal(partitionHosts().federationUrl, "https://signin.aws.amazon.com/federation");
  equal(partitionHosts("cn-north-1").federationUrl, "https://signin.amazonaws.cn/federation");
  equal(partitionHosts("us-gov-west-1").federationUrl, "https://signin.amazonaws-us-gov.com/federation");
  equal(partitionHosts("eusc-de-east-1").federationUrl, "https://signin.amazonaws-eusc.eu/federation");
  equal(consoleDestination({}), "https://console.aws.amazon.com/");
  equal(consoleDestination({ path: "/s3/home" }), "https://console.aws.amazon.com/s3/home");
  equal(
    consoleDestination({ region: "eu-west-1" }),
    "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
  );
  equal(
    consoleDestination({ region: "cn-north-1", path: "ec2/v2/home" }),
    "https://cn-north-1.console.amazonaws.cn/ec2/v2/home?region=cn-north-1",
  );
  equal(
    consoleDestination({ region: "us-gov-west-1" }),
    "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
  );
  equal(
    consoleDestination({ region: "eusc-de-east-1" }),
    "https://eusc-de-east-1.console.amazonaws-eusc.eu/console/home?region=eusc-de-east-1",
  );
});

Deno.test("federation endpoint override, login and logout URLs", () => {
  const profile = { profileName: "p", region: "cn-north-1" } as ProfileConfig;
  equal(federationEndpoint(profile, { env: envFromRecord({}) }), "https://signin.amazonaws.cn/federation");
  equal(
    federationEndpoint(profile, { env: envFromRecord({ AWS_ENDPOINT_URL_SIGNIN: "http://127.0.0.1:9" }) }),
    "http://127.0.0.1:9/federation",
  );
  const ignored = envFromRecord({
    AWS_ENDPOINT_URL_SIGNIN: "http://127.0.0.1:9",
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
  });
  equal(federationEndpoint(profile, { env: ignored }), "https://signin.amazonaws.cn/federation");
  // The general AWS_ENDPOINT_URL targets STS/IAM emulators, not the console.
  equal(
    federationEndpoint(profile, { env: envFromRecord({ AWS_ENDPOINT_URL: "http://127.0.0.1:9" }) }),
    "https://signin.amazonaws.cn/federation",
  );
  const dest = "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1";
  const login = loginUrl("https://us-east-1.signin.aws.amazon.com/federation", {
    destination: dest,
    signinToken: "t&k=",
  });
  const u = new URL(login);
  deepStrictEqual(Object.fromEntries(u.searchParams), {
    Action: "login",
    Issuer: "aws-vault",
    Destination: dest,
    SigninToken: "t&k=",
  });
  const logout = new URL(logoutUrl("https://us-east-1.signin.aws.amazon.com/federation", login));
  equal(logout.origin + logout.pathname, "https://us-east-1.signin.aws.amazon.com/oauth");
  equal(logout.searchParams.get("Action"), "logout");
  equal(logout.searchParams.get("redirect_uri"), login);
});

Deno.test("environment credentials and platform openers", () => {
  const env = (vars: Record<string, string>) => ({ get: (n: string) => vars[n] });
  equal(environmentCredentials(env({})), undefined);
  deepStrictEqual(environmentCredentials(env({ AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s" })), {
    accessKeyId: "AKIA",
    secretAccessKey: "s",
  });
  throws(() => environmentCredentials(env({ AWS_ACCESS_KEY_ID: "AKIA" })), /AWS_SECRET_ACCESS_KEY is not set/);
  deepStrictEqual(openerCommand("linux"), ["xdg-open"]);
  deepStrictEqual(openerCommand("freebsd"), ["xdg-open"]);
  deepStrictEqual(openerCommand("darwin"), ["open"]);
  deepStrictEqual(openerCommand("windows"), ["rundll32", "url.dll,FileProtocolHandler"]);
});

interface Setup {
  fake: FakeAws;
  sb: Sandbox;
  env: Record<string, string>;
  clock: { offsetMs: number };
}

async function setup(): Promise<Setup> {
  const clock = { offsetMs: 0 };
  const fake = await startFakeAws({ now: () => new Date(Date.now() + clock.offsetMs) });
  fake.addUser(USER);
  fake.addRole({ arn: ROLE });
  const sb = await makeSandbox({ config: CONFIG });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_ENDPOINT_URL_SIGNIN: fake.url };
  const added = await runCli(["add", "--env", "user"], {
    env: { ...env, AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey },
  });
  equal(added.code, 0, added.stderr);
  return { fake, sb, env, clock };
}

async function withSetup(fn: (s: Setup) => Promise<void>): Promise<void> {
  const s = await setup();
  try {
    await fn(s);
  } finally {
    await s.fake.close();
    await s.sb.cleanup();
  }
}

/** Follows one redirect of the printed URL at the fake; returns the Location. */
async function follow(url: string): Promise<string> {
  const response = await fetch(url, { redirect: "manual" });
  await response.body?.cancel();
  equal(response.status, 302, `${new URL(url).pathname} answered ${response.status}`);
  return response.headers.get("location")!;
}

function printedUrl(stdout: string, fake: FakeAws): string {
  const url = stdout.trim();
  ok(url.startsWith(`${fake.url}/federation?Action=login&Issuer=aws-vault&`), url);
  return url;
}

Deno.test("login IAM user: GetFederationToken, then a URL the federation endpoint honours", async () => {
  await withSetup(async ({ fake, env }) => {
    const r = await runCli(["login", "user", "--stdout", "--path", "s3/home", "--duration", "2h"], { env });
    equal(r.code, 0, r.stderr);
    deepStrictEqual(fake.calls.map((c) => c.action), [
      "GetCallerIdentity",
      "GetUser",
      "GetFederationToken",
      "getSigninToken",
    ]);
    const gft = fake.callsTo("GetFederationToken")[0];
    equal(gft.accessKeyId, USER.accessKeyId, "called with the long-term key, no GetSessionToken");
    equal(gft.params.Name, LONG_NAME.slice(0, 32));
    equal(gft.params.Policy, ALLOW_ALL_POLICY);
    equal(gft.params.DurationSeconds, "7200");
    const signin = fake.callsTo("getSigninToken")[0];
    equal(signin.status, 200);
    equal(signin.params.SessionDuration, undefined);
    ok(signin.accessKeyId?.startsWith("ASIA"));
    const url = printedUrl(r.stdout, fake);
    equal(await follow(url), "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1");
  });
});

Deno.test("login role profile uses the AssumeRole session; --region without a profile region", async () => {
  await withSetup(async ({ fake, env }) => {
    const r = await runCli(["login", "role", "-s"], { env });
    equal(r.code, 0, r.stderr);
    deepStrictEqual(fake.calls.map((c) => c.action), ["AssumeRole", "getSigninToken"]);
    // The role profile sets no region (its source's is not inherited): the global console.
    equal(await follow(printedUrl(r.stdout, fake)), "https://console.aws.amazon.com/");

    const g = await runCli(["login", "--stdout", "--region", "us-gov-west-1"], {
      env: { ...env, AWS_PROFILE: "role" },
    });
    equal(g.code, 0, g.stderr);
    equal(
      await follow(printedUrl(g.stdout, fake)),
      "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
    );
  });
});

Deno.test("login without a profile uses environment credentials; expired ones fail clearly", async () => {
  await withSetup(async ({ fake, env, clock }) => {
    const exported = await runCli(["export", "--format=json", "role"], { env });
    equal(exported.code, 0, exported.stderr);
    const creds = JSON.parse(exported.stdout);
    const roleEnv = {
      ...env,
      AWS_ACCESS_KEY_ID: creds.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.SecretAccessKey,
      AWS_SESSION_TOKEN: creds.SessionToken,
    };
    fake.clearCalls();
    const r = await runCli(["login", "--stdout", "--path", "iam/home"], { env: roleEnv });
    equal(r.code, 0, r.stderr);
    deepStrictEqual(fake.calls.map((c) => c.action), ["GetCallerIdentity", "getSigninToken"]);
    equal(fake.callsTo("getSigninToken")[0].accessKeyId, creds.AccessKeyId);
    equal(await follow(printedUrl(r.stdout, fake)), "https://console.aws.amazon.com/iam/home");

    // IAM user keys from the environment get a federated session too.
    const u = await runCli(["login", "-s"], {
      env: { ...env, AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey },
    });
    equal(u.code, 0, u.stderr);
    equal(fake.callsTo("GetFederationToken").length, 1);

    const none = await runCli(["login"], { env });
    equal(none.code, 1);
    match(none.stderr, /argument 'profile' not provided, nor any AWS env vars found/);

    clock.offsetMs = 2 * 3600_000;
    const expired = await runCli(["login", "--stdout"], { env: roleEnv });
    equal(expired.code, 1);
    match(expired.stderr, /sts:GetCallerIdentity failed: ExpiredToken/);
    ok(!expired.stderr.includes(creds.SecretAccessKey) && !expired.stderr.includes(creds.SessionToken));
  });
});

Deno.test("login opens the browser with the platform opener; --auto-logout goes through logout", async () => {
  await withSetup(async ({ fake, env }) => {
    const bin = await Deno.makeTempDir();
    const record = `${bin}/opened.txt`;
    try {
      await Deno.writeTextFile(`${bin}/xdg-open`, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${record}'\n`, { mode: 0o755 });
      const browserEnv = { ...env, PATH: `${bin}:${env.PATH}` };
      const r = await runCli(["login", "role"], { env: browserEnv });
      equal(r.code, 0, r.stderr);
      equal(r.stdout, "");
      const opened = (await Deno.readTextFile(record)).trim();
      equal(await follow(printedUrl(opened, fake)), "https://console.aws.amazon.com/");

      const out = await runCli(["login", "role", "--stdout", "--auto-logout", "--region", "eu-west-1"], { env });
      equal(out.code, 0, out.stderr);
      const logout = out.stdout.trim();
      ok(logout.startsWith(`${fake.url}/oauth?Action=logout&redirect_uri=`), logout);
      const login = await follow(logout);
      equal(
        await follow(printedUrl(login, fake)),
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
      );

      await Deno.writeTextFile(`${bin}/xdg-open`, "#!/bin/sh\nexit 3\n");
      const failed = await runCli(["login", "role"], { env: browserEnv });
      equal(failed.code, 1);
      match(failed.stderr, /Failed to open the AWS console login URL: xdg-open exited with status 3; use --stdout/);
      ok(!failed.stderr.includes("SigninToken"));
    } finally {
      await Deno.remove(bin, { recursive: true });
    }
  });
});

Deno.test("login reports federation endpoint failures without secrets", async () => {
  await withSetup(async ({ fake, env }) => {
    fake.injectFault({ action: "getSigninToken", kind: "server-error" });
    const r = await runCli(["login", "role", "--stdout"], { env });
    equal(r.code, 1);
    match(r.stderr, /profile role: Call to getSigninToken failed with 500/);

    const down = await runCli(["login", "role", "--stdout"], {
      env: { ...env, AWS_ENDPOINT_URL_SIGNIN: "http://127.0.0.1:1" },
    });
    equal(down.code, 1);
    match(down.stderr, /profile role: could not reach http:\/\/127\.0\.0\.1:1\/federation/);
    ok(!down.stderr.includes("sessionKey") && !down.stderr.includes("Session="));
    equal(down.stdout, "");
  });
});

Deno.test("the fake federation endpoint refuses unknown sessions, long-term keys and bad tokens", async () => {
  const fake = await startFakeAws();
  try {
    const endpoint = `${fake.url}/federation`;
    const bogus = { accessKeyId: "ASIABOGUS", secretAccessKey: "x", sessionToken: "y" };
    await rejects(getSigninToken(endpoint, bogus), /Call to getSigninToken failed with 400/);
    await rejects(getSigninToken(endpoint, { accessKeyId: "AKIA", secretAccessKey: "x" }), /temporary credentials/);
    const url = loginUrl(endpoint, { destination: "https://console.aws.amazon.com/", signinToken: "nope" });
    const response = await fetch(url, { redirect: "manual" });
    await response.body?.cancel();
    equal(response.status, 400);
    ok(fake.calls.every((c) => c.service === "signin" && c.params.SigninToken !== "nope"));
  } finally {
    await fake.close();
  }
});
