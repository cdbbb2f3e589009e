/**
 * Parameter checks with the wording AWS's model validation uses
 * ("1 validation error detected: Value '…' at '…' failed to satisfy constraint: …").
 * @module
 */

import { validationError } from "./errors.ts";

type Params = Readonly<Record<string, string>>;

/** Characters allowed in role session names, federated user names and source identities. */
export const NAME_PATTERN = "[\\w+=,.@-]*";

const fieldName = (param: string) => param[0].toLowerCase() + param.slice(1);

function constraint(param: string, value: string | null, rule: string): Error {
  const shown = value === null ? "null" : `'${value}'`;
  return validationError(
    `1 validation error detected: Value ${shown} at '${fieldName(param)}' failed to satisfy constraint: ${rule}`,
  );
}

/** A parameter that must be present. */
export function required(params: Params, param: string): string {
  const value = params[param];
  if (value === undefined) throw constraint(param, null, "Member must not be null");
  return value;
}

/** Checks a string's length and, optionally, its character pattern (a regexp source for the whole value). */
export function checkText(
  value: string,
  param: string,
  rules: { min?: number; max?: number; pattern?: string },
): string {
  if (rules.min !== undefined && value.length < rules.min) {
    throw constraint(param, value, `Member must have length greater than or equal to ${rules.min}`);
  }
  if (rules.max !== undefined && value.length > rules.max) {
    throw constraint(param, value, `Member must have length less than or equal to ${rules.max}`);
  }
  if (rules.pattern !== undefined && !new RegExp(`^(?:${rules.pattern})$`).test(value)) {
    throw constraint(param, value, `Member must satisfy regular expression pattern: ${rules.pattern}`);
  }
  return value;
}

/** An optional integer parameter within bounds; `fallback` when absent. */
export function integerParam(
  params: Params,
  param: string,
  rules: { min: number; max: number; fallback: number },
): number {
  const raw = params[param];
  if (raw === undefined) return rules.fallback;
  if (!/^-?\d+$/.test(raw)) throw validationError(`Invalid value '${raw}' for parameter ${param}: not an integer`);
  const value = Number(raw);
  if (value < rules.min) throw constraint(param, raw, `Member must have value greater than or equal to ${rules.min}`);
  if (value > rules.max) throw constraint(param, raw, `Member must have value less than or equal to ${rules.max}`);
  return value;
}

/** SerialNumber and TokenCode: both or neither, well-formed. */
export function mfaParams(params: Params): { serial: string; code: string } | undefined {
  const serial = params.SerialNumber;
  const code = params.TokenCode;
  if (serial === undefined && code === undefined) return undefined;
  if (serial === undefined || code === undefined) {
    throw validationError("SerialNumber and TokenCode must both be present or both be absent.");
  }
  checkText(serial, "SerialNumber", { min: 9, max: 256, pattern: "[\\w+=/:,.@-]*" });
  checkText(code, "TokenCode", { min: 6, max: 6, pattern: "[\\d]*" });
  return { serial, code };
}
