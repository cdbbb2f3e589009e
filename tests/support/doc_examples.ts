/**
 * The examples of README.md and docs/: every fenced block carries a name in an HTML comment just above it
 * (`<!-- example: quickstart-add -->`), and a test that checks the block against the program refers to it as
 * `docBlock("README.md", "quickstart-add")` with both arguments as string literals. tests/docs_examples_test.ts
 * fails for a block without a name or without such a test, so an example cannot be added, or drift, unseen.
 * @module
 */

import { fail } from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

/** One fenced code block of a document. */
export interface DocBlock {
  /** The document, relative to the repository root (`README.md`, `docs/guide.md`). */
  readonly file: string;
  /** The name from the `<!-- example: NAME -->` comment before it; "" when it has none. */
  readonly name: string;
  /** The info string after the opening fence (`sh`, `ini`, `console`, …). */
  readonly lang: string;
  /** The lines between the fences, joined with "\n" and ending with "\n". */
  readonly text: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
}

const NAME_COMMENT = /^<!--\s*example:\s*([A-Za-z0-9._-]+)\s*-->$/;

/** Every fenced block of `file` (relative to the repository root), in order. */
export function docBlocks(file: string): DocBlock[] {
  const lines = Deno.readTextFileSync(`${root}${file}`).split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+|~~~+)\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let name = "";
    for (let j = i - 1; j >= 0 && j >= i - 2; j--) {
      const m = NAME_COMMENT.exec(lines[j].trim());
      if (m) {
        name = m[1];
        break;
      }
      if (lines[j].trim() !== "") break;
    }
    const body: string[] = [];
    let k = i + 1;
    for (; k < lines.length; k++) {
      if (lines[k].trim().startsWith(fence) && lines[k].trim().replace(/[`~]/g, "") === "") break;
      body.push(indent && lines[k].startsWith(indent) ? lines[k].slice(indent.length) : lines[k]);
    }
    blocks.push({ file, name, lang, text: body.length ? `${body.join("\n")}\n` : "", line: i + 1 });
    i = k;
  }
  return blocks;
}

/**
 * The block named `name` in `file`.
 * @throws Error when there is none, so a renamed or removed example fails its test
 */
export function docBlock(file: string, name: string): DocBlock {
  const block = docBlocks(file).find((b) => b.name === name);
  if (!block) throw new Error(`${file} has no example named ${JSON.stringify(name)}`);
  return block;
}

/** The documents whose examples are checked: README.md and every Markdown file under docs/. */
export function documentedFiles(): string[] {
  const files = ["README.md"];
  const walk = (dir: string) => {
    for (const entry of [...Deno.readDirSync(`${root}${dir}`)].sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  walk("docs");
  return files;
}

/** A line without a trailing ` # comment` (two or more spaces, then `#`), as the examples annotate lines. */
export function stripComment(line: string): string {
  return line.replace(/\s{2,}#\s.*$/, "").replace(/\s+$/, "");
}

/** Whether `actual` is the line an example shows as `expected`, where `…` stands for any non-empty text. */
export function lineMatches(expected: string, actual: string): boolean {
  const pattern = expected.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+");
  return new RegExp(`^${pattern}$`).test(actual);
}

/**
 * Fails unless `actual` has as many lines as `expected` and each matches its shown line ({@link lineMatches}); the
 * message names `what` and shows both.
 */
export function assertShown(actual: readonly string[], expected: readonly string[], what: string): void {
  const same = actual.length === expected.length && expected.every((line, i) => lineMatches(line, actual[i]));
  if (!same) {
    fail(`${what}: the program printed\n${actual.join("\n")}\n--- but the document shows\n${expected.join("\n")}`);
  }
}

/** One `$ command` of a transcript and the lines shown after it (comments stripped). */
export interface TranscriptStep {
  readonly command: string;
  readonly output: readonly string[];
}

/**
 * Splits a transcript block (`$ command` lines, each followed by what it prints) into steps. Lines before the first
 * `$ ` are ignored; trailing blank lines of each step's output are dropped.
 */
export function transcript(text: string): TranscriptStep[] {
  const steps: { command: string; output: string[] }[] = [];
  for (const raw of text.split("\n")) {
    if (raw.startsWith("$ ")) steps.push({ command: stripComment(raw.slice(2)), output: [] });
    else if (steps.length) steps[steps.length - 1].output.push(stripComment(raw));
  }
  for (const s of steps) while (s.output.length && s.output[s.output.length - 1] === "") s.output.pop();
  return steps;
}

/**
 * Splits a shell command line into words as sh would for the simple lines the docs show: single and double quotes,
 * backslash escapes, `VAR=value` prefixes kept as words. No expansion.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === " " || c === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (c === '"') {
      let j = i + 1;
      let s = "";
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) s += line[++j];
        else s += line[j];
      }
      word = (word ?? "") + s;
      i = j;
    } else if (c === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * The aws-vault command lines of a block, as argv after the program: lines (or `$ ` lines of a transcript) that run
 * `aws-vault` (or a path ending in `/aws-vault`) first, after `VAR=value` assignments and `sudo`/`env`/`exec`, inside
 * `$(…)`, or as a `credential_process =` value. Comments are stripped; a line continued with `\` is joined to the next.
 */
export function awsVaultCommands(text: string): string[][] {
  const commands: string[][] = [];
  const isProgram = (w: string) => w === "aws-vault" || w.endsWith("/aws-vault");
  for (let line of text.replace(/\\\n\s*/g, " ").split("\n")) {
    line = stripComment(line.replace(/^\s*(\$|PS>|>)\s+/, ""));
    const inner = /\$\(((?:\S*\/)?aws-vault\s[^)]*)\)/.exec(line);
    if (inner) line = inner[1];
    line = line.replace(/^\s*credential_process\s*=\s*/, "");
    const words = shellWords(line);
    let i = 0;
    while (
      i < words.length && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]) || ["sudo", "env", "exec"].includes(words[i]))
    ) {
      i++;
    }
    if (i < words.length && isProgram(words[i])) commands.push(words.slice(i + 1));
  }
  return commands;
}
