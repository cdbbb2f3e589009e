/**
 * The `ykman` driver (docs/behaviour.md#mfa-prompt-drivers): the code comes from a YubiKey's OATH applet, which may
 * wait for a touch. Its stdin and stderr are the controlling terminal when there is one, so ykman's own prompts (touch,
 * OATH password) reach the user even under credential_process, as in the ByteNess fork.
 * @module
 */

import { SILENT } from "../core/log.ts";
import { type PromptDriverContext, runPromptProgram, ttyAvailable } from "./drivers.ts";

/**
 * ykman's arguments: `[--device $YKMAN_OATH_DEVICE_SERIAL] oath accounts code --single <name>` (ykman 4+), or
 * `… oath code --single <name>` when `AWS_VAULT_YKMAN_VERSION` is 1, 2 or 3. The account name is
 * `$YKMAN_OATH_CREDENTIAL_NAME`, else the MFA serial.
 */
export function ykmanArgs(mfaSerial: string, context: PromptDriverContext): string[] {
  const env = context.env;
  const name = env.get("YKMAN_OATH_CREDENTIAL_NAME") || mfaSerial;
  const device = env.get("YKMAN_OATH_DEVICE_SERIAL");
  const args = device ? ["--device", device] : [];
  const legacy = ["1", "2", "3"].includes(env.get("AWS_VAULT_YKMAN_VERSION") ?? "");
  return [...args, "oath", ...(legacy ? [] : ["accounts"]), "code", "--single", name];
}

/** The notice shown before ykman runs; a key that needs a touch otherwise looks like a hang. */
export function ykmanNotice(mfaSerial: string): string {
  return `Touch your YubiKey… (ykman is generating the MFA code for ${mfaSerial})\n`;
}

/** Shows the notice where the user sees it: the terminal when there is one, else our stderr. */
function showNotice(text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (ttyAvailable()) {
    try {
      const tty = Deno.openSync("/dev/tty", { write: true });
      try {
        tty.writeSync(bytes);
        return;
      } finally {
        tty.close();
      }
    } catch {
      // fall through to stderr
    }
  }
  Deno.stderr.writeSync(bytes);
}

/**
 * Reads the code from a YubiKey with ykman.
 * @throws PromptDriverError `ykman: exit status N` (ykman's own reason is on the terminal or stderr)
 */
export function ykmanPrompt(mfaSerial: string, context: PromptDriverContext): Promise<string> {
  const args = ykmanArgs(mfaSerial, context);
  (context.log ?? SILENT).debug(`Fetching MFA code using \`ykman ${args.join(" ")}\``);
  showNotice(ykmanNotice(mfaSerial));
  return runPromptProgram("ykman", args, { ...context, tty: true });
}
