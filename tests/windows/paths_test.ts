/**
 * Where aws-vault looks on Windows: the default backend (wincred), the file backend's folder under
 * `%USERPROFILE%\.awsvault\keys`, the config at `%USERPROFILE%\.aws\config`, `AWS_CONFIG_FILE` with a drive path,
 * `--file-dir` with `~\`.
 */
import assert from "node:assert/strict";
import { addKeys, assertExit, awsVault, clearWincred, makeSandbox, wincredTargets, windowsSuite } from "./support.ts";

const test = windowsSuite("paths");

test("the default backend is wincred; the backends offered are wincred and file", async () => {
  await clearWincred();
  const sb = await makeSandbox();
  try {
    await addKeys(sb, "default-backend", { accessKeyId: "AKIADEFAULTBACKEND01", secretAccessKey: "s" });
    assert.deepEqual(await wincredTargets(), ["aws-vault:aws-vault:default-backend"]);
    await assert.rejects(Deno.stat(sb.vaultDir), Deno.errors.NotFound, "nothing in the file backend's folder");
    const help = await awsVault(sb, ["--help"]);
    assertExit(help, 0);
    assert.match(help.stdout, /--backend="wincred"\s+Secret backend to use \[wincred\s+file\]/);
    const wrong = await awsVault(sb, ["--backend", "secret-service", "list"]);
    assertExit(wrong, 1);
    assert.match(wrong.stderr, /backend "secret-service" is not available on this system; available: wincred, file/);
    assertExit(await awsVault(sb, ["remove", "-f", "default-backend"]), 0);
  } finally {
    await sb.cleanup();
  }
});

test("the file backend stores under %USERPROFILE%\\.awsvault\\keys and reads its items back", async () => {
  const sb = await makeSandbox();
  const env = { AWS_VAULT_FILE_PASSPHRASE: "win-pass" };
  try {
    await addKeys(sb, "filed", { accessKeyId: "AKIAFILEBACKEND00001", secretAccessKey: "f" }, { backend: "file", env });
    const names = [...Deno.readDirSync(sb.vaultDir)].map((e) => e.name);
    assert.deepEqual(names, ["filed"]);
    const jwe = await Deno.readTextFile(`${sb.vaultDir}\\filed`);
    assert.equal(jwe.split(".").length, 5, "a JWE compact serialisation");
    const exported = await awsVault(sb, ["--backend", "file", "export", "--no-session", "filed"], { env });
    assertExit(exported, 0);
    assert.match(exported.stdout, /^AWS_ACCESS_KEY_ID=AKIAFILEBACKEND00001$/m);
    // AWS_VAULT_BACKEND selects it too; --file-dir takes ~\ (expanded to %USERPROFILE%).
    const moved = await awsVault(sb, ["--file-dir", "~\\other-keys", "add", "--env", "moved"], {
      env: {
        ...env,
        AWS_VAULT_BACKEND: "file",
        AWS_ACCESS_KEY_ID: "AKIAFILEBACKEND00002",
        AWS_SECRET_ACCESS_KEY: "g",
      },
    });
    assertExit(moved, 0);
    assert.deepEqual([...Deno.readDirSync(`${sb.home}\\other-keys`)].map((e) => e.name), ["moved"]);
  } finally {
    await sb.cleanup();
  }
});

test("the config is %USERPROFILE%\\.aws\\config: read by list, written by add", async () => {
  await clearWincred();
  const sb = await makeSandbox({ config: "[profile from-config]\nregion = ap-south-1\n" });
  try {
    const profiles = await awsVault(sb, ["list", "--profiles"]);
    assertExit(profiles, 0);
    assert.equal(profiles.stdout, "from-config\n");
    await addKeys(sb, "added", { accessKeyId: "AKIACONFIGADDED00001", secretAccessKey: "s" });
    assert.equal(
      await Deno.readTextFile(sb.configPath),
      "[profile from-config]\nregion = ap-south-1\n\n[profile added]\n",
    );
    assertExit(await awsVault(sb, ["remove", "-f", "added"]), 0);
  } finally {
    await sb.cleanup();
  }
});

test("AWS_CONFIG_FILE with a drive path (C:\\…) is used instead", async () => {
  const sb = await makeSandbox({ config: "[profile ignored]\n" });
  try {
    const elsewhere = `${sb.home}\\elsewhere`;
    await Deno.mkdir(elsewhere);
    const path = `${elsewhere}\\my config.ini`;
    assert.match(path, /^[A-Z]:\\/, "a drive path");
    await Deno.writeTextFile(path, "[profile chosen]\r\nregion = eu-west-3\r\n");
    const profiles = await awsVault(sb, ["--debug", "list", "--profiles"], { env: { AWS_CONFIG_FILE: path } });
    assertExit(profiles, 0);
    assert.equal(profiles.stdout, "chosen\n");
    assert.ok(profiles.stderr.includes(`Using AWS_CONFIG_FILE value: ${path}`), profiles.stderr);
    const missing = await awsVault(sb, ["list", "--profiles"], { env: { AWS_CONFIG_FILE: `${elsewhere}\\none` } });
    assertExit(missing, 0);
    assert.equal(missing.stdout, "", "a missing file reads as empty");
  } finally {
    await sb.cleanup();
  }
});
