/**
 * The command table and dispatch: parse the command line, set up logging, run the chosen command.
 * @module
 */

import { type Env, loadConfigFileSync } from "../config/config_file.ts";
import { AppError, PromptCancelledError, UsageError } from "../errors.ts";
import { debug, setDebug } from "../log.ts";
import { PROMPT_DRIVERS, validatePromptDriver } from "../prompt/drivers.ts";
import { VERSION_TEXT } from "../version.ts";
import { assertBackendAvailable, AVAILABLE_BACKENDS, DEFAULT_BACKEND } from "../vault/backends.ts";
import { COMMANDS } from "./commands.ts";
import type { Output, ProcessEnv } from "./command.ts";
import { globalFlags, globalOptionsFrom } from "./global.ts";
import { type AppSpec, parseCommandLine } from "./parser.ts";

/** The command-line description of the whole program. */
export function appSpec(): AppSpec {
  return {
    name: "aws-vault",
    help: "A vault for securely storing and accessing AWS credentials in development environments.",
    version: VERSION_TEXT,
    flags: globalFlags({ backends: AVAILABLE_BACKENDS, defaultBackend: DEFAULT_BACKEND, prompts: PROMPT_DRIVERS }),
    commands: COMMANDS.map((c) => c.spec),
  };
}

/** Profile names for shell completion; a broken config file completes nothing rather than failing. */
function profileNamesForCompletion(env: Env): string[] {
  try {
    return loadConfigFileSync({ env }).profileNames();
  } catch {
    return [];
  }
}

/**
 * Runs aws-vault with `argv` (without the program name) and resolves to the exit code.
 * @throws AppError for every user-facing failure; `main.ts` prints it
 */
export async function runCli(argv: readonly string[], options: { env: ProcessEnv; out: Output }): Promise<number> {
  const { env, out } = options;
  const result = parseCommandLine(argv, {
    app: appSpec(),
    env: (name) => env.get(name),
    completionHints: { profile: () => profileNamesForCompletion(env) },
  });
  if (result.kind !== "run") {
    const text = result.text.endsWith("\n") || result.text === "" ? result.text : result.text + "\n";
    // kingpin writes --version to stderr, and scripts written for the Go aws-vault read it there.
    if (result.kind === "version") out.stderr(text);
    else out.stdout(text);
    return 0;
  }
  const global = globalOptionsFrom(result.flags);
  setDebug(global.debug);
  debug(`aws-vault ${VERSION_TEXT}`);
  validatePromptDriver(global.prompt);
  assertBackendAvailable(global.backend);
  const command = COMMANDS.find((c) => c.spec === result.command)!;
  const { run } = await command.load();
  try {
    return await run({ flags: result.flags, args: result.args, global, env, out });
  } catch (e) {
    // Usage errors and a cancelled prompt read the same in every command; everything else names the command.
    if (e instanceof AppError && !(e instanceof UsageError) && !(e instanceof PromptCancelledError)) {
      e.command ??= command.spec.name;
    }
    throw e;
  }
}
