// The session cache in the vault against the fake AWS endpoint: reuse across runs, AWS_MIN_TTL, keys that change
// with the role's settings, --no-cache, Go-compatible GetSessionToken sessions, list and clear.
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { type ProfileFlags, resolveProfile } from "../src/config/profile.ts";
import { type ChainOptions, getProviderForProfile } from "../src/credentials/chain.ts";
import type { Credentials } from "../src/core/credentials.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { SESSION_TYPES, SessionKeyring } from "../src/vault/session_keyring.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { envFromRecord } from "../src/core/env.ts";

const SERIAL = "arn:aws:iam::111111111111:mfa/jonsmith";
const JON = { userName: "jonsmith", accessKeyId: "AKIAJONSMITH0000001", secretAccessKey: "jon-secret" };
const CONFIG = `[profile jonsmith]
mfa_serial = ${SERIAL}
[profile admin]
source_profile = jonsmith
role_arn = arn:aws:iam::111111111111:role/Admin
mfa_serial = ${SERIAL}
[profile ro]
source_profile = jonsmith
role_arn = arn:aws:iam::111111111111:role/ReadOnly
`; // ro last: tests append settings to it
const M = 60_000;

interface RunOptions extends Partial<Omit<ChainOptions, "vault" | "env">> {
  flags?: ProfileFlags;
  env?: Record<string, string>;
  config?: string;
}

async function harness() {
  let now = Date.now();
  const clock = () => new Date(now);
  const fake = await startFakeAws({ now: clock });
  fake.addUser({ ...JON, mfaSerial: SERIAL });
  for (const name of ["ReadOnly", "ReadOnly2", "Admin"]) {
    fake.addRole({ arn: `arn:aws:iam::111111111111:role/${name}`, maxSessionDuration: 7200 });
  }
  const dir = await Deno.makeTempDir({ prefix: "credentials-cache-" });
  const vault = new FileKeyring({ dir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test" }) });
  await new CredentialKeyring(vault).set("jonsmith", JON);
  let prompts = 0;
  const prompt = (serial: string) => Promise.resolve(fake.totp(serial, { offsetSteps: [0, 1, -1][prompts++ % 3] }));
  return {
    fake,
    vault,
    get prompts() {
      return prompts;
    },
    advance(ms: number) {
      now += ms;
    },
    /** One run of the tool: a fresh profile resolution and chain, as a new process would build them. */
    async run(name: string, options: RunOptions = {}): Promise<Credentials> {
      const env = envFromRecord({ AWS_ENDPOINT_URL: fake.url, ...options.env });
      const profile = resolveProfile(parseConfigFile(options.config ?? CONFIG), name, { flags: options.flags, env });
      const provider = await getProviderForProfile(profile, { vault, mfa: { prompt }, now: clock, ...options, env });
      return await provider.retrieve();
    },
    calls: () => fake.calls.map((c) => `${c.action}${c.params.RoleArn ? ` ${c.params.RoleArn.split("/")[1]}` : ""}`),
    async [Symbol.asyncDispose]() {
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a second run reuses every cached session: no STS call, no prompt", async () => {
  await using h = await harness();
  const first = await h.run("admin");
  assert.deepEqual(h.calls(), ["GetSessionToken", "AssumeRole Admin"]);
  assert.equal(h.prompts, 1);
  h.fake.clearCalls();
  const second = await h.run("admin");
  assert.deepEqual(h.calls(), []);
  assert.equal(h.prompts, 1);
  assert.deepEqual(second, first);
});

Deno.test("AWS_MIN_TTL: reuse while enough remains, refresh when less does", async () => {
  await using h = await harness();
  await h.run("jonsmith"); // a 1h session
  h.advance(50 * M);
  h.fake.clearCalls();
  await h.run("jonsmith");
  assert.deepEqual(h.calls(), [], "10m left, default minimum 5m: reused");
  await h.run("jonsmith", { env: { AWS_MIN_TTL: "15m" } });
  assert.deepEqual(h.calls(), ["GetSessionToken"], "10m left, minimum 15m: refreshed");
  h.advance(56 * M);
  h.fake.clearCalls();
  await h.run("jonsmith", { minTtl: 5 * M });
  assert.deepEqual(h.calls(), ["GetSessionToken"], "4m left of the refreshed session: refreshed");
  assert.equal(h.prompts, 3);
});

Deno.test("changing role ARN, duration, region or tags never serves the old AssumeRole session", async () => {
  await using h = await harness();
  await h.run("ro");
  h.fake.clearCalls();
  await h.run("ro");
  assert.deepEqual(h.calls(), [], "unchanged: reused");
  const variants = [
    CONFIG.replace("role/ReadOnly", "role/ReadOnly2"),
    CONFIG + "duration_seconds = 7200\n",
    CONFIG + "region = eu-west-1\n",
    CONFIG + "session_tags = team=a\n",
    CONFIG + "session_tags = team=b\n",
  ];
  for (const config of variants) {
    h.fake.clearCalls();
    await h.run("ro", { config });
    assert.equal(h.fake.callsTo("AssumeRole").length, 1, config);
    h.fake.clearCalls();
    await h.run("ro", { config });
    assert.deepEqual(h.calls(), [], `${config}: reused on the next run`);
  }
  h.fake.clearCalls();
  await h.run("ro", { flags: { region: "ap-south-1" } });
  assert.equal(h.fake.callsTo("AssumeRole").length, 1, "--region");
});

Deno.test("noCache neither reads nor writes sessions", async () => {
  await using h = await harness();
  await h.run("admin", { noCache: true });
  assert.deepEqual(await h.vault.keys(), ["jonsmith"]);
  await h.run("admin");
  h.fake.clearCalls();
  await h.run("admin", { noCache: true });
  assert.deepEqual(h.calls(), ["GetSessionToken", "AssumeRole Admin"]);
});

Deno.test("GetSessionToken sessions use aws-vault's key, so sessions the Go tool stored are reused", async () => {
  await using h = await harness();
  const stored = {
    accessKeyId: "ASIAGOSTORED0000001",
    secretAccessKey: "go-secret",
    sessionToken: "go-token",
    expiration: new Date(Date.now() + 8 * 60 * M),
  };
  await new SessionKeyring(h.vault, { now: () => new Date() }).set(
    { type: SESSION_TYPES.getSessionToken, profileName: "jonsmith", mfaSerial: SERIAL },
    stored,
  );
  const creds = await h.run("jonsmith");
  assert.deepEqual(h.calls(), []);
  assert.equal(creds.accessKeyId, stored.accessKeyId);
  const b64 = (s: string) => btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const expiry = Math.floor(stored.expiration.getTime() / 1000);
  assert.ok((await h.vault.keys()).includes(`sts.GetSessionToken,${b64("jonsmith")},${b64(SERIAL)},${expiry}`));
});

Deno.test("list and clear see the cached sessions", async () => {
  await using h = await harness();
  await h.run("admin");
  await h.run("ro");
  const sessions = new SessionKeyring(h.vault, { now: () => new Date() });
  const listed = (await sessions.list()).map((k) =>
    `${k.profileName} ${k.type.replace(/\..{16}$/, ".#")} ${k.mfaSerial}`
  );
  assert.deepEqual(listed.sort(), [
    "admin sts.AssumeRole.# ",
    "jonsmith sts.GetSessionToken " + SERIAL,
    "ro sts.AssumeRole.# ",
  ]);
  assert.equal(await sessions.removeForProfile("admin"), 1);
  h.fake.clearCalls();
  await h.run("admin");
  assert.deepEqual(h.calls(), ["AssumeRole Admin"], "the cleared role is fetched again; jonsmith's session is kept");
  assert.equal(h.prompts, 1);
});
