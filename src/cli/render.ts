/**
 * Turns the help and completion-script results of the parser into the text printed on stdout. Loaded only when
 * one is asked for (see `parser.ts`). Completion candidates are `completion.ts`'s `completionOutput`, which the
 * program loads without this module (shells ask on every Tab).
 * @module
 */

import { completionScript } from "./completion.ts";
import { appHelp, commandHelp, manPage } from "./help.ts";
import type { ParseResult } from "./parser.ts";
import type { AppSpec } from "./spec.ts";

/** A parse result that prints text made here. */
export type TextResult = Extract<ParseResult, { kind: "version" | "help" | "script" }>;

/** The text for `result`, ending with a newline unless empty. */
export function renderResult(app: AppSpec, result: TextResult): string {
  switch (result.kind) {
    case "version":
      return result.text;
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
