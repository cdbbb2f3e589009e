/**
 * Many processes at once (docs/behaviour.md#cross-process-locks): 50 `export` processes started together for an MFA
 * role make one MFA prompt, one GetSessionToken and one AssumeRole, and all print the same credentials; a process
 * that holds the lock and dies does not block the others.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { cliCommand, makeSandbox, runCli, runProgram } from "./support/cli.ts";
import { DEV_KEYS, startMfaRoleFake, writeMfaRoleConfig } from "./support/mfa_role.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";
import { hasPass, makePassStore } from "./support/pass_store.ts";
import { lockFilePath, LockWaitError, withFileLock } from "../src/os/file_lock.ts";
import { envFromRecord } from "../src/core/env.ts";

Deno.test("50 export processes at once for an MFA role: 1 prompt, 1 GetSessionToken, 1 AssumeRole, 50 equal answers", async () => {
  const fake = await startMfaRoleFake();
  const sb = await makeSandbox();
  try {
    const mfa = await writeMfaRoleConfig(sb.home, fake);
    const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
    const added = await runCli(["add", "--env", "dev"], { env: { ...env, ...DEV_KEYS } });
    equal(added.code, 0, added.stderr);

    const runs = await Promise.all(
      Array.from({ length: 50 }, () => runProgram(["export", "--format=json", "guarded"], { env, bundle: true })),
    );
    for (const run of runs) equal(run.code, 0, run.stderr);
    const keys = new Set(runs.map((run) => JSON.parse(run.stdout).AccessKeyId));
    equal(keys.size, 1, "every process printed the same session");
    deepStrictEqual(
      { prompts: await mfa.prompts(), getSessionToken: fake.callsTo("GetSessionToken").length },
      { prompts: 1, getSessionToken: 1 },
    );
    equal(fake.callsTo("AssumeRole").length, 1);
  } finally {
    await fake.close();
    await sb.cleanup();
  }
});

const aws = await findAwsCli();

Deno.test({
  name:
    "pass backend, callers mixed (export, exec, the AWS CLI's credential_process) at once: one prompt and one session",
  ignore: !hasPass || aws === undefined,
  async fn() {
    const fake = await startMfaRoleFake();
    const store = await makePassStore();
    const home = store.env.HOME;
    try {
      await Deno.mkdir(`${home}/run`, { mode: 0o700 });
      const self = cliCommand({ bundle: true }).join(" ");
      const viacli = `[profile viacli]\ncredential_process = ${self} export --format=json guarded\n`;
      const mfa = await writeMfaRoleConfig(home, fake, viacli);
      const env = {
        ...store.env,
        AWS_VAULT_BACKEND: "pass",
        AWS_ENDPOINT_URL: fake.url,
        XDG_RUNTIME_DIR: `${home}/run`,
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      };
      equal((await runCli(["add", "--env", "dev"], { env: { ...env, ...DEV_KEYS } })).code, 0);

      const viaCli = () =>
        new Deno.Command(aws!, {
          args: [
            "sts",
            "get-caller-identity",
            "--profile",
            "viacli",
            "--region",
            "us-east-1",
            "--output",
            "text",
            "--endpoint-url",
            fake.url,
          ],
          env: { ...env, AWS_PAGER: "" },
          clearEnv: true,
        }).output().then((o) => ({
          code: o.code,
          stdout: new TextDecoder().decode(o.stdout),
          stderr: new TextDecoder().decode(o.stderr),
        }));
      const runs = await Promise.all([
        ...Array.from({ length: 4 }, () => runProgram(["export", "--format=json", "guarded"], { env, bundle: true })),
        ...Array.from(
          { length: 3 },
          () => runProgram(["exec", "guarded", "--", "sh", "-c", "echo $AWS_ACCESS_KEY_ID"], { env, bundle: true }),
        ),
        ...Array.from({ length: 3 }, viaCli),
      ]);
      for (const run of runs) equal(run.code, 0, run.stderr);
      const exported = new Set(runs.slice(0, 4).map((run) => JSON.parse(run.stdout).AccessKeyId));
      const execd = new Set(runs.slice(4, 7).map((run) => run.stdout.trim()));
      deepStrictEqual([...execd], [...exported], "exec handed out the same session");
      for (const run of runs.slice(7)) ok(run.stdout.includes("assumed-role/guarded/"), run.stdout);
      deepStrictEqual(
        {
          prompts: await mfa.prompts(),
          getSessionToken: fake.callsTo("GetSessionToken").length,
          assumeRole: fake.callsTo("AssumeRole").length,
        },
        { prompts: 1, getSessionToken: 1, assumeRole: 1 },
      );
    } finally {
      await fake.close();
      await store.cleanup();
    }
  },
});

Deno.test("file lock: a holder that dies releases it at once; a live holder is waited for, boundedly, and named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "file-lock-" });
  try {
    const path = await lockFilePath("test", "one", { env: envFromRecord({}), dir });
    // A process that takes the lock, says so, and then is killed while holding it.
    const script = `const f = await Deno.open(${JSON.stringify(path)}, { read: true, write: true, create: true });` +
      `await f.lock(true); await f.write(new TextEncoder().encode(Deno.pid + "\\n")); console.log("held");` +
      "await new Promise(() => setInterval(() => {}, 1000));";
    const holder = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped" }).spawn();
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    ok((await reader.read()).value?.includes("held"));

    await assertRejectsWith(
      () => withFileLock(path, () => Promise.resolve(0), { what: "a test session", waitMs: 300 }),
      new RegExp(`waiting for process ${holder.pid}, which is getting a test session`),
    );
    holder.kill("SIGKILL");
    await holder.status;
    await reader.cancel();
    equal(await withFileLock(path, () => Promise.resolve(42), { what: "a test session", waitMs: 10_000 }), 42);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file lock: a lock file that is a symlink or another user's is not used (and never written)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "file-lock-" });
  try {
    const target = `${dir}/victim`;
    await Deno.writeTextFile(target, "precious\n");
    const path = `${dir}/planted.lock`;
    await Deno.symlink(target, path);
    equal(await withFileLock(path, () => Promise.resolve("ran"), { what: "x" }), "ran");
    equal(await Deno.readTextFile(target), "precious\n", "the symlink's target was not written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function assertRejectsWith(fn: () => Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    ok(e instanceof LockWaitError, String(e));
    ok(message.test(e.message), e.message);
    return;
  }
  throw new Error("expected a LockWaitError");
}
