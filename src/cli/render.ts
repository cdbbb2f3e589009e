/**
 * Turns the help and completion results of the parser into the text printed on stdout. Loaded only when help or
 * completion is asked for (see `parser.ts`).
 * @module
 */

import { completionOutput, completionScript } from "./completion.ts";
import { appHelp, commandHelp, manPage } from "./help.ts";
import type { ParseResult } from "./parser.ts";
import type { AppSpec } from "./spec.ts";

/** A parse result that prints text rather than runs a command. */
export type TextResult = Exclude<ParseResult, { kind: "run" }>;

/**
 * The text for `result`, ending with a newline unless empty.
 * @param options.profiles profile names for completion; errors are swallowed (a broken config must not break the
 *   shell)
 */
export function renderResult(app: AppSpec, result: TextResult, options?: { profiles?: () => string[] }): string {
  switch (result.kind) {
    case "version":
      return result.text;
    case "complete":
      return completionOutput(result.words, { app, profiles: options?.profiles });
    case "script":
      return completionScript(result.shell, { appName: app.name });
    case "help":
      switch (result.help.of) {
        case "man":
          return manPage(app);
        case "command":
          return commandHelp(app, result.help.command);
        case "app":
          return appHelp(app, { long: result.help.long });
      }
  }
}
