/**
 * Session policies (docs/behaviour.md#session-policies): an inline JSON policy (`--policy FILE`,
 * `session_policy_file`) and managed policy ARNs (`--policy-arn`, `session_policy_arns`) that narrow the session
 * aws-vault hands out. Everything AWS would refuse is refused here first, before any call or MFA prompt, in one line
 * naming the flag or the config key; the policy's text is never echoed.
 * @module
 */

import type { ProfileConfig } from "../config/profile_config.ts";
import type { Env } from "../core/env.ts";
import { AppError } from "../core/errors.ts";
import { shortDigest } from "./cached_provider.ts";

/** AWS's limit on the `Policy` parameter of AssumeRole, AssumeRoleWithWebIdentity and GetFederationToken. */
export const MAX_INLINE_POLICY_CHARS = 2048;

/** AWS's limit on `PolicyArns`. */
export const MAX_POLICY_ARNS = 10;

/**
 * The largest policy file read. A pretty-printed policy is larger than what is sent (whitespace is dropped), but never
 * by this much: anything bigger is not a session policy, and a bound keeps a mistaken path (a log, a device) harmless.
 */
export const MAX_POLICY_FILE_BYTES = 64 * 1024;

/** The form of a managed policy ARN: `arn:<partition>:iam::<account id or aws>:policy/[path/]<name>`. */
const POLICY_ARN = /^arn:aws[-a-z]*:iam::(\d{12}|aws):policy\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,128}$/;

/** Policy versions IAM accepts. */
const POLICY_VERSIONS = ["2012-10-17", "2008-10-17"];

/** A session policy is malformed, unreadable or beyond AWS's limits; the message names its flag or config key. */
export class SessionPolicyError extends AppError {}

/** A validated session policy, ready to send. */
export interface SessionPolicy {
  /** The inline policy as sent: compact JSON (no whitespace), characters above U+00FF as `\uXXXX` escapes. */
  readonly policy?: string;
  /** The managed policy ARNs as sent: deduplicated and sorted. */
  readonly policyArns: readonly string[];
  /** Where each part came from: `--policy`, `--policy-arn`, `<config>:<line>: session_policy_file`, …. */
  readonly sources: { readonly file?: string; readonly arns?: string };
  /**
   * 16 hex of SHA-256 over the inline policy and the sorted ARNs: part of the cache key of every session made with
   * it, so narrowed and full sessions are never served for each other.
   */
  readonly digest: string;
}

/** The flag or key names a policy came from, for messages: `--policy and --policy-arn`, `session_policy_arns`. */
export function sessionPolicyOrigin(policy: SessionPolicy): string {
  const name = (source: string | undefined) => source?.replace(/^.*: /, "");
  return [name(policy.sources.file), name(policy.sources.arns)].filter((s) => s !== undefined).join(" and ");
}

/**
 * The profile's session policy (flags over profile keys), read and checked; undefined when it has none.
 * @throws SessionPolicyError naming the flag or `<config>:<line>: <key>` and the file, never the policy's text
 */
export async function loadSessionPolicy(
  profile: ProfileConfig,
  options: { env: Env },
): Promise<SessionPolicy | undefined> {
  const file = profile.sessionPolicyFile;
  const arns = profile.sessionPolicyArns ?? [];
  if (file === undefined && arns.length === 0) return undefined;
  const fileSource = profile.sessionPolicySources?.file ?? "--policy";
  const arnsSource = profile.sessionPolicySources?.arns ?? "--policy-arn";
  const policy = file === undefined ? undefined : await readPolicyFile(file, { source: fileSource, env: options.env });
  const policyArns = checkPolicyArns(arns, arnsSource);
  const digest = await shortDigest(JSON.stringify([policy ?? "", policyArns]));
  return {
    ...(policy === undefined ? {} : { policy }),
    policyArns,
    sources: { ...(file === undefined ? {} : { file: fileSource }), ...(arns.length ? { arns: arnsSource } : {}) },
    digest,
  };
}

/** `~/x` with the home directory; other paths as they are (relative ones from the working directory). */
function expandHome(path: string, env: Env): string {
  if (path !== "~" && !path.startsWith("~/") && !path.startsWith("~\\")) return path;
  const home = env.get("HOME") || env.get("USERPROFILE");
  return home ? home + path.slice(1) : path;
}

/** The policy file as it is sent. @throws SessionPolicyError `<source> <file>: <why>` */
async function readPolicyFile(path: string, options: { source: string; env: Env }): Promise<string> {
  const file = expandHome(path, options.env);
  const fail = (why: string) => new SessionPolicyError(`${options.source} ${file}: ${why}`);
  let bytes: Uint8Array;
  try {
    // Checked before it is opened: opening a FIFO would wait for a writer, a device could be endless.
    const info = await Deno.stat(file);
    if (!info.isFile) throw fail("not a regular file");
    if (info.size > MAX_POLICY_FILE_BYTES) {
      throw fail(`${info.size} bytes is too large for a session policy (at most ${MAX_POLICY_FILE_BYTES} bytes)`);
    }
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof SessionPolicyError) throw e;
    if (e instanceof Deno.errors.NotFound) throw fail("no such file");
    if (e instanceof Deno.errors.PermissionDenied) throw fail("permission denied");
    throw fail(`cannot read it: ${e instanceof Error ? e.message : e}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw fail("not UTF-8 text");
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw fail(`not valid JSON${jsonErrorPlace(e, text)}`);
  }
  checkDocument(document, fail);
  // Whitespace is not sent (AWS counts it against the limit); characters AWS does not take in a policy are escaped.
  const compact = JSON.stringify(document).replace(
    /[^\t\n\r\x20-\xff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  if (compact.length > MAX_INLINE_POLICY_CHARS) {
    throw fail(
      `the policy is ${compact.length} characters without whitespace; AWS accepts at most ${MAX_INLINE_POLICY_CHARS}`,
    );
  }
  return compact;
}

/**
 * ` at line L, column C` from a JSON.parse error that gives a position; V8's other messages quote the text, so
 * nothing of those is shown.
 */
function jsonErrorPlace(error: unknown, text: string): string {
  const m = /at position (\d+)/.exec(error instanceof Error ? error.message : "");
  if (!m) return "";
  const before = text.slice(0, Number(m[1])).split("\n");
  return ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** Checks the shape IAM requires of a policy document. @throws what `fail` makes */
function checkDocument(document: unknown, fail: (why: string) => Error): void {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw fail('not a policy document: it must be a JSON object with "Version" and "Statement"');
  }
  const { Version: version, Statement: statement } = document as Record<string, unknown>;
  if (version === undefined || statement === undefined) {
    const missing = [version === undefined ? '"Version"' : "", statement === undefined ? '"Statement"' : ""];
    throw fail(`not a policy document: it has no ${missing.filter(Boolean).join(" and no ")}`);
  }
  if (typeof version !== "string" || !POLICY_VERSIONS.includes(version)) {
    throw fail(`"Version" must be "2012-10-17" (or the older "2008-10-17")`);
  }
  const statements = Array.isArray(statement) ? statement : [statement];
  const isObject = (s: unknown) => typeof s === "object" && s !== null && !Array.isArray(s);
  if (statements.length === 0 || !statements.every(isObject)) {
    throw fail('"Statement" must be a statement object or a non-empty list of them');
  }
}

/** The ARNs deduplicated and sorted, each checked. @throws SessionPolicyError `<source>: "<arn>" …` */
function checkPolicyArns(arns: readonly string[], source: string): string[] {
  for (const arn of arns) {
    if (!POLICY_ARN.test(arn) || arn.length > 2048) {
      throw new SessionPolicyError(
        `${source}: ${JSON.stringify(arn)} is not a managed policy ARN ` +
          "(arn:aws:iam::<account id or aws>:policy/<name>)",
      );
    }
  }
  const unique = [...new Set(arns)].sort();
  if (unique.length > MAX_POLICY_ARNS) {
    throw new SessionPolicyError(`${source}: ${unique.length} policy ARNs; AWS accepts at most ${MAX_POLICY_ARNS}`);
  }
  return unique;
}

/**
 * Checks that the managed policies can narrow a session of `roleArn`: AWS takes only policies of the role's account
 * and AWS managed ones.
 * @throws SessionPolicyError naming the flag or key and the ARN
 */
export function checkPolicyAccount(policy: SessionPolicy, roleArn: string | undefined): void {
  const account = roleArn?.split(":")[4];
  if (!account) return;
  for (const arn of policy.policyArns) {
    const owner = arn.split(":")[4];
    if (owner !== "aws" && owner !== account) {
      throw new SessionPolicyError(
        `${policy.sources.arns ?? "--policy-arn"}: ${JSON.stringify(arn)} is a policy of account ${owner}; a ` +
          `session of ${roleArn} can be narrowed only by policies of account ${account} or AWS managed ones`,
      );
    }
  }
}

/** The `Policy` and `PolicyArns` parameters of an STS call, empty without a policy. */
export function sessionPolicyParams(
  policy: SessionPolicy | undefined,
): { Policy?: string; PolicyArns?: { arn: string }[] } {
  if (!policy) return {};
  return {
    ...(policy.policy === undefined ? {} : { Policy: policy.policy }),
    ...(policy.policyArns.length ? { PolicyArns: policy.policyArns.map((arn) => ({ arn })) } : {}),
  };
}
