/**
 * The PBKDF2 cost of file-vault items (docs/behaviour.md#file-backend): long-term keys with 600,000 iterations (or
 * `AWS_VAULT_FILE_KDF_ITERATIONS`), sessions and SSO tokens with the Go tool's 8,192; items upgraded only when written.
 * Costs are checked by counting and recording PBKDF2 derivations, never by timing.
 */
import assert from "node:assert/strict";
import { envFromRecord } from "../src/core/env.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { cachedItemPbes2Count, credentialPbes2Count, FileKeyring, KdfIterationsError } from "../src/vault/file.ts";
import { CREDENTIAL_PBES2_COUNT, DEFAULT_PBES2_COUNT, encryptJwe, readJweHeader } from "../src/vault/jwe.ts";
import { CorruptItemError, itemToJson, type VaultItem } from "../src/vault/keyring.ts";
import { OidcTokenKeyring } from "../src/vault/oidc_keyring.ts";
import { migrateCredentials } from "../src/vault/migrate.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";
import { makeSandbox, runCli } from "./support/cli.ts";
import { withFakeAws } from "./support/fake_aws/testing.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";

const PASSPHRASE = "test-pass";
const SESSION_KEY = "sts.GetSessionToken,d29yaw,,4102444800"; // expires in 2100
const OIDC_KEY = "oidc:https://acme.awsapps.com/start";
const USER = { userName: "jonsmith", accessKeyId: "AKIAJONSMITHEXAMPLE1", secretAccessKey: "jonsmith-secret/abc+def" };
const enc = new TextEncoder();

const keyringFor = (dir: string, extra: Record<string, string> = {}, prompt?: () => Promise<string>) =>
  new FileKeyring({
    dir,
    env: envFromRecord(prompt ? extra : { AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE, ...extra }),
    promptPassphrase: prompt,
  });

/** The `p2c` of the item file `name` in `dir`, from its JWE header. */
const p2cOf = async (dir: string, name: string) => readJweHeader(await Deno.readTextFile(`${dir}/${name}`)).p2c;

const item = (key: string, data = "{}"): VaultItem => ({
  key,
  data: enc.encode(data),
  label: `l ${key}`,
  description: "",
  keychainNotTrustApplication: false,
  keychainNotSynchronizable: false,
});

/** Runs `body` while recording the iteration count of every PBKDF2 derivation. */
async function recordingDerivations<T>(body: (iterations: number[]) => Promise<T>): Promise<T> {
  const deriveBits = crypto.subtle.deriveBits;
  const iterations: number[] = [];
  crypto.subtle.deriveBits = (...args: Parameters<SubtleCrypto["deriveBits"]>) => {
    iterations.push((args[0] as Pbkdf2Params).iterations);
    return deriveBits.apply(crypto.subtle, args);
  };
  try {
    return await body(iterations);
  } finally {
    crypto.subtle.deriveBits = deriveBits;
  }
}

/** Writes `key` as the Go aws-vault (and this tool before) did: 8,192 iterations. */
async function plantOld(dir: string, key: string, data: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const token = await encryptJwe(enc.encode(itemToJson(item(key, data))), PASSPHRASE, { p2c: DEFAULT_PBES2_COUNT });
  await Deno.writeTextFile(`${dir}/${key}`, token, { mode: 0o600 });
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vault_kdf_" });
  try {
    await body(`${dir}/keys`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("long-term keys are written with 600,000 iterations, sessions and SSO tokens with 8,192", async () => {
  assert.equal(CREDENTIAL_PBES2_COUNT, 600_000);
  await withDir(async (dir) => {
    const keyring = keyringFor(dir);
    await new CredentialKeyring(keyring).set("work", { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s" });
    await keyring.set(item(SESSION_KEY));
    await keyring.set(item(OIDC_KEY));
    await keyring.set(item("session,d29yaw,,1685000000")); // a legacy session key is a session too
    assert.equal(await p2cOf(dir, "work"), 600_000);
    assert.equal(await p2cOf(dir, SESSION_KEY), 8192);
    assert.equal(await p2cOf(dir, "oidc:https:%2F%2Facme.awsapps.com%2Fstart"), 8192);
    assert.equal(await p2cOf(dir, "session,d29yaw,,1685000000"), 8192);
    // Through the typed keyrings as the commands use them.
    const sessions = new SessionKeyring(keyring, { now: () => new Date("2030-01-01T00:00:00Z") });
    const made = await sessions.set(
      { type: "sts.AssumeRole", profileName: "work", mfaSerial: "" },
      { accessKeyId: "ASIA", secretAccessKey: "s", sessionToken: "t", expiration: new Date("2030-01-01T01:00:00Z") },
    );
    const sessionFile = [...Deno.readDirSync(dir)].map((e) => e.name).find((n) => n.startsWith("sts.AssumeRole,"));
    assert.ok(sessionFile, `no session file for ${JSON.stringify(made)}`);
    assert.equal(await p2cOf(dir, sessionFile), 8192);
    await new OidcTokenKeyring(keyring, { now: () => new Date() }).set("https://other.awsapps.com/start", {
      accessToken: "a",
      expiresIn: 3600,
    });
    assert.equal(await p2cOf(dir, "oidc:https:%2F%2Fother.awsapps.com%2Fstart"), 8192);
    // Everything reads back with the same passphrase in a new process's keyring.
    assert.equal((await new CredentialKeyring(keyringFor(dir)).get("work")).accessKeyId, "AKIAEXAMPLE");
  });
});

Deno.test("AWS_VAULT_FILE_KDF_ITERATIONS: in range it sets the cost of long-term keys only", async () => {
  for (const [value, expected] of [["1300000", 1_300_000], ["8192", 8192], ["100000", 100_000], ["", 600_000]]) {
    assert.equal(credentialPbes2Count(envFromRecord({ AWS_VAULT_FILE_KDF_ITERATIONS: value as string })), expected);
  }
  assert.equal(credentialPbes2Count(envFromRecord({})), 600_000);
  await withDir(async (dir) => {
    const keyring = keyringFor(dir, { AWS_VAULT_FILE_KDF_ITERATIONS: "1300000" });
    await keyring.set(item("work"));
    await keyring.set(item(SESSION_KEY));
    assert.equal(await p2cOf(dir, "work"), 1_300_000);
    assert.equal(await p2cOf(dir, SESSION_KEY), 8192);
    assert.equal((await keyringFor(dir).get("work")).label, "l work");
  });
});

Deno.test("AWS_VAULT_FILE_SESSION_KDF_ITERATIONS: sessions and SSO tokens at the chosen cost, long-term keys unchanged", async () => {
  assert.equal(cachedItemPbes2Count(envFromRecord({})), 8192);
  assert.equal(cachedItemPbes2Count(envFromRecord({ AWS_VAULT_FILE_SESSION_KDF_ITERATIONS: "" })), 8192);
  assert.throws(
    () => cachedItemPbes2Count(envFromRecord({ AWS_VAULT_FILE_SESSION_KDF_ITERATIONS: "1e6" })),
    (e) =>
      e instanceof KdfIterationsError &&
      e.message === 'AWS_VAULT_FILE_SESSION_KDF_ITERATIONS: invalid value "1e6": must be a whole number from 8192 ' +
          "to 1300000; nothing was written",
  );
  await withDir(async (dir) => {
    // A vault whose every item costs 600,000 per guess: the offline-guessing floor of docs/threat-model.md is gone.
    const keyring = keyringFor(dir, { AWS_VAULT_FILE_SESSION_KDF_ITERATIONS: "600000" });
    await keyring.set(item("work"));
    await keyring.set(item(SESSION_KEY));
    await keyring.set(item(OIDC_KEY));
    assert.equal(await p2cOf(dir, "work"), 600_000);
    assert.equal(await p2cOf(dir, SESSION_KEY), 600_000);
    assert.equal(await p2cOf(dir, "oidc:https:%2F%2Facme.awsapps.com%2Fstart"), 600_000);
    // Read back with no setting at all: the cost is in each item's header.
    const iterations = await recordingDerivations(async (seen) => {
      assert.equal((await keyringFor(dir).get(SESSION_KEY)).label, `l ${SESSION_KEY}`);
      return seen;
    });
    assert.deepEqual(iterations, [600_000]);
  });
});

Deno.test("AWS_VAULT_FILE_KDF_ITERATIONS out of range: one-line error, no passphrase asked, nothing written", async () => {
  for (const value of ["8191", "1300001", "0", "-1", "6e5", "600,000", " 600000", "abc", "99999999999"]) {
    assert.throws(
      () => credentialPbes2Count(envFromRecord({ AWS_VAULT_FILE_KDF_ITERATIONS: value })),
      (e) =>
        e instanceof KdfIterationsError && !e.message.includes("\n") &&
        e.message === `AWS_VAULT_FILE_KDF_ITERATIONS: invalid value ${JSON.stringify(value)}: must be a whole ` +
            "number from 8192 to 1300000; nothing was written",
    );
  }
  await withDir(async (dir) => {
    let asked = 0;
    const prompt = () => (asked++, Promise.resolve(PASSPHRASE));
    const keyring = keyringFor(dir, { AWS_VAULT_FILE_KDF_ITERATIONS: "2000000" }, prompt);
    await assert.rejects(keyring.set(item("work")), KdfIterationsError);
    assert.equal(asked, 0, "the passphrase was asked for");
    await assert.rejects(Deno.lstat(dir), Deno.errors.NotFound);
    // A session write does not use the setting, so a bad value does not break the credential_process path.
    await keyring.set(item(SESSION_KEY));
    assert.equal(await p2cOf(dir, SESSION_KEY), 8192);
  });
  const sb = await makeSandbox();
  try {
    const r = await runCli(["add", "--env", "work"], {
      env: {
        ...sb.env,
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "s",
        AWS_VAULT_FILE_KDF_ITERATIONS: "1e6",
      },
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'aws-vault: error: add: AWS_VAULT_FILE_KDF_ITERATIONS: invalid value "1e6": must be a whole number from 8192 to ' +
        "1300000; nothing was written\n",
    );
    assert.equal(r.stdout, "");
    await assert.rejects(Deno.lstat(sb.vaultDir), Deno.errors.NotFound);
    await assert.rejects(Deno.lstat(sb.configPath), Deno.errors.NotFound, "add wrote the config file");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("the passphrase check before a write decrypts the cheapest item, then the write derives once", async () => {
  await withDir(async (dir) => {
    await keyringFor(dir).set(item("work"));
    await keyringFor(dir).set(item(SESSION_KEY));
    // A new process replacing the 600,000 item: the check uses the 8,192 session item.
    const replaced = await recordingDerivations(async (iterations) => {
      await keyringFor(dir).set(item("work", '{"new":1}'));
      return iterations;
    });
    assert.deepEqual(replaced, [8192, 600_000]);
    // Only long-term items: the check must pay for one of them (the one being replaced first among equals).
    await Deno.remove(`${dir}/${SESSION_KEY}`);
    await keyringFor(dir).set(item("other"));
    const second = await recordingDerivations(async (iterations) => {
      await keyringFor(dir).set(item("other"));
      return iterations;
    });
    assert.deepEqual(second, [600_000, 600_000]);
    // A wrong passphrase still fails and writes nothing.
    const before = await Deno.readTextFile(`${dir}/other`);
    const wrong = new FileKeyring({ dir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "nope" }) });
    await assert.rejects(wrong.set(item("other")), /does not open the vault.*nothing was written/);
    assert.equal(await Deno.readTextFile(`${dir}/other`), before);
  });
});

Deno.test("a planted item over 1,300,000 iterations is refused before any key derivation", async () => {
  await withDir(async (dir) => {
    await plantOld(dir, "work", "{}");
    const [head, ...rest] = (await Deno.readTextFile(`${dir}/work`)).split(".");
    const header = { ...readJweHeader(`${head}.${rest.join(".")}`), p2c: 1_300_001 };
    const forged = [enc.encode(JSON.stringify(header)).toBase64({ alphabet: "base64url", omitPadding: true }), ...rest];
    await Deno.writeTextFile(`${dir}/planted`, forged.join("."));
    const iterations = await recordingDerivations(async (iterations) => {
      await assert.rejects(
        keyringFor(dir).get("planted"),
        (e) => e instanceof CorruptItemError && /p2c=1300001/.test(e.message),
      );
      return iterations;
    });
    assert.deepEqual(iterations, []);
  });
});

Deno.test("upgrade on write: an 8,192 long-term item stays as it is through reads, becomes 600,000 when rewritten", async () => {
  await withFakeAws(async (h) => {
    const sb = await makeSandbox({ config: "[profile jonsmith]\n\n[profile other]\n" });
    try {
      const env = { ...sb.env, AWS_ENDPOINT_URL: h.fake.url };
      const keys = `{"AccessKeyID":"${USER.accessKeyId}","SecretAccessKey":"${USER.secretAccessKey}","SessionToken":` +
        `"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}`;
      await plantOld(sb.vaultDir, "jonsmith", keys);
      await plantOld(sb.vaultDir, "other", keys);
      const original = await Deno.readTextFile(`${sb.vaultDir}/jonsmith`);
      for (
        const args of [
          ["export", "--format=json", "jonsmith"], // makes and caches a session
          ["export", "--format=json", "jonsmith"], // reads the cached session
          ["export", "--no-session", "--format=json", "jonsmith"], // reads the long-term key itself
          ["exec", "--json", "jonsmith"],
          ["list"],
        ]
      ) {
        const r = await runCli(args, { env });
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(await Deno.readTextFile(`${sb.vaultDir}/jonsmith`), original, `${args.join(" ")} rewrote it`);
      }
      const sessions = [...Deno.readDirSync(sb.vaultDir)].map((e) => e.name).filter((n) => n.includes(","));
      assert.ok(sessions.length > 0, "no session was cached");
      for (const name of sessions) assert.equal(await p2cOf(sb.vaultDir, name), 8192, name);

      const added = await runCli(["add", "--env", "other"], {
        env: { ...env, AWS_ACCESS_KEY_ID: "AKIAOTHEREXAMPLE", AWS_SECRET_ACCESS_KEY: "other-secret" },
      });
      assert.equal(added.code, 0, added.stderr);
      assert.equal(await p2cOf(sb.vaultDir, "other"), 600_000);

      const rotated = await runCli(["rotate", "--no-session", "jonsmith"], { env });
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.equal(await p2cOf(sb.vaultDir, "jonsmith"), 600_000);
      const creds = await new CredentialKeyring(keyringFor(sb.vaultDir)).get("jonsmith");
      assert.notEqual(creds.accessKeyId, USER.accessKeyId);
    } finally {
      await sb.cleanup();
    }
  }, { users: [USER] });
});

Deno.test("migrate-backend into the file backend writes long-term keys with 600,000 iterations", async () => {
  await withDir(async (dir) => {
    const source = new MemoryKeyring();
    await source.set(item("work", '{"AccessKeyID":"AKIAEXAMPLE","SecretAccessKey":"s"}'));
    await plantOld(dir, "old", '{"AccessKeyID":"AKIAOLD","SecretAccessKey":"s"}');
    const summary = await migrateCredentials(source, keyringFor(dir), { profiles: ["work"] });
    assert.equal(summary.copied, 1);
    assert.equal(await p2cOf(dir, "work"), 600_000);
    assert.equal(await p2cOf(dir, "old"), 8192, "an item not migrated is not rewritten");
  });
});
