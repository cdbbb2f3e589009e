// AssumeRoleWithWebIdentity against the fake AWS: the token from a file or a process (sent untrimmed), the
// parameters sent, and the error messages for a missing role, a rejected token, an unreadable file, a failing process.
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { webIdentityLookup, WebIdentityProvider } from "../src/credentials/web_identity_provider.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { envFromRecord } from "../src/core/env.ts";

const ROLE = "arn:aws:iam::222222222222:role/WebRole";
const NOW = new Date("2030-01-02T03:04:05.678Z");

async function harness() {
  const fake = await startFakeAws();
  fake.addRole({ arn: ROLE, maxSessionDuration: 7200 });
  const dir = await Deno.makeTempDir({ prefix: "credentials-web-identity-" });
  return {
    fake,
    dir,
    provider(settings: string, options?: { now?: () => Date }) {
      const config = parseConfigFile(`[profile web]\nregion = eu-west-1\n${settings}\n`);
      const env = envFromRecord({ AWS_ENDPOINT_URL: fake.url });
      const profile = resolveProfile(config, "web", { env });
      return new WebIdentityProvider(profile, { env, now: options?.now ?? (() => new Date()) });
    },
    async [Symbol.asyncDispose]() {
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("web_identity_token_file: the raw file contents are sent, re-read on every retrieve", async () => {
  await using h = await harness();
  const file = `${h.dir}/token`;
  await Deno.writeTextFile(file, "token-one\n");
  const provider = h.provider(`role_arn = ${ROLE}\nweb_identity_token_file = ${file}\nduration_seconds = 1800`, {
    now: () => NOW,
  });
  const creds = await provider.retrieve();
  assert.ok(creds.accessKeyId.startsWith("ASIA"));
  assert.ok(creds.sessionToken && creds.expiration);
  await Deno.writeTextFile(file, "token-two");
  await provider.retrieve();
  const calls = h.fake.callsTo("AssumeRoleWithWebIdentity");
  assert.deepEqual(calls.map((c) => c.params.WebIdentityToken), ["token-one\n", "token-two"]);
  assert.equal(calls[0].accessKeyId, undefined, "unsigned");
  assert.equal(calls[0].params.RoleArn, ROLE);
  assert.equal(calls[0].params.DurationSeconds, "1800");
  assert.equal(calls[0].params.RoleSessionName, String(BigInt(NOW.getTime()) * 1_000_000n));
  assert.equal(calls[0].params.ExternalId, undefined);
});

Deno.test("web_identity_token_process: stdout is sent untrimmed; role_session_name is used when set", async () => {
  await using h = await harness();
  const provider = h.provider(
    `role_arn = ${ROLE}\nweb_identity_token_process = printf 'proc-token\\n'\nrole_session_name = ci-run`,
  );
  await provider.retrieve();
  const [call] = h.fake.callsTo("AssumeRoleWithWebIdentity");
  assert.equal(call.params.WebIdentityToken, "proc-token\n");
  assert.equal(call.params.RoleSessionName, "ci-run");
  assert.equal(call.params.DurationSeconds, "3600");
});

Deno.test("web identity errors name the profile and the call; tokens never appear in them", async () => {
  await using h = await harness();
  const file = `${h.dir}/token`;
  await Deno.writeTextFile(file, "secret-token-value");
  const other = "arn:aws:iam::222222222222:role/Missing";
  const missing = h.provider(`role_arn = ${other}\nweb_identity_token_file = ${file}`);
  await assert.rejects(missing.retrieve(), (e: Error) => {
    assert.ok(e instanceof CredentialsError);
    assert.match(e.message, /^profile web: sts:AssumeRoleWithWebIdentity failed: AccessDenied: /);
    assert.doesNotMatch(e.message, /secret-token-value/);
    return true;
  });

  await Deno.writeTextFile(file, "invalid");
  await assert.rejects(h.provider(`role_arn = ${ROLE}\nweb_identity_token_file = ${file}`).retrieve(), {
    message:
      /^profile web: sts:AssumeRoleWithWebIdentity failed: InvalidIdentityToken(Exception)?: The web identity token/,
  });

  const absent = `${h.dir}/absent`;
  await assert.rejects(h.provider(`role_arn = ${ROLE}\nweb_identity_token_file = ${absent}`).retrieve(), {
    message: new RegExp(`^profile web: unable to read file at ${absent}: No such file or directory`),
  });

  await assert.rejects(
    h.provider(`role_arn = ${ROLE}\nweb_identity_token_process = echo secret && exit 3`).retrieve(),
    {
      message: 'profile web: running command "echo secret && exit 3": exit status 3',
    },
  );
  assert.equal(h.fake.callsTo("AssumeRoleWithWebIdentity").length, 2, "no call without a token");
});

Deno.test("webIdentityLookup: aws-vault's cache key", () => {
  const profile = resolveProfile(parseConfigFile("[profile web]\nrole_arn = r\nweb_identity_token_file = f\n"), "web", {
    env: envFromRecord({}),
  });
  assert.deepEqual(webIdentityLookup(profile), {
    type: "sts.AssumeRoleWithWebIdentity",
    profileName: "web",
    mfaSerial: "",
  });
});
