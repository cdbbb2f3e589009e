import assert from "node:assert/strict";
import { ItemNotFoundError, VaultError } from "../src/core/errors.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { CorruptItemError, itemToJson, type VaultItem } from "../src/vault/keyring.ts";
import { PassKeyring, type PassKeyringOptions, PassNotAvailableError } from "../src/vault/pass.ts";
import { hasPass, makeGpgHome, makePassStore, type PassStore, writeStandIn } from "./support/pass_store.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function item(key: string, value: string): VaultItem {
  return {
    key,
    data: enc.encode(value),
    label: `aws-vault (${key})`,
    description: "",
    keychainNotTrustApplication: true,
    keychainNotSynchronizable: false,
  };
}

const envOf = (env: Record<string, string>) => ({ get: (n: string) => env[n], toObject: () => ({ ...env }) });

function keyring(store: PassStore, options: Partial<PassKeyringOptions> = {}): PassKeyring {
  return new PassKeyring({ passDir: store.dir, env: envOf(store.env), ...options });
}

async function pass(store: PassStore, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("pass", {
    args,
    env: store.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  if (stdin) await w.write(enc.encode(stdin));
  await w.close();
  const out = await child.output();
  assert.ok(out.success, dec.decode(out.stderr));
  return dec.decode(out.stdout);
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test({
  name: "pass backend with a real pass and GnuPG",
  ignore: !hasPass,
  async fn(t) {
    const gpg = await makeGpgHome();
    const withStore = async (fn: (store: PassStore) => Promise<void>) => {
      const store = await makePassStore({ gpg });
      try {
        await fn(store);
      } finally {
        await store.cleanup();
      }
    };
    try {
      await t.step(
        "round trip; the entry holds exactly the item JSON aws-vault writes, at <prefix>/<key>.gpg",
        () =>
          withStore(async (store) => {
            const kr = keyring(store, { prefix: "aws-vault" });
            const it = item("work", '{"AccessKeyID":"AKIA1","SecretAccessKey":"s3cr<et>&"}');
            await kr.set(it);
            assert.ok(await exists(`${store.dir}/aws-vault/work.gpg`));
            assert.equal(await pass(store, ["show", "aws-vault/work"]), itemToJson(it));
            assert.deepEqual(await kr.get("work"), it);
            assert.deepEqual(await kr.keys(), ["work"]);
            await kr.set(item("work", "replaced"));
            assert.equal(dec.decode((await kr.get("work")).data), "replaced");
            await kr.remove("work");
            assert.deepEqual(await kr.keys(), []);
            await assert.rejects(kr.get("work"), ItemNotFoundError);
            await assert.rejects(kr.remove("work"), ItemNotFoundError);
          }),
      );

      await t.step(
        "an entry written the way Go aws-vault writes it is read, and its credentials parse",
        () =>
          withStore(async (store) => {
            const data = enc.encode(
              '{"AccessKeyID":"AKIAGO","SecretAccessKey":"go-secret","SessionToken":"",' +
                '"Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}',
            ).toBase64();
            await pass(
              store,
              ["insert", "-m", "-f", "legacy"],
              `{"Key":"legacy","Data":"${data}",` +
                `"Label":"aws-vault (legacy)","Description":"","KeychainNotTrustApplication":true,` +
                `"KeychainNotSynchronizable":false}`,
            );
            const creds = await new CredentialKeyring(keyring(store)).get("legacy");
            assert.equal(creds.accessKeyId, "AKIAGO");
            assert.equal(creds.secretAccessKey, "go-secret");
            assert.deepEqual(await keyring(store).keys(), ["legacy"]);
          }),
      );

      await t.step(
        "keys: only below the prefix, nested, hidden folders skipped; OIDC keys listed intact",
        () =>
          withStore(async (store) => {
            const kr = keyring(store, { prefix: "team/aws-vault/" });
            const oidc = "oidc:https://d-123.awsapps.com/start";
            await kr.set(item(oidc, "{}"));
            await kr.set(item("a/b", "{}"));
            await kr.set(item("-dash", "{}"));
            await pass(store, ["insert", "-m", "-f", "email/gmail"], "hunter2");
            await Deno.mkdir(`${store.dir}/team/aws-vault/.git`, { recursive: true });
            await Deno.writeTextFile(`${store.dir}/team/aws-vault/.git/x.gpg`, "");
            await Deno.writeTextFile(`${store.dir}/team/aws-vault/notes.txt`, "");
            // On disk the URL's "//" is one separator, exactly where Go aws-vault puts it.
            assert.ok(await exists(`${store.dir}/team/aws-vault/oidc:https:/d-123.awsapps.com/start.gpg`));
            assert.deepEqual(await kr.keys(), ["-dash", "a/b", oidc]);
            assert.equal((await kr.get(oidc)).key, oidc);
            assert.equal((await kr.get("-dash")).key, "-dash");
            await kr.remove(oidc);
            assert.deepEqual(await kr.keys(), ["-dash", "a/b"]);
            // Without a prefix the whole store is listed, as in aws-vault; a foreign entry is reported by name.
            const all = keyring(store);
            assert.ok((await all.keys()).includes("email/gmail"));
            await assert.rejects(
              all.get("email/gmail"),
              (e) => e instanceof CorruptItemError && /email\/gmail/.test(e.message),
            );
          }),
      );

      await t.step(
        "keys that could leave the store are refused; a missing store lists nothing",
        () =>
          withStore(async (store) => {
            const kr = keyring(store);
            await assert.rejects(kr.get("../x"), ItemNotFoundError);
            await assert.rejects(kr.set(item("a/../../x", "{}")), VaultError);
            await assert.rejects(kr.set(item("/abs", "{}")), VaultError);
            assert.throws(() => keyring(store, { prefix: "../elsewhere" }), VaultError);
            assert.deepEqual(await keyring(store, { prefix: "nothing-here" }).keys(), []);
          }),
      );

      await t.step("the item JSON goes through stdin: no secret on any command line", () =>
        withStore(async (store) => {
          const standIn = await writeStandIn(store.env.HOME);
          const kr = keyring(store, { passCmd: standIn.path });
          await kr.set(item("work", '{"SecretAccessKey":"NEVER-IN-ARGV"}'));
          assert.equal(dec.decode((await kr.get("work")).data), '{"SecretAccessKey":"NEVER-IN-ARGV"}');
          await kr.remove("work");
          const calls = await standIn.calls();
          assert.deepEqual(calls, [["insert", "-m", "-f", "work"], ["show", "work"], ["rm", "-f", "work"]]);
          assert.ok(!calls.flat().some((a) => a.includes("NEVER") || a.includes(enc.encode("NEVER").toBase64())));
        }));

      await t.step("a missing entry fails without running pass", () =>
        withStore(async (store) => {
          const standIn = await writeStandIn(store.env.HOME, { delegate: false });
          const kr = keyring(store, { passCmd: standIn.path, prefix: "aws-vault" });
          await assert.rejects(kr.get("nope"), ItemNotFoundError);
          await assert.rejects(kr.remove("nope"), ItemNotFoundError);
          assert.deepEqual(await kr.keys(), []);
          assert.deepEqual(await standIn.calls(), []);
        }));

      await t.step("pass failing: a VaultError with pass's stderr and no secret", () =>
        withStore(async (store) => {
          const standIn = await writeStandIn(store.env.HOME, { failInsert: 1 });
          const kr = keyring(store, { passCmd: standIn.path });
          await assert.rejects(kr.set(item("work", "SECRET-DATA")), (e) => {
            assert.ok(e instanceof VaultError);
            assert.equal(e.message, 'pass insert "work" failed (exit status 2): gpg: stand-in failure');
            return true;
          });
          assert.deepEqual(await kr.keys(), []);
        }));
    } finally {
      await gpg.cleanup();
    }
  },
});

Deno.test("pass not installed: a clear error when the backend is opened", () => {
  const env = { PATH: "/nonexistent", HOME: "/tmp" };
  assert.throws(() => new PassKeyring({ env: envOf(env) }), (e) => {
    assert.ok(e instanceof PassNotAvailableError);
    assert.match(e.message, /^The pass program is not available: "pass" was not found on PATH; install pass/);
    assert.match(e.message, /--pass-cmd/);
    return true;
  });
  assert.throws(() => new PassKeyring({ env: envOf(env), passCmd: "/nonexistent/gopass" }), PassNotAvailableError);
});

Deno.test("store directory: --pass-dir, else PASSWORD_STORE_DIR, else ~/.password-store", () => {
  const env = { PATH: Deno.env.get("PATH") ?? "", HOME: "/home/u", PASSWORD_STORE_DIR: "/stores/p" };
  const sh = { passCmd: "/bin/sh" };
  assert.equal(new PassKeyring({ ...sh, env: envOf(env), passDir: "~/x" }).dir, "/home/u/x");
  assert.equal(new PassKeyring({ ...sh, env: envOf(env) }).dir, "/stores/p");
  assert.equal(
    new PassKeyring({ ...sh, env: envOf({ ...env, PASSWORD_STORE_DIR: "" }) }).dir,
    "/home/u/.password-store",
  );
});

Deno.test({
  name: "pass runs without this tool's secrets: no vault passphrase or credentials in its environment",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vault_pass_env_" });
    try {
      const script = `${dir}/pass`;
      await Deno.writeTextFile(script, `#!/bin/sh\nenv > "${dir}/env.txt"\ncat > /dev/null\n`, { mode: 0o700 });
      const env = {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: dir,
        AWS_VAULT_FILE_PASSPHRASE: "vault-passphrase-SECRET",
        AWS_SECRET_ACCESS_KEY: "aws-secret-SECRET",
      };
      const kr = new PassKeyring({ env: envOf(env), passCmd: script, passDir: `${dir}/store` });
      await kr.set(item("work", "{}"));
      const seen = await Deno.readTextFile(`${dir}/env.txt`);
      assert.match(seen, new RegExp(`^PASSWORD_STORE_DIR=${dir}/store$`, "m"));
      assert.match(seen, new RegExp(`^HOME=${dir}$`, "m"));
      assert.doesNotMatch(seen, /SECRET|AWS_VAULT_FILE_PASSPHRASE|AWS_SECRET_ACCESS_KEY/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
