/**
 * The program as a function: parse the command line, set up logging, run the chosen command. Everything it reads from
 * the process (environment, output, terminals, clock) comes in through {@link CliOptions}, so tests run it in-process.
 * @module
 */

import type { Env } from "./core/env.ts";
import { AppError, PromptCancelledError, UsageError } from "./core/errors.ts";
import { debugLogger, SILENT } from "./core/log.ts";
import { VERSION_TEXT } from "./core/version.ts";
import type { Terminal } from "./os/terminal.ts";
import type { Prompter } from "./prompt/prompter.ts";
import { availablePromptDrivers, PROMPT_DRIVERS, validatePromptDriver } from "./prompt/drivers.ts";
import { assertBackendAvailable, AVAILABLE_BACKENDS, DEFAULT_BACKEND, offeredBackends } from "./vault/backends.ts";
import type { Output } from "./cli/command.ts";
import { COMMANDS } from "./cli/commands/table.ts";
import { type GlobalFlags, globalFlags, globalOptionsFrom } from "./cli/global.ts";
import { parseCommandLine, readFlags } from "./cli/parser.ts";
import type { AppSpec } from "./cli/spec.ts";

/** The global flags with the backends and prompt drivers this machine has. */
export const APP_GLOBAL_FLAGS = globalFlags({
  backends: AVAILABLE_BACKENDS,
  defaultBackend: DEFAULT_BACKEND,
  prompts: PROMPT_DRIVERS,
});

/**
 * The global flags offering only what is usable with `env`: the prompt drivers `--prompt` validation accepts (their
 * program is on `$PATH`) and the backends that can work here (secret-service and kwallet only with a D-Bus session).
 */
export function appGlobalFlags(env: Env): GlobalFlags {
  return globalFlags({
    backends: offeredBackends({ env }),
    defaultBackend: DEFAULT_BACKEND,
    prompts: availablePromptDrivers({ path: env.get("PATH") }),
  });
}

/**
 * The command-line description of the whole program.
 * @param flags the global flags (default {@link APP_GLOBAL_FLAGS}; help and completion use {@link appGlobalFlags})
 */
export function appSpec(flags: GlobalFlags = APP_GLOBAL_FLAGS): AppSpec {
  return {
    name: "aws-vault",
    help: "A vault for securely storing and accessing AWS credentials in development environments.",
    version: VERSION_TEXT,
    flags,
    commands: COMMANDS.map((c) => c.spec),
  };
}

/**
 * Profile and sso-session names for shell completion, read from the config file once and only if asked for; a broken
 * config file completes nothing rather than failing (completion swallows the error).
 */
async function configNamesForCompletion(env: Env): Promise<{ profiles: () => string[]; ssoSessions: () => string[] }> {
  const { loadConfigFileSync } = await import("./config/config_file.ts");
  let file: ReturnType<typeof loadConfigFileSync> | undefined;
  const config = () => file ??= loadConfigFileSync({ env });
  return { profiles: () => config().profileNames(), ssoSessions: () => config().ssoSessionNames() };
}

/** What the program reads from and writes to: `main.ts` passes the process's own, tests their own. */
export interface CliOptions {
  readonly env: Env;
  readonly out: Output;
  readonly terminal: Terminal;
  /** Asks the user things. */
  readonly prompter: Prompter;
  /** The clock (session expiry, cache freshness, debug-line timestamps). */
  readonly now: () => Date;
}

/**
 * Runs aws-vault with `argv` (without the program name) and resolves to the exit code.
 * @throws AppError for every user-facing failure; `main.ts` prints it
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const { env, out } = options;
  // Parsing takes every driver and backend (their own checks refuse the unusable ones with a reason); only help and
  // completion, which offer them, look at $PATH and the D-Bus session, so a command's start-up does not pay for that.
  const result = parseCommandLine(argv, { app: appSpec(), env });
  if (result.kind !== "run") {
    // Help and completion text is made by modules loaded only for them.
    let rendered: string;
    if (result.kind === "version") {
      rendered = result.text;
    } else if (result.kind === "complete") {
      // Shells run this on every Tab: it loads the completion code alone, not the help.
      const { completionOutput } = await import("./cli/completion.ts");
      // Only the values of --prompt and --backend depend on $PATH and the D-Bus session: look there only for them.
      const offers = result.words.some((w) => /^--(prompt|backend)(=|$)/.test(w));
      const app = appSpec(offers ? appGlobalFlags(env) : APP_GLOBAL_FLAGS);
      rendered = completionOutput(result.words, { app, ...await configNamesForCompletion(env) });
    } else {
      rendered = (await import("./cli/render.ts")).renderResult(appSpec(appGlobalFlags(env)), result);
    }
    const text = rendered.endsWith("\n") || rendered === "" ? rendered : rendered + "\n";
    // kingpin writes --version to stderr, and scripts written for the Go aws-vault read it there.
    if (result.kind === "version") out.stderr(text);
    else out.stdout(text);
    return 0;
  }
  const backendChosen = result.line.given.has(APP_GLOBAL_FLAGS.backend) || (env.get("AWS_VAULT_BACKEND") ?? "") !== "";
  const global = globalOptionsFrom(readFlags(APP_GLOBAL_FLAGS, result.line), { backendChosen });
  const log = global.debug ? debugLogger(out.stderr, { now: options.now }) : SILENT;
  log.debug(`aws-vault ${VERSION_TEXT}`);
  // Every spec in the app comes from COMMANDS, so this finds one.
  const command = COMMANDS.find((c) => c.spec === result.command);
  if (!command) throw new Error(`no implementation for command ${result.command.name}`);
  const run = command.prepare(result.line);
  validatePromptDriver(global.prompt, { path: env.get("PATH") });
  assertBackendAvailable(global.backend);
  try {
    return await run({
      global,
      env,
      out,
      log,
      terminal: options.terminal,
      prompter: options.prompter,
      now: options.now,
    });
  } catch (e) {
    // Usage errors and a cancelled prompt read the same in every command; everything else names the command.
    if (e instanceof AppError && !(e instanceof UsageError) && !(e instanceof PromptCancelledError)) {
      e.command ??= command.spec.name;
    } else if (!(e instanceof AppError) && e instanceof Error && e.stack) {
      log.debug(e.stack); // a bug: the trace belongs in the report, and only with --debug
    }
    throw e;
  }
}
