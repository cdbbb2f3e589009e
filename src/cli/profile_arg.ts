/**
 * The profile argument shared by most commands: given on the command line, else `$AWS_PROFILE`.
 * @module
 */

import type { Env } from "../core/env.ts";
import { UsageError } from "../core/errors.ts";

/**
 * The profile a command acts on: the argument, else `$AWS_PROFILE`.
 * @throws UsageError when neither is given
 */
export function requireProfile(profile: string | undefined, env: Env): string {
  if (profile) return profile;
  const fromEnv = env.get("AWS_PROFILE");
  if (fromEnv) return fromEnv;
  throw new UsageError("required argument 'profile' not provided (and AWS_PROFILE is not set)");
}
