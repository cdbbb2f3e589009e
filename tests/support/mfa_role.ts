/**
 * The set-up of the single-flight tests and benchmark: a fake AWS with a user `dev` behind an MFA device and a role
 * `guarded` that requires MFA, and a home whose config uses them through an `mfa_process` that counts its runs (each
 * run is a prompt a user would have answered).
 * @module
 */

import { type FakeAws, startFakeAws } from "./fake_aws/mod.ts";

export const ACCOUNT = "111111111111";
export const MFA_SERIAL = `arn:aws:iam::${ACCOUNT}:mfa/dev`;
/** The long-term keys of `dev`, for `add --env`. */
export const DEV_KEYS = { AWS_ACCESS_KEY_ID: "AKIADEVEXAMPLE000001", AWS_SECRET_ACCESS_KEY: "dev/secret" };

/** Starts a fake AWS with `dev` (MFA device {@link MFA_SERIAL}) and the role `guarded`, which requires MFA. */
export async function startMfaRoleFake(options?: { now?: () => Date }): Promise<FakeAws> {
  const fake = await startFakeAws({ now: options?.now });
  fake.addUser({
    userName: "dev",
    accessKeyId: DEV_KEYS.AWS_ACCESS_KEY_ID,
    secretAccessKey: DEV_KEYS.AWS_SECRET_ACCESS_KEY,
    mfaSerial: MFA_SERIAL,
    mfaSecret: "JBSWY3DPEHPK3PXP",
  });
  fake.addRole({ arn: `arn:aws:iam::${ACCOUNT}:role/guarded`, requireMfa: true });
  return fake;
}

/** A home's MFA source: the code it answers with, and how many times it was asked. */
export interface MfaSource {
  /** Writes the code the next prompts answer with (a fresh one from the fake's current window). */
  setCode(fake: FakeAws): Promise<void>;
  /** How many times the source has run. */
  prompts(): Promise<number>;
}

/**
 * Writes `<home>/.aws/config` with `dev` and `guarded` (both with `mfa_serial` and a counting `mfa_process`), plus
 * `extra` config text, and sets the first code.
 */
export async function writeMfaRoleConfig(home: string, fake: FakeAws, extra = ""): Promise<MfaSource> {
  const counter = `${home}/prompts`;
  const code = `${home}/code`;
  const source = `${home}/mfa.sh`;
  await Deno.writeTextFile(source, `#!/bin/sh\necho x >> ${counter}\ncat ${code}\n`, { mode: 0o755 });
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.aws/config`,
    `[profile dev]\nmfa_serial = ${MFA_SERIAL}\nmfa_process = ${source}\n[profile guarded]\nsource_profile = dev\n` +
      `role_arn = arn:aws:iam::${ACCOUNT}:role/guarded\nmfa_serial = ${MFA_SERIAL}\nmfa_process = ${source}\n${extra}`,
  );
  const mfa: MfaSource = {
    setCode: (f) => Deno.writeTextFile(code, f.totp(MFA_SERIAL)),
    prompts: async () => (await Deno.readTextFile(counter).catch(() => "")).split("\n").filter(Boolean).length,
  };
  await mfa.setCode(fake);
  return mfa;
}
