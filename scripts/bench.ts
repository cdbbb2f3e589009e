/**
 * Start-up benchmark of the installed command (`deno task bench [--runs N]`).
 *
 * Installs aws-vault into a temporary prefix with `scripts/install`, makes a sandbox home (a 20-profile config, stored
 * keys and 20 cached sessions in the file vault) and times whole processes: each figure's runs are interleaved with
 * a bare `deno run` of an empty script, so both see the same machine load, and the table gives the medians and their
 * ratio. With `AWS_VAULT_COMPARE_BIN=/path/to/aws-vault` (e.g. the Go aws-vault) that binary runs the same commands in
 * the same rotation. No thresholds: this prints numbers (docs/performance.md says what they mean).
 * @module
 */

import { envFromRecord } from "../src/core/env.ts";
import { FileKeyring } from "../src/vault/file.ts";
import { CredentialKeyring } from "../src/vault/credential_keyring.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";

const root = new URL("..", import.meta.url).pathname;
const runsAt = Deno.args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 30;
const WARMUP = 3;
const PASSPHRASE = "bench";

/** A home directory with a realistic config and vault; returns the environment every run gets. */
async function sandbox(home: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  const lines = [
    "[default]",
    "region = eu-west-1",
    "",
    "[profile base]",
    "mfa_serial = arn:aws:iam::123456789012:mfa/me",
  ];
  for (let i = 0; i < 20; i++) {
    lines.push("", `[profile p${i}]`, "source_profile = base", `role_arn = arn:aws:iam::123456789012:role/r${i}`);
  }
  await Deno.writeTextFile(`${home}/.aws/config`, lines.join("\n") + "\n");
  const vault = new FileKeyring({
    dir: `${home}/.awsvault/keys`,
    env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE }),
  });
  await new CredentialKeyring(vault).set("base", { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "s" });
  const sessions = new SessionKeyring(vault, { now: () => new Date() });
  const expiration = new Date(Date.now() + 12 * 3_600_000);
  const session = { accessKeyId: "ASIAIOSFODNN7EXAMPLE", secretAccessKey: "s", sessionToken: "t", expiration };
  // `export base` is served from this GetSessionToken session: the cached credential_process path, in the key format
  // the Go aws-vault shares.
  await sessions.set({
    type: "sts.GetSessionToken",
    profileName: "base",
    mfaSerial: "arn:aws:iam::123456789012:mfa/me",
  }, session);
  for (let i = 1; i < 20; i++) {
    await sessions.set({ type: "sts.GetSessionToken", profileName: `s${i}`, mfaSerial: "" }, session);
  }
  return {
    HOME: home,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE,
    AWS_VAULT_BACKEND: "file", // the Go aws-vault's default on Linux is not the file store
  };
}

async function install(prefix: string): Promise<string> {
  const out = await new Deno.Command(`${root}scripts/install`, { args: ["--prefix", prefix], stdout: "piped" })
    .output();
  if (!out.success) throw new Error("scripts/install failed");
  return `${prefix}/aws-vault`;
}

async function time(cmd: string[], env: Record<string, string>, cwd: string): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (!out.success) throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const FIGURES: { name: string; args: string[] }[] = [
  { name: "--version", args: ["--version"] },
  { name: "export --format=json (cached)", args: ["export", "--format=json", "base"] },
  { name: "list", args: ["list"] },
  { name: "completion of profile names", args: ["--completion-bash", "exec", ""] },
  { name: "exec -- true (cached)", args: ["exec", "base", "--", "true"] },
];

const work = await Deno.makeTempDir({ prefix: "aws-vault-bench-" });
try {
  const env = await sandbox(`${work}/home`);
  const installed = await install(`${work}/bin`);
  const compare = Deno.env.get("AWS_VAULT_COMPARE_BIN");
  const empty = `${work}/empty.js`;
  await Deno.writeTextFile(empty, "");
  const bare = [Deno.execPath(), "run", "--quiet", empty];
  const cwd = env.HOME; // no deno.json here, as for a user

  const rows: string[][] = [];
  for (const figure of FIGURES) {
    const subjects: string[][] = [bare, [installed, ...figure.args]];
    if (compare) subjects.push([compare, ...figure.args]);
    for (const cmd of subjects) for (let i = 0; i < WARMUP; i++) await time(cmd, env, cwd);
    const samples: number[][] = subjects.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [k, cmd] of subjects.entries()) samples[k].push(await time(cmd, env, cwd));
    }
    const [b, ours, other] = samples.map(median);
    const row = [figure.name, b.toFixed(1), ours.toFixed(1), `${(ours / b).toFixed(2)}x`];
    if (other !== undefined) row.push(other.toFixed(1), `${(ours / other).toFixed(2)}x`);
    rows.push(row);
  }

  const header = ["figure", "bare deno (ms)", "aws-vault (ms)", "ratio"];
  if (compare) header.push("compare (ms)", "aws-vault / compare");
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  console.log(`deno ${Deno.version.deno}; medians of ${runs} interleaved runs after ${WARMUP} warm-up runs`);
  console.log(`machine: ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs, ${Deno.osRelease()}`);
  // `--version` writes to stderr, as the Go aws-vault does.
  const version = new TextDecoder().decode(
    (await new Deno.Command(installed, { args: ["--version"] }).output()).stderr,
  );
  console.log(`installed command: aws-vault ${version.trim()} (scripts/install)`);
  if (compare) console.log(`compare: ${compare}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
} finally {
  await Deno.remove(work, { recursive: true });
}
