/**
 * A private D-Bus session bus (`dbus-daemon`) for the fixtures that put a real daemon on one: gnome-keyring in
 * `secret_service.ts`, kwalletd5 in `kwallet.ts`. Each test gets its own bus, listening in the fixture's temporary
 * directory, with a permissive policy and only the service directories the fixture names, so which services the bus
 * may start on demand is up to the fixture. Also the small pieces both fixtures need around their bus: finding the
 * daemons' programs and waiting for a daemon to come up.
 * @module
 */

import { lookPath } from "../../src/os/look_path.ts";

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The first of `tools` found neither on PATH nor in `extraDirs`, or undefined when all are there. */
export function missingTool(tools: readonly string[], extraDirs: readonly string[] = []): string | undefined {
  const path = [Deno.env.get("PATH") ?? "", ...extraDirs].filter((d) => d !== "").join(":");
  return tools.find((tool) => lookPath(tool, { path }) === undefined);
}

/** Polls `check` every 50 ms until it holds. @throws Error naming `what` after `timeoutMs` */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Options of {@link startPrivateBus}. */
export interface PrivateBusOptions {
  /** The fixture's temporary directory: the bus writes its `bus.conf` there and listens on a socket in it. */
  readonly dir: string;
  /** The environment dbus-daemon runs in, which the services it activates inherit. */
  readonly env: Record<string, string>;
  /** Directories of `.service` files the bus may activate. */
  readonly serviceDirs?: readonly string[];
  /** Also the machine's own session service directories (`<standard_session_servicedirs/>`). */
  readonly standardSessionServiceDirs?: boolean;
}

/** A running private bus. */
export interface PrivateBus {
  /** The bus address, for `DBUS_SESSION_BUS_ADDRESS`. */
  readonly address: string;
  /** Stops dbus-daemon (the fixture still owns, and deletes, its directory). */
  stop(): Promise<void>;
}

/** The bus configuration: a session bus on a socket in `dir` that lets everyone own, send and eavesdrop. */
function busConfig(options: PrivateBusOptions): string {
  const services = [
    ...(options.standardSessionServiceDirs ? ["<standard_session_servicedirs/>"] : []),
    ...(options.serviceDirs ?? []).map((dir) => `<servicedir>${dir}</servicedir>`),
  ];
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${options.dir}</listen>
  ${services.join("\n  ")}
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>\n`;
}

/** Starts dbus-daemon with a configuration written into `options.dir` and waits for it to print its address. */
export async function startPrivateBus(options: PrivateBusOptions): Promise<PrivateBus> {
  await Deno.writeTextFile(`${options.dir}/bus.conf`, busConfig(options));
  const bus = new Deno.Command("dbus-daemon", {
    args: [`--config-file=${options.dir}/bus.conf`, "--nofork", "--nopidfile", "--nosyslog", "--print-address=1"],
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null", // activated helpers (gcr-prompter failing without a display) would fill the test output
  }).spawn();
  const stop = async () => {
    try {
      bus.kill("SIGTERM");
    } catch { /* already gone */ }
    await bus.status;
  };
  try {
    const reader = bus.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let address = "";
    while (!address.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("dbus-daemon exited before printing its address");
      address += value;
    }
    await reader.cancel(); // dbus-daemon prints nothing else
    return { address: address.trim(), stop };
  } catch (e) {
    await stop(); // nothing may outlive a failed start
    throw e;
  }
}
