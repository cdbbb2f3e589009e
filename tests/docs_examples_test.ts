/**
 * The docs cannot drift from the program: every fenced block of README.md and docs/ is named and checked by a test
 * (tests/support/doc_examples.ts says how), and every aws-vault command line any block shows parses with the real
 * command line: known command, known flags, values of the right kind.
 */
import { equal, fail } from "node:assert/strict";
import { awsVaultCommands, docBlocks, documentedFiles } from "./support/doc_examples.ts";
import { APP_GLOBAL_FLAGS, appSpec } from "../src/app.ts";
import { parseCommandLine, readFlags } from "../src/cli/parser.ts";
import { COMMANDS } from "../src/cli/commands/table.ts";
import { envFromRecord } from "../src/core/env.ts";

const root = new URL("../", import.meta.url).pathname;

/** Every `docBlock("file", "name")` written in a test module. */
function referencedExamples(): Set<string> {
  const seen = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts") && path !== `${root}tests/support/doc_examples.ts`) {
        for (const m of Deno.readTextFileSync(path).matchAll(/docBlocks?\(\s*"([^"]+)",\s*"([^"]+)"/g)) {
          seen.add(`${m[1]}#${m[2]}`);
        }
      }
    }
  };
  walk(`${root}tests`);
  return seen;
}

Deno.test("every fenced block of README.md and docs/ is named and checked by a test", () => {
  const referenced = referencedExamples();
  const problems: string[] = [];
  for (const file of documentedFiles()) {
    const names = new Set<string>();
    for (const block of docBlocks(file)) {
      const where = `${file}:${block.line}`;
      if (block.name === "") {
        problems.push(`${where}: no <!-- example: NAME --> before the block`);
        continue;
      }
      if (names.has(block.name)) problems.push(`${where}: the name ${block.name} is used twice`);
      names.add(block.name);
      if (!referenced.has(`${file}#${block.name}`)) {
        problems.push(`${where}: no test checks ${block.name} (docBlock(${JSON.stringify(file)}, "${block.name}"))`);
      }
    }
  }
  if (problems.length) fail(`examples without a name or a test:\n${problems.join("\n")}`);
});

/** Words that stand for a value the reader chooses: `PROFILE`, `<name>`, `…`. */
const PLACEHOLDER = /(^|=)([A-Z][A-Z0-9_]{2,}|<[^>]+>|.*….*)$/;

Deno.test("every aws-vault command line in the docs parses: command, flags and their values", () => {
  const env = envFromRecord({});
  const app = appSpec(APP_GLOBAL_FLAGS);
  const problems: string[] = [];
  let checked = 0;
  for (const file of documentedFiles()) {
    for (const block of docBlocks(file)) {
      for (const argv of awsVaultCommands(block.text)) {
        checked++;
        const where = `${file}:${block.line} (${block.name}): aws-vault ${argv.join(" ")}`;
        try {
          const result = parseCommandLine(argv, { app, env });
          if (result.kind !== "run") continue;
          // A value the reader fills in cannot be checked; the flag's name was, above.
          if (argv.some((w) => PLACEHOLDER.test(w))) continue;
          readFlags(APP_GLOBAL_FLAGS, result.line);
          COMMANDS.find((c) => c.spec === result.command)?.prepare(result.line);
        } catch (e) {
          // Another OS's backend (a macOS or Windows example) is refused on this one by design.
          if (/backend/.test(String(e)) && /--backend(=|\s)(keychain|wincred)/.test(argv.join(" "))) continue;
          problems.push(`${where}: ${e instanceof Error ? e.message : e}`);
        }
      }
    }
  }
  if (problems.length) fail(`command lines that do not parse:\n${problems.join("\n")}`);
  equal(checked > 15, true, `only ${checked} command lines found: is the extraction broken?`);
});
