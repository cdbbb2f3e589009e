/**
 * `log`: the audit log of credential hand-outs as a table, or as the stored JSON lines with `--json`
 * (docs/behaviour.md#log). Reads the rotated files too, oldest first, so the newest entries come last. Needs neither
 * the vault nor the config.
 * @module
 */

import { auditLogFiles, auditLogPath } from "../../audit/audit_log.ts";
import { parseDuration } from "../../config/duration.ts";
import { AppError } from "../../core/errors.ts";
import { parseRfc3339 } from "../../core/time.ts";
import type { CommandContext } from "../command.ts";
import { formatTable } from "../table.ts";
import type { logSpec } from "./specs.ts";

type Context = CommandContext<typeof logSpec>;

/** A `log` flag value that means nothing (`--since yesterday`). */
export class LogFilterError extends AppError {}

/** A stored line and what the table and the filters read of it. */
interface Entry {
  readonly line: string;
  readonly time?: string;
  readonly event?: string;
  readonly profile?: string;
  readonly roleArn?: string;
  readonly ssoRole?: string;
  readonly callerArn?: string;
  readonly source?: string;
  readonly cached?: boolean;
  readonly accessKeyId?: string;
  readonly format?: string;
  readonly requester?: {
    pid?: number;
    command?: string;
    script?: string;
    peer?: string;
    forwardedFor?: string;
  };
  readonly command?: string;
}

/**
 * The earliest time `--since` admits: an RFC 3339 time, or a Go duration (`24h`, `90m`) before now.
 * @throws LogFilterError for anything else
 */
export function sinceTime(text: string, now: Date): Date {
  if (/^\d{4}-/.test(text)) {
    const at = parseRfc3339(text);
    if (!at) {
      throw new LogFilterError(`--since: ${JSON.stringify(text)} is not an RFC 3339 time (2026-12-01T09:00:00Z)`);
    }
    return at;
  }
  try {
    return new Date(now.getTime() - parseDuration(text, { source: "--since" }));
  } catch (e) {
    throw new LogFilterError(
      `--since: ${JSON.stringify(text)} is neither a duration (24h, 90m) nor an RFC 3339 time: ${(e as Error).message}`,
    );
  }
}

/** Who asked, in one cell: `terraform[4242]`, `python3 aws[4242]`, `127.0.0.1:51234`. */
function who(entry: Entry): string {
  const r = entry.requester;
  if (!r) return "-";
  if (r.peer) return r.forwardedFor ? `${r.peer} for ${r.forwardedFor}` : r.peer;
  const name = [r.command, r.script].filter(Boolean).join(" ") || "?";
  return r.pid === undefined ? name : `${name}[${r.pid}]`;
}

function row(entry: Entry): string[] {
  const identity = entry.roleArn ?? (entry.ssoRole ? `sso:${entry.ssoRole}` : undefined) ?? entry.callerArn ?? "-";
  const event = entry.format ? `${entry.event}:${entry.format}` : entry.event ?? "?";
  const source = `${entry.source ?? "?"}${entry.cached ? " (cached)" : ""}`;
  const time = (entry.time ?? "?").replace(/\.\d+Z$/, "Z");
  return [time, event, entry.profile ?? "-", identity, source, entry.accessKeyId || "-", who(entry)];
}

/** Reads every file of the log, oldest first; lines that are not JSON objects are counted, not shown. */
function readEntries(path: string): { entries: Entry[]; unreadable: number } {
  const entries: Entry[] = [];
  let unreadable = 0;
  for (const file of auditLogFiles(path)) {
    for (const line of Deno.readTextFileSync(file).split("\n")) {
      if (line === "") continue;
      try {
        const value = JSON.parse(line);
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
        entries.push({ ...value, line });
      } catch {
        unreadable++;
      }
    }
  }
  return { entries, unreadable };
}

/** Runs `log`. */
export function run(context: Context): Promise<number> {
  const { flags, out } = context;
  const path = auditLogPath(context.env);
  if (!path) throw new AppError("cannot find the audit log: HOME is not set");
  const since = flags.since ? sinceTime(flags.since, context.now()).getTime() : undefined;
  const { entries, unreadable } = readEntries(path);
  if (unreadable > 0) out.stderr(`aws-vault: warning: ${unreadable} lines of ${path}* are not audit entries\n`);
  if (entries.length === 0 && unreadable === 0) {
    out.stderr(`No audit log entries in ${path}\n`);
    return Promise.resolve(0);
  }
  const shown = entries.filter((e) =>
    (flags.profile === undefined || e.profile === flags.profile) &&
    (flags.event === undefined || e.event === flags.event) &&
    (since === undefined || (e.time !== undefined && Date.parse(e.time) >= since))
  );
  if (flags.json) {
    out.stdout(shown.map((e) => `${e.line}\n`).join(""));
    return Promise.resolve(0);
  }
  const header = ["Time", "Event", "Profile", "Role/User", "Source", "Key", "Who"];
  const table = formatTable([header, header.map((h) => "=".repeat(h.length)), ...shown.map(row)], {
    minWidth: 0,
    padding: 2,
  });
  out.stdout(table.split("\n").map((l) => l.trimEnd()).join("\n"));
  return Promise.resolve(0);
}
