/**
 * The guide's "Least-privilege sessions" examples, run as they are shown against the fake AWS, in the guide's own
 * config (`guide-config`): the policy document is what the commands use, each command line sends the policy it names
 * to the role's AssumeRole (the ECS server hands narrowed credentials out), the profile keys do the same, and the
 * error transcript is what the program prints, with nothing called.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { awsVaultCommands, docBlock, transcript } from "./support/doc_examples.ts";
import { runCli, runProgram } from "./support/cli.ts";
import type { FakeAws } from "./support/fake_aws/mod.ts";
import { type GuideWorld, guideWorld, READ_ONLY_ROLE } from "./support/guide_world.ts";

/** The guide's world plus the example profile, `s3-read.json` in place; `compact` is the policy as sent. */
async function world(): Promise<GuideWorld & { readonly compact: string }> {
  const config = `${docBlock("docs/guide.md", "guide-config").text}\n${
    docBlock("docs/guide.md", "guide-session-policy-config").text
  }`;
  const w = await guideWorld({ config });
  const document = docBlock("docs/guide.md", "guide-session-policy-document").text;
  // Where the commands (run from the home directory) and the profile key (beside the config) look for it.
  await Deno.writeTextFile(`${w.sb.home}/s3-read.json`, document);
  await Deno.writeTextFile(`${w.sb.home}/.aws/s3-read.json`, document);
  return { ...w, compact: JSON.stringify(JSON.parse(document)) };
}

/** The session-policy parameters of the last AssumeRole of `role`. */
function lastPolicy(fake: FakeAws, role: string) {
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
