/**
 * The audit log's examples in docs/behaviour.md and docs/guide.md, checked against the program: the line shown has
 * the keys a real line has, in the same order; the off switch shown turns the log off; the `log` transcript is what
 * `log` prints after the hand-outs it shows; the filter lines run.
 */
import { deepStrictEqual, equal, fail, match, ok } from "node:assert/strict";
import { awsVaultCommands, docBlock, shellWords, transcript } from "./support/doc_examples.ts";
import { makeSandbox, runCli, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { parseConfigFile } from "../src/config/config_file.ts";

const JON = { userName: "jon", accessKeyId: "AKIAJONEXAMPLE000001", secretAccessKey: "jon/secret" };

interface World {
  readonly fake: FakeAws;
  readonly sb: Sandbox;
  readonly env: Record<string, string>;
  readonly logPath: string;
  cleanup(): Promise<void>;
}

/** The guide's config and user jon, with the fake AWS behind them; `extra` is appended to the config. */
async function world(extra = ""): Promise<World> {
  const fake = await startFakeAws();
  fake.addUser({ ...JON, mfaSerial: "arn:aws:iam::111111111111:mfa/jon", mfaSecret: "JBSWY3DPEHPK3PXP" });
  fake.addRole({ arn: "arn:aws:iam::222222222222:role/ReadOnly" });
  const sb = await makeSandbox({ config: docBlock("docs/guide.md", "guide-config").text + extra });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_ENDPOINT_URL_SIGNIN: fake.url };
  const added = await runCli(["add", "--env", "jon"], {
    env: { ...env, AWS_ACCESS_KEY_ID: JON.accessKeyId, AWS_SECRET_ACCESS_KEY: JON.secretAccessKey },
  });
  equal(added.code, 0, added.stderr);
  return {
    fake,
    sb,
    env,
    logPath: `${sb.home}/.local/state/aws-vault/audit.log`,
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}

/** `…` in a shown line stands for any non-empty text. */
function lineMatches(expected: string, actual: string): boolean {
  const pattern = expected.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+");
  return new RegExp(`^${pattern}$`).test(actual);
}

/** aws-vault's arguments of a transcript's `$ aws-vault …` line. */
function argsOf(command: string): string[] {
  const words = shellWords(command);
  equal(words.shift(), "aws-vault");
  return words;
}

Deno.test("behaviour.md: the line shown has a real export line's keys, in order, and its value shapes", async () => {
  const shownLine = JSON.parse(docBlock("docs/behaviour.md", "audit-line").text);
  const w = await world();
  try {
    const r = await runCli(["export", "--format=json", "readonly"], { env: w.env });
    equal(r.code, 0, r.stderr);
    const [real] = (await Deno.readTextFile(w.logPath)).trim().split("\n").map((l) => JSON.parse(l));
    deepStrictEqual(Object.keys(shownLine), Object.keys(real));
    for (const key of ["event", "profile", "roleArn", "source", "format"]) equal(shownLine[key], real[key], key);
    for (const line of [shownLine, real]) {
      match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      match(line.expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      match(line.accessKeyId, /^\*{16}\w{4}$/);
      match(line.version, /^v\d+\.\d+\.\d+/);
      ok(Object.keys(line.requester).every((k) => ["pid", "command", "script"].includes(k)));
    }
  } finally {
    await w.cleanup();
  }
});

Deno.test("behaviour.md and guide.md: the [aws-vault] section shown turns the log off", async () => {
  const block = docBlock("docs/behaviour.md", "audit-off");
  equal(docBlock("docs/guide.md", "guide-audit-off").text, block.text);
  equal(parseConfigFile(block.text).awsVaultSettings().get("audit")?.value, "off");
  const w = await world(`\n${block.text}`);
  try {
    const r = await runCli(["export", "readonly"], { env: w.env });
    equal(r.code, 0, r.stderr);
    equal(r.stderr, "");
    const written = await Deno.stat(w.logPath).then(() => true, () => false);
    equal(written, false, "no audit log was written");
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide.md: `log --since 24h` after an export and a login prints the table shown", async () => {
  const block = docBlock("docs/guide.md", "guide-audit-log");
  const w = await world();
  try {
    for (const args of [["export", "--format=json", "readonly"], ["login", "--stdout", "readonly"]]) {
      const r = await runCli(args, { env: w.env });
      equal(r.code, 0, r.stderr);
    }
    const [step] = transcript(block.text);
    const r = await runCli(argsOf(step.command), { env: w.env });
    equal(r.code, 0, r.stderr);
    const actual = r.stdout.trimEnd().split("\n");
    const same = actual.length === step.output.length && step.output.every((l, i) => lineMatches(l, actual[i]));
    if (!same) fail(`log printed\n${actual.join("\n")}\n--- but the guide shows\n${step.output.join("\n")}`);
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide.md: the filter examples run", async () => {
  const commands = awsVaultCommands(docBlock("docs/guide.md", "guide-audit-filters").text);
  equal(commands.length, 2);
  const w = await world();
  try {
    await runCli(["export", "readonly"], { env: w.env });
    for (const args of commands) {
      const r = await runCli(args, { env: w.env });
      equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    }
  } finally {
    await w.cleanup();
  }
});
