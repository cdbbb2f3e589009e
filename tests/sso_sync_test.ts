/**
 * `sso sync` (docs/behaviour.md#sso-sync): the pure naming, block and diff rules, then the command against the fake SSO
 * portal with many accounts and roles on several pages: the generated block, renames and removals pruned, hand-written
 * sections kept byte for byte, collisions, --dry-run, concurrent writers, an interrupted write, the errors, and the
 * generated profiles at work.
 */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  blockProfiles,
  checkTemplate,
  diffProfiles,
  findBlock,
  GeneratedBlockError,
  planProfiles,
  ProfileNameCollisionError,
  profileNameFor,
  renderBlock,
  replaceBlock,
  sanitizeProfileName,
} from "../src/config/sso_profiles.ts";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { SsoRoleCredentialsProvider } from "../src/credentials/sso_provider.ts";
import { envFromRecord } from "../src/core/env.ts";
import { UsageError } from "../src/core/errors.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { makeSandbox, runCli, runOnTerminal, runProgram, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { type SsoFake, ssoFake } from "./support/fake_aws/sso.ts";
import { actAsBrowser } from "./support/sso_browser.ts";

const START_URL = "https://corp.awsapps.com/start";
const SESSION = `[sso-session corp]
sso_start_url = ${START_URL}
sso_region = eu-west-1
`;
const BEFORE = `# my own settings
[default]
region = eu-central-1

[profile work]   ; stored keys
mfa_serial = arn:aws:iam::111111111111:mfa/me

${SESSION}`;
const AFTER = `
[profile after]
source_profile = work
role_arn = arn:aws:iam::222222222222:role/After
`;

// ---------------------------------------------------------------------------------------------------------------
// The pure rules

Deno.test("sso sync names: template placeholders, sanitised for go-ini, the AWS CLI and shells", () => {
  const a = { accountId: "123456789012", accountName: "Dev Team [EU]; #1", roleName: "AdministratorAccess" };
  equal(
    profileNameFor(a, { template: "{account_name}/{role_name}", session: "corp" }),
    "Dev-Team-EU-1/AdministratorAccess",
  );
  equal(
    profileNameFor(a, { template: "{sso_session}-{account_id}-{role_name}", session: "corp" }),
    "corp-123456789012-AdministratorAccess",
  );
  equal(sanitizeProfileName("Équipe données"), "Equipe-donnees");
  equal(sanitizeProfileName("  -lead/"), "lead");
  equal(sanitizeProfileName("a = b, c@d+e.f_g"), "a-=-b,-c@d+e.f_g");
  equal(sanitizeProfileName("$(rm -rf ~)`x`'\"\\"), "rm-rf-x");
  equal(sanitizeProfileName("[]#;"), "");
  checkTemplate("{account_id}");
  throws(
    () => checkTemplate("{acount_name}/{role_name}"),
    (e) => e instanceof UsageError && /\{acount_name\}/.test(e.message),
  );
  throws(() => checkTemplate("{account_name"), /unpaired brace/);
});

Deno.test("sso sync plan: sorted, hand-written and unusable names skipped, collisions refused", () => {
  const assignments = [
    { accountId: "2", accountName: "b", roleName: "Admin" },
    { accountId: "1", accountName: "a", roleName: "Admin" },
    { accountId: "3", accountName: "mine", roleName: "Admin" },
    { accountId: "4", accountName: "###", roleName: "" },
  ];
  const { profiles, skipped } = planProfiles(assignments, {
    template: "{account_name}/{role_name}",
    session: "corp",
    region: "eu-west-1",
    taken: new Set(["mine/Admin"]),
  });
  deepStrictEqual(profiles.map((p) => p.name), ["a/Admin", "b/Admin"]);
  deepStrictEqual(profiles[0].entries, [
    ["sso_session", "corp"],
    ["sso_account_id", "1"],
    ["sso_role_name", "Admin"],
    ["region", "eu-west-1"],
  ]);
  deepStrictEqual(skipped.map((s) => s.name), ["mine/Admin", ""]);
  throws(
    () => planProfiles(assignments, { template: "{role_name}", session: "corp", taken: new Set() }),
    (e) =>
      e instanceof ProfileNameCollisionError &&
      e.message === 'profile name "Admin" would be generated for both account 2 (b) role Admin and account 1 (a) ' +
          "role Admin; put {account_id} in --template to tell them apart (nothing written)",
  );
});

Deno.test("sso sync block: replaced in place, CRLF kept, damaged markers refused, diff by profile", () => {
  const plan = (ids: string[]) =>
    planProfiles(ids.map((id) => ({ accountId: id, accountName: `acct${id}`, roleName: "R" })), {
      template: "{account_name}",
      session: "corp",
      taken: new Set(),
    }).profiles;
  const head = "[default]\r\nregion = x\r\n";
  const first = replaceBlock(head, {
    block: undefined,
    blockText: renderBlock("corp", plan(["1", "2"]), { eol: "\r\n" }),
  });
  ok(first.startsWith(head + "\r\n# BEGIN aws-vault sso sync corp\r\n"), first);
  ok(!first.replace(/\r\n/g, "").includes("\n"), "only CRLF line endings");
  const withTail = first + "[profile tail]\r\nregion = y\r\n";
  const block = findBlock(withTail, "corp", { path: "cfg" })!;
  deepStrictEqual([...blockProfiles(withTail.slice(block.start, block.end)).keys()], ["acct1", "acct2"]);
  const diff = diffProfiles(blockProfiles(withTail.slice(block.start, block.end)), plan(["2", "3"]));
  deepStrictEqual(diff, { added: ["acct3"], changed: [], removed: ["acct1"], unchanged: 1 });
  const second = replaceBlock(withTail, { block, blockText: renderBlock("corp", plan(["2", "3"]), { eol: "\r\n" }) });
  ok(second.startsWith(head) && second.endsWith("# END aws-vault sso sync corp\r\n[profile tail]\r\nregion = y\r\n"));
  // Nothing left to generate: the block goes, the rest stays.
  equal(
    replaceBlock(second, { block: findBlock(second, "corp", { path: "cfg" }), blockText: "" }),
    head + "\r\n[profile tail]\r\nregion = y\r\n",
  );
  // Another session's block is not this one's.
  equal(findBlock(first, "other", { path: "cfg" }), undefined);
  throws(
    () => findBlock(head + "# BEGIN aws-vault sso sync corp\n[profile a]\n", "corp", { path: "cfg" }),
    (e) =>
      e instanceof GeneratedBlockError &&
      e.message ===
        'cfg:3: the block of "aws-vault sso sync" for sso-session corp is damaged: "# BEGIN aws-vault sso ' +
          'sync corp" without "# END aws-vault sso sync corp" after it; restore the markers or delete the whole block ' +
          "(nothing written)",
  );
  throws(() => findBlock("# END aws-vault sso sync corp\n", "corp", { path: "cfg" }), /without "# BEGIN/);
  throws(() => findBlock(first + first, "corp", { path: "cfg" }), /a second "# BEGIN/);
});

// ---------------------------------------------------------------------------------------------------------------
// The command against the fake portal

const id = (n: number) => `1000000000${String(n).padStart(2, "0")}`;
const ROLES = ["Admin", "ReadOnly", "Billing"];

interface World {
  readonly fake: FakeAws;
  readonly sso: SsoFake;
  readonly sb: Sandbox;
  readonly env: Record<string, string>;
  read(): Promise<string>;
  cleanup(): Promise<void>;
}

/** The fake portal with `accounts` accounts ("acct-01" …) of three roles each, on pages of `pageSize`. */
async function world(options: { accounts?: number; pageSize?: number; config?: string } = {}): Promise<World> {
  const fake = await startFakeAws();
  const sso = ssoFake(fake);
  for (let n = 1; n <= (options.accounts ?? 30); n++) {
    sso.setAccountName(id(n), `acct-${String(n).padStart(2, "0")}`);
    for (const role of ROLES) sso.assign(id(n), role);
  }
  sso.setPageSize(options.pageSize ?? 7);
  const sb = await makeSandbox({ config: options.config ?? BEFORE });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
  return {
    fake,
    sso,
    sb,
    env,
    read: () => Deno.readTextFile(sb.configPath),
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}

/** Logs in to corp as a person would (the browser approves), leaving the token in the vault as exec would. */
async function logIn(w: World): Promise<void> {
  const env = envFromRecord(w.env);
  const profile = resolveProfile(parseConfigFile(`[profile x]\nsso_session = corp\n${SESSION}`), "x", { env });
  await new SsoRoleCredentialsProvider(profile, {
    vault: new FileKeyring({ dir: w.sb.vaultDir, env }),
    env,
    openUrl: actAsBrowser,
    write: () => {},
    now: () => new Date(),
  }).accessToken();
}

const sync = (w: World, ...extra: string[]) =>
  runCli(["sso", "sync", "--sso-session", "corp", ...extra], { env: w.env });

/** The generated block of `text`, which must have exactly one. */
function blockOf(text: string): string {
  const b = findBlock(text, "corp", { path: "config" });
  ok(b, "the config has the generated block");
  return text.slice(b.start, b.end);
}

Deno.test("sso sync: 30 accounts × 3 roles over many pages become 90 profiles; hand-written sections untouched", async () => {
  const w = await world();
  try {
    await logIn(w);
    const r = await sync(w);
    equal(r.code, 0, r.stderr);
    equal(r.stderr, "");
    const lines = r.stdout.trimEnd().split("\n");
    equal(lines.length, 91);
    equal(lines[0], "+ acct-01/Admin");
    equal(lines.at(-1), `sso-session corp: 90 added, 0 changed, 0 removed, 0 unchanged; written to ${w.sb.configPath}`);
    // Every page was followed: 30 accounts on pages of 7, 3 roles on pages of… 3 (one page each, but under the cap).
    equal(w.fake.callsTo("ListAccounts").length, 5);
    equal(w.fake.callsTo("ListAccountRoles").length, 30);

    const text = await w.read();
    ok(text.startsWith(BEFORE + "\n# BEGIN aws-vault sso sync corp\n"), "appended after a blank line");
    const config = parseConfigFile(text);
    const generated = config.profileNames().filter((n) => n.startsWith("acct-"));
    equal(generated.length, 90);
    const p = config.profile("acct-17/ReadOnly")!;
    deepStrictEqual([...p].map(([k, e]) => [k, e.value]), [
      ["sso_session", "corp"],
      ["sso_account_id", id(17)],
      ["sso_role_name", "ReadOnly"],
      ["region", "eu-west-1"],
    ]);

    // Nothing changed upstream: nothing written, the file's bytes and mtime stay.
    const mtime = (await Deno.stat(w.sb.configPath)).mtime;
    const again = await sync(w);
    equal(again.stdout, "sso-session corp: 0 added, 0 changed, 0 removed, 90 unchanged; nothing to write\n");
    equal(await w.read(), text);
    deepStrictEqual((await Deno.stat(w.sb.configPath)).mtime, mtime);
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync: roles are paged too; renames, removals and additions are pruned and added in place", async () => {
  const w = await world({ accounts: 12, pageSize: 2 });
  try {
    await logIn(w);
    equal((await sync(w)).code, 0);
    equal(w.fake.callsTo("ListAccounts").length, 6);
    equal(w.fake.callsTo("ListAccountRoles").length, 24, "3 roles on pages of 2: two calls per account");
    // The user adds sections before and after the block; both must survive every later sync byte for byte.
    const first = await w.read();
    const block = blockOf(first);
    const start = first.indexOf(block);
    const head = `${first.slice(0, start)}[profile between]\nregion = us-east-2\n\n`;
    const tail = `${first.slice(start + block.length)}${AFTER}`;
    await Deno.writeTextFile(w.sb.configPath, head + block + tail);

    w.sso.setAccountName(id(3), "renamed");
    w.sso.unassign(id(5), "Billing");
    w.sso.unassign(id(7));
    w.sso.assign(id(13), "Admin");
    w.sso.setAccountName(id(13), "new");
    const r = await sync(w, "--region", "us-west-2");
    equal(r.code, 0, r.stderr);
    const out = r.stdout.split("\n");
    ok(out.includes("+ new/Admin") && out.includes("+ renamed/Billing"), r.stdout);
    ok(out.includes("- acct-03/Admin") && out.includes("- acct-05/Billing") && out.includes("- acct-07/ReadOnly"));
    ok(out.includes("~ acct-01/Admin: region eu-west-1 -> us-west-2"), r.stdout);
    match(r.stdout, /sso-session corp: 4 added, 29 changed, 7 removed, 0 unchanged; written to /);

    const text = await w.read();
    ok(text.startsWith(head), "everything before the block is unchanged");
    ok(text.endsWith(tail), "everything after the block is unchanged");
    const names = parseConfigFile(text).profileNames();
    ok(names.includes("renamed/Admin") && !names.includes("acct-03/Admin") && !names.includes("acct-07/Admin"));
    ok(names.includes("between") && names.includes("after") && names.includes("work"));
    equal(parseConfigFile(text).profile("new/Admin")?.get("region")?.value, "us-west-2");
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync: a generated name a hand-written profile has is skipped with a warning; the user's stays", async () => {
  const mine = "[profile acct-02/Admin]\nsso_session = corp\nsso_account_id = 999999999999\nsso_role_name = Mine\n";
  const w = await world({ accounts: 3, config: `${BEFORE}\n${mine}` });
  try {
    await logIn(w);
    const r = await sync(w);
    equal(r.code, 0, r.stderr);
    equal(
      r.stderr,
      `Skipped account ${id(2)} (acct-02) role Admin ("acct-02/Admin"): a profile of that name is already written ` +
        "outside the block\n",
    );
    match(r.stdout, /: 8 added, /);
    const text = await w.read();
    ok(text.startsWith(`${BEFORE}\n${mine}`));
    equal(parseConfigFile(text).profile("acct-02/Admin")?.get("sso_account_id")?.value, "999999999999");
    equal(text.split("[profile acct-02/Admin]").length, 2, "one section of that name");
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync --template: names from placeholders; a template that makes two names equal writes nothing", async () => {
  const w = await world({ accounts: 3 });
  try {
    await logIn(w);
    w.sso.setAccountName(id(1), "Ops (EU) #1");
    let r = await sync(w, "--template", "{sso_session}.{account_name}.{role_name}");
    equal(r.code, 0, r.stderr);
    ok(parseConfigFile(await w.read()).hasSection("corp.Ops-EU-1.Admin"));

    const before = await w.read();
    w.sso.setAccountName(id(2), "same");
    w.sso.setAccountName(id(3), "same");
    r = await sync(w);
    equal(r.code, 1);
    equal(
      r.stderr,
      `aws-vault: error: sso: profile name "same/Admin" would be generated for both account ${id(2)} (same) role ` +
        `Admin and account ${id(3)} (same) role Admin; put {account_id} in --template to tell them apart ` +
        "(nothing written)\n",
    );
    equal(await w.read(), before);

    r = await sync(w, "--template", "{account}/{role_name}");
    equal(r.code, 1);
    match(r.stderr, /^aws-vault: error: --template: unknown placeholder \{account\} \(use \{account_name\}, /);
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync --dry-run prints the changes and writes nothing", async () => {
  const w = await world({ accounts: 2 });
  try {
    await logIn(w);
    const r = await sync(w, "--dry-run");
    equal(r.code, 0, r.stderr);
    equal(
      r.stdout,
      ["acct-01", "acct-02"].flatMap((a) => ROLES.toSorted().map((role) => `+ ${a}/${role}\n`)).join("") +
        "sso-session corp: 6 to add, 0 to change, 0 to remove, 0 unchanged; nothing written (--dry-run)\n",
    );
    equal(await w.read(), BEFORE);
    equal((await sync(w)).code, 0);
    const written = await w.read();
    w.sso.unassign(id(1));
    const dry = await sync(w, "--dry-run", "--region", "ap-south-1");
    equal(
      dry.stdout,
      ROLES.toSorted().map((role) => `~ acct-02/${role}: region eu-west-1 -> ap-south-1\n`).join("") +
        ROLES.toSorted().map((role) => `- acct-01/${role}\n`).join("") +
        "sso-session corp: 0 to add, 3 to change, 3 to remove, 0 unchanged; nothing written (--dry-run)\n",
    );
    equal(await w.read(), written);
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync and add in many processes at once: no section is lost", async () => {
  const w = await world({ accounts: 10 });
  try {
    await logIn(w);
    const adds = Array.from({ length: 6 }, (_, i) =>
      runProgram(["add", "--env", `added-${i}`], {
        env: { ...w.env, AWS_ACCESS_KEY_ID: `AKIAADDED00000000${i}`, AWS_SECRET_ACCESS_KEY: "secret" },
      }));
    const syncs = Array.from({ length: 2 }, () => runProgram(["sso", "sync", "--sso-session", "corp"], { env: w.env }));
    for (const r of await Promise.all([...adds, ...syncs])) equal(r.code, 0, r.stderr);
    const text = await w.read();
    const names = parseConfigFile(text).profileNames();
    for (let i = 0; i < 6; i++) ok(names.includes(`added-${i}`), `added-${i} is in:\n${text}`);
    equal(names.filter((n) => n.startsWith("acct-")).length, 30);
    ok(text.startsWith(BEFORE));
    equal(text.split("# BEGIN aws-vault sso sync corp").length, 2, "one block");
  } finally {
    await w.cleanup();
  }
});

/** A directory where writing fails: a full 64 KiB tmpfs as root, else one without write permission. */
async function unwritableDir(base: string): Promise<{ dir: string; fill(): Promise<void>; undo(): Promise<void> }> {
  const dir = `${base}/cfg`;
  await Deno.mkdir(dir);
  if (Deno.uid() !== 0) {
    return {
      dir,
      fill: () => Deno.chmod(dir, 0o500),
      undo: () => Deno.chmod(dir, 0o700),
    };
  }
  const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir] }).output();
  if (!mount.success) throw new Error(`cannot mount a tmpfs: ${new TextDecoder().decode(mount.stderr)}`);
  return {
    dir,
    // Fill what is left, so the next write fails with "no space left" after the temp file was created.
    fill: async () => {
      const f = await Deno.open(`${dir}/filler`, { write: true, create: true });
      try {
        const chunk = new Uint8Array(4096);
        for (;;) await f.write(chunk);
      } catch {
        // full
      } finally {
        f.close();
      }
    },
    undo: async () => void await new Deno.Command("umount", { args: [dir] }).output(),
  };
}

Deno.test("sso sync: a write that fails midway (a full disk, or a read-only directory) leaves the old config", async () => {
  const w = await world({ accounts: 20 });
  let place: Awaited<ReturnType<typeof unwritableDir>> | undefined;
  try {
    place = await unwritableDir(w.sb.home).catch((e) => {
      console.log(`skipped: ${e.message}`);
      return undefined;
    });
    if (!place) return;
    await logIn(w);
    const path = `${place.dir}/config`;
    await Deno.writeTextFile(path, BEFORE);
    const env = { ...w.env, AWS_CONFIG_FILE: path };
    await place.fill();
    const r = await runCli(["sso", "sync", "--sso-session", "corp"], { env });
    equal(r.code, 1);
    match(r.stderr, new RegExp(`^aws-vault: error: sso: cannot write ${path}: .+\\n$`));
    equal(await Deno.readTextFile(path), BEFORE);
    deepStrictEqual(
      [...Deno.readDirSync(place.dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp")),
      [],
      "no temporary file left",
    );
  } finally {
    await place?.undo();
    await w.cleanup();
  }
});

Deno.test("sso sync's block writes SIGKILLed at random moments leave the old or the new file, never a torn one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sso_sync_crash_" });
  try {
    const path = `${dir}/config`;
    // An empty block between hand-written sections, as a user who moved it there left it.
    await Deno.writeTextFile(
      path,
      `${BEFORE}\n# BEGIN aws-vault sso sync corp\n# END aws-vault sso sync corp\n${AFTER}`,
    );
    const modules = ["../src/config/config_write.ts", "../src/config/sso_profiles.ts"]
      .map((m) => JSON.stringify(new URL(m, import.meta.url).href));
    // Alternates between two blocks of different sizes for ever, through the same code path as `sso sync`.
    const script = `import { rewriteConfigFile } from ${modules[0]};
import { findBlock, planProfiles, renderBlock, replaceBlock } from ${modules[1]};
const path = ${JSON.stringify(path)};
const blocks = [40, 25].map((n) => renderBlock("corp", planProfiles(
  Array.from({ length: n }, (_, i) => ({ accountId: String(100000000000 + i), accountName: "a" + i, roleName: "R" })),
  { template: "{account_name}/{role_name}", session: "corp", taken: new Set() },
).profiles, { eol: "\\n" }));
for (let i = 0; ; i++) {
  await rewriteConfigFile(path, (text) =>
    replaceBlock(text, { block: findBlock(text, "corp", { path }), blockText: blocks[i % 2] }), { what: "block" });
  if (i === 0) console.log("ready");
}`;
    for (let round = 0; round < 10; round++) {
      const child = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "inherit" })
        .spawn();
      const reader = child.stdout.getReader();
      let out = "";
      while (!out.includes("ready")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the writer exited before it was ready: ${JSON.stringify(await child.status)}`);
        out += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 60)));
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel();
      const text = await Deno.readTextFile(path);
      const block = findBlock(text, "corp", { path });
      ok(text.startsWith(`${BEFORE}\n# BEGIN`), `round ${round}: the sections before the block are intact`);
      ok(text.endsWith(AFTER), `round ${round}: the sections after the block are intact`);
      const count = block ? blockProfiles(text.slice(block.start, block.end)).size : 0;
      ok([40, 25].includes(count), `round ${round}: a whole block (${count} profiles)`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sso sync: a temp file left by a writer killed before its rename is removed by the next sync", async () => {
  const w = await world({ accounts: 1 });
  try {
    await logIn(w);
    const left = `${w.sb.home}/.aws/config.0a1b2c3d.tmp`;
    await Deno.writeTextFile(left, `${BEFORE}\n# BEGIN aws-vault sso sync corp\n[profile half`);
    equal((await sync(w)).code, 0);
    ok(!(await Deno.lstat(left).then(() => true, () => false)), "the left temp file is gone");
    ok((await w.read()).startsWith(BEFORE));
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync errors: unknown sso-session, no login and no terminal, unknown action, damaged block", async () => {
  const w = await world({ accounts: 1 });
  try {
    let r = await runCli(["sso", "sync", "--sso-session", "crop"], { env: w.env });
    equal(r.code, 1);
    equal(
      r.stderr,
      `aws-vault: error: sso: sso-session "crop" not found in ${w.sb.configPath}; did you mean "corp"?\n`,
    );
    r = await sync(w);
    equal(r.code, 1);
    equal(
      r.stderr,
      `aws-vault: error: sso: not logged in to sso-session corp (${START_URL}) and no terminal to log in from; ` +
        `run "aws-vault sso sync --sso-session corp" in a terminal once\n`,
    );
    equal(w.fake.callsTo("RegisterClient").length, 0, "no login was started");
    r = await runCli(["sso", "list"], { env: w.env });
    equal(r.stderr, 'aws-vault: error: unknown action "list" (available: sync), try --help\n');
    r = await runCli(["sso", "snyc", "--sso-session", "corp"], { env: w.env });
    equal(r.stderr, 'aws-vault: error: unknown action "snyc", did you mean "sync"?\n');
    r = await runCli(["sso", "sync"], { env: w.env });
    equal(r.stderr, "aws-vault: error: required flag --sso-session not provided, try --help\n");

    await logIn(w);
    await Deno.writeTextFile(w.sb.configPath, `${BEFORE}\n# BEGIN aws-vault sso sync corp\n[profile x]\n`);
    r = await sync(w);
    equal(r.code, 1);
    match(
      r.stderr,
      /^aws-vault: error: sso: .*config:\d+: the block of "aws-vault sso sync" for sso-session corp is damaged/,
    );
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync: a token the portal rejects is refreshed without a terminal; the generated profiles work", async () => {
  const w = await world({ accounts: 4 });
  try {
    await logIn(w);
    w.sso.revokeTokens({ keepRefreshTokens: true });
    const r = await sync(w);
    equal(r.code, 0, r.stderr);
    equal(w.fake.callsTo("CreateToken").length, 2, "the login, then one refresh");

    const exported = await runCli(["export", "--format=json", "acct-03/Billing"], { env: w.env });
    equal(exported.code, 0, exported.stderr);
    match(JSON.parse(exported.stdout).AccessKeyId, /^ASIA/);
    const call = w.fake.callsTo("GetRoleCredentials").at(-1)!;
    equal(call.params.account_id, id(3));
    equal(call.params.role_name, "Billing");
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso sync on a terminal logs in through the browser first, as exec does", async () => {
  const w = await world({ accounts: 2 });
  try {
    const bin = `${w.sb.home}/bin`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(`${bin}/xdg-open`, `#!/bin/sh\nexec curl -s -L -o /dev/null "$1"\n`);
    await Deno.chmod(`${bin}/xdg-open`, 0o755);
    const r = await runOnTerminal(["sso", "sync", "--sso-session", "corp"], {
      env: { ...w.env, PATH: `${bin}:${w.env.PATH}` },
      answers: [],
    });
    equal(r.code, 0, r.output);
    match(r.output, /Opening the SSO authorization page in your default browser/);
    match(r.output, /sso-session corp: 6 added, /);
    equal(w.fake.callsTo("CreateToken").length, 1);
    // The login is in the vault: the next run needs no terminal.
    equal((await sync(w)).code, 0);
    equal(w.fake.callsTo("CreateToken").length, 1);
  } finally {
    await w.cleanup();
  }
});

Deno.test("sso: completion offers the action, help names it", async () => {
  const env = (await makeSandbox()).env;
  equal((await runCli(["--completion-bash", "sso", ""], { env })).stdout, "sync\n");
  equal((await runCli(["--completion-bash", "ss"], { env })).stdout, "sso\n");
  equal((await runCli(["--completion-bash", "help", "sso", ""], { env })).stdout, "sync\n");
  const help = await runCli(["help", "sso", "sync"], { env });
  equal(help.code, 0);
  match(help.stdout, /^usage: aws-vault sso --sso-session=NAME \[<flags>\] <action>\n/);
  match(help.stdout, /--template=TEMPLATE/);
  equal((await runCli(["sso", "--help"], { env })).stdout, help.stdout);
  equal(
    (await runCli(["help", "sso", "x"], { env })).stderr,
    'aws-vault: error: unknown action "x" (available: sync), try --help\n',
  );
  await Deno.remove(env.HOME, { recursive: true });
});
