/**
 * Output a newcomer meets first: `login --help`, `list` after `add default`, exec of a path that cannot run, and
 * `clear`'s count line (kept exactly as aws-vault prints it).
 */
import { equal, match, ok, throws } from "node:assert/strict";
import { makeSandbox, runCli, runProgram } from "./support/cli.ts";
import { resolveCommand } from "../src/os/exec_process.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { envFromRecord } from "../src/core/env.ts";

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

Deno.test("login --help says the profile defaults to $AWS_PROFILE, then the environment's keys", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runCli(["login", "--help"], { env: sb.env });
    equal(r.code, 0);
    const text = r.stdout.replace(/\s+/g, " ");
    ok(text.includes("Name of the profile (default: $AWS_PROFILE). If neither is set, the credentials in"), text);
    ok(text.includes("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are used"), text);
    ok(!text.includes("sourced from env vars"), text);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("list shows credentials added as `default` on a `default` row, also with an empty [default]", async () => {
  const sb = await makeSandbox({ config: "[default]\n[profile work]\nregion = eu-west-1\n" });
  try {
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
    equal((await runCli(["add", "--env", "default"], { env })).code, 0);
    const sessions = new SessionKeyring(
      new FileKeyring({ dir: sb.vaultDir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test-pass" }) }),
      { now: () => new Date() },
    );
    await sessions.set({ type: "sts.GetSessionToken", profileName: "default", mfaSerial: "" }, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3_600_000),
    });
    const r = await runCli(["list"], { env: sb.env });
    equal(r.code, 0, r.stderr);
    const rows = r.stdout.split("\n").filter((l) => l !== "").map((l) => l.trim().split(/\s+/));
    equal(rows[2][0], "default");
    equal(rows[2][1], "default");
    match(rows[2][2], /^sts\.GetSessionToken:/);
    equal(rows[3].join(" "), "work - -");
    equal(rows.length, 4, r.stdout);
    // --profiles stays as aws-vault's: an empty [default] is not a listed profile.
    equal((await runCli(["list", "--profiles"], { env: sb.env })).stdout, "work\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("clear keeps aws-vault's exact count line, `Cleared 1 sessions.` included", async () => {
  const sb = await makeSandbox({ config: "[profile a]\n" });
  try {
    const sessions = new SessionKeyring(
      new FileKeyring({ dir: sb.vaultDir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test-pass" }) }),
      { now: () => new Date() },
    );
    await sessions.set({ type: "sts.GetSessionToken", profileName: "a", mfaSerial: "" }, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3_600_000),
    });
    equal((await runCli(["clear"], { env: sb.env })).stdout, "Cleared 1 sessions.\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test({
  name: "a command path that cannot run is named with Go's reason, a bare name with the PATH message",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const plain = `${dir}/plain.txt`;
      await Deno.writeTextFile(plain, "not a program\n", { mode: 0o644 });
      throws(() => resolveCommand(plain, { path: "/usr/bin:/bin" }), {
        message: `exec: ${JSON.stringify(plain)}: permission denied`,
      });
      throws(() => resolveCommand(dir, { path: "/usr/bin:/bin" }), {
        message: `exec: ${JSON.stringify(dir)}: permission denied`,
      });
      throws(() => resolveCommand(`${dir}/missing`, { path: "/usr/bin:/bin" }), {
        message: `exec: "${dir}/missing": stat ${dir}/missing: no such file or directory`,
      });
      throws(() => resolveCommand("no-such-program-avt", { path: dir }), {
        message: 'exec: "no-such-program-avt": executable file not found in $PATH',
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "exec work -- /etc/passwd says permission denied, not that it is missing from $PATH",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const sb = await makeSandbox({ config: "[profile work]\n" });
    try {
      const env = { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
      equal((await runCli(["add", "--env", "work"], { env })).code, 0);
      const r = await runProgram(["exec", "--no-session", "work", "--", "/etc/passwd"], { env: sb.env });
      equal(r.code, 1);
      match(r.stderr, /exec: "\/etc\/passwd": permission denied/);
    } finally {
      await sb.cleanup();
    }
  },
});
