// `rotate` (docs/behaviour.md#rotate, reordered so access is never lost): against the fake AWS, through rotation.ts
// with an
// injected clock, and end to end through main.ts.
import assert from "node:assert/strict";
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import type { Credentials } from "../src/core/credentials.ts";
import { findMasterCredentialsName, rotateAccessKey, RotationError } from "../src/credentials/rotation.ts";
import { VaultError } from "../src/core/errors.ts";
import { maskSecret } from "../src/core/log.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import type { VaultItem } from "../src/vault/keyring.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";
import { makeSandbox, runCli } from "./support/cli.ts";
import { type FakeAwsHarness, withFakeAws } from "./support/fake_aws/testing.ts";
import { MemoryKeyring } from "./support/memory_keyring.ts";
import { envFromRecord } from "../src/core/env.ts";

const ACCOUNT = "111111111111";
const MFA = `arn:aws:iam::${ACCOUNT}:mfa/jonsmith`;
const USER = { userName: "jonsmith", accessKeyId: "AKIAJONSMITHEXAMPLE1", secretAccessKey: "jonsmith-secret/abc+def" };
const OLD = maskSecret(USER.accessKeyId);
/** The stored form of USER's key (a fresh object: the SDK annotates credential objects it is given). */
const userKeys = (): Credentials => ({ accessKeyId: USER.accessKeyId, secretAccessKey: USER.secretAccessKey });
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const CONFIG = `[profile jonsmith]
mfa_serial = ${MFA}

[profile plain]

[profile role1]
source_profile = jonsmith
role_arn = ${role("role1")}
mfa_serial = ${MFA}

[profile role2]
source_profile = role1
role_arn = ${role("role2")}
`;

/** A vault whose writes of profile keys can be made to fail, before or after really writing. */
class FlakyKeyring extends MemoryKeyring {
  failSet?: "before" | "after";
  override set(item: VaultItem): Promise<void> {
    if (item.key.includes(",") || !this.failSet) return super.set(item);
    if (this.failSet === "after") super.set(item);
    return Promise.reject(new VaultError("disk full"));
  }
}

interface Run {
  h: FakeAwsHarness;
  vault: FlakyKeyring;
  lines: string[];
  slept: number[];
  rotate(profile: string, options?: { noSession?: boolean }): Promise<void>;
  stored(): Promise<Credentials>;
}

/** A fake AWS with jonsmith (MFA device, roles), the key stored for `storeAs`, and a virtual clock. */
function withRotation(fn: (run: Run) => Promise<void>, options: { storeAs?: string } = {}): Promise<void> {
  return withFakeAws(async (h) => {
    h.fake.addRole({ arn: role("role1"), requireMfa: true });
    h.fake.addRole({ arn: role("role2") });
    const vault = new FlakyKeyring();
    const keyring = new CredentialKeyring(vault);
    await keyring.set(options.storeAs ?? "jonsmith", userKeys());
    const file = parseConfigFile(CONFIG);
    let clock = 0;
    const run: Run = {
      h,
      vault,
      lines: [],
      slept: [],
      rotate: (name, o) =>
        rotateAccessKey(resolveProfile(file, name, { env: envFromRecord({}) }), {
          vault,
          noSession: o?.noSession,
          env: envFromRecord({ AWS_ENDPOINT_URL: h.fake.url }),
          mfa: { prompt: () => Promise.resolve(h.fake.totp(MFA)) },
          print: (line) => run.lines.push(line),
          now: () => new Date(),
          elapsedMs: () => clock,
          sleep: (ms) => {
            run.slept.push(ms);
            clock += ms;
            return Promise.resolve();
          },
        }),
      stored: () => keyring.get(options.storeAs ?? "jonsmith"),
    };
    await fn(run);
  }, { users: [{ ...USER, mfaSerial: MFA }] });
}

/** The user's keys in IAM, asked with `keys` (one that still works). */
async function iamKeysWith(run: Run, keys: Credentials): Promise<string[]> {
  const out = await run.h.iam(keys, { maxAttempts: 1 }).send(new ListAccessKeysCommand({ UserName: "jonsmith" }));
  return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
}

async function works(run: Run, keys: Credentials): Promise<boolean> {
  return await run.h.sts(keys, { maxAttempts: 1 }).send(new GetCallerIdentityCommand({})).then(() => true, () => false);
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const e = await promise.then(() => undefined, (e) => e);
  assert.ok(e instanceof RotationError, `expected a RotationError, got ${e}`);
  assert.ok(!e.message.includes(USER.secretAccessKey) && !e.message.includes(USER.accessKeyId), e.message);
  return e.message;
}

Deno.test("findMasterCredentialsName walks source_profile to the profile that stores the key", () => {
  const file = parseConfigFile(CONFIG);
  const p = (name: string) => resolveProfile(file, name, { env: envFromRecord({}) });
  assert.equal(findMasterCredentialsName(p("role2"), ["jonsmith"]), "jonsmith");
  assert.equal(findMasterCredentialsName(p("role2"), ["jonsmith", "role1"]), "role1");
  assert.equal(findMasterCredentialsName(p("plain"), ["jonsmith"]), undefined);
});

Deno.test("rotate: new key created, verified, stored; sessions cleared; old key deleted", () =>
  withRotation(async (run) => {
    const sessions = new SessionKeyring(run.vault, { now: () => new Date() });
    await sessions.set({ type: "sts.GetSessionToken", profileName: "jonsmith", mfaSerial: MFA }, {
      ...USER,
      sessionToken: "t",
      expiration: new Date(Date.now() + 3_600_000),
    });
    await run.rotate("jonsmith");
    const fresh = await run.stored();
    const NEW = maskSecret(fresh.accessKeyId);
    assert.deepEqual(run.lines, [
      "Rotating credentials stored for profile 'jonsmith' using a session from profile 'jonsmith' (takes 10-20 seconds)",
      "Creating a new access key",
      `Created new access key ${NEW}`,
      `Verifying the new access key ${NEW}`,
      "Deleted 1 sessions for jonsmith",
      `Deleting old access key ${OLD}`,
      `Deleted old access key ${OLD}`,
      "Finished rotating access key",
    ]);
    assert.notEqual(fresh.accessKeyId, USER.accessKeyId);
    assert.deepEqual(await iamKeysWith(run, fresh), [fresh.accessKeyId]);
    assert.ok(await works(run, fresh));
    assert.ok(!await works(run, userKeys()));
    assert.deepEqual(await sessions.list(), []);
    // IAM was called with an MFA session (no cache), and the old key was deleted with that same session.
    assert.equal(run.h.fake.callsTo("GetSessionToken")[0].params.SerialNumber, MFA);
    const [create] = run.h.fake.callsTo("CreateAccessKey");
    assert.match(create.accessKeyId!, /^ASIA/);
    assert.equal(run.h.fake.callsTo("DeleteAccessKey")[0].accessKeyId, create.accessKeyId);
  }));

Deno.test("rotate --no-session: the master key creates, the new key deletes the old one", () =>
  withRotation(async (run) => {
    await run.rotate("plain", { noSession: true });
    const fresh = await run.stored();
    assert.equal(
      run.lines[0],
      "Rotating credentials stored for profile 'plain' using master credentials (takes 10-20 seconds)",
    );
    assert.equal(run.h.fake.callsTo("GetSessionToken").length, 0);
    assert.equal(run.h.fake.callsTo("CreateAccessKey")[0].accessKeyId, USER.accessKeyId);
    assert.equal(run.h.fake.callsTo("DeleteAccessKey")[0].accessKeyId, fresh.accessKeyId);
    assert.deepEqual(await iamKeysWith(run, fresh), [fresh.accessKeyId]);
  }, { storeAs: "plain" }));

Deno.test("rotate through two source_profile levels stores the new key under the profile that had it", () =>
  withRotation(async (run) => {
    await run.rotate("role2");
    assert.equal(
      run.lines[0],
      "Rotating credentials stored for profile 'jonsmith' using a session from profile 'role2' (takes 10-20 seconds)",
    );
    const fresh = await run.stored();
    assert.deepEqual(await new CredentialKeyring(run.vault).keys(), ["jonsmith"]);
    assert.deepEqual(await iamKeysWith(run, fresh), [fresh.accessKeyId]);
    // The role session names the user explicitly; GetUser asked with the stored key.
    assert.equal(run.h.fake.callsTo("GetUser")[0].accessKeyId, USER.accessKeyId);
    assert.equal(run.h.fake.callsTo("CreateAccessKey")[0].params.UserName, "jonsmith");
  }));

Deno.test("rotate: no stored key anywhere up the chain", () =>
  withRotation(async (run) => {
    assert.equal(
      await rejection(run.rotate("plain")),
      "Error determining credential name for 'plain': No master credentials found",
    );
  }));

Deno.test("rotate: CreateAccessKey fails once (not retried) → nothing changed", () =>
  withRotation(async (run) => {
    run.h.fake.injectFault({ action: "CreateAccessKey", kind: "server-error" });
    assert.match(
      await rejection(run.rotate("jonsmith", { noSession: true })),
      new RegExp(
        `^Error creating a new access key: .*\\. Nothing was changed: \\*{16}PLE1 is still stored for profile 'jonsmith'$`,
      ),
    );
    assert.deepEqual(await run.stored(), userKeys());
    assert.deepEqual(await iamKeysWith(run, userKeys()), [USER.accessKeyId]);
  }));

Deno.test("rotate: a user with 2 keys gets LimitExceeded (not retried) and a hint", () =>
  withRotation(async (run) => {
    run.h.fake.addUser({ userName: "jonsmith", accessKeyId: "AKIAJONSMITHSECOND01", secretAccessKey: "x" });
    const limit = await rejection(run.rotate("jonsmith", { noSession: true }));
    assert.match(limit, /^Error creating a new access key: LimitExceeded.*at most 2 access keys/);
    assert.equal(run.h.fake.callsTo("CreateAccessKey").length, 1);
    assert.deepEqual(await run.stored(), userKeys());
  }));

Deno.test("rotate: a session without MFA is refused by IAM; the message suggests --no-session", () =>
  withRotation(async (run) => {
    const plain = await rejection(run.rotate("plain"));
    assert.match(plain, /InvalidClientTokenId.*IAM refuses session credentials obtained without MFA/);
    assert.deepEqual(await run.stored(), userKeys());
  }, { storeAs: "plain" }));

Deno.test("rotate: the new key never works → it is deleted again, old key kept; bounded backoff", () =>
  withRotation(async (run) => {
    run.h.fake.injectFault({ action: "GetCallerIdentity", kind: "server-error", times: 1000 });
    const message = await rejection(run.rotate("jonsmith", { noSession: true }));
    const NEW = run.lines[2].replace("Created new access key ", "");
    assert.match(
      message,
      new RegExp(
        `^The new access key \\*{16}${
          NEW.slice(-4)
        } does not work: After 7 attempts, last error: InternalFailure.*\\. ` +
          `The new access key \\*{16}${NEW.slice(-4)} was deleted again\\. Nothing was changed: ${
            OLD.replaceAll("*", "\\*")
          } is still stored for profile 'jonsmith' and active in IAM$`,
      ),
    );
    assert.deepEqual(run.slept, [1000, 2000, 4000, 4000, 4000, 4000]);
    assert.deepEqual(await run.stored(), userKeys());
    assert.deepEqual(await iamKeysWith(run, userKeys()), [USER.accessKeyId]);
  }));

Deno.test("rotate: the vault refuses the new key → old key stays stored and active, new key deleted", () =>
  withRotation(async (run) => {
    run.vault.failSet = "before";
    const message = await rejection(run.rotate("jonsmith", { noSession: true }));
    const NEW = run.lines[2].replace("Created new access key ", "");
    assert.equal(
      message,
      `Error storing new access key ${NEW}: disk full. The new access key ${NEW} was deleted again. Nothing was ` +
        `changed: ${OLD} is still stored for profile 'jonsmith' and active in IAM`,
    );
    assert.deepEqual(await run.stored(), userKeys());
    assert.deepEqual(await iamKeysWith(run, userKeys()), [USER.accessKeyId]);
  }));

Deno.test("rotate: a vault write that fails after writing is read back and the rotation completes", () =>
  withRotation(async (run) => {
    run.vault.failSet = "after";
    await run.rotate("jonsmith", { noSession: true });
    const fresh = await run.stored();
    assert.deepEqual(await iamKeysWith(run, fresh), [fresh.accessKeyId]);
  }));

Deno.test("rotate: a vault that cannot be read back keeps both keys and says so", () =>
  withRotation(async (run) => {
    run.vault.failSet = "before";
    const original = run.vault.get.bind(run.vault);
    let reads = 0;
    run.vault.get = (key) => ++reads > 1 ? Promise.reject(new VaultError("vault locked")) : original(key);
    const message = await rejection(run.rotate("jonsmith", { noSession: true }));
    const NEW = run.lines[2].replace("Created new access key ", "");
    assert.equal(
      message,
      `Error storing new access key ${NEW}: disk full. The vault could not be read back, so both keys are left ` +
        `active in IAM: ${OLD} (the one stored for profile 'jonsmith' before) and ${NEW} (the new one). Check with ` +
        "'aws-vault list', then delete the key that is not stored",
    );
    assert.equal((await iamKeysWith(run, userKeys())).length, 2);
  }));

Deno.test("rotate: DeleteAccessKey keeps failing → new key stored and working, old key named for manual deletion", () =>
  withRotation(async (run) => {
    run.h.fake.injectFault({ action: "DeleteAccessKey", kind: "server-error", times: 1000 });
    const message = await rejection(run.rotate("jonsmith", { noSession: true }));
    const fresh = await run.stored();
    const NEW = maskSecret(fresh.accessKeyId);
    assert.match(message, /^Can't delete old access key \*{16}PLE1: After 11 attempts, last error: InternalFailure/);
    assert.ok(
      message.endsWith(
        `. The new access key ${NEW} is stored for profile 'jonsmith' and works; the old key ${OLD} is still active ` +
          "in IAM: delete it yourself (aws iam list-access-keys shows its full ID)",
      ),
      message,
    );
    assert.deepEqual(run.slept.filter((ms) => ms === 2000).length, 10);
    assert.ok(await works(run, fresh));
    assert.deepEqual(await iamKeysWith(run, fresh), [USER.accessKeyId, fresh.accessKeyId].sort());
  }));

Deno.test("CLI: rotate with an MFA session via mfa_process, then --no-session; exit codes and output", async () => {
  await withFakeAws(async (h) => {
    const codeFile = await Deno.makeTempFile();
    const sb = await makeSandbox({
      config: CONFIG.replace(`mfa_serial = ${MFA}\n`, `mfa_serial = ${MFA}\nmfa_process = cat ${codeFile}\n`),
    });
    try {
      const env = { ...sb.env, AWS_ENDPOINT_URL: h.fake.url };
      const added = await runCli(["add", "--env", "jonsmith"], {
        env: { ...env, AWS_ACCESS_KEY_ID: USER.accessKeyId, AWS_SECRET_ACCESS_KEY: USER.secretAccessKey },
      });
      assert.equal(added.code, 0, added.stderr);
      await Deno.writeTextFile(codeFile, h.fake.totp(MFA));
      const r = await runCli(["rotate", "jonsmith"], { env });
      assert.equal(r.code, 0, r.stderr);
      const created = h.fake.callsTo("CreateAccessKey");
      assert.equal(created.length, 1);
      assert.match(
        r.stdout,
        /^Rotating credentials stored for profile 'jonsmith' using a session from profile 'jonsmith'/,
      );
      assert.match(r.stdout, /Deleted old access key \*{16}PLE1\nFinished rotating access key\n$/);
      assert.ok(!r.stdout.includes(USER.accessKeyId) && !r.stderr.includes(USER.secretAccessKey));

      h.fake.injectFault({ action: "CreateAccessKey", kind: "server-error" });
      const failed = await runCli(["rotate", "-n", "jonsmith"], { env });
      assert.equal(failed.code, 1);
      assert.match(
        failed.stderr,
        /^aws-vault: error: rotate: Error creating a new access key: .*Nothing was changed: \*{16}\w{4} is still stored for profile 'jonsmith'\n$/,
      );

      const again = await runCli(["rotate", "--no-session", "jonsmith"], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /using master credentials/);
      assert.equal(h.fake.callsTo("DeleteAccessKey").filter((c) => c.status === 200).length, 2);
    } finally {
      await sb.cleanup();
      await Deno.remove(codeFile);
    }
  }, { users: [{ ...USER, mfaSerial: MFA }] });
});
