/**
 * The prompter `main.ts` uses: the terminal implementation, loaded on the first prompt, so runs that ask nothing do
 * not load it.
 * @module
 */

import type { Prompter, PromptIo } from "./prompter.ts";

/** A {@link Prompter} over `io` whose implementation (`terminal.ts`) loads on the first prompt. */
export function lazyPrompter(io: PromptIo): Prompter {
  const load = async () => (await import("./terminal.ts")).terminalPrompter(io);
  return {
    visible: async (message, options) => (await load()).visible(message, options),
    secret: async (message, options) => (await load()).secret(message, options),
    confirm: async (message) => (await load()).confirm(message),
  };
}
