/**
 * The messages a newcomer meets first: a wrong vault passphrase (from the environment or typed) and a profile with
 * no way to get credentials.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import { makeSandbox, runCli } from "./support/cli.ts";
import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring, MAX_PASSPHRASE_TRIES } from "../src/vault/file.ts";
import { WrongPassphraseError } from "../src/vault/keyring.ts";

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const enc = new TextEncoder();

function item(key: string, data: string) {
  return {
    key,
    data: enc.encode(data),
    label: "",
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
  };
}

/** A keyring whose prompt answers with `answers` in turn (the last one repeated). */
function prompted(dir: string, answers: string[]) {
  const prompts: string[] = [];
  const keyring = new FileKeyring({
    dir,
    env: envFromRecord({}),
    promptPassphrase: (message) => {
      prompts.push(message);
      return Promise.resolve(answers[Math.min(prompts.length - 1, answers.length - 1)]);
    },
  });
  return { keyring, prompts };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  return out;
}

Deno.test("wrong passphrase from AWS_VAULT_FILE_PASSPHRASE: names the variable and the vault, not an item file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "newcomer_" });
  try {
    const env = (p: string) => envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: p });
    await new FileKeyring({ dir, env: env("right") }).set(item("sts.GetSessionToken,d29yaw,,1796159275", "s"));
    const wrong = new FileKeyring({ dir, env: env("wrong") });
    await rejects(wrong.get("sts.GetSessionToken,d29yaw,,1796159275"), (e) => {
      ok(e instanceof WrongPassphraseError);
      equal(
        e.message,
        `wrong passphrase: the one in AWS_VAULT_FILE_PASSPHRASE does not open the vault in ${
          JSON.stringify(dir)
        }; correct or unset the variable`,
      );
      return true;
    });
    const before = await snapshot(dir);
    await rejects(new FileKeyring({ dir, env: env("wrong") }).set(item("work", "x")), (e) => {
      ok(e instanceof WrongPassphraseError);
      equal(
        e.message,
        `wrong passphrase: the one in AWS_VAULT_FILE_PASSPHRASE does not open the vault in ${
          JSON.stringify(dir)
        }; nothing was written; correct or unset the variable`,
      );
      return true;
    });
    deepStrictEqual(await snapshot(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wrong passphrase typed at a terminal: asked again, the third wrong try fails naming the vault", async () => {
  const dir = await Deno.makeTempDir({ prefix: "newcomer_" });
  try {
    await prompted(dir, ["right"]).keyring.set(item("work", "secret"));
    const ask = `Enter passphrase to unlock ${JSON.stringify(dir)}: `;
    const again = `Wrong passphrase, try again. ${ask}`;

    // A typo, then the right one: the read succeeds.
    const typo = prompted(dir, ["rihgt", "right"]);
    equal(new TextDecoder().decode((await typo.keyring.get("work")).data), "secret");
    deepStrictEqual(typo.prompts, [ask, again]);

    // Three wrong tries: a clear error, and no fourth prompt on the next call.
    const lost = prompted(dir, ["a", "b", "c", "right"]);
    await rejects(lost.keyring.get("work"), (e) => {
      ok(e instanceof WrongPassphraseError);
      equal(
        e.message,
        `wrong passphrase: ${MAX_PASSPHRASE_TRIES} tries did not open the vault in ${JSON.stringify(dir)}`,
      );
      return true;
    });
    deepStrictEqual(lost.prompts, [ask, again, again]);
    await rejects(lost.keyring.get("work"), WrongPassphraseError);
    equal(lost.prompts.length, 3);

    // On write: retried too, and three wrong tries change nothing.
    const before = await snapshot(dir);
    const writer = prompted(dir, ["x", "y", "z"]);
    await rejects(writer.keyring.set(item("other", "v")), (e) => {
      ok(e instanceof WrongPassphraseError);
      equal(
        e.message,
        `wrong passphrase: 3 tries did not open the vault in ${JSON.stringify(dir)}; nothing was written`,
      );
      return true;
    });
    deepStrictEqual(await snapshot(dir), before);

    // A typo on write, then the right passphrase: the item is written with the right one.
    const fixed = prompted(dir, ["oops", "right"]);
    await fixed.keyring.set(item("other", "v"));
    deepStrictEqual(fixed.prompts, [ask, again]);
    equal(new TextDecoder().decode((await prompted(dir, ["right"]).keyring.get("other")).data), "v");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec with no config file: says the file does not exist and suggests aws-vault add", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runCli(["exec", "--json", "work"], { env: sb.env });
    equal(r.code, 1);
    equal(
      r.stderr,
      `aws-vault: error: exec: profile "work" not found: the config file ${sb.configPath} does not exist and no ` +
        `credentials are stored for it; run "aws-vault add work" to store keys for it\n`,
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("exec of a profile with only a region: says what it lacks and how to fix it", async () => {
  const sb = await makeSandbox({
    config: "[profile work]\nregion = eu-west-1\n\n[profile role]\nrole_arn = arn:aws:iam::111111111111:role/r\n",
  });
  try {
    const r = await runCli(["exec", "--json", "work"], { env: sb.env });
    equal(r.code, 1);
    equal(
      r.stderr,
      "aws-vault: error: exec: profile work: no credentials: no keys are stored for it and it sets no " +
        "source_profile/role_arn, sso_start_url, credential_process or web_identity_token_file; " +
        'run "aws-vault add work" to store keys, or set one of those in its config\n',
    );
    const role = await runCli(["exec", "--json", "role"], { env: sb.env });
    equal(role.code, 1);
    equal(
      role.stderr,
      "aws-vault: error: exec: profile role: no credentials: it sets role_arn but no source_profile to assume the " +
        'role with, and no keys are stored for it; set source_profile in its config, or run "aws-vault add role" ' +
        "to store keys\n",
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add with a wrong AWS_VAULT_FILE_PASSPHRASE: the CLI names the variable", async () => {
  const sb = await makeSandbox();
  try {
    const env = { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET };
    equal((await runCli(["add", "--env", "work"], { env })).code, 0);
    const r = await runCli(["add", "--env", "second"], { env: { ...env, AWS_VAULT_FILE_PASSPHRASE: "wrong" } });
    equal(r.code, 1);
    match(r.stderr, /^aws-vault: error: add: wrong passphrase: the one in AWS_VAULT_FILE_PASSPHRASE does not open/);
    ok(!r.stderr.includes(SECRET));
  } finally {
    await sb.cleanup();
  }
});
