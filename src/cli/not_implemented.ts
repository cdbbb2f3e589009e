/**
 * The action of commands whose behaviour lands in a later release: their command lines already parse
 * (so scripts and completions see the full interface), and running them says plainly that they are missing.
 * @module
 */

import { AppError } from "../errors.ts";

/** Throws the error a not-yet-built command reports. */
export function notImplemented(command: string): Promise<number> {
  return Promise.reject(
    new AppError(`${command}: this command is not implemented in this version of aws-vault for Deno yet`),
  );
}
