/**
 * Opens a URL in the user's default browser with the platform's opener, as Go's `skratchdot/open-golang`
 * does for aws-vault: `xdg-open` (Linux, BSD), `open` (macOS), `rundll32 url.dll,FileProtocolHandler` (Windows;
 * unlike `cmd /c start` it does not treat the URL's `&` as a command separator).
 *
 * Exposure: every opener takes the URL as a command-line argument, so a console login URL (its SigninToken grants
 * a console session for ~15 minutes) is briefly visible in the process list to other local users, exactly as with
 * aws-vault. No opener reads URLs from stdin; users on shared machines should use `login --stdout` instead.
 * @module
 */

import type { Env } from "../core/env.ts";
import { AppError } from "../core/errors.ts";

/** The opener command line (program and leading arguments) for an OS, as `Deno.build.os` names it. */
export function openerCommand(os: typeof Deno.build.os): string[] {
  switch (os) {
    case "darwin":
      return ["open"];
    case "windows":
      return ["rundll32", "url.dll,FileProtocolHandler"];
    default:
      return ["xdg-open"];
  }
}

/** The browser could not be opened. The message names the opener but never the URL, which may hold a token. */
export class BrowserOpenError extends AppError {}

/** Options of {@link openBrowser}. */
export interface OpenBrowserOptions {
  /** The OS whose opener to use (default `Deno.build.os`). */
  os?: typeof Deno.build.os;
  /** What the URL is, for the error message, e.g. `the AWS console login URL`. */
  what?: string;
  /** The opener's environment (and PATH to find it). */
  env: Env;
}

/**
 * Runs the platform opener on `url` and waits for it (the openers return once the browser has it).
 * @throws BrowserOpenError when the opener is missing or fails
 */
export async function openBrowser(url: string, options: OpenBrowserOptions): Promise<void> {
  const [program, ...args] = openerCommand(options.os ?? Deno.build.os);
  const what = options.what ?? "the URL";
  let status: Deno.CommandStatus;
  try {
    status = await new Deno.Command(program, {
      args: [...args, url],
      env: options.env.toObject(),
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).spawn().status;
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound ? `${program} not found` : `${program}: ${(e as Error).message}`;
    throw new BrowserOpenError(`Failed to open ${what}: ${reason}; use --stdout to print it instead`, { cause: e });
  }
  if (!status.success) {
    throw new BrowserOpenError(
      `Failed to open ${what}: ${program} exited with status ${status.code}; use --stdout to print it instead`,
    );
  }
}
