/**
 * A stand-in `aws-vault` for the shell completion tests: parses its arguments with the fixture app and prints what
 * the parser says to print. Run by a tiny `aws-vault` shell script put first on PATH.
 * @module
 */

import { parseCommandLine } from "../../src/cli/parser.ts";
import { FIXTURE_APP, FIXTURE_PROFILES } from "./cli_fixture.ts";

const result = parseCommandLine(Deno.args, {
  app: FIXTURE_APP,
  env: () => undefined,
  completionHints: { profile: () => FIXTURE_PROFILES },
});
const text = result.kind === "run"
  ? JSON.stringify({ command: result.command.name, args: result.args }) + "\n"
  : result.text;
let data = new TextEncoder().encode(text);
while (data.length > 0) data = data.subarray(Deno.stdout.writeSync(data));
