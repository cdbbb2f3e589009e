/**
 * The `sso sync` examples of README.md and docs/guide.md, run as shown against the fake SSO portal: the transcripts'
 * output must match what the program prints (the sandbox's home shown as /home/me), and the block the guide shows must
 * be exactly what lands in the config file.
 */
import { equal } from "node:assert/strict";
import { docBlock, shellWords, transcript } from "./support/doc_examples.ts";
import { makeSandbox, runCli, runProgram, type Sandbox } from "./support/cli.ts";
import { type FakeAws, startFakeAws } from "./support/fake_aws/mod.ts";
import { ssoFake } from "./support/fake_aws/sso.ts";
import { actAsBrowser } from "./support/sso_browser.ts";
import { parseConfigFile } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { findBlock } from "../src/config/sso_profiles.ts";
import { SsoRoleCredentialsProvider } from "../src/credentials/sso_provider.ts";
import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring } from "../src/vault/file.ts";

interface World {
  readonly fake: FakeAws;
  readonly sb: Sandbox;
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** The guide's SSO config with the user logged in (as after the guide's `aws-vault export dev`), and `roles`. */
async function world(roles: readonly (readonly [string, string, string])[]): Promise<World> {
  const fake = await startFakeAws();
  const sso = ssoFake(fake);
  for (const [accountId, accountName, role] of roles) {
    sso.assign(accountId, role);
    sso.setAccountName(accountId, accountName);
  }
  const config = docBlock("docs/guide.md", "guide-sso").text;
  const sb = await makeSandbox({ config });
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
  const e = envFromRecord(env);
  await new SsoRoleCredentialsProvider(resolveProfile(parseConfigFile(config), "dev", { env: e }), {
    vault: new FileKeyring({ dir: sb.vaultDir, env: e }),
    env: e,
    openUrl: actAsBrowser,
    write: () => {},
    now: () => new Date(),
  }).accessToken();
  return {
    fake,
    sb,
    env,
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}

/**
 * Runs each step of a transcript: `aws-vault sso …` in-process, `aws-vault exec P -- aws …` as a process with a
 * stand-in `aws` that succeeds only when it got role credentials of the profile's region. Output is compared line by
 * line.
 */
async function runTranscript(w: World, text: string, name: string): Promise<void> {
  const bin = `${w.sb.home}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    `${bin}/aws`,
    `#!/bin/sh\n[ -n "$AWS_SESSION_TOKEN" ] && [ "$AWS_REGION" = eu-west-1 ] && [ "$1 $2" = "s3 ls" ]\n`,
  );
  await Deno.chmod(`${bin}/aws`, 0o755);
  for (const step of transcript(text)) {
    const [program, ...args] = shellWords(step.command);
    equal(program, "aws-vault", `${name}: ${step.command}`);
    const r = args[0] === "exec"
      ? await runProgram(args, { env: { ...w.env, PATH: `${bin}:${w.env.PATH}` } })
      : await runCli(args, { env: w.env });
    equal(r.code, 0, `${name}: ${step.command}: ${r.stderr}`);
    const shown = r.stdout.replaceAll(w.sb.home, "/home/me").trimEnd();
    equal(shown, step.output.join("\n"), `${name}: ${step.command}`);
  }
}

const DEV: readonly [string, string, string] = ["123456789012", "Dev", "Developer"];
const PROD_ADMIN: readonly [string, string, string] = ["210987654321", "Prod", "Admin"];
const PROD_READ: readonly [string, string, string] = ["210987654321", "Prod", "ReadOnly"];

Deno.test("readme-sso-sync: sync writes the profiles, exec uses one", async () => {
  const w = await world([DEV, PROD_READ]);
  try {
    await runTranscript(w, docBlock("README.md", "readme-sso-sync").text, "readme-sso-sync");
    equal(w.fake.callsTo("GetRoleCredentials").at(-1)?.params.role_name, "ReadOnly");
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide-sso-sync: dry run, sync, exec; the block in the config is the one the guide shows", async () => {
  const w = await world([DEV, PROD_ADMIN, PROD_READ]);
  try {
    await runTranscript(w, docBlock("docs/guide.md", "guide-sso-sync").text, "guide-sso-sync");
    const text = await Deno.readTextFile(w.sb.configPath);
    const block = findBlock(text, "corp", { path: w.sb.configPath })!;
    equal(text.slice(block.start, block.end), docBlock("docs/guide.md", "guide-sso-sync-block").text);
    equal(
      text.slice(0, block.start),
      `${docBlock("docs/guide.md", "guide-sso").text}\n`,
      "appended after a blank line",
    );

    await runTranscript(w, docBlock("docs/guide.md", "guide-sso-sync-template").text, "guide-sso-sync-template");
    equal(await Deno.readTextFile(w.sb.configPath), text, "the dry run wrote nothing");
  } finally {
    await w.cleanup();
  }
});
