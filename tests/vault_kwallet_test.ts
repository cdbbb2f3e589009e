/**
 * The kwallet backend against Debian's real KDE Wallet daemon (kwalletd5, libkf5wallet-bin), headless on a private
 * D-Bus session bus (tests/support/kwallet.ts: the wallet is created and unlocked through kwalletd's pamOpen, as
 * pam_kwallet does at login, so no dialog is needed). Entries are checked from outside with dbus-send making the Go
 * aws-vault's own calls: items Go wrote (its json.Marshal bytes, the committed vectors of the file-vault tests) are
 * read, and what we write is those bytes exactly. Failure paths: no bus, no kwalletd, access denied, KWallet
 * disabled, a locked wallet whose password dialog cannot appear; no message carries a secret.
 * The tests are skipped, with the reason printed, when kwalletd5 or dbus is not installed.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { envFromRecord } from "../src/core/env.ts";
import { itemFromJson, itemToJson } from "../src/vault/keyring.ts";
import { KWalletKeyring } from "../src/vault/kwallet.ts";
import { chooseDaemon, KWALLETD5, KWALLETD6 } from "../src/vault/kwallet_dbus.ts";
import { makeSandbox, runCli, runProgram } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { kwalletSkipReason, parseByteReply, startKWallet } from "./support/kwallet.ts";

const skip = kwalletSkipReason();
if (skip) console.log(`skipping kwallet tests: ${skip}`);
const linux = Deno.build.os === "linux";

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const enc = new TextEncoder();
const dec = new TextDecoder();
/** Items the Go aws-vault wrote: one json.Marshal(keyring.Item) per line (credentials, session, OIDC token). */
const GO_ITEMS = (await Deno.readTextFile(new URL("./fixtures/vault/go-store-items.jsonl", import.meta.url)))
  .trim().split("\n");

/** A one-line message that mentions no secret. */
function oneLine(stderr: string, pattern: RegExp) {
  equal(stderr.trimEnd().split("\n").length, 1, stderr);
  match(stderr, pattern);
  ok(!stderr.includes(SECRET), stderr);
}

Deno.test("chooseDaemon: a running daemon first (kwalletd6, then kwalletd5), else an activatable kwalletd6", () => {
  const set = (...names: string[]) => new Set(names);
  const choose = (running: Set<string>, activatable: Set<string>) => chooseDaemon({ running, activatable });
  equal(choose(set(KWALLETD6.name, KWALLETD5.name), set()), KWALLETD6);
  equal(choose(set(KWALLETD5.name), set(KWALLETD6.name)), KWALLETD5);
  equal(choose(set(), set(KWALLETD6.name, KWALLETD5.name)), KWALLETD6);
  equal(choose(set(), set(KWALLETD5.name)), KWALLETD5);
  equal(choose(set(), set()), KWALLETD5);
  deepStrictEqual(KWALLETD6, { name: "org.kde.kwalletd6", path: "/modules/kwalletd6" });
});

Deno.test({
  name: "kwallet without a session bus: one line naming the other backends",
  ignore: !linux,
  async fn() {
    const ring = new KWalletKeyring({ env: envFromRecord({}), otherBackends: ["pass", "file"] });
    try {
      await ring.keys();
      ok(false, "no error");
    } catch (e) {
      match(
        String((e as Error).message),
        /^the kwallet backend needs a D-Bus session bus .*\(available: pass, file\)$/,
      );
    }
  },
});

Deno.test({
  name: "CLI: add, list, export, remove with --backend=kwallet; entries are Go's item JSON in aws-vault/aws-vault",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet();
    const sb = await makeSandbox({ passphrase: null });
    try {
      const env = { ...sb.env, ...kw.env, HOME: sb.home };
      const add = await runCli(["--backend=kwallet", "add", "--env", "--no-add-config", "work"], {
        env: { ...env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      });
      equal(add.code, 0, add.stderr);
      const raw = dec.decode(await kw.readRaw("work"));
      const stored = itemFromJson(raw);
      equal(stored.key, "work");
      equal(itemToJson(stored), raw, "stored as Go's json.Marshal(keyring.Item)");
      const creds = JSON.parse(dec.decode(stored.data));
      deepStrictEqual([creds.AccessKeyID, creds.SecretAccessKey], [KEY_ID, SECRET]);

      const list = await runCli(["--backend=kwallet", "list", "--credentials"], { env });
      equal(list.stdout, "work\n", list.stderr);
      const exported = await runCli(["--backend=kwallet", "export", "--no-session", "--format=json", "work"], { env });
      equal(exported.code, 0, exported.stderr);
      equal(JSON.parse(exported.stdout).SecretAccessKey, SECRET);

      const removed = await runCli(["--backend=kwallet", "remove", "-f", "work"], { env });
      equal(removed.code, 0, removed.stderr);
      equal((await kw.readRaw("work")).length, 0, "the entry is gone");
      const again = await runCli(["--backend=kwallet", "remove", "-f", "work"], { env });
      equal(again.code, 1);
      oneLine(again.stderr, /work/);
      const missing = await runCli(["--backend=kwallet", "export", "--no-session", "work"], { env });
      equal(missing.code, 1);
      oneLine(missing.stderr, /work/);
    } finally {
      await sb.cleanup();
      await kw.stop();
    }
  },
});

Deno.test({
  name: "CLI: AWS_VAULT_BACKEND=kwallet; exec, and the session cached by export lands in the same wallet folder",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet();
    const fake = await startFakeAws();
    fake.addUser({ userName: "alice", accessKeyId: KEY_ID, secretAccessKey: SECRET });
    const sb = await makeSandbox({ passphrase: null, config: "[profile work]\nregion = eu-west-1\n" });
    try {
      const env = { ...sb.env, ...kw.env, HOME: sb.home, AWS_VAULT_BACKEND: "kwallet", AWS_ENDPOINT_URL: fake.url };
      const add = await runCli(["add", "--env", "work"], {
        env: { ...env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      });
      equal(add.code, 0, add.stderr);
      const exec = await runProgram(["exec", "--no-session", "work", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"], {
        env,
      });
      equal(exec.stdout, `${KEY_ID}\n`, exec.stderr);

      const exported = await runCli(["export", "--format=json", "work"], { env });
      equal(exported.code, 0, exported.stderr);
      const session = JSON.parse(exported.stdout);
      ok(session.SessionToken, exported.stdout);
      const keys = await runCli(["list", "--credentials"], { env });
      equal(keys.stdout, "work\n");
      const entries = await kw.kwallet(
        "entryList",
        `int32:${await openHandle(kw)}`,
        "string:aws-vault",
        "string:aws-vault",
      );
      match(entries.stdout, /string "sts\.GetSessionToken,d29yaw,,\d+"/, "the session is an entry beside the keys");
      const cached = await runCli(["export", "--format=json", "work"], { env });
      equal(JSON.parse(cached.stdout).SessionToken, session.SessionToken, "the second export uses the cached one");
    } finally {
      await sb.cleanup();
      await fake.close();
      await kw.stop();
    }
  },
});

async function openHandle(kw: Awaited<ReturnType<typeof startKWallet>>): Promise<number> {
  const r = await kw.kwallet("open", "string:aws-vault", "int64:0", "string:aws-vault");
  return Number(r.stdout.match(/int32 (-?\d+)/)![1]);
}

Deno.test({
  name: "items the Go aws-vault wrote are read; what we write is byte-identical to Go's json.Marshal",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet();
    try {
      const ring = new KWalletKeyring({ env: envFromRecord(kw.env) });
      for (const line of GO_ITEMS) await kw.writeRaw(JSON.parse(line).Key, enc.encode(line));
      deepStrictEqual(await ring.keys(), GO_ITEMS.map((l) => JSON.parse(l).Key).sort());
      for (const line of GO_ITEMS) {
        const key = JSON.parse(line).Key;
        const item = await ring.get(key);
        equal(itemToJson(item), line, key);
        await ring.remove(key);
        equal((await kw.readRaw(key)).length, 0);
        await ring.set(item);
        equal(dec.decode(await kw.readRaw(key)), line, `${key} as Go writes it`);
      }
      // Not found, as kwalletd says it: readEntry answers no bytes.
      await ring.get("nobody").then(() => ok(false), (e) => equal(e.constructor.name, "ItemNotFoundError"));
      await ring.remove("nobody").then(() => ok(false), (e) => equal(e.constructor.name, "ItemNotFoundError"));
      // An entry that is not an item is reported as such, without its content.
      await kw.writeRaw("broken", enc.encode(`not json ${SECRET}`));
      await ring.get("broken").then(() => ok(false), (e) => {
        equal(e.constructor.name, "CorruptItemError");
        match(e.message, /"aws-vault\/aws-vault\/broken" is corrupt/);
        ok(!e.message.includes(SECRET));
      });
    } finally {
      await kw.stop();
    }
  },
});

Deno.test({
  name: "CLI: migrate-backend file → kwallet and back",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet();
    const sb = await makeSandbox();
    try {
      const env = { ...sb.env, ...kw.env, HOME: sb.home };
      for (const p of ["alpha", "beta"]) {
        const add = await runCli(["add", "--env", "--no-add-config", p], {
          env: { ...env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
        });
        equal(add.code, 0, add.stderr);
      }
      const migrate = await runCli(["migrate-backend", "--from", "file", "--to", "kwallet", "--delete-source"], {
        env,
      });
      equal(migrate.code, 0, migrate.stderr);
      match(migrate.stdout, /Migrating alpha\.\.\. copied, verified, deleted source\n/);
      equal((await runCli(["list", "--credentials"], { env })).stdout, "", "the file store is empty now");
      equal((await runCli(["--backend", "kwallet", "list", "--credentials"], { env })).stdout, "alpha\nbeta\n");
      match(dec.decode(await kw.readRaw("beta")), /^\{"Key":"beta","Data":"/);

      const back = await runCli(["migrate-backend", "--from", "kwallet", "--to", "file"], { env });
      equal(back.code, 0, back.stderr);
      equal((await runCli(["list", "--credentials"], { env })).stdout, "alpha\nbeta\n");
    } finally {
      await sb.cleanup();
      await kw.stop();
    }
  },
});

Deno.test({
  name: "kwalletd absent: one line saying to install or start it, or choose another --backend",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet({ daemon: "absent" });
    try {
      const r = await runCli(["--backend=kwallet", "list"], { env: kw.env });
      equal(r.code, 1);
      oneLine(r.stderr, /KWallet is not running on the D-Bus session bus .*available: secret-service, pass, file\)\n$/);
    } finally {
      await kw.stop();
    }
  },
});

Deno.test({
  name: "access denied to aws-vault (open answers -1): one line, no secret",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet({ kwalletrc: "[Auto Deny]\naws-vault=aws-vault\n" });
    try {
      const r = await runCli(["--backend=kwallet", "add", "--env", "--no-add-config", "work"], {
        env: { ...kw.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
      });
      equal(r.code, 1);
      oneLine(r.stderr, /KWallet refused to open the wallet "aws-vault" for aws-vault .*choose another --backend/);
    } finally {
      await kw.stop();
    }
  },
});

Deno.test({
  name: "KWallet disabled (an activated kwalletd quits at once): one line saying how to enable it",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet({ daemon: "activatable", kwalletrc: "Enabled=false\n" });
    try {
      const r = await runCli(["--backend=kwallet", "list"], { env: kw.env });
      equal(r.code, 1);
      oneLine(r.stderr, /KWallet is probably disabled; enable it in System Settings > KDE Wallet/);
    } finally {
      await kw.stop();
    }
  },
});

Deno.test({
  name: "a locked wallet without a display: open gives up within its bound with one line",
  ignore: !!skip,
  async fn() {
    const kw = await startKWallet();
    try {
      await kw.kwallet("closeAllWallets"); // now open() would wait for the password dialog, which nobody can answer
      const started = performance.now();
      const r = await runCli(["--backend=kwallet", "list"], { env: kw.env });
      const ms = performance.now() - started;
      equal(r.code, 1);
      oneLine(r.stderr, /KWallet did not open the wallet "aws-vault" in time: .*no display/);
      ok(ms < 9_000, `took ${ms} ms`);
    } finally {
      await kw.stop();
    }
  },
});

Deno.test("parseByteReply reads both of dbus-send's byte array forms", () => {
  deepStrictEqual(parseByteReply('   array of bytes "AB"\n'), enc.encode("AB"));
  deepStrictEqual(parseByteReply("   array of bytes [\n      00 c3 bc\n   ]\n"), new Uint8Array([0, 0xc3, 0xbc]));
  deepStrictEqual(parseByteReply("   array of bytes [\n   ]\n"), new Uint8Array(0));
  deepStrictEqual(parseByteReply("method return time=1 sender=:1.1\n   array [\n   ]\n"), new Uint8Array(0));
});
