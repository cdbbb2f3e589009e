// SSO role credentials against the fake IAM Identity Center: the PKCE browser login, the device-code flow with
// --stdout, refresh tokens, 401 recovery, one login for many concurrent processes, and the token in the vault.
import assert from "node:assert/strict";
import { createStsClient } from "../src/aws/clients.ts";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import type { Credentials } from "../src/core/credentials.ts";
import {
  SsoRoleCredentialsProvider,
  type SsoRoleCredentialsProviderOptions,
  ssoRoleLookup,
} from "../src/credentials/sso_provider.ts";
import { SsoLoginLockError, withLoginLock } from "../src/credentials/sso_lock.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { OidcTokenKeyring } from "../src/vault/oidc_keyring.ts";
import { makeSandbox, runCli, runProgram } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { ssoFake } from "./support/fake_aws/sso.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";
import { actAsBrowser } from "./support/sso_browser.ts";
import { envFromRecord } from "../src/core/env.ts";

const START_URL = "https://corp.awsapps.com/start";
const CONFIG = `
[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin
region = eu-west-1

[profile inline]
sso_start_url = ${START_URL}
sso_region = eu-west-1
sso_account_id = 123456789012
sso_role_name = ReadOnly

[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1
`;
const H = 3_600_000;

async function harness() {
  const fake = await startFakeAws({ now: () => clock.now });
  const sso = ssoFake(fake);
  sso.assign("123456789012", "Admin");
  const clock = { now: new Date() };
  const vault = new MemoryKeyring();
  const messages: string[] = [];
  const opened: string[] = [];
  const env = envFromRecord({ AWS_ENDPOINT_URL: fake.url });
  return {
    fake,
    sso,
    vault,
    clock,
    messages,
    opened,
    env,
    provider(name = "sso", options: Partial<SsoRoleCredentialsProviderOptions> = {}) {
      const profile = resolveProfile(parseConfigFile(CONFIG), name, { env });
      return new SsoRoleCredentialsProvider(profile, {
        vault,
        env,
        now: () => clock.now,
        write: (text) => messages.push(text),
        openUrl: (url) => (opened.push(url), actAsBrowser(url)),
        ...options,
      });
    },
    grants: () => fake.callsTo("CreateToken").map((c) => `${c.params.grantType}:${c.errorCode ?? c.status}`),
    [Symbol.asyncDispose]: () => fake.close(),
  };
}

async function callerArn(url: string, creds: Credentials): Promise<string> {
  const env = envFromRecord({ AWS_ENDPOINT_URL: url });
  const profile = resolveProfile(parseConfigFile(CONFIG), "sso", { env });
  const { client, sdk } = await createStsClient(profile, { credentials: creds, env });
  try {
    return (await client.send(new sdk.GetCallerIdentityCommand({}))).Arn ?? "";
  } finally {
    client.destroy();
  }
}

Deno.test("browser login: authorization code + PKCE on a loopback redirect, token stored, credentials work", async () => {
  await using h = await harness();
  const creds = await h.provider().retrieve();
  assert.match(creds.accessKeyId, /^ASIA/);
  assert.ok(creds.expiration && Math.abs(creds.expiration.getTime() - h.clock.now.getTime() - H) < 2000);
  assert.match(await callerArn(h.fake.url, creds), /:assumed-role\/AWSReservedSSO_Admin_fake\/sso-user$/);
  assert.equal(h.opened.length, 1);
  const authorize = new URL(h.opened[0]);
  assert.equal(authorize.pathname, "/authorize");
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  assert.match(authorize.searchParams.get("redirect_uri")!, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback$/);
  assert.match(h.messages.join(""), /^Opening the SSO authorization page in your default browser \(use Ctrl-C/);
  assert.deepEqual(h.grants(), ["authorization_code:200"]);
  const register = h.fake.callsTo("RegisterClient");
  assert.equal(register.length, 1);
  // The token is in the vault under aws-vault's key and format, readable by the typed keyring (list/clear use it).
  assert.deepEqual(await h.vault.keys(), [`oidc:${START_URL}`]);
  const stored = JSON.parse(h.vault.raw(`oidc:${START_URL}`));
  assert.deepEqual(Object.keys(stored.Token), [
    "AccessToken",
    "ExpiresIn",
    "IdToken",
    "RefreshToken",
    "TokenType",
    "ResultMetadata",
  ]);
  assert.equal(h.vault.items.get(`oidc:${START_URL}`)!.description, "aws-vault oidc token");
  const tokens = new OidcTokenKeyring(h.vault, { now: () => h.clock.now });
  assert.ok((await tokens.get(START_URL))?.accessToken);
  assert.deepEqual(await tokens.list(), [START_URL]);
  // Reused: no second login, and the profile sharing the start URL uses the same token.
  h.sso.assign("123456789012", "ReadOnly");
  await h.provider().retrieve();
  await h.provider("inline").retrieve();
  assert.equal(h.opened.length, 1);
  assert.deepEqual(h.grants(), ["authorization_code:200"]);
  assert.equal(await tokens.removeAll(), 1);
});

Deno.test("browser login: a callback with the wrong state is refused, the real one completes", async () => {
  await using h = await harness();
  const creds = await h.provider("sso", {
    openUrl: async (url) => {
      const redirect = await fetch(url, { redirect: "manual" });
      const location = new URL(redirect.headers.get("location")!);
      const forged = new URL(location);
      forged.searchParams.set("state", "forged");
      const refused = await fetch(forged);
      assert.equal(refused.status, 400);
      await refused.body?.cancel();
      await actAsBrowser(location.href);
    },
  }).retrieve();
  assert.match(creds.accessKeyId, /^ASIA/);
});

Deno.test("device code with --stdout: link on stderr, no browser, polling honours pending and slow_down", async () => {
  await using h = await harness();
  h.sso.setDevicePolling({ interval: 1, slowDowns: 1 });
  const sleeps: number[] = [];
  const creds = await h.provider("sso", {
    useStdout: true,
    sleep: async (ms) => {
      sleeps.push(ms);
      // The user opens the printed link during the second wait.
      if (sleeps.length === 2) await actAsBrowser(h.messages.join("").trim().split("\n").at(-1)!);
    },
  }).retrieve();
  assert.match(creds.accessKeyId, /^ASIA/);
  assert.equal(h.opened.length, 0);
  assert.match(
    h.messages.join(""),
    /^Open the SSO authorization page in a browser \(use Ctrl-C to abort\)\nhttp:.*\/device\?user_code=/,
  );
  assert.deepEqual(sleeps, [6000, 6000]);
  const grant = "urn:ietf:params:oauth:grant-type:device_code";
  assert.deepEqual(h.grants(), [
    `${grant}:SlowDownException`,
    `${grant}:AuthorizationPendingException`,
    `${grant}:200`,
  ]);
  assert.equal(h.fake.callsTo("StartDeviceAuthorization").length, 1);
  assert.ok(JSON.parse(h.vault.raw(`oidc:${START_URL}`)).Token.RefreshToken);
});

Deno.test("an expired access token is refreshed with its refresh token: no browser", async () => {
  await using h = await harness();
  await h.provider().retrieve();
  h.clock.now = new Date(h.clock.now.getTime() + 9 * H);
  const creds = await h.provider().retrieve();
  assert.match(await callerArn(h.fake.url, creds), /AWSReservedSSO_Admin/);
  assert.equal(h.opened.length, 1);
  assert.deepEqual(h.grants(), ["authorization_code:200", "refresh_token:200"]);
  // The refreshed token replaced the old one in the vault, and is used from there.
  await h.provider().retrieve();
  assert.equal(h.grants().length, 2);
});

Deno.test("401 for a cached token: refresh, else drop it and log in again, once", async () => {
  await using h = await harness();
  await h.provider().retrieve();
  h.sso.revokeTokens({ keepRefreshTokens: true });
  await h.provider().retrieve();
  assert.deepEqual(h.grants(), ["authorization_code:200", "refresh_token:200"]);
  assert.equal(h.opened.length, 1);

  h.sso.revokeTokens();
  await h.provider().retrieve();
  assert.deepEqual(h.grants(), [
    "authorization_code:200",
    "refresh_token:200",
    "refresh_token:InvalidGrantException",
    "authorization_code:200",
  ]);
  assert.equal(h.opened.length, 2);
  const statuses = h.fake.callsTo("GetRoleCredentials").map((c) => c.status);
  assert.deepEqual(statuses, [200, 401, 200, 401, 200]);
});

Deno.test("a 401 for a brand-new token is not retried; other errors name the profile and call", async () => {
  await using h = await harness();
  h.sso.setAccessTokenTtl(0);
  await assert.rejects(
    () => h.provider().retrieve(),
    /^SsoTokenRejectedError: profile sso: sso:GetRoleCredentials failed: UnauthorizedException/,
  );
  assert.equal(h.opened.length, 1);
  h.sso.setAccessTokenTtl(3600);
  await assert.rejects(
    () => h.provider("inline").retrieve(),
    (e: Error) => e.message === "profile inline: sso:GetRoleCredentials failed: ForbiddenException: No access",
  );
  await assert.rejects(
    () =>
      h.provider("sso", {
        useStdout: true,
        noCache: true,
        timeoutMs: 50,
        sleep: () => new Promise((r) => setTimeout(r, 60)),
      }).retrieve(),
    /timed out waiting for the device authorization/,
  );
});

Deno.test("noCache: the token is neither stored nor reused", async () => {
  await using h = await harness();
  await h.provider("sso", { noCache: true }).retrieve();
  await h.provider("sso", { noCache: true }).retrieve();
  assert.deepEqual(await h.vault.keys(), []);
  assert.equal(h.opened.length, 2);
});

Deno.test("missing SSO settings and the session cache key", async () => {
  await using h = await harness();
  const profile = resolveProfile(parseConfigFile(CONFIG), "sso", { env: h.env });
  assert.deepEqual(ssoRoleLookup(profile), {
    type: "sso.GetRoleCredentials",
    profileName: "sso",
    mfaSerial: START_URL,
  });
  const broken = new SsoRoleCredentialsProvider({ ...profile, ssoAccountId: undefined }, {
    vault: h.vault,
    env: h.env,
    now: () => new Date(),
  });
  await assert.rejects(() => broken.retrieve(), /^CredentialsError: profile sso: sso_account_id is not set$/);
});

Deno.test("five processes needing the same login at once: one browser authorization", async () => {
  const fake = await startFakeAws();
  ssoFake(fake).assign("123456789012", "Admin");
  const dir = await Deno.makeTempDir({ prefix: "sso-concurrent-" });
  try {
    await Deno.writeTextFile(`${dir}/config`, CONFIG);
    await Deno.mkdir(`${dir}/lock`);
    const driver = new URL("./support/sso_browser.ts", import.meta.url).pathname;
    // Warm Deno's module cache first: cold starts would race to write it, which is not what this test is about.
    await new Deno.Command(Deno.execPath(), { args: ["cache", "--quiet", driver], stdout: "null", stderr: "null" })
      .output();
    const runs = Array.from({ length: 5 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", driver, `${dir}/config`, "sso"],
        env: {
          AWS_ENDPOINT_URL: fake.url,
          SSO_TEST_VAULT_DIR: `${dir}/vault`,
          AWS_VAULT_FILE_PASSPHRASE: "test",
          XDG_RUNTIME_DIR: `${dir}/lock`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output());
    const outputs = await Promise.all(runs);
    for (const out of outputs) assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(fake.callsTo("Authorize").length, 1);
    assert.equal(fake.callsTo("CreateToken").length, 1);
    assert.equal(fake.callsTo("GetRoleCredentials").length, 5);
    assert.deepEqual([...Deno.readDirSync(`${dir}/lock`)], []);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("login lock: a lock left by a dead process is taken over; a live one is waited for, boundedly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sso-lock-" });
  try {
    const name = "https://lock.example/start";
    let path = "";
    await withLoginLock(name, async () => {
      path = [...Deno.readDirSync(dir)][0].name;
      await Promise.resolve();
    }, { dir, env: envFromRecord({}) });
    assert.match(path, /^aws-vault-sso-\d+-[0-9a-f]{16}\.lock$/);
    await Deno.writeTextFile(`${dir}/${path}`, "999999999 dead");
    assert.equal(await withLoginLock(name, () => Promise.resolve(42), { dir, env: envFromRecord({}) }), 42);
    await Deno.writeTextFile(`${dir}/${path}`, `${Deno.pid} alive`);
    await assert.rejects(
      () => withLoginLock(name, () => Promise.resolve(0), { dir, env: envFromRecord({}), waitMs: 300 }),
      SsoLoginLockError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// End to end through main.ts. Enabled once src/credentials/chain.ts builds SsoRoleCredentialsProvider for
// sso_start_url profiles. The token is seeded through the provider so the CLI never needs a browser.
Deno.test({
  name: "CLI: exec uses the stored SSO token; list shows it; clear removes it",
  ignore: false,
  async fn() {
    const fake = await startFakeAws();
    ssoFake(fake).assign("123456789012", "Admin");
    const box = await makeSandbox({ config: CONFIG });
    try {
      const env = { ...box.env, AWS_ENDPOINT_URL: fake.url };
      const vaultEnv = envFromRecord(env);
      const vault = new FileKeyring({ dir: box.vaultDir, env: vaultEnv });
      const profile = resolveProfile(parseConfigFile(CONFIG), "sso", { env: vaultEnv });
      await new SsoRoleCredentialsProvider(profile, {
        vault,
        env: vaultEnv,
        openUrl: actAsBrowser,
        write: () => {},
        now: () => new Date(),
      })
        .retrieve();
      const exec = await runProgram(["exec", "sso", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"], { env });
      assert.equal(exec.code, 0, exec.stderr);
      assert.match(exec.stdout, /^ASIA/);
      assert.equal(fake.callsTo("CreateToken").length, 1); // no second login
      const list = await runCli(["list"], { env });
      assert.match(list.stdout, /oidc:corp/);
      const clear = await runCli(["clear"], { env });
      assert.equal(clear.code, 0, clear.stderr);
      assert.deepEqual(await new OidcTokenKeyring(vault, { now: () => new Date() }).list(), []);
    } finally {
      await box.cleanup();
      await fake.close();
    }
  },
});
