/**
 * A `deno lint` plugin that keeps the process's inputs out of the code below `main.ts`: under `src/`, the environment
 * (`Deno.env`) and terminal detection (`Deno.stdin/stdout/stderr.isTerminal()`) come in as parameters (`Env`,
 * `Terminal`), never from the process itself. `src/os/terminal.ts` is where terminal detection is made for `main.ts`.
 * @module
 */

const TERMINAL_ALLOWED = /\/src\/os\/terminal\.ts$/;
const STREAMS = new Set(["stdin", "stdout", "stderr"]);

function inSource(filename: string): boolean {
  return /\/src\//.test(filename);
}

const plugin: Deno.lint.Plugin = {
  name: "aws-vault",
  rules: {
    "no-process-env": {
      create(context) {
        return {
          'MemberExpression[object.type="Identifier"][object.name="Deno"][property.name="env"]'(
            node: Deno.lint.MemberExpression,
          ) {
            if (!inSource(context.filename)) return;
            context.report({
              node,
              message: "Deno.env below main.ts: take an `Env` (src/core/env.ts) from the caller instead",
            });
          },
        };
      },
    },
    "no-process-terminal": {
      create(context) {
        return {
          'CallExpression > MemberExpression[property.name="isTerminal"] > MemberExpression[object.name="Deno"]'(
            node: Deno.lint.MemberExpression,
          ) {
            if (!inSource(context.filename) || TERMINAL_ALLOWED.test(context.filename)) return;
            if (node.property.type !== "Identifier" || !STREAMS.has(node.property.name)) return;
            context.report({
              node,
              message:
                "terminal detection below main.ts: take a `Terminal` (src/os/terminal.ts) from the caller instead",
            });
          },
        };
      },
    },
  },
};

export default plugin;
