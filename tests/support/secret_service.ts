/**
 * A private D-Bus session bus with a real gnome-keyring-daemon on it (its `login` collection unlocked), for tests of
 * the secret-service backend. The test process never loads libsecret itself: GLib's shared bus connection exits the
 * process when its bus goes away, and each test wants its own bus. Keyring calls run in a child process instead:
 * this module doubles as that child (`deno run -A secret_service.ts`, operations as JSON on stdin).
 * @module
 */

import { SecretServiceKeyring } from "../../src/vault/secret_service.ts";
import { missingTool, type PrivateBus, startPrivateBus, waitFor } from "./dbus.ts";

const PASSWORD = "test-login-password";

/** Output of a child process. */
export interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One keyring call for the child; `data` is text (stored as its UTF-8 bytes). */
export type KeyringOp =
  | { op: "set"; key: string; data: string; label?: string }
  | { op: "get" | "remove"; key: string }
  | { op: "keys" };

/** The outcome of one {@link KeyringOp}: `value` on success (for get: the item with `data` as text), else the error. */
export interface OpResult {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
  readonly message?: string;
  /** How long the call took, in milliseconds. */
  readonly ms: number;
}

/** A running private bus (and keyring, unless started without one). */
export interface SecretServiceFixture {
  /** A clean environment pointing at the private bus: HOME, PATH, XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, … */
  readonly env: Record<string, string>;
  /** Runs `secret-tool` against the keyring; the secret, if any, goes through stdin. */
  secretTool(args: readonly string[], stdin?: string): Promise<Output>;
  /** Locks a collection through the Secret Service D-Bus API (`secret-tool lock` hangs on gnome-keyring). */
  lock(collection: string): Promise<void>;
  /** Runs keyring operations in a child process with this fixture's environment (plus `env` overrides). */
  run(ops: readonly KeyringOp[], options?: RunOptions): Promise<OpResult[]>;
  /** Freezes (SIGSTOP) or resumes (SIGCONT) gnome-keyring-daemon, to make the Secret Service stop answering. */
  freeze(frozen: boolean): void;
  /** Stops the keyring and the bus and deletes the temporary home. */
  stop(): Promise<void>;
}

/** Options of {@link SecretServiceFixture.run}. */
export interface RunOptions {
  collection?: string;
  /** The keyring's bound for one D-Bus call. */
  timeoutMs?: number;
  /** Variables to override; `null` removes one. */
  env?: Record<string, string | null>;
}

/** Why the secret-service tests cannot run here, or undefined when they can. */
export function secretServiceSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "secret-service tests need Linux";
  const tool = missingTool(["dbus-daemon", "dbus-send", "gnome-keyring-daemon", "secret-tool"]);
  return tool && `${tool} not found (install the Debian packages dbus, gnome-keyring, libsecret-tools)`;
}

const decoder = new TextDecoder();

async function command(cmd: string, args: readonly string[], env: Record<string, string>, stdin?: string) {
  const child = new Deno.Command(cmd, {
    args: [...args],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  if (stdin !== undefined) await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** How long gnome-keyring may take to come up. */
const START_MS = 10_000;

/**
 * Starts a private bus and, unless `keyring: false`, gnome-keyring-daemon with a fresh, unlocked `login` collection.
 * `activation: false` gives a bus that starts no service on demand (so nothing answers for `org.freedesktop.secrets`).
 */
export async function startSecretService(
  options: { keyring?: boolean; activation?: boolean } = {},
): Promise<SecretServiceFixture> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-ss-" });
  await Deno.mkdir(`${dir}/home`);
  await Deno.mkdir(`${dir}/run`, { mode: 0o700 });
  const env: Record<string, string> = {
    HOME: `${dir}/home`,
    XDG_RUNTIME_DIR: `${dir}/run`,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    NO_COLOR: "1",
  };
  let bus: PrivateBus | undefined;
  let keyring: Deno.ChildProcess | undefined;
  const stop = async () => {
    if (keyring) {
      try {
        keyring.kill("SIGCONT");
        keyring.kill("SIGTERM");
      } catch { /* already gone */ }
      await keyring.status;
    }
    await bus?.stop();
    await Deno.remove(dir, { recursive: true });
  };
  const call = (path: string, method: string, ...args: string[]) =>
    command("dbus-send", ["--session", "--print-reply", "--dest=org.freedesktop.secrets", path, method, ...args], env);
  try {
    // Activation finds gnome-keyring through the machine's own service files, unless the test wants no activation.
    bus = await startPrivateBus({ dir, env, standardSessionServiceDirs: options.activation !== false });
    env.DBUS_SESSION_BUS_ADDRESS = bus.address;
    if (options.keyring !== false) {
      // --unlock reads the login password from stdin and creates the login keyring with it when there is none.
      keyring = new Deno.Command("gnome-keyring-daemon", {
        args: ["--foreground", "--unlock", "--components=secrets"],
        env,
        clearEnv: true,
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const w = keyring.stdin.getWriter();
      await w.write(new TextEncoder().encode(PASSWORD));
      await w.close();
      // Ask the bus first: a call to org.freedesktop.secrets before our daemon owns the name would make the bus start
      // a second, locked gnome-keyring through activation.
      await waitFor("gnome-keyring on the bus", async () => {
        const r = await command("dbus-send", [
          "--session",
          "--print-reply",
          "--dest=org.freedesktop.DBus",
          "/org/freedesktop/DBus",
          "org.freedesktop.DBus.NameHasOwner",
          "string:org.freedesktop.secrets",
        ], env);
        return r.stdout.includes("boolean true");
      }, START_MS);
      await waitFor("the login collection", async () => {
        const r = await call(
          "/org/freedesktop/secrets/collection/login",
          "org.freedesktop.DBus.Properties.Get",
          "string:org.freedesktop.Secret.Collection",
          "string:Locked",
        );
        return r.code === 0 && r.stdout.includes("boolean false");
      }, START_MS);
    }
  } catch (e) {
    await stop(); // nothing may outlive a failed start
    throw e;
  }

  return {
    env,
    secretTool: (args, stdin) => command("secret-tool", args, env, stdin),
    async lock(collection) {
      const path = `/org/freedesktop/secrets/collection/${collection}`;
      const r = await call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock", `array:objpath:${path}`);
      if (r.code !== 0) throw new Error(`locking ${collection} failed: ${r.stderr}`);
    },
    async run(ops, runOptions = {}) {
      const childEnv: Record<string, string> = { ...env };
      for (const [k, v] of Object.entries(runOptions.env ?? {})) {
        if (v === null) delete childEnv[k];
        else childEnv[k] = v;
      }
      const r = await command(
        Deno.execPath(),
        ["run", "-A", "--quiet", new URL(import.meta.url).pathname],
        childEnv,
        JSON.stringify({ collection: runOptions.collection, timeoutMs: runOptions.timeoutMs, ops }),
      );
      if (r.code !== 0) throw new Error(`keyring child failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    freeze(frozen) {
      keyring?.kill(frozen ? "SIGSTOP" : "SIGCONT");
    },
    stop,
  };
}

/** The child side of {@link SecretServiceFixture.run}: reads `{collection, ops}` from stdin, prints results. */
async function serveOps(): Promise<void> {
  const { collection, timeoutMs, ops } = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
    collection?: string;
    timeoutMs?: number;
    ops: KeyringOp[];
  };
  const ring = new SecretServiceKeyring({ collection, timeoutMs, env: Deno.env });
  const results: OpResult[] = [];
  for (const op of ops) {
    const started = performance.now();
    try {
      let value: unknown;
      if (op.op === "set") {
        const data = new TextEncoder().encode(op.data);
        value = await ring.set({
          key: op.key,
          data,
          label: op.label ?? "",
          description: "",
          keychainNotTrustApplication: false,
          keychainNotSynchronizable: false,
        });
      } else if (op.op === "get") {
        const item = await ring.get(op.key);
        value = { ...item, data: decoder.decode(item.data) };
      } else if (op.op === "remove") value = await ring.remove(op.key);
      else value = await ring.keys();
      results.push({ ok: true, value, ms: performance.now() - started });
    } catch (e) {
      const err = e as Error;
      results.push({ ok: false, error: err.constructor.name, message: err.message, ms: performance.now() - started });
    }
  }
  console.log(JSON.stringify(results));
}

if (import.meta.main) {
  await serveOps();
  Deno.exit(0); // a call abandoned after its time bound may still be running on a worker thread
}
