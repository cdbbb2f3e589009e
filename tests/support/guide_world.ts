/**
 * The world docs/guide.md's examples are written for, shared by the tests that run them (docs_guide_test.ts,
 * docs_audit_test.ts, docs_session_policy_test.ts): the fake AWS with user jon (an MFA device) and the guide's roles
 * ReadOnly and Admin (the latter requires MFA), and a sandbox home with the guide's config (`guide-config`) in which
 * the reader has already run aws-vault and stored jon's keys.
 * @module
 */

import { docBlock } from "./doc_examples.ts";
import { addKeys, makeSandbox, type Sandbox } from "./cli.ts";
import { type FakeAws, startFakeAws } from "./fake_aws/mod.ts";

export const GUIDE_ACCOUNT = "111111111111";
/** jon's MFA device. */
export const JON_MFA_SERIAL = `arn:aws:iam::${GUIDE_ACCOUNT}:mfa/jon`;
/** jon's long-term keys. */
export const JON = { userName: "jon", accessKeyId: "AKIAJONEXAMPLE000001", secretAccessKey: "jon/secret" } as const;
/** The role most of the guide's profiles assume. */
export const READ_ONLY_ROLE = "arn:aws:iam::222222222222:role/ReadOnly";

/** A sandbox home with the fake AWS behind it. */
export interface GuideWorld {
  readonly fake: FakeAws;
  readonly sb: Sandbox;
  /** The CLI environment: the sandbox's, pointed at the fake (STS, IAM, SSO, the console federation endpoint). */
  readonly env: Record<string, string>;
  /** The audit log of the sandbox's user. */
  readonly logPath: string;
  /** A valid MFA code not used before (the fake accepts each code of the last, current and next window once). */
  code(): string;
  cleanup(): Promise<void>;
}

/**
 * Starts the guide's world. `config` replaces the guide's config; with `addJon: false` no keys are stored (the
 * guide's own `add` example stores them).
 */
export async function guideWorld(options: { config?: string; addJon?: boolean } = {}): Promise<GuideWorld> {
  const fake = await startFakeAws();
  fake.addUser({ ...JON, mfaSerial: JON_MFA_SERIAL, mfaSecret: "JBSWY3DPEHPK3PXP" });
  // The guide's --duration=2h example needs a role whose maximum session duration allows it.
  fake.addRole({ arn: READ_ONLY_ROLE, maxSessionDuration: 4 * 3600 });
  fake.addRole({ arn: "arn:aws:iam::222222222222:role/Admin", requireMfa: true });
  const sb = await makeSandbox({ config: options.config ?? docBlock("docs/guide.md", "guide-config").text });
  // The guide's reader has run aws-vault before: the first-run note is its own example.
  await Deno.mkdir(sb.vaultDir, { recursive: true, mode: 0o700 });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url, AWS_ENDPOINT_URL_SIGNIN: fake.url };
  if (options.addJon !== false) await addKeys("jon", JON, env);
  const offsets = [0, -1, 1];
  let used = 0;
  return {
    fake,
    sb,
    env,
    logPath: `${sb.home}/.local/state/aws-vault/audit.log`,
    code: () => {
      if (used >= offsets.length) throw new Error("no unused MFA code left in this window");
      return fake.totp(JON_MFA_SERIAL, { offsetSteps: offsets[used++] });
    },
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}
