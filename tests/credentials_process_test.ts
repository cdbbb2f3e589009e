// credential_process profiles (docs/behaviour.md#credential_process) and MFA code sources
// (docs/behaviour.md#mfa-codes).
import assert from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { getProviderForProfile } from "../src/credentials/chain.ts";
import { parseCredentialProcessOutput, runShellCommand } from "../src/credentials/credential_process_provider.ts";
import { mfaPromptDriver, mfaPromptMessage, mfaTokenSource, registerMfaPromptDriver } from "../src/credentials/mfa.ts";
import { CredentialsError } from "../src/core/errors.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { envFromRecord } from "../src/core/env.ts";

const GOOD = '{"Version":1,"AccessKeyId":"ASIAPROCESS00000001","SecretAccessKey":"proc-secret",' +
  '"SessionToken":"proc-token","Expiration":"2099-01-02T03:04:05Z"}';

async function withVault(fn: (vault: FileKeyring, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "credentials-process-" });
  try {
    await fn(
      new FileKeyring({ dir: `${dir}/keys`, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: "t" }) }),
      dir,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function profile(command: string, name = "proc") {
  const text = `[profile ${name}]\ncredential_process = ${command}\n`;
  return resolveProfile(parseConfigFile(text), name, { env: envFromRecord({}) });
}

Deno.test("credential_process: output parsed, cached as credential_process, rerun only without cache", async () => {
  await withVault(async (vault, dir) => {
    const script = `${dir}/creds.sh`;
    await Deno.writeTextFile(
      script,
      `echo run >> '${dir}/runs'\necho 'progress on stderr' >&2\nprintf '%s' '${GOOD}'\n`,
    );
    const command = `sh '${script}'`;
    const runs = async () => (await Deno.readTextFile(`${dir}/runs`).catch(() => "")).split("\n").length - 1;
    const creds = await (await getProviderForProfile(profile(command), {
      vault,
      env: envFromRecord({}),
      now: () => new Date(),
    })).retrieve();
    assert.deepEqual(creds, {
      accessKeyId: "ASIAPROCESS00000001",
      secretAccessKey: "proc-secret",
      sessionToken: "proc-token",
      expiration: new Date("2099-01-02T03:04:05Z"),
    });
    assert.equal(await runs(), 1);
    assert.deepEqual(
      await (await getProviderForProfile(profile(command), { vault, env: envFromRecord({}), now: () => new Date() }))
        .retrieve(),
      creds,
    );
    assert.equal(await runs(), 1, "served from the vault");
    assert.ok((await vault.keys()).some((k) => k.startsWith("credential_process,cHJvYw,,")));
    await (await getProviderForProfile(profile(command), {
      vault,
      env: envFromRecord({}),
      noCache: true,
      now: () => new Date(),
    })).retrieve();
    assert.equal(await runs(), 2);
  });
});

Deno.test("credential_process: errors quote the command and never the output", async () => {
  await withVault(async (vault) => {
    const run = async (command: string) => {
      const provider = await getProviderForProfile(profile(command), {
        vault,
        env: envFromRecord({}),
        noCache: true,
        now: () => new Date(),
      });
      return await provider.retrieve().then(() => undefined, (e) => e);
    };
    const missing = await run(`echo '{"AccessKeyId":"AKIALONGTERM0000001","SecretAccessKey":"leak-me"}'`);
    assert.ok(missing instanceof CredentialsError);
    assert.match(
      missing.message,
      /^profile proc: JSON credential from command "echo .*" missing the following fields:/,
    );
    assert.ok(missing.message.endsWith(" missing the following fields: [Expiration SessionToken]"));
    const bad = await run("echo ASIAOUTPUTSECRET-not-json");
    assert.equal(
      bad.message,
      'profile proc: invalid JSON format from command "echo ASIAOUTPUTSECRET-not-json": not valid JSON',
    );
    const quiet = await run("printf '%s' '{\"AccessKeyId\": 7}'");
    assert.match(quiet.message, /AccessKeyId is not a string$/);
    const failing = await run("exit 4");
    assert.equal(failing.message, 'profile proc: running command "exit 4": exit status 4');
  });
});

Deno.test("parseCredentialProcessOutput: field names are case-insensitive, Version is ignored", () => {
  const creds = parseCredentialProcessOutput(
    "x",
    '{"accesskeyid":"A","SECRETACCESSKEY":"S","sessionToken":"T","expiration":"2030-01-01T00:00:00.123+01:00"}',
  );
  assert.deepEqual(creds, {
    accessKeyId: "A",
    secretAccessKey: "S",
    sessionToken: "T",
    expiration: new Date("2029-12-31T23:00:00.123Z"),
  });
  assert.throws(
    () =>
      parseCredentialProcessOutput(
        "x",
        '{"AccessKeyId":"A","SecretAccessKey":"S","SessionToken":"T","Expiration":"soon"}',
      ),
    /invalid JSON format from command "x": Expiration is not an RFC 3339 time/,
  );
  assert.throws(
    () => parseCredentialProcessOutput("x", "[1]"),
    /invalid JSON format from command "x": the data is not a JSON object/,
  );
});

Deno.test("runShellCommand: only stdout is captured; the tty mode works without a terminal too", async () => {
  const out = await runShellCommand("echo out; echo err >&2; exit 0", { env: envFromRecord({}) });
  assert.deepEqual(out, { success: true, failure: "", stdout: "out\n" });
  const tty = await runShellCommand("printf '%s' \"$0:$#\"; echo ' x'", { stdio: "tty", env: envFromRecord({}) });
  assert.equal(tty.stdout, "/bin/sh:0 x\n", "the command runs as sh -c <command>");
  assert.deepEqual(await runShellCommand("kill -9 $$", { env: envFromRecord({}) }), {
    success: false,
    failure: "signal: SIGKILL",
    stdout: "",
  });
});

Deno.test("MFA source order: --mfa-token, then mfa_process, then the prompt; nothing runs until asked", async () => {
  const base = { profileName: "p", mfaSerial: "arn:aws:iam::1:mfa/p" };
  let prompted = 0;
  const prompt = (serial: string) => {
    prompted++;
    return Promise.resolve(` 123456 for ${serial}\n`);
  };
  const resolved = (extra: string) =>
    resolveProfile(parseConfigFile(`[profile p]\nmfa_serial = ${base.mfaSerial}\n${extra}`), "p", {
      env: envFromRecord({}),
    });
  const fromFlag = resolveProfile(parseConfigFile(`[profile p]\nmfa_process = exit 1\n`), "p", {
    env: envFromRecord({}),
    flags: { mfaToken: "111111" },
  });
  assert.equal(await mfaTokenSource(fromFlag, { mfa: { prompt }, env: envFromRecord({}) })(), "111111");
  assert.equal(
    await mfaTokenSource(resolved("mfa_process = echo '  222222  '"), { mfa: { prompt }, env: envFromRecord({}) })(),
    "222222",
  );
  const source = mfaTokenSource(resolved(""), { mfa: { prompt }, env: envFromRecord({}) });
  assert.equal(prompted, 0, "lazy");
  assert.equal(await source(), `123456 for ${base.mfaSerial}`);
  await assert.rejects(mfaTokenSource(resolved("mfa_process = exit 2"), { env: envFromRecord({}) })(), {
    message: "profile p: process provider: exit status 2",
  });
});

Deno.test("prompt drivers plug in by name; unknown ones are refused with the available names", async () => {
  assert.equal(mfaPromptMessage("arn:aws:iam::1:mfa/me"), "Enter MFA code for arn:aws:iam::1:mfa/me: ");
  registerMfaPromptDriver("test-driver", (serial) => Promise.resolve(`code-for-${serial}`));
  assert.equal(await mfaPromptDriver("test-driver", "p", { env: envFromRecord({}) })("s"), "code-for-s");
  assert.throws(
    () => mfaPromptDriver("zenity", "p", { env: envFromRecord({}) }),
    /^CredentialsError: profile p: MFA prompt driver "zenity" is not available \(available: .*terminal/,
  );
  const p = resolveProfile(parseConfigFile("[profile p]\nmfa_serial = s\n"), "p", {
    env: envFromRecord({}),
    flags: { mfaPromptMethod: "test-driver" },
  });
  assert.equal(await mfaTokenSource(p, { env: envFromRecord({}) })(), "code-for-s");
});
