/**
 * IAM access-key calls for `rotate`, and the STS identity check that proves a new key works. The SDK is loaded
 * lazily, as in `clients.ts`, so runs that never rotate do not pay for the IAM client.
 * @module
 */

import type { IAMClient } from "@aws-sdk/client-iam";
import type { Env } from "../core/env.ts";
import type { Logger } from "../core/log.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import type { Credentials } from "../core/credentials.ts";
import { type ClientOptions, loadSdk, sdkClientConfig } from "./clients.ts";

/** The IAM SDK module, for building commands. */
export type IamModule = typeof import("@aws-sdk/client-iam");

/** Options of {@link createIamClient} and {@link callerArn}. */
export interface IamClientOptions extends ClientOptions {
  /**
   * SDK attempts per call (default `MAX_ATTEMPTS`). Rotation passes 1: CreateAccessKey is not idempotent (a retried
   * call after a lost answer could leave a second key), and LimitExceeded would be retried as throttling.
   */
  maxAttempts?: number;
}

// The one dynamic import of the SDK in this file: scripts/build.ts rewrites that exact call in the bundle.

/**
 * Builds an IAM client for `profile` (region, endpoint per docs/behaviour.md#endpoints, the given credentials).
 * @returns the client and the SDK module whose command classes it accepts
 */
export async function createIamClient(
  profile: ProfileConfig,
  options: IamClientOptions,
): Promise<{ client: IAMClient; sdk: IamModule }> {
  const [{ iam: sdk }, config] = await Promise.all([loadSdk(), sdkClientConfig(profile, "iam", options)]);
  const maxAttempts = options.maxAttempts;
  return { client: new sdk.IAMClient(maxAttempts ? { ...config, maxAttempts } : config), sdk };
}

/**
 * The ARN `credentials` sign as, from sts:GetCallerIdentity (which needs no permission, so it tests only that AWS
 * accepts the key). @throws the SDK's error as is
 */
export async function callerArn(profile: ProfileConfig, options: IamClientOptions): Promise<string> {
  const [{ sts: sdk }, config] = await Promise.all([loadSdk(), sdkClientConfig(profile, "sts", options)]);
  const maxAttempts = options.maxAttempts;
  const client = new sdk.STSClient(maxAttempts ? { ...config, maxAttempts } : config);
  try {
    const out = await client.send(new sdk.GetCallerIdentityCommand({}));
    if (!out.Arn) throw new Error("GetCallerIdentity returned no ARN");
    return out.Arn;
  } finally {
    client.destroy();
  }
}

/**
 * The IAM user name of `credentials` via iam:GetUser without a name (docs/behaviour.md#sts-calls
 * `GetUsernameFromSession`):
 * `UserName`, else the last `:`/`/` segment of the ARN. @throws the SDK's error, or when neither is present
 */
export async function iamUserName(profile: ProfileConfig, options: IamClientOptions): Promise<string> {
  const { client, sdk } = await createIamClient(profile, options);
  try {
    const user = (await client.send(new sdk.GetUserCommand({}))).User;
    const name = user?.UserName || user?.Arn?.split(/[:/]/).pop();
    if (!name) throw new Error("Couldn't determine current username");
    return name;
  } finally {
    client.destroy();
  }
}

/** The AWS error code of an SDK error (`Code` keeps the wire code where the class name has `Exception` appended). */
export function awsErrorCode(e: unknown): string | undefined {
  return (e as { Code?: string } | undefined)?.Code ?? (e instanceof Error ? e.name : undefined);
}

/**
 * CreateAccessKey and DeleteAccessKey for one user (`userName`, else the caller's own), one attempt per call: the
 * caller decides what is retried (see {@link IamClientOptions.maxAttempts}).
 */
export class AccessKeys {
  #profile: ProfileConfig;
  #credentials: Credentials;
  #env: Env;
  #userName?: string;
  #log?: Logger;

  /**
   * @param profile region and endpoint settings
   * @param options the credentials that sign the calls, the user whose keys they manage, and debug lines
   */
  constructor(
    profile: ProfileConfig,
    options: { credentials: Credentials; env: Env; userName?: string; log?: Logger },
  ) {
    this.#profile = profile;
    this.#credentials = options.credentials;
    this.#env = options.env;
    this.#userName = options.userName;
    this.#log = options.log;
  }

  #client(): ReturnType<typeof createIamClient> {
    const options = { credentials: this.#credentials, env: this.#env, maxAttempts: 1, log: this.#log };
    return createIamClient(this.#profile, options);
  }

  /** Creates a key; its secret is in the result only. @throws the SDK's error as is */
  async createKey(): Promise<Credentials> {
    const { client, sdk } = await this.#client();
    try {
      const key = (await client.send(new sdk.CreateAccessKeyCommand({ UserName: this.#userName }))).AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error("CreateAccessKey returned no key");
      return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    } finally {
      client.destroy();
    }
  }

  /** Deletes a key; false when IAM says it does not exist (already gone, which is what was wanted). @throws the SDK's
   * other errors */
  async deleteKey(accessKeyId: string): Promise<boolean> {
    const { client, sdk } = await this.#client();
    try {
      await client.send(new sdk.DeleteAccessKeyCommand({ AccessKeyId: accessKeyId, UserName: this.#userName }));
      return true;
    } catch (e) {
      if (awsErrorCode(e) === "NoSuchEntity" || awsErrorCode(e) === "NoSuchEntityException") return false;
      throw e;
    } finally {
      client.destroy();
    }
  }
}
