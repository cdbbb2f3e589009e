/**
 * What a newcomer sees at add's and remove's prompts: the MFA device ARN is asked only when it can be written, errors
 * without a terminal start on a line of their own and say how to go on, and Ctrl-D on an empty prompt cancels on a line
 * of its own.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { makeSandbox, runCli, runOnTerminal, runProgram, type Sandbox } from "./support/cli.ts";
import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ARN_QUESTION = "Enter MFA Device ARN";

function stored(sb: Sandbox) {
  const vault = new FileKeyring({ dir: sb.vaultDir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "test-pass" }) });
  return new CredentialKeyring(vault);
}

Deno.test("add does not ask for an MFA ARN it cannot write into an existing section, and says how to add it", async () => {
  const config = "# mine\n[profile work]\nregion = eu-west-1\n";
  const sb = await makeSandbox({ config });
  try {
    const r = await runCli(["add", "work"], { env: sb.env, stdin: `${KEY_ID}\n${SECRET}\n` });
    equal(r.code, 0, r.stderr);
    ok(!r.stderr.includes(ARN_QUESTION), r.stderr);
    ok(
      r.stderr.endsWith(
        `Not asking for an MFA device ARN: add does not change the existing [profile work] section of ` +
          `${sb.configPath}. To use MFA, add "mfa_serial = <your MFA device ARN>" to the [profile work] section ` +
          `yourself.\n`,
      ),
      r.stderr,
    );
    equal(r.stdout, 'Added credentials to profile "work" in vault\n');
    equal(await Deno.readTextFile(sb.configPath), config, "every byte kept");
    deepStrictEqual(await stored(sb).get("work"), { accessKeyId: KEY_ID, secretAccessKey: SECRET });
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add neither asks nor warns about MFA when the existing section already has mfa_serial", async () => {
  const config = "[default]\nmfa_serial = arn:aws:iam::111111111111:mfa/me\n";
  const sb = await makeSandbox({ config });
  try {
    const r = await runCli(["add", "default"], { env: sb.env, stdin: `${KEY_ID}\n${SECRET}\n` });
    equal(r.code, 0, r.stderr);
    equal(r.stderr, "Enter Access Key ID: Enter Secret Access Key: \n");
    equal(await Deno.readTextFile(sb.configPath), config);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add --no-add-config does not ask for an MFA ARN and says why", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runOnTerminal(["add", "--no-add-config", "solo"], {
      env: sb.env,
      answers: [["Enter Access Key ID: ", `${KEY_ID}\r`], ["Enter Secret Access Key: ", `${SECRET}\r`]],
    });
    deepStrictEqual(r.unmatched, []);
    equal(r.code, 0, r.output);
    ok(!r.output.includes(ARN_QUESTION), r.output);
    ok(
      r.output.includes(
        `Not asking for an MFA device ARN: --no-add-config leaves ${sb.configPath} unchanged. To use MFA, add ` +
          `"mfa_serial = <your MFA device ARN>" to the [profile solo] section yourself.`,
      ),
      r.output,
    );
    equal(await Deno.stat(sb.configPath).then(() => true, () => false), false, "no config written");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("without a terminal the passphrase error starts on its own line and names AWS_VAULT_FILE_PASSPHRASE", async () => {
  const sb = await makeSandbox({ passphrase: null });
  try {
    const r = await runProgram(["add", "--env", "work"], {
      env: { ...sb.env, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    equal(r.code, 1);
    equal(
      r.stderr,
      `Enter passphrase to unlock "${sb.vaultDir}/": \n` +
        "aws-vault: error: add: no terminal to ask for the vault passphrase, and standard input is closed; " +
        "set AWS_VAULT_FILE_PASSPHRASE or run it in a terminal\n",
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add without a terminal points to --env", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runCli(["add", "work"], { env: sb.env });
    equal(r.code, 1);
    equal(
      r.stderr,
      "Enter Access Key ID: \n" +
        "aws-vault: error: add: no terminal to ask for the access key ID, and standard input is closed; " +
        "use --env to take the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n",
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("remove without a terminal points to -f", async () => {
  const sb = await makeSandbox();
  try {
    await stored(sb).set("work", { accessKeyId: KEY_ID, secretAccessKey: SECRET });
    const r = await runCli(["remove", "work"], { env: sb.env });
    equal(r.code, 1);
    equal(
      r.stderr,
      'Delete credentials for profile "work"? (y|N) \n' +
        "aws-vault: error: remove: no terminal to ask for the confirmation, and standard input is closed; " +
        "use -f (--force) to delete without asking\n",
    );
    ok(await stored(sb).has("work"), "nothing deleted");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("Ctrl-D on an empty visible prompt cancels (130), as at a hidden one, on a line of its own", async () => {
  const sb = await makeSandbox();
  try {
    const r = await runOnTerminal(["add", "work"], { env: sb.env, answers: [["Enter Access Key ID: ", "\x04"]] });
    deepStrictEqual(r.unmatched, []);
    equal(r.code, 130, r.output);
    ok(/Enter Access Key ID: \r?\naws-vault: error: cancelled/.test(r.output), JSON.stringify(r.output));
    deepStrictEqual(await stored(sb).keys(), [], "nothing stored");
  } finally {
    await sb.cleanup();
  }
});
