/**
 * Session policies as STS takes them on AssumeRole, AssumeRoleWithWebIdentity and GetFederationToken: `Policy` (an
 * inline JSON policy, at most 2,048 characters of `\t \n \r \u0020-\u00FF`) and `PolicyArns.member.N.arn` (at most 10
 * managed policy ARNs), checked with AWS's wording, packed-size limit included. A session issued with one remembers
 * it, and calls made with that session are held to it, minimally: an action must be allowed by a statement of the
 * inline policy or by a known AWS managed policy (`AdministratorAccess`, `ReadOnlyAccess`), and not denied. Resources
 * and conditions are not evaluated.
 * @module
 */

import { accessDenied, AwsError, validationError } from "./errors.ts";
import { checkText } from "./validate.ts";

type Params = Readonly<Record<string, string>>;

/** A session policy as the fake received it. */
export interface FakeSessionPolicy {
  /** The `Policy` text exactly as sent. */
  readonly policy?: string;
  /** The `PolicyArns` in request order. */
  readonly policyArns: readonly string[];
}

const ARN_FORM = /^arn:aws[-a-z]*:iam::(\d{12}|aws):policy\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]+$/;

/** What the known AWS managed policies allow: action patterns. */
const MANAGED: Readonly<Record<string, readonly string[]>> = {
  AdministratorAccess: ["*"],
  ReadOnlyAccess: ["*:Get*", "*:List*", "*:Describe*"],
};

function malformed(message: string): AwsError {
  return new AwsError("MalformedPolicyDocument", message);
}

/**
 * The session policy of a request, validated as STS validates it, or undefined when it has none.
 * @param account the account customer-managed policies must belong to (the role's, or the caller's for federation)
 */
export function sessionPolicyOf(params: Params, options: { account: string }): FakeSessionPolicy | undefined {
  const policy = params.Policy;
  const arns: string[] = [];
  for (let n = 1; params[`PolicyArns.member.${n}.arn`] !== undefined; n++) {
    arns.push(params[`PolicyArns.member.${n}.arn`]);
  }
  if (policy === undefined && arns.length === 0) return undefined;
  if (policy !== undefined) {
    checkText(policy, "Policy", { min: 1, max: 2048, pattern: "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" });
    let document: unknown;
    try {
      document = JSON.parse(policy);
    } catch {
      throw malformed("The policy is not in the valid JSON format.");
    }
    const d = document as Record<string, unknown> | null;
    if (typeof d !== "object" || d === null || Array.isArray(d) || d.Version === undefined || !d.Statement) {
      throw malformed("Syntax errors in policy.");
    }
  }
  if (arns.length > 10) {
    throw validationError(
      "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length " +
        "less than or equal to 10",
    );
  }
  for (const arn of arns) {
    checkText(arn, "PolicyArns.member.arn", { min: 20, max: 2048 });
    if (!ARN_FORM.test(arn)) throw validationError(`Invalid ARN: ${arn}`);
    const owner = arn.split(":")[4];
    if (owner !== "aws" && owner !== options.account) {
      throw malformed(`Policy ${arn} does not exist or is not attachable.`);
    }
  }
  const packed = packedPercent({ policy, policyArns: arns });
  if (packed > 100) {
    throw new AwsError(
      "PackedPolicyTooLarge",
      `Packed policy consumes ${packed}% of allotted space, please use smaller policy for this call.`,
    );
  }
  return { ...(policy === undefined ? {} : { policy }), policyArns: arns };
}

/** The `PackedPolicySize` STS reports: here plainly the share of 2,048 characters the policy and ARNs take. */
export function packedPercent(policy: FakeSessionPolicy): number {
  const size = (policy.policy?.length ?? 0) + policy.policyArns.reduce((n, arn) => n + arn.length, 0);
  return Math.ceil((size * 100) / 2048);
}

function matches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`,
    "i",
  );
  return re.test(action);
}

function listOf(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
}

/** Whether `statement` (Effect, Action or NotAction) applies to `action`. */
function covers(statement: Record<string, unknown>, action: string): boolean {
  if (statement.Action !== undefined) return listOf(statement.Action).some((p) => matches(p, action));
  if (statement.NotAction !== undefined) return !listOf(statement.NotAction).some((p) => matches(p, action));
  return false;
}

/** Whether a session narrowed by `policy` may call `action` (`iam:GetUser`): allowed by one of its parts, denied by none. */
export function sessionPolicyAllows(policy: FakeSessionPolicy, action: string): boolean {
  let allowed = false;
  if (policy.policy !== undefined) {
    const document = JSON.parse(policy.policy) as { Statement: unknown };
    const statements = (Array.isArray(document.Statement) ? document.Statement : [document.Statement]) as Record<
      string,
      unknown
    >[];
    for (const statement of statements) {
      if (!covers(statement, action)) continue;
      if (statement.Effect === "Deny") return false;
      if (statement.Effect === "Allow") allowed = true;
    }
  }
  for (const arn of policy.policyArns) {
    const name = arn.split("/").at(-1) ?? "";
    if (arn.split(":")[4] === "aws" && MANAGED[name]?.some((p) => matches(p, action))) allowed = true;
  }
  return allowed;
}

/**
 * Refuses `action` for a caller narrowed by a session policy that does not allow it, in AWS's words.
 * @throws AwsError AccessDenied
 */
export function enforceSessionPolicy(
  caller: { sessionPolicy?: FakeSessionPolicy },
  options: { action: string; principal: string; resource: string },
): void {
  if (!caller.sessionPolicy || sessionPolicyAllows(caller.sessionPolicy, options.action)) return;
  throw accessDenied(
    `User: ${options.principal} is not authorized to perform: ${options.action} on resource: ${options.resource} ` +
      `because no session policy allows the ${options.action} action`,
  );
}
