/**
 * The audit log's examples in docs/behaviour.md and docs/guide.md, checked against the program: the line shown has
 * the keys a real line has, in the same order; the off switch shown turns the log off; the `log` transcript is what
 * `log` prints after the hand-outs it shows; the filter lines run.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { assertShown, awsVaultCommands, docBlock, shellWords, transcript } from "./support/doc_examples.ts";
import { runCli } from "./support/cli.ts";
import { type GuideWorld, guideWorld } from "./support/guide_world.ts";
import { parseConfigFile } from "../src/config/config_file.ts";

/** The guide's world with `extra` appended to the guide's config. */
function world(extra = ""): Promise<GuideWorld> {
  return guideWorld({ config: docBlock("docs/guide.md", "guide-config").text + extra });
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
    assertShown(r.stdout.trimEnd().split("\n"), step.output, `${block.name}: $ ${step.command}`);
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
