/**
 * docs/threat-model.md cannot drift from the tests: every row of its claims table names the test that checks it (a
 * test file under tests/ and the exact `Deno.test` name, or `"test" > "step"` for a step), says why it cannot be
 * checked here, or names the test file another change is adding; this test parses the table and finds each cited
 * name as a literal in the cited file. A name that ends in `…` stands for a name written as a concatenation of
 * literals: its text is the first literal, which must be followed by `+`.
 * @module
 */
import { equal, fail, ok } from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;
const DOC = "docs/threat-model.md";
const TABLE_HEADING = "## Claims and their tests";

/** One cited test: the file, the test's name, and the step's when it is a step. */
interface Citation {
  readonly file: string;
  readonly test: string;
  readonly step?: string;
}

/** One row of the claims table. */
interface Row {
  readonly id: string;
  readonly claim: string;
  readonly check: string;
  readonly line: number;
}

/** The rows of the claims table: the first table after {@link TABLE_HEADING}. */
function claimRows(): Row[] {
  const lines = Deno.readTextFileSync(`${root}${DOC}`).split("\n");
  const start = lines.indexOf(TABLE_HEADING);
  ok(start >= 0, `${DOC} has no "${TABLE_HEADING}" section`);
  const rows: Row[] = [];
  let i = start + 1;
  while (i < lines.length && !lines[i].startsWith("|")) i++;
  i += 2; // the header and the separator
  for (; i < lines.length && lines[i].startsWith("|"); i++) {
    const cells = lines[i].slice(1, lines[i].trimEnd().length - 1).split(" | ").map((c) => c.trim());
    equal(cells.length, 3, `${DOC}:${i + 1}: a row needs exactly 3 cells (ID, claim, check): ${lines[i]}`);
    rows.push({ id: cells[0], claim: cells[1], check: cells[2], line: i + 1 });
  }
  return rows;
}

const CITATION = /`(tests\/[^`]+\.ts)`\s+"([^"]+)"(?:\s+>\s+"([^"]+)")?/g;

/** The citations in a check cell. */
function citations(check: string): Citation[] {
  return [...check.matchAll(CITATION)].map((m) => ({ file: m[1], test: m[2], step: m[3] }));
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Whether `source` declares a test (or a step, `step`) with `name`: the literal right after `Deno.test(`,
 * `.step(` or an options object's `name:`.
 */
function declares(source: string, name: string, step: boolean): boolean {
  const opener = step ? String.raw`(?:\.step\(|name:)` : String.raw`(?:Deno\.test\(|name:)`;
  if (name.endsWith("…")) {
    const prefix = escape(name.slice(0, -1).trimEnd());
    return new RegExp(`${opener}\\s*(["'\`])${prefix}[^"'\`]*\\1\\s*\\+`).test(source);
  }
  return new RegExp(`${opener}\\s*(["'\`])${escape(name)}\\1`).test(source);
}

Deno.test("threat model: every claim names a test that exists, a reason it cannot be checked, or a pending file", () => {
  const rows = claimRows();
  ok(rows.length >= 40, `only ${rows.length} claims parsed: is the table broken?`);
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const row of rows) {
    const where = `${DOC}:${row.line} (${row.id})`;
    if (!/^[A-Z]+\d+$/.test(row.id)) problems.push(`${where}: the ID is not like F1`);
    if (ids.has(row.id)) problems.push(`${where}: the ID is used twice`);
    ids.add(row.id);
    if (row.claim.length < 10) problems.push(`${where}: no claim`);
    if (row.check.startsWith("not checkable here:")) {
      if (row.check.length < 40) problems.push(`${where}: says it cannot be checked without saying why`);
      continue;
    }
    if (row.check.startsWith("pending:")) {
      const file = /`(tests\/[^`]+\.ts)`/.exec(row.check)?.[1];
      if (!file) problems.push(`${where}: a pending check names no test file`);
      else {
        // Another change is writing that file; once it is there it must at least hold tests (cite one by name then).
        const source = (() => {
          try {
            return Deno.readTextFileSync(`${root}${file}`);
          } catch {
            return undefined;
          }
        })();
        if (source !== undefined && !source.includes("Deno.test")) problems.push(`${where}: ${file} has no Deno.test`);
      }
      continue;
    }
    const cited = citations(row.check);
    if (cited.length === 0) problems.push(`${where}: cites no test (\`tests/x_test.ts\` "name")`);
    for (const c of cited) {
      let source: string;
      try {
        source = Deno.readTextFileSync(`${root}${c.file}`);
      } catch {
        problems.push(`${where}: ${c.file} does not exist`);
        continue;
      }
      if (!source.includes("Deno.test")) problems.push(`${where}: ${c.file} has no Deno.test`);
      if (!declares(source, c.test, false)) problems.push(`${where}: ${c.file} has no test named "${c.test}"`);
      if (c.step !== undefined && !declares(source, c.step, true)) {
        problems.push(`${where}: ${c.file} has no step named "${c.step}"`);
      }
    }
  }
  if (problems.length) fail(`the threat model's table cites what is not there:\n${problems.join("\n")}`);
});

Deno.test("threat model: the citation parser reads exact names, steps and concatenated names", () => {
  const source = 'Deno.test("a b", () => {});\nDeno.test({\n  name: "first part " +\n    "second",\n' +
    '  async fn(t) {\n    await t.step(\n      "the step",\n      () => {},\n    );\n  },\n});\n';
  ok(declares(source, "a b", false));
  ok(!declares(source, "a", false), "a prefix is not the name");
  ok(declares(source, "first part …", false));
  ok(!declares(source, "first part second", false), "a concatenated name is cited by its first literal and …");
  ok(declares(source, "the step", true));
  const cell = '`tests/a_test.ts` "x y" > "z"<br>`tests/b_test.ts` "w"';
  equal(
    JSON.stringify(citations(cell)),
    JSON.stringify([{ file: "tests/a_test.ts", test: "x y", step: "z" }, {
      file: "tests/b_test.ts",
      test: "w",
    }]),
  );
});
