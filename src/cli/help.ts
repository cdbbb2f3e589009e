/**
 * Help text in kingpin's layout (`usage: …`, `Flags:`, `Args:`, `Commands:`), so users of the Go aws-vault
 * recognise it.
 * @module
 */

import { type AppSpec, type ArgSpec, BUILTIN_FLAGS, type CommandSpec, type FlagSpec } from "./spec.ts";

const BUILTINS = Object.values(BUILTIN_FLAGS);

/** Layout options. */
export interface HelpOptions {
  /** Wrap at this many columns (default 80, kingpin's fallback), so output does not depend on the terminal. */
  readonly width?: number;
}

/** The built-in `help` command, listed first like kingpin does. */
const HELP_COMMAND: CommandSpec = {
  name: "help",
  help: "Show help.",
  flags: {},
  args: [{ name: "command", help: "Show help on command.", repeated: true }],
};

/**
 * Help for the whole app: usage, description, global flags and the command list.
 * @param options.long also list every command's own flags (`--help-long`)
 */
export function appHelp(app: AppSpec, options?: HelpOptions & { readonly long?: boolean }): string {
  const width = options?.width ?? 80;
  const out = [`usage: ${app.name} [<flags>] <command> [<args> ...]`, "", wrap(app.help, width), ""];
  out.push("Flags:", ...twoColumns(flagRows([...BUILTINS, ...Object.values(app.flags)]), { indent: 2, width }), "");
  out.push("Commands:");
  for (const command of [HELP_COMMAND, ...app.commands]) {
    if (command.hidden) continue;
    out.push(`  ${command.name}${summary(command)}`, indent(wrap(command.help, width - 4), 4));
    const rows = options?.long ? flagRows(Object.values(command.flags)) : [];
    if (rows.length > 0) out.push(...twoColumns(rows, { indent: 4, width }));
    out.push("");
  }
  return finish(out);
}

/** Help for one command: its usage, description, its flags then the global ones, and its arguments. */
export function commandHelp(app: AppSpec, command: CommandSpec, options?: HelpOptions): string {
  const width = options?.width ?? 80;
  const out = [`usage: ${app.name} ${command.name}${summary(command)}`, "", wrap(command.help, width), ""];
  const flags = flagRows([...Object.values(command.flags), ...BUILTINS, ...Object.values(app.flags)]);
  out.push("Flags:", ...twoColumns(flags, { indent: 2, width }), "");
  const args = command.args.map((a): [string, string] => [argLabel(a), a.help]);
  if (args.length > 0) out.push("Args:", ...twoColumns(args, { indent: 2, width }), "");
  return finish(out);
}

/**
 * A man page (roff) for the whole app, as kingpin's `--help-man` writes it: NAME, SYNOPSIS, DESCRIPTION, OPTIONS
 * (the global flags) and COMMANDS (each with its flags). `man -l <(aws-vault --help-man)` shows it.
 */
export function manPage(app: AppSpec): string {
  const esc = (text: string) => text.replace(/\\/g, "\\e").replace(/^([.'])/gm, "\\&$1");
  const flagLines = (flags: readonly FlagSpec[]) =>
    flags.filter((f) => !f.hidden).flatMap((f) => {
      const value = f.kind === "bool" ? "" : `=${placeholder(f)}${f.repeated ? " ..." : ""}`;
      return [".TP", `\\fB${f.short ? `-${f.short}, ` : ""}--${f.name}${value}\\fR`, esc(flagHelp(f))];
    });
  const out = [
    `.TH ${app.name} 1 ${app.version} ""`,
    '.SH "NAME"',
    app.name,
    '.SH "SYNOPSIS"',
    ".TP",
    `\\fB${app.name} [<flags>] <command> [<args> ...]\\fR`,
    '.SH "DESCRIPTION"',
    esc(app.help),
    '.SH "OPTIONS"',
    ...flagLines([...BUILTINS, ...Object.values(app.flags)]),
    '.SH "COMMANDS"',
  ];
  for (const command of [HELP_COMMAND, ...app.commands]) {
    if (command.hidden) continue;
    out.push(".SS", `\\fB${command.name}${summary(command)}\\fR`, ".PP", esc(command.help));
    out.push(...flagLines(Object.values(command.flags)));
  }
  return out.join("\n") + "\n";
}

/** `[<flags>] <profile> [<cmd>] [<args>...]`: required flags spelled out, optional ones summarised. */
function summary(command: CommandSpec): string {
  const parts: string[] = [];
  const visible = Object.values(command.flags).filter((f) => !f.hidden);
  for (const flag of visible) {
    if (flag.required) parts.push(flag.kind === "bool" ? `--${flag.name}` : `--${flag.name}=${placeholder(flag)}`);
  }
  if (visible.some((f) => !f.required)) parts.push("[<flags>]");
  for (const arg of command.args) parts.push(argLabel(arg));
  return parts.map((p) => " " + p).join("");
}

function argLabel(arg: ArgSpec): string {
  const name = `<${arg.name}>${arg.repeated ? "..." : ""}`;
  return arg.required ? name : `[${name}]`;
}

function flagRows(flags: readonly FlagSpec[]): [string, string][] {
  const visible = flags.filter((f) => !f.hidden);
  const haveShort = visible.some((f) => f.short);
  return visible.map((flag) => {
    // `--no-x` only matters for bools that default to true, so only those advertise it.
    const negatable = flag.kind === "bool" && flag.default === true;
    let left = `--${negatable ? "[no-]" : ""}${flag.name}`;
    if (flag.kind !== "bool") left += `=${placeholder(flag)}`;
    // kingpin's mark of a flag that may be given several times.
    if (flag.repeated) left += " ...";
    left = flag.short ? `-${flag.short}, ${left}` : haveShort ? `    ${left}` : left;
    return [left, flagHelp(flag)];
  });
}

/**
 * A flag's help line: its text, then for an enum the accepted values and the default (`(env, json; default env)`),
 * then the env var it is read from.
 */
function flagHelp(flag: FlagSpec): string {
  let text = flag.help;
  // Unless the text lists them already (`Secret backend to use [file pass]`).
  const listed = flag.values?.every((v) => flag.help.includes(v)) ?? true;
  if (flag.kind === "enum" && flag.values && flag.values.length > 0 && !listed) {
    const fallback = typeof flag.default === "string" && flag.default !== "" ? `; default ${flag.default}` : "";
    text += ` (${flag.values.join(", ")}${fallback})`;
  }
  return flag.env ? `${text} ($${flag.env})` : text;
}

/** kingpin's placeholder: explicit, else the default (quoted for strings), else the upper-cased name. */
function placeholder(flag: FlagSpec): string {
  if (flag.placeholder) return flag.placeholder;
  if (typeof flag.default === "string" && flag.default !== "") {
    return flag.kind === "string" ? JSON.stringify(flag.default) : flag.default;
  }
  return flag.name.toUpperCase();
}

/** kingpin's two-column layout: the left column is as wide as its longest entry under 30 characters. */
function twoColumns(rows: readonly [string, string][], options: { indent: number; width: number }): string[] {
  const pad = 2;
  let left = 0;
  for (const [l] of rows) if (l.length > left && l.length < 30) left = l.length;
  const lead = " ".repeat(options.indent);
  const hang = " ".repeat(options.indent + left + pad);
  const lines: string[] = [];
  for (const [l, r] of rows) {
    const text = wrap(r, Math.max(20, options.width - options.indent - left - pad)).split("\n");
    if (l.length >= 30) lines.push(lead + l, hang + text[0]);
    else lines.push(lead + l.padEnd(left + pad) + text[0]);
    for (const more of text.slice(1)) lines.push(hang + more);
  }
  return lines.map((line) => line.trimEnd());
}

/** Greedy word wrap; explicit newlines are kept. */
function wrap(text: string, width: number): string {
  return text.split("\n").map((para) => {
    const lines: string[] = [];
    let line = "";
    for (const word of para.split(/\s+/).filter((w) => w !== "")) {
      if (line !== "" && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    lines.push(line);
    return lines.join("\n");
  }).join("\n");
}

function indent(text: string, n: number): string {
  return text.split("\n").map((l) => (l === "" ? l : " ".repeat(n) + l)).join("\n");
}

/** One trailing newline, no trailing blank lines. */
function finish(lines: readonly string[]): string {
  return lines.join("\n").replace(/\n+$/, "") + "\n";
}
