/**
 * A parser for the INI dialect of `~/.aws/config`. Values are read as the Go aws-vault's go-ini reads them; where the
 * AWS CLI would read the same text as another plausible value, the entry carries that reading too
 * ({@link IniEntry.alternative}) and profile resolution refuses it, naming the line and both readings
 * (docs/config.md has the table).
 *
 * Rules: `[section]` headers (names trimmed, case kept); `key = value` or `key: value` (keys trimmed and lowercased,
 * values trimmed, empty values allowed); `#` and `;` comment lines; in a value, `#` or `;` starts a comment (go-ini;
 * the AWS CLI has no inline comments, which matters only where it is not after whitespace); a value in matching
 * `"` or `'` quotes loses them (go-ini; the AWS CLI keeps them, which no AWS setting accepts); a value ending in `\`
 * continues on the next line (go-ini; the AWS CLI rejects the file). Lines indented deeper than the key above them
 * continue it, as in the AWS CLI: after an empty value they are nested `sub = value` settings
 * (`s3 =\n  max_concurrent_requests = 10`), after a non-empty value continuation lines. Keys indented at the same
 * depth are ordinary keys. CRLF line endings and a UTF-8 BOM are accepted.
 * @module
 */

import { ConfigError } from "../core/errors.ts";

/** One `key = value` setting of a section. */
export interface IniEntry {
  /** The value, trimmed; continuation lines are joined with `\n`. Empty when the key holds nested settings. */
  readonly value: string;
  /** 1-based line number of the key, for error messages. */
  readonly line: number;
  /** Nested sub-settings (`key =` followed by indented `sub = value` lines), sub-keys lowercased. */
  readonly nested?: ReadonlyMap<string, string>;
  /**
   * How the AWS CLI reads the value, when it differs from {@link value} (the Go aws-vault's reading) because a `#` or
   * `;` inside it, not after whitespace, is a comment for go-ini and text for the AWS CLI: `a;b` is `a` or `a;b`.
   */
  readonly alternative?: string;
}

/** One `[name]` section as it appears in the file (duplicates are not merged here). */
export interface IniSection {
  /** The text between the brackets, trimmed. Case-sensitive. */
  readonly name: string;
  /** 1-based line number of the header. */
  readonly line: number;
  /** Settings by lowercased key, in file order; a repeated key keeps its first position and the last value. */
  readonly entries: ReadonlyMap<string, IniEntry>;
}

interface OpenKey {
  key: string;
  indent: number;
  line: number;
  value: string;
  alternative?: string;
  continuation: string[];
  nested?: Map<string, string>;
  /** The value ended in `\`: the next line continues it, whatever its indentation. */
  joining: boolean;
}

const MAX_QUOTED = 40;

function quote(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > MAX_QUOTED ? `${t.slice(0, MAX_QUOTED)}…` : t);
}

/** Cuts an inline comment after whitespace: what every reader of the file agrees on. */
function stripInlineComment(text: string): string {
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if ((c === "#" || c === ";") && (text[i - 1] === " " || text[i - 1] === "\t")) return text.slice(0, i);
  }
  return text;
}

/**
 * A value as go-ini reads it (quotes removed, or cut at the first `#`/`;`), and the AWS CLI's other reading when a
 * comment character not after whitespace makes the two differ.
 */
function readValue(text: string): { value: string; alternative?: string } {
  const t = text.trim();
  if (t.length > 1 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0]) return { value: t.slice(1, -1) };
  const cut = t.search(/[#;]/);
  if (cut < 0) return { value: t };
  const value = t.slice(0, cut).trim();
  const spaced = stripInlineComment(t).trim();
  return spaced === value ? { value } : { value, alternative: spaced };
}

function leadingWhitespace(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === " " || line[i] === "\t")) i++;
  return i;
}

/**
 * Parses INI text into its sections, in file order.
 *
 * @param text the file contents
 * @param options.path the file name used in error messages (default `<config>`)
 * @throws ConfigError naming `path:line` for a malformed line
 */
export function parseIni(text: string, options?: { path?: string }): IniSection[] {
  const path = options?.path ?? "<config>";
  const fail = (line: number, why: string): never => {
    throw new ConfigError(`${path}:${line}: ${why}`);
  };
  const sections: { name: string; line: number; entries: Map<string, IniEntry> }[] = [];
  let current: (typeof sections)[number] | undefined;
  let open: OpenKey | undefined;

  const close = () => {
    if (!open || !current) return;
    const value = [open.value, ...open.continuation].join("\n");
    const alternative = open.alternative !== undefined && open.continuation.length === 0 ? open.alternative : undefined;
    const entry: IniEntry = open.nested
      ? { value: "", line: open.line, nested: open.nested }
      : { value, line: open.line, ...(alternative !== undefined ? { alternative } : {}) };
    current.entries.delete(open.key); // a repeated key moves nowhere: keep insertion order of the first, value of the last
    current.entries.set(open.key, entry);
    open = undefined;
  };

  const lines = (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    const trimmed = raw.trim();
    if (open?.joining) {
      // go-ini's continuation: the line is appended as it is, and may itself end in `\`.
      open.joining = trimmed.endsWith("\\");
      open.value += open.joining ? trimmed.slice(0, -1) : trimmed;
      continue;
    }
    if (trimmed === "" || trimmed[0] === "#" || trimmed[0] === ";") continue;
    const indent = leadingWhitespace(raw);

    if (open && indent > open.indent) {
      const body = stripInlineComment(trimmed).trim();
      if (open.value === "" && open.continuation.length === 0) {
        const eq = body.indexOf("=");
        const subKey = eq < 0 ? "" : body.slice(0, eq).trim().toLowerCase();
        if (subKey === "") fail(lineNo, `expected a nested "key = value" under "${open.key}", got ${quote(trimmed)}`);
        open.nested ??= new Map();
        open.nested.set(subKey, body.slice(eq + 1).trim());
      } else {
        open.continuation.push(body);
      }
      continue;
    }
    close();

    if (trimmed[0] === "[") {
      const end = trimmed.indexOf("]");
      if (end < 0) fail(lineNo, `unterminated section header, got ${quote(trimmed)}`);
      const rest = trimmed.slice(end + 1).trim();
      if (rest !== "" && rest[0] !== "#" && rest[0] !== ";") {
        fail(lineNo, `unexpected text after section header, got ${quote(trimmed)}`);
      }
      const name = trimmed.slice(1, end).trim();
      if (name === "") fail(lineNo, "empty section name []");
      current = { name, line: lineNo, entries: new Map() };
      sections.push(current);
      continue;
    }

    const eq = trimmed.search(/[=:]/);
    const key = eq < 0 ? "" : trimmed.slice(0, eq).trim().toLowerCase();
    if (key === "") fail(lineNo, `expected "key = value" or "[section]", got ${quote(trimmed)}`);
    if (!current) fail(lineNo, `setting outside of any [section], got ${quote(trimmed)}`);
    const rest = trimmed.slice(eq + 1).trim();
    if (rest.endsWith("\\")) {
      open = { key, indent, line: lineNo, value: rest.slice(0, -1), continuation: [], joining: true };
    } else {
      open = { key, indent, line: lineNo, ...readValue(rest), continuation: [], joining: false };
    }
  }
  close();
  return sections;
}
