/**
 * The everyday commands on Windows against the Credential Manager: add --env, list, export in every format,
 * remove -f (with its prompt), and migrate-backend between the file backend and wincred, both ways.
 */
import assert from "node:assert/strict";
import {
  addFakeUser,
  addKeys,
  assertExit,
  awsVault,
  clearWincred,
  FAKE_AWS,
  makeSandbox,
  NEEDS_FAKE_AWS,
  type Sandbox,
  wincredTargets,
  windowsSuite,
} from "./support.ts";

const test = windowsSuite("commands");
const KEYS = { accessKeyId: "AKIACOMMANDSWIN00001", secretAccessKey: "cmd/secret+x" };

async function inSandbox(config: string, fn: (sb: Sandbox) => Promise<void>): Promise<void> {
  await clearWincred();
  const sb = await makeSandbox({ config });
  try {
    await fn(sb);
  } finally {
    await clearWincred();
    await sb.cleanup();
  }
}

test("add --env stores, appends the profile to the config, and says so; missing keys are refused", async () => {
  await inSandbox("", async (sb) => {
    const run = await awsVault(sb, ["add", "--env", "new-one"], {
      env: { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey },
    });
    assertExit(run, 0);
    assert.equal(run.stdout, 'Added credentials to profile "new-one" in vault\n');
    assert.equal(await Deno.readTextFile(sb.configPath), "[profile new-one]\n");
    assert.deepEqual(await wincredTargets(), ["aws-vault:aws-vault:new-one"]);
    const missing = await awsVault(sb, ["add", "--env", "other"], { env: { AWS_ACCESS_KEY_ID: "AKIAX" } });
    assertExit(missing, 1);
    assert.match(missing.stderr, /Missing value for AWS_SECRET_ACCESS_KEY/);
    assert.deepEqual(await wincredTargets(), ["aws-vault:aws-vault:new-one"]);
  });
});

test("list: the table and the one-name-per-line forms", async () => {
  await inSandbox("[profile with-keys]\n[profile without]\n", async (sb) => {
    await addKeys(sb, "with-keys", KEYS);
    const orphan = await awsVault(sb, ["add", "--env", "--no-add-config", "orphan"], {
      env: { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey },
    });
    assertExit(orphan, 0);
    const table = await awsVault(sb, ["list"]);
    assertExit(table, 0);
    const rows = table.stdout.split("\n").map((l) => l.trimEnd());
    assert.deepEqual(rows.slice(0, 2), [
      "Profile                  Credentials              Sessions",
      "=======                  ===========              ========",
    ]);
    assert.ok(rows.includes("with-keys                with-keys                -"), table.stdout);
    assert.ok(rows.includes("without                  -                        -"), table.stdout);
    assert.ok(rows.includes("-                        orphan                   -"), table.stdout);
    assert.equal((await awsVault(sb, ["list", "--credentials"])).stdout, "orphan\nwith-keys\n");
    assert.equal((await awsVault(sb, ["ls", "--profiles"])).stdout, "with-keys\nwithout\n");
  });
});

test("export --no-session in every format (env, export-env, json, ini)", async () => {
  await inSandbox("[profile x]\nregion = sa-east-1\n", async (sb) => {
    await addKeys(sb, "x", KEYS);
    const out = async (format: string) => {
      const run = await awsVault(sb, ["export", "--no-session", `--format=${format}`, "x"]);
      assertExit(run, 0, `export --format=${format}`);
      return run.stdout;
    };
    const lines = [
      `AWS_ACCESS_KEY_ID=${KEYS.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${KEYS.secretAccessKey}`,
      "AWS_REGION=sa-east-1",
      "AWS_DEFAULT_REGION=sa-east-1",
    ];
    assert.equal(await out("env"), lines.map((l) => `${l}\n`).join(""));
    assert.equal((await awsVault(sb, ["export", "--no-session", "x"])).stdout, await out("env"), "env is the default");
    assert.equal(await out("export-env"), lines.map((l) => `export ${l}\n`).join(""));
    assert.equal(
      await out("json"),
      `{\n  "Version": 1,\n  "AccessKeyId": "${KEYS.accessKeyId}",\n  "SecretAccessKey": "${KEYS.secretAccessKey}"\n}\n`,
    );
    assert.equal(
      await out("ini"),
      `[x]\naws_access_key_id=${KEYS.accessKeyId}\naws_secret_access_key=${KEYS.secretAccessKey}\nregion=sa-east-1\n`,
    );
    const bad = await awsVault(sb, ["export", "--format=yaml", "x"]);
    assertExit(bad, 1);
  });
});

test("export with a session (json, env): token and expiration from STS, the session cached in wincred", async () => {
  const keys = await addFakeUser("export-session");
  await inSandbox("[profile s]\n", async (sb) => {
    await addKeys(sb, "s", keys);
    const env = { AWS_ENDPOINT_URL: FAKE_AWS! };
    const json = await awsVault(sb, ["export", "--format=json", "s"], { env });
    assertExit(json, 0);
    const parsed = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(parsed), ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]);
    assert.match(parsed.AccessKeyId, /^ASIA/);
    const envFormat = await awsVault(sb, ["export", "s"], { env });
    assertExit(envFormat, 0);
    assert.match(envFormat.stdout, new RegExp(`^AWS_ACCESS_KEY_ID=${parsed.AccessKeyId}$`, "m"), "the cached session");
    assert.match(envFormat.stdout, /^AWS_SESSION_TOKEN=.+$/m);
    assert.match(envFormat.stdout, /^AWS_CREDENTIAL_EXPIRATION=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    assert.equal((await wincredTargets()).filter((t) => t.includes("sts.GetSessionToken,")).length, 1);
  });
}, { skip: NEEDS_FAKE_AWS });

test("remove: -f deletes without asking; without it, only y/yes on stdin does", async () => {
  await inSandbox("[profile r]\n", async (sb) => {
    await addKeys(sb, "r", KEYS);
    const no = await awsVault(sb, ["remove", "r"], { stdin: "n\n" });
    assertExit(no, 0);
    assert.deepEqual(await wincredTargets(), ["aws-vault:aws-vault:r"]);
    const yes = await awsVault(sb, ["remove", "r"], { stdin: "YES\r\n" });
    assertExit(yes, 0);
    assert.match(yes.stdout, /Deleted credentials\./);
    assert.deepEqual(await wincredTargets(), []);
    await addKeys(sb, "r", KEYS);
    const forced = await awsVault(sb, ["rm", "-f", "r"]);
    assertExit(forced, 0);
    assert.equal(forced.stdout, "Deleted credentials.\n");
    assert.deepEqual(await wincredTargets(), []);
  });
});

test("migrate-backend file → wincred and wincred → file, with --dry-run and --delete-source", async () => {
  await inSandbox("[profile m1]\n[profile m2]\n", async (sb) => {
    const env = { AWS_VAULT_FILE_PASSPHRASE: "migrate-pass" };
    await addKeys(sb, "m1", KEYS, { backend: "file", env });
    await addKeys(sb, "m2", { ...KEYS, accessKeyId: "AKIACOMMANDSWIN00002" }, { backend: "file", env });
    const dry = await awsVault(sb, ["migrate-backend", "--from", "file", "--to", "wincred", "--dry-run"], { env });
    assertExit(dry, 0);
    assert.equal(
      dry.stdout,
      "Would migrate 2 credential profile(s) from file to wincred:\n  m1\n  m2\n\nNo changes made.\n",
    );
    assert.deepEqual(await wincredTargets(), []);
    const there = await awsVault(sb, ["migrate-backend", "--from", "file", "--to", "wincred"], { env });
    assertExit(there, 0);
    assert.match(there.stdout, /Migrating m1\.\.\. copied, verified\n/);
    assert.match(there.stdout, /copied: 2\n/);
    assert.deepEqual(await wincredTargets(), ["aws-vault:aws-vault:m1", "aws-vault:aws-vault:m2"]);
    const viaWincred = await awsVault(sb, ["export", "--no-session", "m2"]);
    assert.match(viaWincred.stdout, /^AWS_ACCESS_KEY_ID=AKIACOMMANDSWIN00002$/m);

    // Back: empty the file vault first, then move wincred's items there and delete them from wincred.
    for (const name of ["m1", "m2"]) await Deno.remove(`${sb.vaultDir}\\${name}`);
    const back = await awsVault(
      sb,
      ["migrate-backend", "--from", "wincred", "--to", "file", "--delete-source"],
      { env },
    );
    assertExit(back, 0);
    assert.match(back.stdout, /Migrating m1\.\.\. copied, verified, deleted source\n/);
    assert.match(back.stdout, /deleted from source: 2\n/);
    assert.deepEqual(await wincredTargets(), []);
    assert.deepEqual([...Deno.readDirSync(sb.vaultDir)].map((e) => e.name).sort(), ["m1", "m2"]);
    const viaFile = await awsVault(sb, ["--backend", "file", "export", "--no-session", "m1"], { env });
    assert.match(viaFile.stdout, new RegExp(`^AWS_ACCESS_KEY_ID=${KEYS.accessKeyId}$`, "m"));
  });
});
