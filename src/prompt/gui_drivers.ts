/**
 * The dialog prompt drivers (docs/behaviour.md#mfa-prompt-drivers): `osascript` (macOS), `zenity` (GNOME) and `kdialog`
 * (KDE), each run with aws-vault's exact command line. Cancelling the dialog (exit status 1) is reported as `<driver>:
 * cancelled`.
 * @module
 */

import { mfaPromptMessage, type PromptDriverContext, runPromptProgram } from "./drivers.ts";

/** Quotes like Go's `%q`, which aws-vault uses to put the message into the AppleScript source. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** osascript's arguments: aws-vault's three-line script, its indentation included. */
export function osascriptArgs(mfaSerial: string): string[] {
  const script = `\n\t\tdisplay dialog ${goQuote(mfaPromptMessage(mfaSerial))} default answer "" ` +
    `buttons {"OK", "Cancel"} default button 1\n        text returned of the result\n        return result`;
  return ["-e", script];
}

/** zenity's arguments. */
export function zenityArgs(mfaSerial: string): string[] {
  return ["--entry", "--title", "aws-vault", "--text", mfaPromptMessage(mfaSerial)];
}

/** kdialog's arguments. */
export function kdialogArgs(mfaSerial: string): string[] {
  return ["--inputbox", mfaPromptMessage(mfaSerial), "--title", "aws-vault"];
}

/**
 * Asks with a macOS dialog.
 * @throws PromptDriverError `osascript: cancelled` or `osascript: exit status N`
 */
export function osascriptPrompt(mfaSerial: string, context: PromptDriverContext): Promise<string> {
  return runPromptProgram("osascript", osascriptArgs(mfaSerial), { ...context, cancelOnExit1: true });
}

/**
 * Asks with a zenity entry dialog.
 * @throws PromptDriverError `zenity: cancelled` or `zenity: exit status N`
 */
export function zenityPrompt(mfaSerial: string, context: PromptDriverContext): Promise<string> {
  return runPromptProgram("zenity", zenityArgs(mfaSerial), { ...context, cancelOnExit1: true });
}

/**
 * Asks with a kdialog input box.
 * @throws PromptDriverError `kdialog: cancelled` or `kdialog: exit status N`
 */
export function kdialogPrompt(mfaSerial: string, context: PromptDriverContext): Promise<string> {
  return runPromptProgram("kdialog", kdialogArgs(mfaSerial), { ...context, cancelOnExit1: true });
}
