/**
 * The 169.254.169.254 alias on the loopback interface that lets the EC2 metadata proxy listen on the address SDKs
 * query (docs/behaviour.md#ec2-metadata-server). Each OS has its own tool and its own way of saying "already there";
 * the runner is injectable so
 * the macOS and Windows branches are tested by their exact argv and output handling on Linux.
 * @module
 */

import { AppError } from "../core/errors.ts";

/** The EC2 instance metadata address. */
export const METADATA_ADDRESS = "169.254.169.254";

/** What one run of an OS tool produced: whether it exited 0, its exit code and its combined output. */
export interface CommandResult {
  readonly success: boolean;
  readonly code: number;
  /** stdout followed by stderr. */
  readonly output: string;
}

/** Runs `argv[0]` with the rest as arguments. Injectable for tests; {@link runOsCommand} is the real one. */
export type CommandRunner = (argv: readonly string[]) => Promise<CommandResult>;

/** Options of {@link addLoopbackAlias} and {@link removeLoopbackAlias}. */
export interface AliasOptions {
  /** The OS whose commands to use (default: this one). */
  readonly os?: typeof Deno.build.os;
  /** The command runner (default {@link runOsCommand}). */
  readonly run?: CommandRunner;
}

/** Adding or removing the alias failed; the message carries the tool's own output and exit status. */
export class LoopbackAliasError extends AppError {}

const WINDOWS_INTERFACE = "Loopback Pseudo-Interface 1";

/** Windows' "already exists" in English, German, Spanish and Danish (netsh output is localised). */
const WINDOWS_ALREADY_EXISTS = [
  "The object already exists",
  "Das Objekt ist bereits vorhanden",
  "El objeto ya existe",
  "Objektet findes allerede",
];

/** "Run as administrator", cut before non-ASCII letters because cmd's code page mangles them. */
const WINDOWS_RUN_AS_ADMIN = [
  "Run as administrator",
  "Als Administrator ausf",
  "Ejecutar como administrador",
  "r som administrator",
];

/** iproute2 old (RTNETLINK) and new (extack) wordings. */
const LINUX_ALREADY_EXISTS = ["File exists", "Address already assigned"];
const LINUX_NOT_FOUND = ["Cannot assign requested address", "Address not found"];

/** The message for a Windows alias change refused for lack of rights. */
export const RUN_AS_ADMINISTRATOR_MESSAGE =
  "Creation of network alias for server mode requires elevated permissions, run as administrator";

/** The argv that adds (`add`) or removes (`remove`) the alias on `os`, exactly as aws-vault runs it. */
export function aliasCommand(action: "add" | "remove", os: typeof Deno.build.os = Deno.build.os): string[] {
  switch (os) {
    case "linux":
    case "android":
      return ["ip", "addr", action === "add" ? "add" : "del", `${METADATA_ADDRESS}/24`, "dev", "lo", "label", "lo:0"];
    case "windows":
      return [
        "netsh",
        "interface",
        "ipv4",
        action === "add" ? "add" : "delete",
        "address",
        WINDOWS_INTERFACE,
        METADATA_ADDRESS,
        "255.255.0.0",
      ];
    default: // macOS and the BSDs
      return ["ifconfig", "lo0", action === "add" ? "alias" : "-alias", METADATA_ADDRESS];
  }
}

/** Runs an OS tool and collects its output; a missing tool is reported like a failed run. */
export async function runOsCommand(argv: readonly string[]): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { success: out.success, code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { success: false, code: 127, output: `${cmd}: not found` };
    throw error;
  }
}

const found = (phrases: readonly string[], text: string) => phrases.some((p) => text.includes(p));

/** Resolves to false when there was nothing to do (alias already there / already gone). */
async function change(action: "add" | "remove", options: AliasOptions): Promise<boolean> {
  const os = options.os ?? Deno.build.os;
  const argv = aliasCommand(action, os);
  const result = await (options.run ?? runOsCommand)(argv);
  const output = result.output.trim();
  if (os === "windows") {
    // Checked before success: netsh may exit 0 while printing that it did nothing.
    if (action === "add" && found(WINDOWS_ALREADY_EXISTS, output)) return false;
    if (found(WINDOWS_RUN_AS_ADMIN, output)) throw new LoopbackAliasError(RUN_AS_ADMINISTRATOR_MESSAGE);
  }
  if (result.success) return true;
  if (os === "linux" && found(action === "add" ? LINUX_ALREADY_EXISTS : LINUX_NOT_FOUND, output)) return false;
  const what = output ? `${output}: ` : "";
  throw new LoopbackAliasError(`${what}${argv.join(" ")} exited with status ${result.code}`);
}

/**
 * Adds the 169.254.169.254 loopback alias. Resolves to true if it was added, false if it was already there.
 * @throws LoopbackAliasError with the tool's output, or {@link RUN_AS_ADMINISTRATOR_MESSAGE} on Windows
 */
export function addLoopbackAlias(options: AliasOptions = {}): Promise<boolean> {
  return change("add", options);
}

/**
 * Removes the alias. Resolves to true if it was removed; on Linux, false if it was already gone.
 * @throws LoopbackAliasError as {@link addLoopbackAlias}
 */
export function removeLoopbackAlias(options: AliasOptions = {}): Promise<boolean> {
  return change("remove", options);
}
