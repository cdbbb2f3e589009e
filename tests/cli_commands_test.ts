/**
 * End-to-end tests of add, list, remove and clear through the real entry point (`deno run main.ts`), in a sandboxed
 * HOME, with items checked afterwards through the vault code and on disk.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { makeSandbox, runCli, runOnTerminal, type Sandbox } from "./support/cli.ts";
import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";
import { OidcTokenKeyring } from "../src/vault/oidc_keyring.ts";

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

function vaultOf(sb: Sandbox, passphrase = "test-pass") {
  return new FileKeyring({
    dir: sb.vaultDir,
    env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: passphrase }),
  });
}

async function addWithEnv(sb: Sandbox, profile: string, extra: string[] = []) {
  return await runCli(["add", "--env", profile, ...extra], {
    env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
  });
}

async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  return out;
}

Deno.test("add --env stores the key, appends a profile section and needs no terminal", async () => {
  const sb = await makeSandbox({ config: "# my settings\n[profile other]\nregion = eu-west-1 ; keep me\n" });
  try {
    const r = await addWithEnv(sb, "work");
    equal(r.stderr, "");
    equal(r.code, 0);
    equal(r.stdout, 'Added credentials to profile "work" in vault\n');
    const creds = await new CredentialKeyring(vaultOf(sb)).get("work");
    deepStrictEqual(creds, { accessKeyId: KEY_ID, secretAccessKey: SECRET });
    equal(
      await Deno.readTextFile(sb.configPath),
      "# my settings\n[profile other]\nregion = eu-west-1 ; keep me\n\n[profile work]\n",
    );
    equal((await Deno.stat(`${sb.vaultDir}/work`)).mode! & 0o777, 0o600);
    equal((await Deno.stat(sb.vaultDir)).mode! & 0o777, 0o700);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add --no-add-config leaves the config alone; an existing section is not duplicated", async () => {
  const sb = await makeSandbox({ config: "[profile work]\nregion = us-east-1\n" });
  try {
    equal((await addWithEnv(sb, "solo", ["--no-add-config"])).code, 0);
    equal((await addWithEnv(sb, "work")).code, 0);
    equal(await Deno.readTextFile(sb.configPath), "[profile work]\nregion = us-east-1\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add refuses a profile with a source_profile, and --env without keys", async () => {
  const sb = await makeSandbox({ config: "[profile role]\nsource_profile = base\nrole_arn = arn:aws:iam::1:role/r\n" });
  try {
    const r = await addWithEnv(sb, "role");
    equal(r.code, 1);
    equal(
      r.stderr,
      "aws-vault: error: add: Your profile has a source_profile of base, adding credentials to role won't have any effect\n",
    );
    const missing = await runCli(["add", "--env", "x"], { env: sb.env });
    equal(missing.code, 1);
    equal(missing.stderr, "aws-vault: error: add: Missing value for AWS_ACCESS_KEY_ID\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add prompts on the terminal: key visible, secret hidden, MFA ARN written to the new section", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runOnTerminal(["add", "home"], {
      env: sb.env,
      answers: [
        ["Enter Access Key ID: ", `${KEY_ID}\r`],
        ["Enter Secret Access Key: ", `${SECRET}\r`],
        ["leave this blank): ", "arn:aws:iam::111111111111:mfa/me\r"],
      ],
    });
    deepStrictEqual(r.unmatched, []);
    equal(r.code, 0, r.output);
    ok(r.output.includes(KEY_ID), "the access key ID is echoed");
    ok(!r.output.includes(SECRET), "the secret must not be echoed");
    ok(r.output.includes('Added credentials to profile "home" in vault'));
    deepStrictEqual(await new CredentialKeyring(vaultOf(sb)).get("home"), {
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET,
    });
    equal(await Deno.readTextFile(sb.configPath), "[profile home]\nmfa_serial = arn:aws:iam::111111111111:mfa/me\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("the vault passphrase is asked once on the terminal without echo", async () => {
  const sb = await makeSandbox({ passphrase: null });
  try {
    const r = await runOnTerminal(["add", "--env", "p1"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      answers: [[`Enter passphrase to unlock "${sb.vaultDir}/": `, "s3cret-phrase\r"]],
    });
    equal(r.code, 0, r.output);
    ok(!r.output.includes("s3cret-phrase"), "passphrase must not be echoed");
    equal(r.output.split("Enter passphrase").length - 1, 1, "asked exactly once");
    deepStrictEqual(await new CredentialKeyring(vaultOf(sb, "s3cret-phrase")).get("p1"), {
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET,
    });
    // list reads names only: no passphrase prompt at all.
    const list = await runCli(["list", "--credentials"], { env: sb.env });
    equal(list.stdout, "p1\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("a wrong passphrase is a clear error and changes nothing on disk", async () => {
  const sb = await makeSandbox();
  try {
    equal((await addWithEnv(sb, "work")).code, 0);
    const before = await snapshotDir(sb.vaultDir);
    const r = await runCli(["add", "--env", "second"], {
      env: { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: "wrong", AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    equal(r.code, 1);
    match(r.stderr, /^aws-vault: error: add: wrong passphrase/);
    ok(!r.stderr.includes(SECRET) && !r.stderr.includes("wrong\n"));
    deepStrictEqual(await snapshotDir(sb.vaultDir), before);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("list shows the table with sessions, time left, expired sessions and OIDC tokens", async () => {
  const sb = await makeSandbox({
    config: [
      "[default]",
      "region = us-east-1",
      "[profile work]",
      "mfa_serial = arn:aws:iam::1:mfa/me",
      "[profile empty]",
      "[profile sso]",
      "sso_session = corp",
      "sso_account_id = 1",
      "sso_role_name = Dev",
      "[sso-session corp]",
      "sso_start_url = https://corp.awsapps.com/start/#/",
      "sso_region = eu-west-1",
      "",
    ].join("\n"),
  });
  try {
    equal((await addWithEnv(sb, "work")).code, 0);
    equal((await addWithEnv(sb, "orphan", ["--no-add-config"])).code, 0);
    const vault = vaultOf(sb);
    const sessions = new SessionKeyring(vault, { now: () => new Date() });
    const soon = new Date(Date.now() + 59 * 60_000 + 30_000);
    const creds = { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "s", sessionToken: "t", expiration: soon };
    await sessions.set({ type: "sts.GetSessionToken", profileName: "work", mfaSerial: "arn:aws:iam::1:mfa/me" }, creds);
    await sessions.set({ type: "sts.AssumeRole", profileName: "gone", mfaSerial: "" }, creds);
    // An expired session, written under its name directly (set() refuses nothing, but removes old ones on lookups).
    await vault.set({
      key: `sts.GetSessionToken,${btoa("work").replace(/=+$/, "")},,${Math.floor(Date.now() / 1000) - 60}`,
      data: new TextEncoder().encode(
        '{"AccessKeyId":"A","SecretAccessKey":"B","SessionToken":"C","Expiration":"2020-01-01T00:00:00Z"}',
      ),
      label: "x",
      description: "aws-vault session",
      keychainNotTrustApplication: false,
      keychainNotSynchronizable: false,
    });
    // The profile's start URL reads without its fragment, as the Go aws-vault reads it.
    await new OidcTokenKeyring(vault, { now: () => new Date() }).set("https://corp.awsapps.com/start/", {
      accessToken: "tok",
      expiresIn: 3600,
    });
    await new OidcTokenKeyring(vault, { now: () => new Date() }).set("https://other.awsapps.com/start", {
      accessToken: "tok",
      expiresIn: 3600,
    });

    const r = await runCli(["list"], { env: sb.env });
    equal(r.stderr, "");
    equal(r.code, 0);
    const lines = r.stdout.split("\n").map((l) => l.trimEnd());
    equal(lines[0], "Profile                  Credentials              Sessions");
    equal(lines[1], "=======                  ===========              ========");
    equal(lines[2], "default                  -                        -");
    match(lines[3], /^work {21}work {21}sts\.GetSessionToken:expired, sts\.GetSessionToken:59m[0-9]+s$/);
    equal(lines[4], "empty                    -                        -");
    equal(lines[5], "sso                      -                        oidc:corp");
    equal(lines[6], "-                        orphan                   -");
    equal(lines[7], "-                        -                        oidc:other.awsapps.com");
    match(lines[8], /^- {24}- {24}sts\.AssumeRole:59m[0-9]+s$/);
    // Every line ends with padding, as aws-vault's tabwriter output does.
    match(r.stdout.split("\n")[0], /Sessions {17,}$/);

    equal((await runCli(["list", "--profiles"], { env: sb.env })).stdout, "default\nwork\nempty\nsso\n");
    equal((await runCli(["ls", "--credentials"], { env: sb.env })).stdout, "orphan\nwork\n");
    const s = (await runCli(["list", "--sessions"], { env: sb.env })).stdout.trim().split("\n");
    deepStrictEqual(s.slice(0, 2).sort(), ["oidc:corp", "oidc:other.awsapps.com"]);
    equal(s.length, 5);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("list reports corrupt and foreign files by name and still shows the rest", async () => {
  const sb = await makeSandbox();
  try {
    equal((await addWithEnv(sb, "work", ["--no-add-config"])).code, 0);
    await Deno.writeTextFile(`${sb.vaultDir}/garbage`, "not a jwe at all");
    await Deno.writeTextFile(`${sb.vaultDir}/.DS_Store`, "\0\0\0\x01Bud1");
    await Deno.mkdir(`${sb.vaultDir}/subdir`);
    const r = await runCli(["list"], { env: sb.env });
    equal(r.code, 0);
    match(r.stdout, /\n-\s+work\s+-/);
    for (const name of ["garbage", ".DS_Store", "subdir"]) {
      ok(r.stderr.includes(`skipping "${name}"`), `${name} reported: ${r.stderr}`);
    }
    // A damaged item can be removed by name like any other.
    const removed = await runCli(["remove", "-f", "garbage"], { env: sb.env });
    equal(removed.stdout, "Deleted credentials.\n", removed.stderr);
    ok(!(await runCli(["list"], { env: sb.env })).stderr.includes('"garbage"'));
  } finally {
    await sb.cleanup();
  }
});

Deno.test("remove asks for confirmation, honours -f, deletes sessions too, and names typos", async () => {
  const sb = await makeSandbox();
  try {
    equal((await addWithEnv(sb, "work")).code, 0);
    const no = await runCli(["remove", "work"], { env: sb.env, stdin: "n\n" });
    equal(no.code, 0);
    equal(no.stderr, 'Delete credentials for profile "work"? (y|N) ');
    ok(await new CredentialKeyring(vaultOf(sb)).has("work"));

    const typo = await runCli(["rm", "-f", "wrok"], { env: sb.env });
    equal(typo.code, 1);
    equal(
      typo.stderr,
      'aws-vault: error: remove: no credentials stored for profile "wrok" in the file vault; did you mean "work"?\n',
    );

    await new SessionKeyring(vaultOf(sb), { now: () => new Date() }).set({
      type: "sts.GetSessionToken",
      profileName: "work",
      mfaSerial: "",
    }, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3_600_000),
    });
    const yes = await runCli(["remove", "work"], { env: sb.env, stdin: "YES\n" });
    equal(yes.code, 0, yes.stderr);
    equal(yes.stdout, "Deleted credentials.\nDeleted 1 sessions.\n");
    deepStrictEqual(await Array.fromAsync(Deno.readDir(sb.vaultDir)), []);

    equal((await addWithEnv(sb, "b")).code, 0);
    const forced = await runCli(["remove", "-f", "b"], { env: sb.env });
    equal(forced.stdout, "Deleted credentials.\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("clear removes sessions (all or one profile's) and keeps credentials", async () => {
  const sb = await makeSandbox({ config: "[profile a]\n[profile b]\n" });
  try {
    equal((await addWithEnv(sb, "a")).code, 0);
    const sessions = new SessionKeyring(vaultOf(sb), { now: () => new Date() });
    const creds = {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3_600_000),
    };
    await sessions.set({ type: "sts.GetSessionToken", profileName: "a", mfaSerial: "" }, creds);
    await sessions.set({ type: "sts.AssumeRole", profileName: "b", mfaSerial: "arn:m" }, creds);
    equal((await runCli(["clear", "a"], { env: sb.env })).stdout, "Cleared 1 sessions.\n");
    equal(
      (await runCli(["list", "--sessions"], { env: sb.env })).stdout.split("\n")[0].split(":")[0],
      "sts.AssumeRole",
    );
    const typo = await runCli(["clear", "bb"], { env: sb.env });
    equal(typo.code, 1);
    match(typo.stderr, /profile "bb" not found in .* or in the vault; did you mean "b"\?/);
    equal((await runCli(["clear"], { env: sb.env })).stdout, "Cleared 1 sessions.\n");
    equal((await runCli(["list", "--credentials"], { env: sb.env })).stdout, "a\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("AWS_PROFILE is the default profile, AWS_VAULT_FILE_DIR moves the store", async () => {
  const sb = await makeSandbox();
  try {
    const dir = `${sb.home}/elsewhere`;
    const r = await runCli(["add", "--env"], {
      env: {
        ...sb.env,
        AWS_PROFILE: "fromenv",
        AWS_VAULT_FILE_DIR: dir,
        AWS_ACCESS_KEY_ID: KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
      },
    });
    equal(r.code, 0, r.stderr);
    equal(r.stdout, 'Added credentials to profile "fromenv" in vault\n');
    ok((await Deno.stat(`${dir}/fromenv`)).isFile);
    const none = await runCli(["add", "--env"], { env: sb.env });
    equal(
      none.stderr,
      "aws-vault: error: required argument 'profile' not provided (and AWS_PROFILE is not set), try --help\n",
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("bad input: malformed config names file and line; unavailable backend; removed prompt driver", async () => {
  const sb = await makeSandbox({ config: "[profile a]\nregion = x\nthis line is wrong\n" });
  try {
    const r = await runCli(["list"], { env: sb.env });
    equal(r.code, 1);
    equal(r.stderr.startsWith(`aws-vault: error: list: ${sb.configPath}:3: `), true, r.stderr);
    const { AVAILABLE_BACKENDS } = await import("../src/vault/open_keyring.ts");
    const available = AVAILABLE_BACKENDS.join(", ");
    const backend = await runCli(["list", "--backend", "keychain"], { env: sb.env });
    equal(backend.code, 1);
    equal(
      backend.stderr,
      `aws-vault: error: backend "keychain" is not available on this system; available: ${available}\n`,
    );
    const bogus = await runCli(["list", "--backend=bogus"], { env: { ...sb.env, AWS_VAULT_BACKEND: "file" } });
    equal(bogus.stderr, `aws-vault: error: unknown backend "bogus"; available: ${available}\n`);
    const fromEnv = await runCli(["list"], { env: { ...sb.env, AWS_VAULT_BACKEND: "wincred" } });
    match(fromEnv.stderr, /backend "wincred" is not available on this system/);
    const prompt = await runCli(["list", "--prompt=pass"], { env: sb.env });
    match(prompt.stderr, /--prompt=pass \(or AWS_VAULT_PROMPT=pass\) has been removed/);
    const unknown = await runCli(["list", "--prompt=nope"], { env: sb.env });
    match(unknown.stderr, /--prompt value must be one of .*terminal.*, got 'nope'/);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("--version, version and --help on every command", async () => {
  const sb = await makeSandbox();
  try {
    // As the Go aws-vault (kingpin): `--version` writes `v<version>` to stderr; the `version` command to stdout.
    const v = await runCli(["--version"], { env: sb.env });
    equal(v.code, 0);
    equal(v.stdout, "");
    match(v.stderr, /^v\d+\.\d+\.\d+\S*\n$/);
    equal((await runCli(["-v"], { env: sb.env })).stderr, v.stderr);
    equal((await runCli(["version"], { env: sb.env })).stdout, v.stderr);
    const man = await runCli(["--help-man"], { env: sb.env });
    equal(man.code, 0);
    match(man.stdout, /^\.TH aws-vault 1 v\S+ ""\n\.SH "NAME"\naws-vault\n/);
    match(man.stdout, /\n\.SS\n\\fBexec \[<flags>\] \[<profile>\] \[<cmd>\] \[<args>\.\.\.\]\\fR\n/);
    match(man.stdout, /\n\.TP\n\\fB-d, --duration=DURATION\\fR\n/);
    ok(!man.stdout.includes("container-proxy"), "hidden commands stay out of the man page");
    for (const cmd of ["add", "remove", "list", "rotate", "exec", "export", "clear", "login", "migrate-backend"]) {
      const h = await runCli([cmd, "--help"], { env: sb.env });
      equal(h.code, 0, `${cmd} --help: ${h.stderr}`);
      match(h.stdout, new RegExp(`usage: aws-vault ${cmd}`));
    }
  } finally {
    await sb.cleanup();
  }
});

Deno.test("--debug logs with aws-vault's prefix and never shows a secret or a whole access key", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runCli(["--debug", "add", "--env", "dbg"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    equal(r.code, 0, r.stderr);
    match(r.stderr, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d aws-vault /m);
    ok(r.stderr.includes("****************MPLE"), r.stderr);
    const list = await runCli(["list", "--debug"], { env: sb.env });
    for (const text of [r.stdout, r.stderr, list.stdout, list.stderr]) {
      ok(!text.includes(KEY_ID) && !text.includes(SECRET) && !text.includes("test-pass"), text);
    }
  } finally {
    await sb.cleanup();
  }
});

Deno.test("Ctrl-C at the hidden prompt cancels with 130 and stores nothing; no terminal and no input is an error", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runOnTerminal(["add", "cancelled"], {
      env: sb.env,
      answers: [["Enter Access Key ID: ", `${KEY_ID}\r`], ["Enter Secret Access Key: ", "abc\x03"]],
    });
    equal(r.code, 130, r.output);
    ok(r.output.includes("aws-vault: error: cancelled"), r.output);
    equal(await Deno.stat(sb.vaultDir).then(() => true, () => false), false, "nothing was written");

    const noInput = await runCli(["add", "x"], { env: sb.env });
    equal(noInput.code, 1);
    match(
      noInput.stderr,
      /aws-vault: error: add: no terminal to ask for the access key ID, and standard input is closed/,
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add checks the name before it stores anything", async () => {
  const sb = await makeSandbox({ config: "[default]\n" });
  try {
    const refused = await addWithEnv(sb, "x]y");
    equal(refused.code, 1);
    equal(refused.stdout, "", "nothing reported as added");
    match(refused.stderr, /^aws-vault: error: add: cannot write profile "x\]y": .*\n$/);
    deepStrictEqual(await new CredentialKeyring(vaultOf(sb)).keys(), []);
    equal(await Deno.readTextFile(sb.configPath), "[default]\n");
  } finally {
    await sb.cleanup();
  }
});

/** Whether `chattr +i` works here (root ignores permissions; an immutable directory is what stops it writing). */
const canFreeze = await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    const frozen = await new Deno.Command("chattr", { args: ["+i", dir], stderr: "null" }).output().catch(() => null);
    if (!frozen?.success) return false;
    const blocked = await Deno.writeTextFile(`${dir}/x`, "").then(() => false, () => true);
    await new Deno.Command("chattr", { args: ["-i", dir] }).output();
    return blocked;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();

Deno.test({
  name: "add: a config write that fails after the key was stored takes the key back",
  ignore: !canFreeze,
  async fn() {
    const sb = await makeSandbox({ config: "[default]\n" });
    const chattr = (flag: string) => new Deno.Command("chattr", { args: [flag, `${sb.home}/.aws`] }).output();
    try {
      equal((await addWithEnv(sb, "kept", ["--no-add-config"])).code, 0);
      await chattr("+i"); // ~/.aws cannot take the new config file (nor a lock file)
      const failed = await addWithEnv(sb, "fresh");
      equal(failed.code, 1, failed.stderr);
      equal(failed.stdout, "");
      match(failed.stderr, /^aws-vault: error: add: cannot write .*; no key was stored\n$/);
      deepStrictEqual(await new CredentialKeyring(vaultOf(sb)).keys(), ["kept"]);

      const other = { AWS_ACCESS_KEY_ID: "AKIAOTHEREXAMPLE0001", AWS_SECRET_ACCESS_KEY: "other/secret" };
      await Deno.writeTextFile(sb.configPath, "[default]\n").catch(() => {}); // unchanged: still frozen
      const again = await runCli(["add", "--env", "newname"], { env: { ...sb.env, ...other } });
      match(again.stderr, /; no key was stored\n$/);
      await chattr("-i");
      // A profile whose key exists but whose section does not: the old key comes back.
      await Deno.writeTextFile(sb.configPath, "[default]\n");
      await chattr("+i");
      const replaced = await runCli(["add", "--env", "kept"], { env: { ...sb.env, ...other } });
      equal(replaced.code, 1);
      match(replaced.stderr, /; the key stored before was kept\n$/);
      equal((await new CredentialKeyring(vaultOf(sb)).get("kept")).accessKeyId, KEY_ID);
      equal(await Deno.readTextFile(sb.configPath), "[default]\n");
    } finally {
      await chattr("-i");
      await sb.cleanup();
    }
  },
});
