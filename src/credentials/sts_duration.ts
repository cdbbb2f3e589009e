/**
 * The `DurationSeconds` of each STS call, checked against what AWS accepts before anything is called
 * (docs/behaviour.md#durations). The Go aws-vault sends whatever it parsed and lets AWS refuse it.
 * @module
 */

import { DurationError, formatGoDuration } from "../config/duration.ts";

/** An STS call that takes `DurationSeconds`. */
export type StsDurationCall =
  | "sts:GetSessionToken"
  | "sts:AssumeRole"
  | "sts:AssumeRoleWithWebIdentity"
  | "sts:GetFederationToken";

/** The range of `DurationSeconds` AWS accepts, in seconds, and how messages write it. */
export interface StsDurationLimit {
  readonly min: number;
  readonly max: number;
  readonly text: string;
}

/**
 * AWS's documented ranges. A role's own `MaxSessionDuration` (1h to 12h) and the 1h role-chaining limit narrow
 * AssumeRole further; AWS enforces the first, the chain caps the second (docs/behaviour.md#getsessiontoken-and-role-chaining).
 */
export const STS_DURATION_LIMITS: { readonly [C in StsDurationCall]: StsDurationLimit } = {
  "sts:GetSessionToken": { min: 900, max: 129_600, text: "900 to 129600 seconds (15m to 36h)" },
  "sts:AssumeRole": { min: 900, max: 43_200, text: "900 to 43200 seconds (15m to 12h)" },
  "sts:AssumeRoleWithWebIdentity": { min: 900, max: 43_200, text: "900 to 43200 seconds (15m to 12h)" },
  "sts:GetFederationToken": { min: 900, max: 129_600, text: "900 to 129600 seconds (15m to 36h)" },
};

/**
 * The `DurationSeconds` to send for `ms`: whole seconds, truncated as the Go aws-vault's `int32(d.Seconds())` does
 * (`900.9s` is 900), and within the range AWS accepts for `call`.
 *
 * @param ms the duration in ms (a default, or what the user set: 0 has already become the default)
 * @param options.call the STS call it is sent with
 * @param options.profile the profile making the call, for the message
 * @param options.source where the value came from (`--duration`, `AWS_ASSUME_ROLE_TTL`, …), when not a default
 * @throws DurationError `profile <p>: sts:<Call> duration <value> (from <source>) is out of range: AWS accepts …`
 */
export function stsDurationSeconds(
  ms: number,
  options: { call: StsDurationCall; profile: string; source?: string },
): number {
  const limit = STS_DURATION_LIMITS[options.call];
  const seconds = Math.trunc(ms / 1000);
  if (Number.isFinite(ms) && seconds >= limit.min && seconds <= limit.max) return seconds;
  const notes = [
    ...(Number.isFinite(ms) && seconds * 1000 !== ms ? [`${seconds} whole seconds`] : []),
    ...(options.source ? [`from ${options.source}`] : []),
  ];
  const shown = formatGoDuration(ms) + (notes.length ? ` (${notes.join(", ")})` : "");
  throw new DurationError(
    `profile ${options.profile}: ${options.call} duration ${shown} is out of range: AWS accepts ${limit.text}`,
  );
}
