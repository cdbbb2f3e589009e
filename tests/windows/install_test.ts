/**
 * The installed command on Windows: scripts/windows/install.ts writes `aws-vault.cmd`, which is then run the way a
 * Windows user runs it, through cmd.exe (`cmd /c aws-vault.cmd …`): its version, a vault round trip, exit codes
 * passed through the batch file, the launcher's DENO_* variables kept from the commands aws-vault runs, replacing,
 * refusing a foreign file, uninstalling, and a moved checkout.
 */
import assert from "node:assert/strict";
import {
  assertExit,
  clearWincred,
  makeSandbox,
  parseEnvLines,
  REPO,
  runProcess,
  type Sandbox,
  windowsSuite,
  writeScript,
} from "./support.ts";

const test = windowsSuite("install");
const INSTALLER = `${REPO}scripts\\windows\\install.ts`;

function install(sb: Sandbox, ...args: string[]) {
  return runProcess(Deno.execPath(), ["run", "-A", "--quiet", "--no-config", INSTALLER, ...args], {
    env: sb.env,
    cwd: sb.home,
  });
}

/** `cmd /d /c <launcher> args…`, as typed at a prompt. */
function viaCmd(sb: Sandbox, launcher: string, args: string[], options?: { env?: Record<string, string> }) {
  return runProcess("cmd.exe", ["/d", "/c", launcher, ...args], { env: { ...sb.env, ...options?.env }, cwd: sb.home });
}

test("install writes aws-vault.cmd; cmd /c aws-vault.cmd runs the bundle; uninstall removes it", async () => {
  await clearWincred();
  const sb = await makeSandbox({ config: "[profile i]\nregion = eu-west-1\n" });
  try {
    const bin = `${sb.home}\\bin`;
    const installed = await install(sb, "--prefix", bin);
    assertExit(installed, 0, "install");
    const launcher = `${bin}\\aws-vault.cmd`;
    assert.match(installed.stdout, new RegExp(`installed aws-vault v\\S+ as ${launcher.replaceAll("\\", "\\\\")}`));
    assert.match(installed.stdout, /is not on your PATH/);
    const text = await Deno.readTextFile(launcher);
    assert.ok(text.split("\r\n")[1].startsWith("rem aws-vault launcher written by scripts\\windows\\install.ts"));

    const version = await viaCmd(sb, launcher, ["--version"]);
    assertExit(version, 0, "aws-vault.cmd --version");
    assert.match(version.stderr, /^v\d+\.\d+\.\d+\S*\r?\n$/);

    const added = await viaCmd(sb, launcher, ["add", "--env", "i"], {
      env: { AWS_ACCESS_KEY_ID: "AKIAINSTALLEDCMD0001", AWS_SECRET_ACCESS_KEY: "cmd/secret" },
    });
    assertExit(added, 0, "aws-vault.cmd add --env");
    const list = await viaCmd(sb, launcher, ["list", "--credentials"]);
    assert.equal(list.stdout, "i\n");

    // Exit codes come through the batch file; the child sees none of the launcher's DENO_* variables, but a
    // DENO_* variable the user set stays.
    assertExit(await viaCmd(sb, launcher, ["exec", "--no-session", "i", "--", "cmd.exe", "/c", "exit 9"]), 9);
    const script = await writeScript(
      sb.home,
      "env.ts",
      "for (const [k, v] of Object.entries(Deno.env.toObject())) console.log(`${k}=${v}`);\n",
    );
    const child = await viaCmd(
      sb,
      launcher,
      ["exec", "--no-session", "i", "--", Deno.execPath(), "run", "-A", "--quiet", "--no-config", script],
      { env: { DENO_TLS_CA_STORE: "system" } },
    );
    assertExit(child, 0);
    const env = parseEnvLines(child.stdout);
    assert.equal(env.AWS_ACCESS_KEY_ID, "AKIAINSTALLEDCMD0001");
    assert.equal(env.DENO_TLS_CA_STORE, "system");
    for (const name of ["DENO_NO_UPDATE_CHECK", "DENO_NO_PACKAGE_JSON", "AWS_VAULT_LAUNCHER_ADDED"]) {
      assert.equal(env[name], undefined, `${name} leaked into the command's environment`);
    }

    // Installing again replaces it; --uninstall removes it, then has nothing to do.
    assertExit(await install(sb, "--prefix", bin), 0, "install again");
    const removed = await install(sb, "--uninstall", "--prefix", bin);
    assertExit(removed, 0, "uninstall");
    assert.equal(removed.stdout, `install: removed ${launcher}\n`);
    await assert.rejects(Deno.stat(launcher), Deno.errors.NotFound);
    assert.match((await install(sb, "--uninstall", "--prefix", bin)).stdout, /nothing to remove/);
  } finally {
    await clearWincred();
    await sb.cleanup();
  }
});

test("a foreign aws-vault.cmd is neither replaced nor removed", async () => {
  const sb = await makeSandbox();
  try {
    const bin = `${sb.home}\\bin`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(`${bin}\\aws-vault.cmd`, "@echo off\r\necho someone else's\r\n");
    const refused = await install(sb, "--prefix", bin);
    assertExit(refused, 1, "install over a foreign file");
    assert.match(refused.stderr, /exists and was not installed by scripts\\windows\\install\.ts/);
    assertExit(await install(sb, "--uninstall", "--prefix", bin), 1, "uninstall of a foreign file");
    assert.equal(await Deno.readTextFile(`${bin}\\aws-vault.cmd`), "@echo off\r\necho someone else's\r\n");
  } finally {
    await sb.cleanup();
  }
});

test("a launcher whose checkout is gone says so in one line and exits 127", async () => {
  const sb = await makeSandbox();
  try {
    const bin = `${sb.home}\\bin`;
    assertExit(await install(sb, "--prefix", bin), 0, "install");
    const launcher = `${bin}\\aws-vault.cmd`;
    const root = REPO.replace(/\\$/, "");
    const moved = `${sb.home}\\moved-away`;
    // The same launcher as written for a checkout that is no longer there.
    await Deno.writeTextFile(launcher, (await Deno.readTextFile(launcher)).replaceAll(root, moved));
    const run = await viaCmd(sb, launcher, ["--version"]);
    assertExit(run, 127, "launcher of a moved checkout");
    assert.equal(
      run.stderr.trimEnd(),
      `aws-vault: the checkout this command runs from is gone: "${moved}" (moved or deleted); ` +
        "run scripts\\windows\\install.ts from the checkout's new place",
    );
  } finally {
    await sb.cleanup();
  }
});
