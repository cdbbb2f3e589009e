/**
 * Start-up benchmark: whole-process wall time of `--version` and `list` (a realistic config and vault), from source
 * and from the bundle. Prints the median and the spread of repeated runs; no thresholds, just numbers.
 *
 * usage: deno task bench [--runs N]
 * @module
 */

import { FileKeyring } from "../src/vault/file.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";

const root = new URL("..", import.meta.url).pathname;
const runsAt = Deno.args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 30;

async function sandbox(): Promise<Record<string, string>> {
  const home = await Deno.makeTempDir({ prefix: "aws-vault-bench-" });
  await Deno.mkdir(`${home}/.aws`);
  const lines = ["[default]", "region = eu-west-1"];
  for (let i = 0; i < 20; i++) {
    lines.push(`[profile p${i}]`, `source_profile = base`, `role_arn = arn:aws:iam::123456789012:role/r${i}`);
  }
  lines.push("[profile base]", "mfa_serial = arn:aws:iam::123456789012:mfa/me");
  await Deno.writeTextFile(`${home}/.aws/config`, lines.join("\n") + "\n");
  const vault = new FileKeyring({ dir: `${home}/.awsvault/keys`, env: () => "bench" });
  await new CredentialKeyring(vault).set("base", { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "s" });
  const sessions = new SessionKeyring(vault);
  // A valid cached GetSessionToken session for `base`, so `export base` is the cached credential_process path.
  await sessions.set({
    type: "sts.GetSessionToken",
    profileName: "base",
    mfaSerial: "arn:aws:iam::123456789012:mfa/me",
  }, {
    accessKeyId: "ASIACACHED",
    secretAccessKey: "s",
    sessionToken: "t",
    expiration: new Date(Date.now() + 3_600_000),
  });
  for (let i = 0; i < 20; i++) {
    await sessions.set({ type: "sts.AssumeRole", profileName: `p${i}`, mfaSerial: "m" }, {
      accessKeyId: "ASIA",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3_600_000),
    });
  }
  return {
    AWS_VAULT_FILE_PASSPHRASE: "bench",
    HOME: home,
    PATH: Deno.env.get("PATH") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
  };
}

/**
 * Bundle runs start in the sandbox HOME, as a user's would: from this repository, Deno would also load its
 * deno.json and lock file, which the source runs need (import map) and the shipped file does not.
 */
async function time(args: string[], env: Record<string, string>, options?: { cwd?: string }): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    clearEnv: true,
    cwd: options?.cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (!out.success) throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(1)} ms  (min ${s[0].toFixed(1)}, p90 ${q(0.9).toFixed(1)}, n=${s.length})`;
}

const env = await sandbox();
const entries = { source: `${root}main.ts`, bundle: `${root}dist/aws-vault.js` };
try {
  await Deno.stat(entries.bundle);
} catch {
  console.error("dist/aws-vault.js missing: run `deno task bundle` first");
  Deno.exit(1);
}
console.log(`deno ${Deno.version.deno}, ${runs} runs each, after 3 warm-up runs`);
const empty = await Deno.makeTempFile({ suffix: ".js" });
const bare = ["run", "--quiet", empty];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [kind, entry] of Object.entries(entries)) {
  const cwd = kind === "bundle" ? env.HOME : root;
  for (const cmd of [["--version"], ["list"], ["export", "--format=json", "base"]]) {
    const args = ["run", "-A", "--quiet", entry, ...cmd];
    for (let i = 0; i < 3; i++) await time(args, env, { cwd });
    // Interleaved with the bare runtime, so both see the same machine load.
    const samples: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < runs; i++) {
      floor.push(await time(bare, env, { cwd: env.HOME }));
      samples.push(await time(args, env, { cwd }));
    }
    const added = (median(samples) - median(floor)).toFixed(1);
    console.log(`${kind.padEnd(7)} ${cmd.join(" ").padEnd(28)} ${stats(samples)}  +${added} ms over empty.js`);
  }
}
const samples: number[] = [];
for (let i = 0; i < runs; i++) samples.push(await time(bare, env, { cwd: env.HOME }));
console.log(`${"deno".padEnd(7)} ${"empty.js".padEnd(28)} ${stats(samples)}  (the runtime's own floor)`);
await Deno.remove(empty);
await Deno.remove(env.HOME, { recursive: true });
