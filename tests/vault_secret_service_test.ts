/**
 * The secret-service backend against a real gnome-keyring-daemon in a private D-Bus session: round trips, items
 * checked from outside with secret-tool, items written the way aws-vault writes them, and the failure paths (locked
 * collection, no Secret Service, no bus, collection creation without a display) with their time bounds.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { itemToJson } from "../src/vault/keyring.ts";
import { decodeObjectPathName, secretServiceAvailable } from "../src/vault/secret_service.ts";
// Spawned, not in-process: libsecret reads the D-Bus address from the process environment.
import { makeSandbox, runProgram } from "./support/cli.ts";
import { type OpResult, secretServiceSkipReason, startSecretService } from "./support/secret_service.ts";
import { envFromRecord } from "../src/core/env.ts";

const skip = secretServiceSkipReason();
if (skip) console.log(`skipping secret-service tests: ${skip}`);
const LOGIN = { collection: "login" };
/** Every failure must be reported well within this (the bound the issue asks for is "within seconds"). */
const FAST_MS = 8_000;

const itemJson = (key: string, data: string, label = "") =>
  itemToJson({
    key,
    data: new TextEncoder().encode(data),
    label,
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  });

function failed(r: OpResult, error: string, message: RegExp) {
  equal(r.ok, false, JSON.stringify(r));
  equal(r.error, error, r.message);
  match(r.message!, message);
  ok(r.ms < FAST_MS, `took ${r.ms} ms`);
}

Deno.test("decodeObjectPathName undoes the _XX escaping like aws-vault", () => {
  equal(
    decodeObjectPathName("/org/freedesktop/secrets/collection/aws_2dvault"),
    "/org/freedesktop/secrets/collection/aws-vault",
  );
  equal(decodeObjectPathName("login"), "login");
  equal(decodeObjectPathName("bad_zz"), "bad_zz");
  equal(secretServiceAvailable(envFromRecord({})), false);
});

Deno.test({
  name: "set/get/keys/remove in the login collection; items look like aws-vault's from outside",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    try {
      const r = await ss.run([
        { op: "set", key: "work", data: '{"AccessKeyID":"AKIAEXAMPLE"}', label: "aws-vault (work)" },
        { op: "set", key: "work", data: '{"AccessKeyID":"AKIAREPLACED"}', label: "aws-vault (work)" },
        { op: "set", key: "sts.GetSessionToken,d29yaw,,1700000000", data: "{}" },
        { op: "get", key: "work" },
        { op: "keys" },
      ], LOGIN);
      ok(r.every((x) => x.ok), JSON.stringify(r));
      deepStrictEqual(r[3].value, {
        key: "work",
        data: '{"AccessKeyID":"AKIAREPLACED"}',
        label: "aws-vault (work)",
        description: "",
        keychainNotTrustApplication: false,
        keychainNotSynchronizable: false,
      });
      deepStrictEqual(r[4].value, ["sts.GetSessionToken,d29yaw,,1700000000", "work"]);

      // Seen from outside: exactly one item (replaced, not duplicated), label = key, only the profile attribute.
      const found = await ss.secretTool(["search", "--all", "profile", "work"]);
      equal(found.code, 0, found.stderr);
      equal(found.stdout.match(/^label = /gm)?.length, 1, found.stdout);
      match(found.stdout, /^label = work$/m);
      // secret-tool prints the attributes on stderr.
      const attrs = found.stderr.split("\n").filter((l) => l.startsWith("attribute."));
      deepStrictEqual(attrs, ["attribute.profile = work"]);
      const secret = await ss.secretTool(["lookup", "profile", "work"]);
      equal(secret.stdout, itemJson("work", '{"AccessKeyID":"AKIAREPLACED"}', "aws-vault (work)"));

      const gone = await ss.run([{ op: "remove", key: "work" }, { op: "get", key: "work" }, { op: "keys" }], LOGIN);
      ok(gone[0].ok, gone[0].message);
      failed(gone[1], "ItemNotFoundError", /could not be found in the keyring: "work"/);
      deepStrictEqual(gone[2].value, ["sts.GetSessionToken,d29yaw,,1700000000"]);
      equal((await ss.secretTool(["search", "profile", "work"])).stdout, "");
    } finally {
      await ss.stop();
    }
  },
});

Deno.test({
  name: "items stored by another tool with attribute profile are found; other programs' items are not keys",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    try {
      const json = itemJson("legacy", '{"AccessKeyID":"AKIAOLD"}');
      equal((await ss.secretTool(["store", "--label=legacy", "profile", "legacy"], json)).code, 0);
      equal((await ss.secretTool(["store", "--label=Chrome Safe Storage", "application", "chrome"], "x")).code, 0);
      const r = await ss.run([
        { op: "get", key: "legacy" },
        { op: "keys" },
        { op: "get", key: "missing" },
        { op: "remove", key: "missing" },
      ], LOGIN);
      equal(r[0].ok, true, r[0].message);
      equal((r[0].value as { data: string }).data, '{"AccessKeyID":"AKIAOLD"}');
      deepStrictEqual(r[1].value, ["legacy"]);
      failed(r[2], "ItemNotFoundError", /"missing"/);
      failed(r[3], "ItemNotFoundError", /"missing"/);
    } finally {
      await ss.stop();
    }
  },
});

Deno.test({
  name: "a missing collection: get/keys find nothing; creating it without a display fails clearly and quickly",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    try {
      const r = await ss.run([
        { op: "keys" },
        { op: "get", key: "work" },
        { op: "set", key: "work", data: "{}" },
      ], { env: { DISPLAY: null, WAYLAND_DISPLAY: null } });
      deepStrictEqual(r[0].value, []);
      failed(r[1], "ItemNotFoundError", /"work"/);
      failed(
        r[2],
        "SecretServiceCreateError",
        /^cannot create the secret-service collection "awsvault": the Secret Service needs to show a desktop prompt .*no display.*--secret-service-collection login$/,
      );
    } finally {
      await ss.stop();
    }
  },
});

Deno.test({
  name: "a locked collection gives the unlock advice within seconds",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    try {
      equal((await ss.run([{ op: "set", key: "work", data: "{}" }], LOGIN))[0].ok, true);
      await ss.lock("login");
      const r = await ss.run([{ op: "get", key: "work" }, { op: "keys" }, { op: "set", key: "x", data: "{}" }], LOGIN);
      for (const x of r) {
        failed(
          x,
          "SecretServiceLockedError",
          /^the secret-service collection "login" is locked; unlock it \(e\.g\. by logging in/,
        );
      }
    } finally {
      await ss.stop();
    }
  },
});

Deno.test({
  name: "no Secret Service on the bus, no bus, a dead bus socket: clear errors within seconds",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService({ keyring: false, activation: false });
    try {
      const [none] = await ss.run([{ op: "keys" }], LOGIN);
      failed(none, "SecretServiceUnavailableError", /^no Secret Service \(org\.freedesktop\.secrets\) is running/);
      const [noBus] = await ss.run([{ op: "get", key: "a" }], {
        ...LOGIN,
        env: { DBUS_SESSION_BUS_ADDRESS: null, XDG_RUNTIME_DIR: null },
      });
      failed(
        noBus,
        "SecretServiceUnavailableError",
        /needs a D-Bus session bus \(DBUS_SESSION_BUS_ADDRESS is not set\)/,
      );
      const [dead] = await ss.run([{ op: "keys" }], {
        ...LOGIN,
        env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${ss.env.HOME}/no-such-socket` },
      });
      failed(
        dead,
        "SecretServiceUnavailableError",
        /^cannot connect to the D-Bus session bus at unix:path=.*no-such-socket/,
      );
    } finally {
      await ss.stop();
    }
  },
});

Deno.test({
  name: "a Secret Service that stops answering: the call is cancelled at its time bound",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    try {
      ss.freeze(true);
      const [r] = await ss.run([{ op: "keys" }], { ...LOGIN, timeoutMs: 1_000 });
      failed(r, "SecretServiceTimeoutError", /^secret-service: connecting did not finish in time/);
    } finally {
      ss.freeze(false);
      await ss.stop();
    }
  },
});

Deno.test({
  name: "CLI: add --env, list, exec --no-session, remove -f with --backend secret-service in the login collection",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    const sb = await makeSandbox({ passphrase: null });
    try {
      const env = { ...sb.env, ...ss.env, HOME: sb.home, AWS_VAULT_BACKEND: "secret-service" };
      const flags = ["--backend", "secret-service", "--secret-service-collection", "login"];
      const add = await runProgram([...flags, "add", "--env", "work"], {
        env: {
          ...env,
          AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
          AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
      });
      equal(add.code, 0, add.stderr);
      const seen = await ss.secretTool(["lookup", "profile", "work"]);
      match(seen.stdout, /^\{"Key":"work","Data":"/);
      const list = await runProgram([...flags, "list", "--credentials"], { env });
      equal(list.stdout, "work\n", list.stderr);
      const exec = await runProgram(
        [...flags, "exec", "--no-session", "work", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"],
        {
          env,
        },
      );
      equal(exec.stdout, "AKIAIOSFODNN7EXAMPLE\n", exec.stderr);
      const removed = await runProgram([...flags, "remove", "-f", "work"], { env });
      equal(removed.code, 0, removed.stderr);
      equal((await ss.secretTool(["search", "profile", "work"])).stdout, "");
    } finally {
      await sb.cleanup();
      await ss.stop();
    }
  },
});

Deno.test({
  name: "CLI: migrate-backend file → secret-service and back; the source deleted only after a verified copy",
  ignore: !!skip,
  async fn() {
    const ss = await startSecretService();
    const sb = await makeSandbox();
    try {
      const env = { ...sb.env, ...ss.env, HOME: sb.home };
      const keys = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG" };
      for (const p of ["alpha", "beta"]) {
        const add = await runProgram(["add", "--env", "--no-add-config", p], { env: { ...env, ...keys } });
        equal(add.code, 0, add.stderr);
      }
      const ssFlags = ["--secret-service-collection", "login"];
      const migrate = await runProgram(
        [...ssFlags, "migrate-backend", "--from", "file", "--to", "secret-service", "--delete-source"],
        { env },
      );
      equal(migrate.code, 0, migrate.stderr);
      match(migrate.stdout, /Migrating alpha\.\.\. copied, verified, deleted source\n/);
      match(migrate.stdout, /Migrating beta\.\.\. copied, verified, deleted source\n/);
      equal((await runProgram(["list", "--credentials"], { env })).stdout, "", "the file store is empty now");
      const listed = await runProgram([...ssFlags, "--backend", "secret-service", "list", "--credentials"], { env });
      equal(listed.stdout, "alpha\nbeta\n", listed.stderr);
      match((await ss.secretTool(["lookup", "profile", "beta"])).stdout, /^\{"Key":"beta","Data":"/);

      // And back, without deleting: both stores then hold the credentials.
      const back = await runProgram([...ssFlags, "migrate-backend", "--from", "secret-service", "--to", "file"], {
        env,
      });
      equal(back.code, 0, back.stderr);
      equal((await runProgram(["list", "--credentials"], { env })).stdout, "alpha\nbeta\n");
      const exported = await runProgram(["export", "--no-session", "--format=json", "beta"], { env });
      equal(JSON.parse(exported.stdout).SecretAccessKey, keys.AWS_SECRET_ACCESS_KEY);
    } finally {
      await sb.cleanup();
      await ss.stop();
    }
  },
});
