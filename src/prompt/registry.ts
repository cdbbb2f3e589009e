/**
 * The MFA prompt driver registry (docs/behaviour.md#mfa-prompt-drivers): name → driver for every driver this build
 * implements, the drivers usable on this machine and the automatic choice. Import drivers from here, not from their
 * files.
 * @module
 */

import { mfaPromptMessage, type PromptDriverContext } from "./drivers.ts";
import { kdialogPrompt, osascriptPrompt, zenityPrompt } from "./gui_drivers.ts";
import { NoTerminalError } from "./prompter.ts";
import { ykmanPrompt } from "./ykman.ts";

export {
  availablePromptDrivers,
  choosePromptDriver,
  type ChoosePromptDriverOptions,
  mfaPromptMessage,
  PROMPT_DRIVERS,
  type PromptDriverContext,
  PromptDriverError,
  validatePromptDriver,
} from "./drivers.ts";

/** A driver: asks for the current code of MFA device `mfaSerial` and returns it trimmed. */
export type PromptDriver = (mfaSerial: string, context: PromptDriverContext) => Promise<string>;

/**
 * The terminal driver: hidden input on the controlling terminal, so it works while stdout is captured. Without a
 * terminal it fails rather than read standard input, which under credential_process belongs to another program.
 */
export const terminalPrompt: PromptDriver = async (mfaSerial, context) => {
  const what = `MFA code for ${mfaSerial} (use --mfa-token or mfa_process when there is no terminal)`;
  if (!context.prompter) throw new NoTerminalError(`no terminal to ask for the ${what}`);
  return (await context.prompter.secret(mfaPromptMessage(mfaSerial), { what, stdinFallback: false })).trim();
};

/** Every driver this build implements (wincredui is not one yet). Availability is decided by `drivers.ts`. */
export const BUILTIN_PROMPT_DRIVERS: Readonly<Record<string, PromptDriver>> = {
  kdialog: kdialogPrompt,
  osascript: osascriptPrompt,
  terminal: terminalPrompt,
  ykman: ykmanPrompt,
  zenity: zenityPrompt,
};
