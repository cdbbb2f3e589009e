/**
 * `exec` on Windows, where aws-vault cannot replace itself (no execve) and runs the command as a child: its exit
 * code, stdin/stdout/stderr passed through, the environment it gets (and nothing more), the nested-session refusal,
 * the default shell, console Ctrl-C, and `exec --ecs-server` with a Windows child fetching from the server.
 */
import assert from "node:assert/strict";
import {
  addFakeUser,
  addKeys,
  assertExit,
  awsVault,
  awsVaultCommand,
  clearWincred,
  denoScript,
  FAKE_AWS,
  makeSandbox,
  NEEDS_FAKE_AWS,
  parseEnvLines,
  runProcess,
  type Sandbox,
  UNDER_WINE,
  windowsSuite,
  writeScript,
} from "./support.ts";

const test = windowsSuite("exec");
const KEYS = { accessKeyId: "AKIAEXECWINDOWS00001", secretAccessKey: "exec/secret" };

/** A sandbox with long-term keys for profile `e` (region eu-north-1) in the Credential Manager. */
async function withProfile(fn: (sb: Sandbox) => Promise<void>, keys = KEYS): Promise<void> {
  await clearWincred();
  const sb = await makeSandbox({ config: "[profile e]\nregion = eu-north-1\n" });
  try {
    await addKeys(sb, "e", keys);
    await fn(sb);
  } finally {
    await clearWincred();
    await sb.cleanup();
  }
}

/** A child that prints its environment as KEY=value lines. */
const PRINT_ENV = "for (const [k, v] of Object.entries(Deno.env.toObject())) console.log(`${k}=${v}`);\n";

test("the child's exit code is aws-vault's (cmd.exe /c exit N, a Deno child)", async () => {
  await withProfile(async (sb) => {
    for (const code of [0, 1, 7, 255]) {
      const run = await awsVault(sb, ["exec", "--no-session", "e", "--", "cmd.exe", "/c", `exit ${code}`]);
      assertExit(run, code, `exec … cmd.exe /c exit ${code}`);
    }
    const script = await writeScript(sb.home, "exit3.ts", "Deno.exit(3);\n");
    assertExit(await awsVault(sb, ["exec", "--no-session", "e", "--", ...denoScript(script)]), 3);
    const missing = await awsVault(sb, ["exec", "--no-session", "e", "--", "no-such-program"]);
    assertExit(missing, 1);
    assert.match(missing.stderr, /exec: "no-such-program": executable file not found in \$PATH/);
  });
});

test("stdin, stdout and stderr are the child's: bytes pass through unchanged", async () => {
  await withProfile(async (sb) => {
    const script = await writeScript(
      sb.home,
      "echo.ts",
      `const input = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
await Deno.stdout.write(input);
await Deno.stderr.write(new TextEncoder().encode("to stderr: " + input.length + "\\n"));
`,
    );
    const text = "line 1\r\nzürich € 𝄞\nno newline at the end";
    const run = await awsVault(sb, ["exec", "--no-session", "e", "--", ...denoScript(script)], { stdin: text });
    assertExit(run, 0);
    assert.equal(run.stdout, text);
    assert.equal(run.stderr, `to stderr: ${new TextEncoder().encode(text).length}\n`);
  });
});

test("the child's environment: aws-vault's own, minus the removed variables and the passphrase, plus the keys", async () => {
  await withProfile(async (sb) => {
    const script = await writeScript(sb.home, "env.ts", PRINT_ENV);
    const given = {
      AWS_VAULT_FILE_PASSPHRASE: "must-not-leak",
      AWS_PROFILE: "other",
      AWS_DEFAULT_PROFILE: "other",
      AWS_SESSION_TOKEN: "stale",
      AWS_SDK_LOAD_CONFIG: "1",
      AWS_CONFIG_FILE: sb.configPath,
      MY_SETTING: "kept as is",
    };
    const run = await awsVault(sb, ["exec", "--no-session", "e", "--", ...denoScript(script)], { env: given });
    assertExit(run, 0);
    const child = parseEnvLines(run.stdout);
    // What any process started with aws-vault's environment sees (Windows, and Wine, add a few variables of their
    // own to every process), then what exec changes.
    const [deno, args] = [denoScript(script)[0], denoScript(script).slice(1)];
    const direct = await runProcess(deno, args, { env: { ...sb.env, ...given } });
    assertExit(direct, 0, "the same script run directly");
    const expected: Record<string, string> = parseEnvLines(direct.stdout);
    for (const name of ["AWS_VAULT_FILE_PASSPHRASE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"]) {
      assert.ok(name in expected);
      delete expected[name];
    }
    delete expected.AWS_SDK_LOAD_CONFIG;
    Object.assign(expected, {
      AWS_VAULT: "e",
      AWS_REGION: "eu-north-1",
      AWS_DEFAULT_REGION: "eu-north-1",
      AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
    });
    const upper = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k.toUpperCase(), v]).sort());
    assert.deepEqual(upper(child), upper(expected));
    assert.equal(child.MY_SETTING, "kept as is");
    assert.equal(child.AWS_CONFIG_FILE, sb.configPath);
    assert.equal(child.AWS_VAULT_FILE_PASSPHRASE, undefined);
  });
});

test("with a session: AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION from STS, not the long-term keys", async () => {
  const keys = await addFakeUser("exec-session");
  await withProfile(async (sb) => {
    const script = await writeScript(sb.home, "env.ts", PRINT_ENV);
    const run = await awsVault(sb, ["exec", "e", "--", ...denoScript(script)], {
      env: { AWS_ENDPOINT_URL: FAKE_AWS! },
    });
    assertExit(run, 0);
    const child = parseEnvLines(run.stdout);
    assert.match(child.AWS_ACCESS_KEY_ID, /^ASIA/);
    assert.notEqual(child.AWS_SECRET_ACCESS_KEY, keys.secretAccessKey);
    assert.ok(child.AWS_SESSION_TOKEN);
    assert.match(child.AWS_CREDENTIAL_EXPIRATION, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(child.AWS_ENDPOINT_URL, FAKE_AWS);
  }, keys);
}, { skip: NEEDS_FAKE_AWS });

test("nested sessions are refused (AWS_VAULT set), for exec and export", async () => {
  await withProfile(async (sb) => {
    for (const args of [["exec", "--no-session", "e", "--", "cmd.exe", "/c", "exit 0"], ["export", "e"]]) {
      const run = await awsVault(sb, args, { env: { AWS_VAULT: "outer" } });
      assertExit(run, 1);
      assert.match(
        run.stderr,
        /running in an existing aws-vault subshell; 'exit' from the subshell or unset AWS_VAULT to force/,
      );
    }
  });
});

test("exec without a command starts cmd.exe (SHELL unset): it reads stdin, its exit code is aws-vault's", async () => {
  await withProfile(async (sb) => {
    const run = await awsVault(sb, ["--debug", "exec", "--no-session", "e"], {
      // One line, and exit /b: Wine's cmd drops the code of an `exit` read from a pipe after another line, or
      // without /b; Windows' cmd takes any of these.
      stdin: "echo vault=%AWS_VAULT% key=%AWS_ACCESS_KEY_ID% & exit /b 5\r\n",
    });
    assertExit(run, 5);
    assert.match(run.stdout, /vault=e key=AKIAEXECWINDOWS00001/);
    assert.match(run.stderr, /Starting subshell (\S*\\)?cmd\.exe, use `exit` to exit the subshell/i);
    // SHELL, when set (Git Bash, MSYS), wins, as in aws-vault; else %COMSPEC% (the full path), not a PATH lookup.
    const script = await writeScript(sb.home, "shell.ts", "console.log('my shell'); Deno.exit(4);\n");
    const cmd = await writeScript(sb.home, "myshell.cmd", `@"${denoScript(script).join('" "')}"\r\n`);
    const custom = await awsVault(sb, ["exec", "--no-session", "e"], { env: { SHELL: cmd } });
    assertExit(custom, 4);
    assert.match(custom.stdout, /my shell/);
    const comspec = await awsVault(sb, ["--debug", "exec", "--no-session", "e"], { env: { ComSpec: cmd } });
    assertExit(comspec, 4);
    assert.match(comspec.stdout, /my shell/);
    assert.ok(comspec.stderr.includes(`Starting subshell ${cmd},`), comspec.stderr);
  });
});

/**
 * Starts `driver.ts` in a console of its own (FreeConsole + AllocConsole, so the event cannot reach the test runner),
 * which runs `aws-vault exec e -- <child>` in it, waits until the child is ready, sends the console `event`
 * (GenerateConsoleCtrlEvent to process group 0: every process in that console) and reports what happened.
 */
async function consoleEvent(sb: Sandbox, event: "CTRL_C_EVENT" | "CTRL_BREAK_EVENT") {
  const log = `${sb.home}\\events.log`;
  const child = await writeScript(
    sb.home,
    "child.ts",
    `const log = (s: string) => Deno.writeTextFileSync(${JSON.stringify(log)}, s + "\\n", { append: true });
for (const sig of ["SIGINT", "SIGBREAK"] as const) {
  Deno.addSignalListener(sig, () => { log("child got " + sig); setTimeout(() => Deno.exit(42), 300); });
}
log("child ready");
setTimeout(() => { log("child timed out"); Deno.exit(7); }, 10_000);
`,
  );
  const [deno, base] = awsVaultCommand();
  const argv = [deno, ...base, "exec", "--no-session", "e", "--", ...denoScript(child)];
  const driver = await writeScript(
    sb.home,
    "driver.ts",
    `const k32 = Deno.dlopen("kernel32.dll", {
  FreeConsole: { parameters: [], result: "i32" },
  AllocConsole: { parameters: [], result: "i32" },
  GenerateConsoleCtrlEvent: { parameters: ["u32", "u32"], result: "i32" },
  GetLastError: { parameters: [], result: "u32" },
}).symbols;
const log = (s: string) => Deno.writeTextFileSync(${JSON.stringify(log)}, s + "\\n", { append: true });
k32.FreeConsole();
if (!k32.AllocConsole()) throw new Error("AllocConsole failed");
// The driver shares the new console: it must survive its own event.
Deno.addSignalListener("SIGINT", () => {});
Deno.addSignalListener("SIGBREAK", () => {});
const argv = ${JSON.stringify(argv)};
const awsVault = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "null", stderr: "null" }).spawn();
for (let i = 0; i < 300 && !Deno.readTextFileSync(${JSON.stringify(log)}).includes("child ready"); i++) {
  await new Promise((r) => setTimeout(r, 50));
}
const sent = k32.GenerateConsoleCtrlEvent(${event === "CTRL_C_EVENT" ? 0 : 1}, 0);
log(sent ? "event sent" : "event not sent: error " + k32.GetLastError());
const status = await awsVault.status;
log("aws-vault exited " + status.code);
await new Promise((r) => setTimeout(r, 1000));
`,
  );
  await Deno.writeTextFile(log, "");
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--no-config", driver],
    env: sb.env,
    clearEnv: true,
    stdin: "null",
  }).output();
  const lines = (await Deno.readTextFile(log)).split("\n").filter(Boolean);
  return { driverCode: run.code, driverStderr: new TextDecoder().decode(run.stderr), lines };
}

test(
  "Ctrl-C reaches the command; aws-vault outlives it, waits, and exits with the command's code (as on Unix)",
  async () => {
    await withProfile(async (sb) => {
      const { lines, driverCode, driverStderr } = await consoleEvent(sb, "CTRL_C_EVENT");
      assert.equal(driverCode, 0, driverStderr);
      assert.ok(lines.includes("event sent"), lines.join("\n"));
      assert.ok(lines.includes("child got SIGINT"), lines.join("\n"));
      assert.ok(lines.includes("aws-vault exited 42"), lines.join("\n"));
      assert.ok(lines.indexOf("child got SIGINT") < lines.indexOf("aws-vault exited 42"));
    });
  },
);

test("Ctrl-Break reaches the command aws-vault runs", async () => {
  await withProfile(async (sb) => {
    const { lines } = await consoleEvent(sb, "CTRL_BREAK_EVENT");
    assert.ok(lines.includes("event sent"), lines.join("\n"));
    assert.ok(lines.includes("child got SIGBREAK"), lines.join("\n"));
  });
}, { skip: UNDER_WINE && "Wine 8 cannot send CTRL_BREAK_EVENT (GenerateConsoleCtrlEvent fails, error 6)" });

test("exec --ecs-server: a Windows child gets credentials from the server, never keys in its environment", async () => {
  const keys = await addFakeUser("exec-ecs");
  await withProfile(async (sb) => {
    const script = await writeScript(
      sb.home,
      "fetch.ts",
      `const url = Deno.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")!;
const token = Deno.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")!;
const denied = await fetch(url);
await denied.body?.cancel();
const answer = await fetch(url, { headers: { Authorization: token } });
const body = await answer.json();
console.log(JSON.stringify({
  url, denied: denied.status, status: answer.status, body,
  keyInEnv: Deno.env.get("AWS_ACCESS_KEY_ID") ?? null,
  vault: Deno.env.get("AWS_VAULT"),
}));
Deno.exit(6);
`,
    );
    const run = await awsVault(sb, ["exec", "--ecs-server", "e", "--", ...denoScript(script)], {
      env: { AWS_ENDPOINT_URL: FAKE_AWS! },
    });
    assertExit(run, 6);
    const seen = JSON.parse(run.stdout);
    assert.match(seen.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(seen.denied, 403, "no token, no credentials");
    assert.equal(seen.status, 200);
    assert.match(seen.body.AccessKeyId, /^ASIA/);
    assert.ok(seen.body.SecretAccessKey && seen.body.Token);
    assert.match(seen.body.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(seen.keyInEnv, null);
    assert.equal(seen.vault, "e");
  }, keys);
}, { skip: NEEDS_FAKE_AWS });
