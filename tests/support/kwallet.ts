/**
 * A private D-Bus session bus with Debian's real KDE Wallet daemon (`kwalletd5`, package libkf5wallet-bin) on it,
 * headless, for tests of the kwallet backend. kwalletd runs with `QT_QPA_PLATFORM=offscreen` in a throwaway HOME
 * (XDG_CONFIG_HOME/XDG_DATA_HOME inside it) and the wallet `aws-vault` is created and opened without any dialog
 * through kwalletd's `pamOpen` method (what pam_kwallet calls at login), with a test key hash. From then on `open`
 * of that wallet returns a handle at once, as on a desktop where the wallet was unlocked at login.
 *
 * Entries are also read and written from outside with `dbus-send`, making the very calls the Go aws-vault makes
 * (`open(s,x,s)`, `readEntry(i,s,s,s)`, `writeEntry(i,s,s,ay,s)`), so no D-Bus code of ours is involved there.
 * @module
 */

import { exists, missingTool, type PrivateBus, startPrivateBus, waitFor } from "./dbus.ts";

const decoder = new TextDecoder();

/** The KF5 daemon's bus name and object path, where the Go aws-vault talks to it. */
const NAME = "org.kde.kwalletd5";
const PATH = "/modules/kwalletd5";
const WALLET = "aws-vault";

/** Output of a child process. */
export interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link startKWallet}. */
export interface KWalletOptions {
  /**
   * `running` (default): kwalletd5 started by the fixture and the wallet opened with pamOpen. `activatable`: not
   * started, but the bus starts kwalletd5 on demand (a service file in a private directory). `absent`: no kwalletd.
   */
  daemon?: "running" | "activatable" | "absent";
  /** Extra kwalletrc text, appended after `[Wallet] First Use=false`. */
  kwalletrc?: string;
}

/** A running private bus (and kwalletd). */
export interface KWalletFixture {
  /** A clean environment pointing at the private bus: HOME, PATH, XDG_*, DBUS_SESSION_BUS_ADDRESS, … */
  readonly env: Record<string, string>;
  /** Calls a KWallet method with dbus-send (`type:value` arguments) and returns the reply's lines. */
  kwallet(method: string, ...args: string[]): Promise<Output>;
  /** Writes `value` as the entry `key` of folder aws-vault, exactly as the Go aws-vault does. */
  writeRaw(key: string, value: Uint8Array): Promise<void>;
  /** Reads the raw bytes of entry `key` of folder aws-vault (empty when there is none), as the Go aws-vault does. */
  readRaw(key: string): Promise<Uint8Array>;
  /** Stops kwalletd and the bus and deletes the temporary home. */
  stop(): Promise<void>;
}

/** Why the kwallet tests cannot run here, or undefined when they can. */
export function kwalletSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "kwallet tests need Linux";
  const tool = missingTool(["dbus-daemon", "dbus-send", "kwalletd5"], ["/usr/bin"]);
  return tool && `${tool} not found (install the Debian packages dbus and libkf5wallet-bin)`;
}

async function command(cmd: string, args: readonly string[], env: Record<string, string>): Promise<Output> {
  const out = await new Deno.Command(cmd, { args: [...args], env, clearEnv: true, stdin: "null" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** How long kwalletd5 may take to come up. */
const START_MS = 15_000;

/** `array:byte:0x..,0x..` for dbus-send. */
const byteArg = (bytes: Uint8Array) =>
  `array:byte:${Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, "0")}`).join(",")}`;

/**
 * Parses dbus-send's printing of an `ay` reply: `array of bytes "text"` when every byte is printable ASCII, else
 * `array of bytes [` hex pairs `]`, and `array [ ]` when there are none.
 */
export function parseByteReply(stdout: string): Uint8Array {
  if (/^\s*array \[\s*\]\s*$/m.test(stdout.slice(stdout.indexOf("\n") + 1))) return new Uint8Array(0);
  const at = stdout.indexOf("array of bytes ");
  if (at < 0) throw new Error(`not a byte array reply: ${stdout}`);
  const rest = stdout.slice(at + "array of bytes ".length);
  if (rest.startsWith('"')) return new TextEncoder().encode(rest.slice(1, rest.trimEnd().length - 1));
  const hex = rest.slice(rest.indexOf("[") + 1, rest.lastIndexOf("]")).trim();
  return new Uint8Array(hex ? hex.split(/\s+/).map((h) => parseInt(h, 16)) : []);
}

/** Starts a private bus and, as `options.daemon` says, kwalletd5 with the wallet aws-vault open. */
export async function startKWallet(options: KWalletOptions = {}): Promise<KWalletFixture> {
  const daemon = options.daemon ?? "running";
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-kw-" });
  const home = `${dir}/home`;
  await Deno.mkdir(`${home}/.config`, { recursive: true });
  await Deno.mkdir(`${dir}/run`, { mode: 0o700 });
  await Deno.mkdir(`${dir}/services`);
  await Deno.writeTextFile(`${home}/.config/kwalletrc`, `[Wallet]\nFirst Use=false\n${options.kwalletrc ?? ""}\n`);
  if (daemon === "activatable") {
    await Deno.writeTextFile(
      `${dir}/services/${NAME}.service`,
      `[D-BUS Service]\nName=${NAME}\nExec=${exists("/usr/bin/kwalletd5") ? "/usr/bin/kwalletd5" : "kwalletd5"}\n`,
    );
  }
  const env: Record<string, string> = {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/.config`,
    XDG_DATA_HOME: `${home}/.local/share`,
    XDG_CACHE_HOME: `${home}/.cache`,
    XDG_RUNTIME_DIR: `${dir}/run`,
    QT_QPA_PLATFORM: "offscreen", // no display: Qt draws nothing, and kwalletd's dialogs can never be answered
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    NO_COLOR: "1",
  };
  let bus: PrivateBus | undefined;
  let kwalletd: Deno.ChildProcess | undefined;
  const send = (dest: string, path: string, method: string, ...args: string[]) =>
    command("dbus-send", ["--session", "--print-reply", `--dest=${dest}`, path, method, ...args], env);
  const kwallet = (method: string, ...args: string[]) => send(NAME, PATH, `org.kde.KWallet.${method}`, ...args);
  const stop = async () => {
    // An activated kwalletd is the bus's child, not ours: ask the bus for its pid and end that one process.
    if (daemon === "activatable" && env.DBUS_SESSION_BUS_ADDRESS) {
      const r = await send(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.GetConnectionUnixProcessID",
        `string:${NAME}`,
      );
      const pid = Number(r.stdout.match(/uint32 (\d+)/)?.[1]);
      if (pid > 0) {
        try {
          Deno.kill(pid, "SIGTERM");
        } catch { /* already gone */ }
      }
    }
    if (kwalletd) {
      try {
        kwalletd.kill("SIGTERM");
      } catch { /* already gone */ }
      await kwalletd.status;
    }
    await bus?.stop();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    // Only our own service directory: nothing installed on the machine is ever activated on this bus.
    bus = await startPrivateBus({ dir, env, serviceDirs: [`${dir}/services`] });
    env.DBUS_SESSION_BUS_ADDRESS = bus.address;
    if (daemon === "running") {
      kwalletd = new Deno.Command("kwalletd5", { env, clearEnv: true, stdin: "null", stdout: "null", stderr: "null" })
        .spawn();
      await waitFor("kwalletd5 on the bus", async () => {
        const r = await send(
          "org.freedesktop.DBus",
          "/org/freedesktop/DBus",
          "org.freedesktop.DBus.NameHasOwner",
          `string:${NAME}`,
        );
        return r.stdout.includes("boolean true");
      }, START_MS);
      // pamOpen(wallet, passwordHash, sessionTimeout) creates the wallet when missing and opens it with this
      // (test-only) 56-byte key hash: no password dialog, no first-use wizard.
      const hash = byteArg(Uint8Array.from({ length: 56 }, (_, i) => i));
      const opened = await kwallet("pamOpen", `string:${WALLET}`, hash, "int32:0");
      if (opened.code !== 0) throw new Error(`pamOpen failed: ${opened.stderr}`);
      const wallets = await kwallet("wallets");
      if (!wallets.stdout.includes(`"${WALLET}"`)) throw new Error(`the wallet was not created: ${wallets.stdout}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  const handle = async () => {
    const r = await kwallet("open", `string:${WALLET}`, "int64:0", `string:${WALLET}`);
    const h = Number(r.stdout.match(/int32 (-?\d+)/)?.[1]);
    if (r.code !== 0 || !(h >= 0)) throw new Error(`open failed: ${r.stdout} ${r.stderr}`);
    return h;
  };
  return {
    env,
    kwallet,
    async writeRaw(key, value) {
      const r = await kwallet(
        "writeEntry",
        `int32:${await handle()}`,
        `string:${WALLET}`,
        `string:${key}`,
        byteArg(value),
        `string:${WALLET}`,
      );
      if (!r.stdout.includes("int32 0")) throw new Error(`writeEntry failed: ${r.stdout} ${r.stderr}`);
    },
    async readRaw(key) {
      const r = await kwallet(
        "readEntry",
        `int32:${await handle()}`,
        `string:${WALLET}`,
        `string:${key}`,
        `string:${WALLET}`,
      );
      if (r.code !== 0) throw new Error(`readEntry failed: ${r.stderr}`);
      return parseByteReply(r.stdout);
    },
    stop,
  };
}
