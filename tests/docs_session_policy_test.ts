/**
 * The guide's "Least-privilege sessions" examples, run as they are shown against the fake AWS, in the guide's own
 * config (`guide-config`): the policy document is what the commands use, each command line sends the policy it names
 * to the role's AssumeRole (the ECS server hands narrowed credentials out), the profile keys do the same, and the
 * error transcript is what the program prints, with nothing called.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { awsVaultCommands, docBlock, transcript } from "./support/doc_examples.ts";
import { makeSandbox, runCli, runProgram } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";

const JON_KEYS = { AWS_ACCESS_KEY_ID: "AKIAJONEXAMPLE000001", AWS_SECRET_ACCESS_KEY: "jon/secret" };
const READ_ONLY_ROLE = "arn:aws:iam::222222222222:role/ReadOnly";

/** The guide's world: jon (MFA) and its roles, the guide's config plus the example profile, `s3-read.json` in place. */
async function world() {
  const fake = await startFakeAws();
  fake.addUser({
    userName: "jon",
    accessKeyId: JON_KEYS.AWS_ACCESS_KEY_ID,
    secretAccessKey: JON_KEYS.AWS_SECRET_ACCESS_KEY,
    mfaSerial: "arn:aws:iam::111111111111:mfa/jon",
  });
  fake.addRole({ arn: READ_ONLY_ROLE });
  const config = `${docBlock("docs/guide.md", "guide-config").text}\n${
    docBlock("docs/guide.md", "guide-session-policy-config").text
  }`;
  const sb = await makeSandbox({ config });
  const document = docBlock("docs/guide.md", "guide-session-policy-document").text;
  // Where the commands (run from the home directory) and the profile key (beside the config) look for it.
  await Deno.writeTextFile(`${sb.home}/s3-read.json`, document);
  await Deno.writeTextFile(`${sb.home}/.aws/s3-read.json`, document);
  const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
  const added = await runCli(["add", "--env", "jon"], { env: { ...env, ...JON_KEYS } });
  equal(added.code, 0, added.stderr);
  const compact = JSON.stringify(JSON.parse(document));
  return {
    fake,
    sb,
    env,
    compact,
    cleanup: async () => {
      await fake.close();
      await sb.cleanup();
    },
  };
}

/** The session-policy parameters of the last AssumeRole of `role`. */
function lastPolicy(fake: Awaited<ReturnType<typeof world>>["fake"], role: string) {
  const call = fake.callsTo("AssumeRole").filter((c) => c.params.RoleArn === role).at(-1);
  ok(call, `no AssumeRole of ${role}`);
  const arns = Object.keys(call.params).filter((k) => k.startsWith("PolicyArns.")).map((k) => call.params[k]);
  return { policy: call.params.Policy, arns };
}

Deno.test("guide: the policy document and the command lines narrow the role's session", async () => {
  const w = await world();
  try {
    const lines = awsVaultCommands(docBlock("docs/guide.md", "guide-session-policy-commands").text);
    equal(lines.length, 3);
    for (const argv of lines) {
      const dash = argv.indexOf("--");
      const server = argv.includes("--ecs-server");
      // The example's own command stands for the user's; this one fetches what the server serves.
      const command = server
        ? [
          "sh",
          "-c",
          'curl -sf -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" > served',
        ]
        : ["true"];
      const args = dash < 0 ? argv : [...argv.slice(0, dash + 1), ...command];
      const r = await runProgram(args, { env: w.env });
      equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
      if (server) {
        // The session of the first line, with the same policy, is served from the cache: what is served is narrowed.
        const served = JSON.parse(await Deno.readTextFile(`${w.sb.home}/served`)) as { AccessKeyId: string };
        deepStrictEqual(w.fake.sessionPolicyOf(served.AccessKeyId), { policy: w.compact, policyArns: [] });
      } else {
        const sent = lastPolicy(w.fake, READ_ONLY_ROLE);
        if (argv.includes("--policy")) deepStrictEqual(sent, { policy: w.compact, arns: [] });
        else deepStrictEqual(sent, { policy: undefined, arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] });
      }
    }
    equal(w.fake.callsTo("GetSessionToken").length, 0);
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: the profile keys send the file beside the config and the managed policy", async () => {
  const w = await world();
  try {
    const r = await runCli(["export", "readonly-reports"], { env: w.env });
    equal(r.code, 0, r.stderr);
    deepStrictEqual(lastPolicy(w.fake, READ_ONLY_ROLE), {
      policy: w.compact,
      arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    });
  } finally {
    await w.cleanup();
  }
});

Deno.test("guide: the mistakes shown are refused as shown, before anything is called", async () => {
  const w = await world();
  try {
    const steps = transcript(docBlock("docs/guide.md", "guide-session-policy-errors").text);
    equal(steps.length, 2);
    for (const step of steps) {
      const argv = awsVaultCommands(`$ ${step.command}`)[0];
      const r = await runProgram(argv, { env: w.env });
      equal(r.code, 1, step.command);
      equal(r.stdout, "");
      deepStrictEqual(r.stderr.trimEnd().split("\n"), step.output, step.command);
    }
    equal(w.fake.calls.length, 0);
  } finally {
    await w.cleanup();
  }
});
