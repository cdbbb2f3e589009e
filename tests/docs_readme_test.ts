/**
 * README.md, example by example (tests/support/doc_examples.ts): the quickstart as a newcomer meets it — on a real
 * terminal, with no passphrase in the environment and no backend chosen — then credential_process through the real
 * AWS CLI, the scripted `add`, the ECS server, and the layout of the repository. The fake AWS stands in for AWS.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { docBlock, shellWords, stripComment, transcript } from "./support/doc_examples.ts";
import { addKeys, cliCommand, makeSandbox, runCli, runOnTerminal, runProgram, type Sandbox } from "./support/cli.ts";
import { secretServiceSkipReason, startSecretService } from "./support/secret_service.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { findAwsCli } from "./support/fake_aws/testing.ts";

const root = new URL("../", import.meta.url).pathname;
const aws = await findAwsCli();
const has = (program: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${program}`], stdout: "null" }).outputSync().success;

/** The README's home directory in its transcripts. */
const README_HOME = "/home/me";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PASSPHRASE = "correct horse";

/** What a terminal showed, as the README prints it: `\n` line ends, no trailing blanks, the sandbox home as /home/me. */
function screen(output: string, sb: Sandbox): string[] {
  return output.replaceAll("\r\n", "\n").replaceAll(sb.home, README_HOME).split("\n").map((l) => l.trimEnd())
    .filter((l, i, all) => !(l === "" && i === all.length - 1));
}

/** A directory with `aws-vault` (this checkout) and the AWS CLI, to put first on PATH as an installed setup has it. */
async function binDir(sb: Sandbox): Promise<string> {
  const bin = `${sb.home}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  await Deno.writeTextFile(`${bin}/aws-vault`, `#!/bin/sh\nexec ${cliCommand().map(q).join(" ")} "$@"\n`, {
    mode: 0o755,
  });
  // Debian's AWS CLI (2.9) predates AWS_ENDPOINT_URL: the test's `aws` is it, pointed at the fake AWS.
  if (aws) {
    await Deno.writeTextFile(`${bin}/aws`, `#!/bin/sh\nexec ${q(aws)} --endpoint-url "$AWS_ENDPOINT_URL" "$@"\n`, {
      mode: 0o755,
    });
  }
  return bin;
}

/** The user of the quickstart: `me`, with the README's key ID and MFA device, in the fake's account 111111111111. */
function addQuickstartUser(fake: FakeAws, keyId: string, mfaSerial: string) {
  fake.addUser({
    userName: "me",
    accessKeyId: keyId,
    secretAccessKey: SECRET,
    mfaSerial,
    mfaSecret: "JBSWY3DPEHPK3PXP",
  });
}

/** `Prompt: answer` of a transcript line, split at the prompt's last `: `. */
function answerOf(line: string, prompt: string): string {
  ok(line.startsWith(prompt), `${JSON.stringify(line)} does not start with ${JSON.stringify(prompt)}`);
  return line.slice(prompt.length).trim();
}

Deno.test({
  name: "README quickstart on a terminal: add, list, the config it wrote, exec, a shell, export (no passphrase set)",
  ignore: !aws || !has("python3") || !has("bash"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const sb = await makeSandbox({ passphrase: null });
    const fake = await startFakeAws();
    try {
      const bin = await binDir(sb);
      const { AWS_VAULT_BACKEND: _, ...fresh } = sb.env;
      // A desktop session, as the README's reader has (its bus is never dialled with the file backend).
      const desktop = { DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus" };
      const env = {
        ...fresh,
        ...desktop,
        PATH: `${bin}:/usr/bin:/bin`,
        SHELL: "/bin/bash",
        AWS_ENDPOINT_URL: fake.url,
        // The AWS CLI pages output on a terminal; this one has no TERM for less.
        AWS_PAGER: "",
      };
      // The shell's prompt is the README's.
      await Deno.writeTextFile(`${sb.home}/.bashrc`, "PS1='$ '\n");

      const [add, list] = transcript(docBlock("README.md", "readme-quickstart-add").text);
      const keyId = answerOf(add.output[0], "Enter Access Key ID:");
      const mfaSerial = answerOf(add.output[2], "Enter MFA Device ARN (If MFA is not enabled, leave this blank):");
      addQuickstartUser(fake, keyId, mfaSerial);

      await t.step("readme-quickstart-add: add, then list", async () => {
        const r = await runOnTerminal(shellWords(add.command).slice(1), {
          env,
          answers: [
            ["Access Key ID: ", `${keyId}\r`],
            ["Secret Access Key: ", `${SECRET}\r`],
            ["leave this blank): ", `${mfaSerial}\r`],
            ['keys/": ', `${PASSPHRASE}\r`],
          ],
        });
        equal(r.code, 0, r.output);
        deepEqual(screen(r.output, sb), add.output);
        const listed = await runCli(shellWords(list.command).slice(1), { env });
        deepEqual(screen(listed.stdout, sb), list.output);
      });

      await t.step("readme-quickstart-config: what add appended, then the region the reader adds", async () => {
        const block = docBlock("README.md", "readme-quickstart-config").text;
        const [section, serial, region] = block.trimEnd().split("\n");
        equal(await Deno.readTextFile(sb.configPath), `${section}\n${serial}\n`);
        match(region, /^region = [a-z]+-[a-z]+-\d$/);
        await Deno.writeTextFile(sb.configPath, block);
      });

      await t.step("readme-quickstart-use: exec with MFA, a shell, export", async () => {
        const steps = transcript(docBlock("README.md", "readme-quickstart-use").text);
        const [first, shell, inShell, exit, exported] = steps;
        equal(steps.length, 5);
        const r = await runOnTerminal(shellWords(first.command).slice(1), {
          env,
          answers: [['keys/": ', `${PASSPHRASE}\r`], [`${mfaSerial}: `, `${fake.totp(mfaSerial)}\r`]],
        });
        equal(r.code, 0, r.output);
        deepEqual(screen(r.output, sb), first.output);
        equal(fake.callsTo("GetSessionToken").length, 1);

        // No command: $SHELL with the credentials; the cached session, so no second MFA code.
        const s = await runOnTerminal(shellWords(shell.command).slice(1), {
          env,
          answers: [['keys/": ', `${PASSPHRASE}\r`], ["$ ", `${inShell.command}\r`], ["$ ", `${exit.command}\r`]],
        });
        equal(s.code, 0, s.output);
        const shown = screen(s.output, sb);
        deepEqual(shown.slice(0, shell.output.length), shell.output);
        ok(shown.join("\n").includes(`${inShell.command}\n${inShell.output.join("\n")}`), s.output);
        equal(fake.callsTo("GetSessionToken").length, 1);

        // eval "$(aws-vault export …)" in a shell on a terminal, then the variables it set.
        const e = await new Deno.Command("python3", {
          args: [
            `${root}tests/support/pty_run.py`,
            JSON.stringify([['keys/": ', `${PASSPHRASE}\r`]]),
            "--",
            "sh",
            "-c",
            `${exported.command} && test -n "$AWS_SESSION_TOKEN" && echo "$AWS_REGION"`,
          ],
          env,
          clearEnv: true,
          cwd: sb.home,
          stdout: "piped",
        }).output();
        const shownExport = JSON.parse(new TextDecoder().decode(e.stdout));
        equal(shownExport.code, 0, shownExport.output);
        deepEqual(screen(shownExport.output, sb), [...exported.output, "eu-west-1"]);
      });

      await t.step("readme-credential-process: the AWS CLI runs aws-vault for a profile", async () => {
        const block = docBlock("README.md", "readme-credential-process").text;
        // Non-interactive, as an SDK runs it: the passphrase from the environment, the session cached above.
        await Deno.writeTextFile(sb.configPath, `\n${block}`, { append: true });
        const r = await new Deno.Command("aws", {
          args: ["sts", "get-caller-identity", "--profile", "work-tool", "--query", "Arn", "--output", "text"],
          env: { ...env, AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE, AWS_PAGER: "" },
          clearEnv: true,
        }).output();
        const dec = new TextDecoder();
        equal(r.code, 0, dec.decode(r.stderr));
        equal(dec.decode(r.stdout), "arn:aws:iam::111111111111:user/me\n");
        equal(fake.callsTo("GetSessionToken").length, 1, "the session exec made is reused");
      });
    } finally {
      await fake.close();
      await sb.cleanup();
    }
  },
});

Deno.test("readme-scripts-add: add --env with everything in the environment, no terminal", async () => {
  const sb = await makeSandbox({ passphrase: null });
  try {
    const bin = await binDir(sb);
    const line = stripComment(docBlock("README.md", "readme-scripts-add").text.trim());
    const filled = line.replace("AWS_VAULT_FILE_PASSPHRASE=…", "AWS_VAULT_FILE_PASSPHRASE=pw")
      .replace("AWS_ACCESS_KEY_ID=AKIA…", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE")
      .replace("AWS_SECRET_ACCESS_KEY=…", `AWS_SECRET_ACCESS_KEY=${SECRET}`);
    ok(!filled.includes("…"), filled);
    const r = await new Deno.Command("setsid", {
      args: ["-w", "sh", "-c", filled],
      env: { ...sb.env, PATH: `${bin}:/usr/bin:/bin` },
      clearEnv: true,
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    equal(r.code, 0, dec.decode(r.stderr));
    equal(dec.decode(r.stdout), 'Added credentials to profile "ci" in vault\n');
    equal((await runCli(["list", "--credentials"], { env: sb.env })).stdout, "ci\n");
  } finally {
    await sb.cleanup();
  }
});

Deno.test({
  name: "readme-servers: exec --ecs-server gives the command a server the AWS CLI uses; --ec2-server is an exec flag",
  ignore: !aws,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const sb = await makeSandbox({ config: "[profile work]\n" });
    const fake = await startFakeAws();
    try {
      const bin = await binDir(sb);
      await Deno.writeTextFile(sb.configPath, "[profile work]\nregion = eu-west-1\n");
      fake.addUser({ userName: "me", accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET });
      const env = { ...sb.env, PATH: `${bin}:/usr/bin:/bin`, AWS_ENDPOINT_URL: fake.url, AWS_PAGER: "" };
      await addKeys("work", { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SECRET }, env);
      const [ecs, ec2] = docBlock("README.md", "readme-servers").text.trim().split("\n").map((l) =>
        shellWords(stripComment(l))
      );
      deepEqual(ecs.slice(0, 5), ["aws-vault", "exec", "--ecs-server", "work", "--"]);
      deepEqual(ec2.slice(0, 5), ["aws-vault", "exec", "--ec2-server", "work", "--"]);
      // terraform is not here: the AWS CLI takes its place as the command that reads the server.
      const script = 'test -z "$AWS_ACCESS_KEY_ID" && aws sts get-caller-identity --query Arn --output text';
      const r = await new Deno.Command("aws-vault", {
        args: [...ecs.slice(1, 5), "sh", "-c", script],
        env,
        clearEnv: true,
      }).output();
      const dec = new TextDecoder();
      equal(r.code, 0, dec.decode(r.stderr));
      equal(dec.decode(r.stdout), "arn:aws:iam::111111111111:user/me\n");
    } finally {
      await fake.close();
      await sb.cleanup();
    }
  },
});

Deno.test("readme-two-commands: the launcher runs the tool; scripts/test is what CI runs", async () => {
  const lines = docBlock("README.md", "readme-two-commands").text.trim().split("\n").map((l) => stripComment(l));
  deepEqual(lines, ["scripts/aws-vault --help", "scripts/test"]);
  const r = await new Deno.Command(`${root}scripts/aws-vault`, { args: ["--help"], cwd: root }).output();
  equal(r.code, 0, new TextDecoder().decode(r.stderr));
  match(new TextDecoder().decode(r.stdout), /^usage: aws-vault \[<flags>\] <command> \[<args> \.\.\.\]\n/);
  ok((Deno.statSync(`${root}scripts/test`).mode! & 0o111) !== 0);
  ok(/\bscripts\/test\b/.test(Deno.readTextFileSync(`${root}.ci/run`)), ".ci/run runs scripts/test");
});

Deno.test("readme-layout: every folder and file the Development section names exists", () => {
  const text = docBlock("README.md", "readme-layout").text;
  const names = text.split("\n").map((l) => /^(\S+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
  ok(names.length >= 10, names.join(" "));
  for (const name of names) {
    const info = Deno.statSync(`${root}${name}`);
    equal(name.endsWith("/"), info.isDirectory, name);
  }
});

Deno.test({
  name: "readme-migrate-from-go: keys the Go tool left in secret-service move to the file store, dry run first",
  ignore: secretServiceSkipReason() !== undefined,
  fn: async () => {
    const ss = await startSecretService();
    const sb = await makeSandbox();
    try {
      // A headless gnome-keyring cannot create the `awsvault` collection (that needs a desktop prompt): the Go tool's
      // items are in `login` here, and the collection is named through the environment, not the README's command line.
      const env = { ...sb.env, ...ss.env, HOME: sb.home, AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME: "login" };
      const goItem = `{"Key":"work","Data":"${
        btoa('{"AccessKeyID":"AKIAIOSFODNN7EXAMPLE","SecretAccessKey":"s3cret"}')
      }","Label":"aws-vault (work)","Description":"","KeychainNotTrustApplication":false,"KeychainNotSynchronizable":false}`;
      equal((await ss.secretTool(["store", "--label=work", "profile", "work"], goItem)).code, 0);
      const [dryRun, migrate] = docBlock("README.md", "readme-migrate-from-go").text.trim().split("\n").map((l) =>
        shellWords(stripComment(l)).slice(1)
      );
      equal(dryRun.at(-1), "--dry-run");
      deepEqual(migrate, dryRun.slice(0, -1));
      const planned = await runProgram(dryRun, { env });
      equal(planned.code, 0, planned.stderr);
      ok(planned.stdout.includes("\n  work\n") && planned.stdout.includes("No changes made."), planned.stdout);
      equal((await runCli(["list", "--credentials", "--backend=file"], { env })).stdout, "");
      const moved = await runProgram(migrate, { env });
      equal(moved.code, 0, moved.stderr);
      ok(moved.stdout.includes("Migrating work... copied, verified"), moved.stdout);
      const exported = await runCli(["export", "--no-session", "--format=json", "work"], { env });
      equal(JSON.parse(exported.stdout).AccessKeyId, "AKIAIOSFODNN7EXAMPLE", exported.stderr);
    } finally {
      await sb.cleanup();
      await ss.stop();
    }
  },
});
