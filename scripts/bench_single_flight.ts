/**
 * Many processes at once (`deno run -A scripts/bench_single_flight.ts [--processes N] [--rounds N]`): the installed
 * command (scripts/install into a temporary prefix), a fake AWS, and an MFA role profile whose `mfa_process` counts
 * its invocations. Each round clears the session cache and times one `export --format=json` alone, then clears it again
 * and times N started together (default 50), and N bare `deno run` of an empty script started together as the
 * reference. Prints the medians, their ratios, and the prompts and STS calls the N made. A benchmark, not a test (tests/cli_single_flight_test.ts checks the counts).
 * @module
 */

import { makeSandbox } from "../tests/support/cli.ts";
import { DEV_KEYS, startMfaRoleFake, writeMfaRoleConfig } from "../tests/support/mfa_role.ts";

const root = new URL("..", import.meta.url).pathname;

function arg(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

async function run(bin: string, args: string[], env: Record<string, string>): Promise<Deno.CommandOutput> {
  return await new Deno.Command(bin, { args, env, clearEnv: true, stdin: "null", cwd: env.HOME }).output();
}

async function main(): Promise<void> {
  const processes = arg("--processes", 50);
  const rounds = arg("--rounds", 3);
  const prefix = await Deno.makeTempDir({ prefix: "aws-vault-bench-bin-" });
  const installed = await new Deno.Command("bash", { args: [`${root}scripts/install`, "--prefix", prefix] }).output();
  if (!installed.success) throw new Error(new TextDecoder().decode(installed.stderr));
  const bin = `${prefix}/aws-vault`;
  // The fake's clock moves on 90 s before each run, so every run has an MFA code never used before.
  let skewMs = 0;
  const fake = await startMfaRoleFake({ now: () => new Date(Date.now() + skewMs) });
  const sb = await makeSandbox();
  try {
    const mfa = await writeMfaRoleConfig(sb.home, fake);
    const env = { ...sb.env, AWS_ENDPOINT_URL: fake.url };
    await run(bin, ["add", "--env", "dev"], { ...env, ...DEV_KEYS });
    const alone: number[] = [];
    const together: number[] = [];
    const bare: number[] = [];
    const empty = `${sb.home}/empty.js`;
    await Deno.writeTextFile(empty, "");
    let counts = "";
    for (let round = 0; round < rounds; round++) {
      // The reference: as many bare `deno run` of an empty script, started together.
      const startedBare = performance.now();
      await Promise.all(Array.from({ length: processes }, () => run(Deno.execPath(), ["run", "--quiet", empty], env)));
      bare.push(performance.now() - startedBare);
      for (const n of [1, processes]) {
        await run(bin, ["clear"], env);
        skewMs += 90_000;
        await mfa.setCode(fake);
        const promptsBefore = await mfa.prompts();
        const gst = fake.callsTo("GetSessionToken").length;
        const ar = fake.callsTo("AssumeRole").length;
        const started = performance.now();
        const outs = await Promise.all(
          Array.from({ length: n }, () => run(bin, ["export", "--format=json", "guarded"], env)),
        );
        (n === 1 ? alone : together).push(performance.now() - started);
        const failed = outs.filter((o) => !o.success).length;
        if (n === processes) {
          const promptCount = await mfa.prompts() - promptsBefore;
          counts = `${promptCount} prompt(s), ${fake.callsTo("GetSessionToken").length - gst} GetSessionToken, ` +
            `${fake.callsTo("AssumeRole").length - ar} AssumeRole, ${failed} failed`;
        }
      }
    }
    const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`installed command, ${rounds} rounds, empty session cache each time`);
    console.log(`1 export alone:          ${median(alone).toFixed(0)} ms`);
    console.log(
      `${processes} exports at once:     ${median(together).toFixed(0)} ms ` +
        `(${(median(together) / median(alone)).toFixed(1)}x one alone)`,
    );
    console.log(
      `${processes} bare deno runs at once: ${median(bare).toFixed(0)} ms ` +
        `(the ${processes} exports took ${(median(together) / median(bare)).toFixed(2)}x that)`,
    );
    console.log(`last round of ${processes}: ${counts}`);
  } finally {
    await fake.close();
    await sb.cleanup();
    await Deno.remove(prefix, { recursive: true });
  }
}

await main();
