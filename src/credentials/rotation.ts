/**
 * Access-key rotation (docs/behaviour.md#rotate), rearranged so the vault always holds a working key: create the new
 * key, prove it works, store it, and only then delete the old one. Every failure message says which keys exist in IAM
 * and which one is stored; keys are always masked.
 * @module
 */

import { describeAwsError } from "../aws/clients.ts";
import { AccessKeys, awsErrorCode, callerArn, iamUserName } from "../aws/iam_client.ts";
import type { Env } from "../core/env.ts";
import { hasRole, type ProfileConfig } from "../config/profile_config.ts";
import { AppError } from "../core/errors.ts";
import { type Logger, maskSecret as mask, SILENT } from "../core/log.ts";
import { CredentialKeyring } from "../vault/credential_keyring.ts";
import type { Keyring } from "../vault/keyring.ts";
import { SessionKeyring } from "../vault/session_keyring.ts";
import { getProviderForProfile } from "./chain.ts";
import type { Credentials } from "../core/credentials.ts";
import type { MfaOptions } from "./mfa.ts";

/** How long to wait for a new key to be accepted (IAM propagation takes a few seconds), in ms. */
export const VERIFY_TIMEOUT = 20_000;
/** How long to keep retrying DeleteAccessKey, and the pause between attempts (aws-vault's 20s / 2s), in ms. */
export const DELETE_TIMEOUT = 20_000;
const DELETE_PAUSE = 2_000;

/** Rotation stopped; the message states what is stored and what exists in IAM. */
export class RotationError extends AppError {}

/** Options of {@link rotateAccessKey}. */
export interface RotationOptions {
  /** The vault with the stored key and cached sessions. */
  vault: Keyring;
  /** `--no-session`: call IAM with the stored key itself instead of a session from the profile's chain. */
  noSession?: boolean;
  /** The environment (endpoints, CA bundle). */
  env: Env;
  /** MFA prompt override, for tests. */
  mfa?: MfaOptions;
  /** Receives each progress line (no trailing newline). */
  print: (line: string) => void;
  /** Pause between retries, for tests; default a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** The clock for the profile's chain (session expiry) and the cached sessions it clears. */
  now: () => Date;
  /** Elapsed-time counter in ms for the retry budgets, for tests; default `Date.now`. */
  elapsedMs?: () => number;
  /** Debug lines; silent when not given. */
  log?: Logger;
}

/**
 * The profile whose stored credentials `profile` ultimately uses: itself, else the first profile up its
 * `source_profile` chain with stored credentials (aws-vault looks only one level up).
 */
export function findMasterCredentialsName(profile: ProfileConfig, stored: readonly string[]): string | undefined {
  for (let p: ProfileConfig | undefined = profile; p; p = p.sourceProfile) {
    if (stored.includes(p.profileName)) return p.profileName;
  }
  return undefined;
}

/** `profile` and every profile up its `source_profile` chain: the ones whose cached sessions derive from the key. */
export function profilesInChain(profile: ProfileConfig): string[] {
  const names: string[] = [];
  for (let p: ProfileConfig | undefined = profile; p; p = p.sourceProfile) names.push(p.profileName);
  return names;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class RetryError extends Error {}

/** Runs `call` until it succeeds or the next pause would overrun `budget` ms; then throws a summary of the last error.
 */
async function retry<T>(
  call: () => Promise<T>,
  options: {
    budget: number;
    pause: (attempt: number) => number;
    sleep: (ms: number) => Promise<void>;
    elapsedMs: () => number;
    log: Logger;
  },
): Promise<T> {
  const start = options.elapsedMs();
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (e) {
      const pause = options.pause(attempt);
      if (options.elapsedMs() - start + pause > options.budget) {
        throw new RetryError(`After ${attempt} attempts, last error: ${describeAwsError(e)}`, { cause: e });
      }
      options.log.debug(`Retrying after error: ${describeAwsError(e)}`);
      await options.sleep(pause);
    }
  }
}

/** The IAM user of the stored key, found with the key itself: a role session cannot ask iam:GetUser about its user. */
async function userNameOf(profile: ProfileConfig, options: { credentials: Credentials; env: Env; log: Logger }) {
  try {
    return await iamUserName(profile, options);
  } catch (e) {
    // GetUser may be denied without MFA; GetCallerIdentity needs no permission and names the user in its ARN.
    const arn = await callerArn(profile, options).catch(() => undefined);
    const m = arn ? /:user\/(?:.*\/)?([^/]+)$/.exec(arn) : null;
    if (m) return m[1];
    throw new RotationError(`Error getting IAM username from session: ${describeAwsError(e)}`, { cause: e });
  }
}

function createFailure(e: unknown, options: { old: Credentials; master: string; noSession: boolean }): RotationError {
  const code = awsErrorCode(e) ?? "";
  let hint = "";
  if (code.startsWith("LimitExceeded")) hint = " (an IAM user can have at most 2 access keys: delete the unused one)";
  if (code === "InvalidClientTokenId" && !options.noSession) {
    hint = " (IAM refuses session credentials obtained without MFA: set mfa_serial or use --no-session)";
  }
  return new RotationError(
    `Error creating a new access key: ${describeAwsError(e)}${hint}. Nothing was changed: ${
      mask(options.old.accessKeyId)
    } ` +
      `is still stored for profile '${options.master}'`,
    { cause: e },
  );
}

/** Deletes the new key after a later step failed, and says what is left. */
async function undoCreate(
  iam: AccessKeys,
  keys: { old: Credentials; fresh: Credentials; master: string },
): Promise<string> {
  const { old, fresh, master } = keys;
  try {
    await iam.deleteKey(fresh.accessKeyId);
    return `The new access key ${mask(fresh.accessKeyId)} was deleted again. Nothing was changed: ` +
      `${mask(old.accessKeyId)} is still stored for profile '${master}' and active in IAM`;
  } catch (e) {
    return `Deleting the new access key failed too (${describeAwsError(e)}). IAM now has ${mask(old.accessKeyId)} ` +
      `(stored for profile '${master}', still active) and ${
        mask(fresh.accessKeyId)
      } (stored nowhere: delete it in IAM)`;
  }
}

/**
 * Rotates the access key stored for `profile` (or the profile up its source chain that stores it),
 * docs/behaviour.md#rotate with
 * a verification step: the old key is deleted only once the new one is proven to work and is stored.
 * @throws RotationError with what is stored and what exists in IAM
 */
export async function rotateAccessKey(profile: ProfileConfig, options: RotationOptions): Promise<void> {
  const { vault, env, print } = options;
  const log = options.log ?? SILENT;
  const noSession = options.noSession ?? false;
  const timing = { sleep: options.sleep ?? sleepReal, elapsedMs: options.elapsedMs ?? Date.now, log };
  const keyring = new CredentialKeyring(vault);
  const master = findMasterCredentialsName(profile, await keyring.keys());
  if (!master) {
    throw new RotationError(
      `Error determining credential name for '${profile.profileName}': No master credentials found`,
    );
  }
  print(
    noSession
      ? `Rotating credentials stored for profile '${master}' using master credentials (takes 10-20 seconds)`
      : `Rotating credentials stored for profile '${master}' using a session from profile '${profile.profileName}' ` +
        "(takes 10-20 seconds)",
  );
  let old: Credentials;
  try {
    old = await keyring.get(master);
  } catch (e) {
    throw new RotationError(`Error loading source credentials for '${master}': ${(e as Error).message}`, { cause: e });
  }
  log.debug(`Rotating access key ${mask(old.accessKeyId)}`);
  print("Creating a new access key");

  // aws-vault reads the *target* profile's stored key under --no-session; the master key is the one being rotated.
  let iamCredentials = old;
  if (!noSession) {
    try {
      const chain = await getProviderForProfile(profile, {
        vault,
        noCache: true,
        env,
        mfa: options.mfa,
        now: options.now,
        log,
      });
      iamCredentials = await chain.retrieve();
    } catch (e) {
      throw new RotationError(`Error getting temporary credentials: ${(e as Error).message}`, { cause: e });
    }
  }
  const userName = !noSession && hasRole(profile)
    ? await userNameOf(profile, { credentials: old, env, log })
    : undefined;
  if (userName) log.debug(`Found IAM username '${userName}'`);
  const iam = new AccessKeys(profile, { credentials: iamCredentials, env, userName, log });

  let fresh: Credentials;
  try {
    fresh = await iam.createKey();
  } catch (e) {
    throw createFailure(e, { old, master, noSession });
  }
  print(`Created new access key ${mask(fresh.accessKeyId)}`);
  const keys = { old, fresh, master };

  print(`Verifying the new access key ${mask(fresh.accessKeyId)}`);
  try {
    await retry(() => callerArn(profile, { credentials: fresh, env, maxAttempts: 1, log }), {
      ...timing,
      budget: VERIFY_TIMEOUT,
      pause: (attempt) => Math.min(1000 * 2 ** (attempt - 1), 4000),
    });
  } catch (e) {
    throw new RotationError(
      `The new access key ${mask(fresh.accessKeyId)} does not work: ${(e as Error).message}. ${await undoCreate(
        iam,
        keys,
      )}`,
      { cause: e },
    );
  }

  await storeNewKey(keyring, { ...keys, iam, log });
  const sessions = new SessionKeyring(vault, { now: options.now, log });
  for (const name of profilesInChain(profile)) {
    // Sessions made from the old key die with it; failing to clear them only costs a later fresh session.
    const n = await sessions.removeForProfile(name).catch((e) => {
      log.debug(`Error deleting sessions for ${name}: ${(e as Error).message}`);
      return 0;
    });
    if (n > 0) print(`Deleted ${n} sessions for ${name}`);
  }

  // Under --no-session the new key deletes the old one, a last proof that it can use IAM. A session is reused as is:
  // a new one would need a second MFA code, and AWS rejects a code used twice.
  const deleter = noSession ? new AccessKeys(profile, { credentials: fresh, env, userName, log }) : iam;
  print(`Deleting old access key ${mask(old.accessKeyId)}`);
  let deleted: boolean;
  try {
    deleted = await retry(() => deleter.deleteKey(old.accessKeyId), {
      ...timing,
      budget: DELETE_TIMEOUT,
      pause: () => DELETE_PAUSE,
    });
  } catch (e) {
    throw new RotationError(
      `Can't delete old access key ${mask(old.accessKeyId)}: ${(e as Error).message}. The new access key ` +
        `${mask(fresh.accessKeyId)} is stored for profile '${master}' and works; the old key ${
          mask(old.accessKeyId)
        } ` +
        "is still active in IAM: delete it yourself (aws iam list-access-keys shows its full ID)",
      { cause: e },
    );
  }
  print(
    deleted
      ? `Deleted old access key ${mask(old.accessKeyId)}`
      : `Old access key ${mask(old.accessKeyId)} was already deleted`,
  );
  print("Finished rotating access key");
}

/**
 * Stores the verified new key. On failure the vault is read back, since a backend may fail after writing: only a
 * vault that provably still holds the old key lets the new key be deleted again.
 */
async function storeNewKey(
  keyring: CredentialKeyring,
  keys: { old: Credentials; fresh: Credentials; master: string; iam: AccessKeys; log: Logger },
): Promise<void> {
  const { old, fresh, master, iam, log } = keys;
  try {
    await keyring.set(master, fresh);
    return;
  } catch (e) {
    const prefix = `Error storing new access key ${mask(fresh.accessKeyId)}: ${(e as Error).message}.`;
    const stored = await keyring.get(master).then((c) => c.accessKeyId, () => undefined);
    if (stored === fresh.accessKeyId) {
      log.debug(`${prefix} The vault holds the new key all the same; continuing`);
      return;
    }
    if (stored === old.accessKeyId) throw new RotationError(`${prefix} ${await undoCreate(iam, keys)}`, { cause: e });
    throw new RotationError(
      `${prefix} The vault could not be read back, so both keys are left active in IAM: ${mask(old.accessKeyId)} ` +
        `(the one stored for profile '${master}' before) and ${mask(fresh.accessKeyId)} (the new one). Check with ` +
        "'aws-vault list', then delete the key that is not stored",
      { cause: e },
    );
  }
}
