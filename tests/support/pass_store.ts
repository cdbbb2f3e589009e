/**
 * Real `pass` stores for tests: a throwaway GnuPG home with a passphrase-less key, password stores initialised for
 * it, and stand-in pass commands that record their command lines (and can fail on purpose) before running the real one.
 * @module
 */

/** A temporary GNUPGHOME holding one secret key without passphrase. */
export interface GpgHome {
  readonly dir: string;
  readonly fingerprint: string;
  /** Stops this home's gpg-agent and deletes the directory. */
  cleanup(): Promise<void>;
}

/** A password store initialised for a {@link GpgHome}'s key. */
export interface PassStore {
  readonly dir: string;
  readonly gpg: GpgHome;
  /** A clean environment for pass and aws-vault: PATH, HOME (a temp dir), GNUPGHOME, PASSWORD_STORE_DIR. */
  readonly env: Record<string, string>;
  /** Deletes the store (and the GnuPG home when the store made its own). */
  cleanup(): Promise<void>;
}

const decoder = new TextDecoder();
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";

/** Whether `pass` and `gpg` are installed (tests that need them are skipped otherwise). */
export const hasPass: boolean = ["pass", "gpg"].every((c) =>
  PATH.split(":").some((d) => {
    try {
      return Deno.statSync(`${d}/${c}`).isFile;
    } catch {
      return false;
    }
  })
);

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** Creates a GnuPG home (0700) and generates a key without passphrase in it. */
export async function makeGpgHome(): Promise<GpgHome> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-gpg-" });
  await Deno.chmod(dir, 0o700);
  const env = { PATH, HOME: dir, GNUPGHOME: dir };
  const uid = "aws-vault test <test@example.invalid>";
  await run("gpg", [
    "--batch",
    "--pinentry-mode",
    "loopback",
    "--passphrase",
    "",
    "--quick-gen-key",
    uid,
    "default",
    "default",
    "never",
  ], env);
  const listing = await run("gpg", ["--batch", "--with-colons", "--list-secret-keys"], env);
  const fingerprint = listing.split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9];
  return {
    dir,
    fingerprint,
    cleanup: async () => {
      await run("gpgconf", ["--kill", "gpg-agent"], env).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Creates a password store with `pass init`, for the given GnuPG home or a new one. */
export async function makePassStore(options?: { gpg?: GpgHome }): Promise<PassStore> {
  const gpg = options?.gpg ?? await makeGpgHome();
  const home = await Deno.makeTempDir({ prefix: "aws-vault-pass-" });
  const dir = `${home}/store`;
  const env = { PATH, HOME: home, GNUPGHOME: gpg.dir, PASSWORD_STORE_DIR: dir };
  await run("pass", ["init", gpg.fingerprint], env);
  return {
    dir,
    gpg,
    env,
    cleanup: async () => {
      await Deno.remove(home, { recursive: true });
      if (!options?.gpg) await gpg.cleanup();
    },
  };
}

/** A stand-in pass command: its script path and the command lines it was called with. */
export interface StandIn {
  readonly path: string;
  /** Every call's arguments, in order. */
  calls(): Promise<string[][]>;
}

/**
 * Writes an executable stand-in for pass into `dir`. It records its arguments, then runs the real pass
 * (`delegate`, default true) or exits 1. `failInsert: n` makes the n-th `insert` fail without storing anything.
 */
export async function writeStandIn(
  dir: string,
  options?: { delegate?: boolean; failInsert?: number },
): Promise<StandIn> {
  const path = `${dir}/pass-stand-in`;
  const log = `${dir}/pass-calls.log`;
  const count = `${dir}/pass-inserts.count`;
  const script = [
    "#!/bin/sh",
    `for a in "$@"; do printf '%s\\037' "$a"; done >> '${log}'`,
    `printf '\\036' >> '${log}'`,
    `if [ "$1" = insert ]; then`,
    `  n=$(( $(cat '${count}' 2>/dev/null || echo 0) + 1 )); echo $n > '${count}'`,
    `  if [ "$n" = "${options?.failInsert ?? 0}" ]; then cat > /dev/null; echo 'gpg: stand-in failure' >&2; exit 2; fi`,
    "fi",
    options?.delegate === false ? "exit 1" : 'exec pass "$@"',
    "",
  ].join("\n");
  await Deno.writeTextFile(path, script, { mode: 0o755 });
  return {
    path,
    calls: async () => {
      const text = await Deno.readTextFile(log).catch(() => "");
      return text.split("\x1e").filter((c) => c !== "").map((c) => c.split("\x1f").slice(0, -1));
    },
  };
}
