/**
 * Installs the `aws-vault` command on Windows: `DIR\aws-vault.cmd` (default `%USERPROFILE%\.local\bin`), a small
 * batch launcher that runs this checkout's bundle (`dist\aws-vault.js`) with the Deno that runs this script, the
 * way `scripts/install` does on Linux and macOS (docs/install.md, docs/windows.md).
 *
 *   deno run -A scripts\windows\install.ts [--prefix DIR]               install or replace DIR\aws-vault.cmd
 *   deno run -A scripts\windows\install.ts --uninstall [--prefix DIR]   remove it, if this script wrote it
 *
 * Run it with the pinned Deno (scripts/bootstrap's DENO_VERSION; it says so when this Deno is another). It does not
 * build the bundle: run `deno task bundle` first when `dist\aws-vault.js` is missing or old.
 * @module
 */

const USAGE = "usage: deno run -A scripts\\windows\\install.ts [--prefix DIR] [--uninstall]";
/** The launcher's second line starts with this: how a later run (or --uninstall) recognises a file it wrote. */
const MARKER = "rem aws-vault launcher written by scripts\\windows\\install.ts";
/** The flags scripts/install's launcher runs the bundle with (see there for why). */
const DENO_FLAGS =
  "run -A --quiet --no-prompt --no-config --no-lock --cached-only --v8-flags=--no-lazy,--max-semi-space-size=2";

function fail(message: string, code = 1): never {
  console.error(`install: ${message}`);
  Deno.exit(code);
}

/** A file URL as a Windows path. */
function windowsPath(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\");
}

/** The launcher's text (CRLF lines). `%` is doubled: cmd would expand it. */
export function launcherText(options: { root: string; deno: string; entry: string }): string {
  const bat = (text: string) => text.replaceAll("%", "%%");
  const deno = bat(options.deno);
  const entry = bat(options.entry);
  const added = (name: string, value: string) =>
    `if not defined ${name} (set "${name}=${value}" & set "AWS_VAULT_LAUNCHER_ADDED=%AWS_VAULT_LAUNCHER_ADDED% ${name}")`;
  return [
    "@echo off",
    `${MARKER} from ${bat(options.root)}`,
    "rem Do not edit: run the installer again to update, with --uninstall to remove.",
    "setlocal DisableDelayedExpansion",
    `if not exist "${deno}" goto gone`,
    `if not exist "${entry}" goto gone`,
    "rem DENO_* variables set here are listed in AWS_VAULT_LAUNCHER_ADDED; aws-vault removes them again at start, so",
    "rem commands it runs see the environment you gave it.",
    'set "AWS_VAULT_LAUNCHER_ADDED="',
    added("DENO_NO_UPDATE_CHECK", "1"),
    added("DENO_NO_PACKAGE_JSON", "1"),
    added("DENO_TLS_CA_STORE", "mozilla,system"),
    `"${deno}" ${DENO_FLAGS} "${entry}" %*`,
    "exit /b %ERRORLEVEL%",
    ":gone",
    `echo aws-vault: the checkout this command runs from is gone: "${
      bat(options.root)
    }" (moved or deleted); run scripts\\windows\\install.ts from the checkout's new place 1>&2`,
    "exit /b 127",
    "",
  ].join("\r\n");
}

/** Whether `path` is a launcher this script wrote. */
async function ours(path: string): Promise<boolean> {
  const text = await Deno.readTextFile(path).catch(() => undefined);
  return text?.split(/\r?\n/)[1]?.startsWith(MARKER) ?? false;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function main(args: string[]): Promise<void> {
  let prefix: string | undefined;
  let uninstall = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--prefix" && i + 1 < args.length) prefix = args[++i];
    else if (arg.startsWith("--prefix=")) prefix = arg.slice("--prefix=".length);
    else if (arg === "--uninstall") uninstall = true;
    else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      return;
    } else fail(USAGE, 2);
  }
  if (Deno.build.os !== "windows") fail("this installs the Windows command; on Linux and macOS run scripts/install");
  const home = Deno.env.get("USERPROFILE");
  prefix ??= home ? `${home}\\.local\\bin` : fail("USERPROFILE is not set; give --prefix DIR");
  if (!prefix) fail(USAGE, 2);
  prefix = prefix.replace(/[\\/]+$/, "");
  const target = `${prefix}\\aws-vault.cmd`;

  if (uninstall) {
    if (!await exists(target)) {
      console.log(`install: nothing to remove: ${target} does not exist`);
      return;
    }
    if (!await ours(target)) fail(`${target} was not installed by scripts\\windows\\install.ts; leaving it alone`);
    await Deno.remove(target);
    console.log(`install: removed ${target}`);
    return;
  }

  if (await exists(target) && !await ours(target)) {
    fail(`${target} exists and was not installed by scripts\\windows\\install.ts; remove it first or choose --prefix`);
  }
  const root = windowsPath(new URL("../../", import.meta.url)).replace(/\\$/, "");
  const entry = `${root}\\dist\\aws-vault.js`;
  if (!await exists(entry)) fail(`${entry} is missing: run "deno task bundle" in ${root} first`);
  const bootstrap = await Deno.readTextFile(`${root}\\scripts\\bootstrap`).catch(() => "");
  const pinned = bootstrap.match(/^DENO_VERSION=(\S+)$/m)?.[1];
  if (pinned && pinned !== Deno.version.deno) {
    console.error(`install: note: this is Deno ${Deno.version.deno}; the checkout pins ${pinned} (scripts/bootstrap)`);
  }

  await Deno.mkdir(prefix, { recursive: true });
  const temp = `${prefix}\\.aws-vault-${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, launcherText({ root, deno: Deno.execPath(), entry }));
    await Deno.rename(temp, target);
  } finally {
    await Deno.remove(temp).catch(() => {});
  }

  // Warm-up: Deno keeps the compiled code of each module in its cache after the first run that loads it.
  const scratch = await Deno.makeTempDir({ prefix: "aws-vault-install-" });
  const run = (args: string[], env?: Record<string, string>) =>
    new Deno.Command(target, { args, env, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  try {
    await run(["list"], {
      USERPROFILE: scratch,
      AWS_CONFIG_FILE: `${scratch}\\config`,
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT_FILE_DIR: `${scratch}\\keys`,
    });
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  const version = await run(["--version"]);
  const said = new TextDecoder().decode(version.stderr).trim();
  if (!version.success) fail(`${target} does not run: ${said}`);
  console.log(`install: installed aws-vault ${said} as ${target}`);
  const onPath = (Deno.env.get("PATH") ?? "").split(";").some((dir) =>
    dir.replace(/[\\/]+$/, "").toLowerCase() === prefix!.toLowerCase()
  );
  console.log(
    onPath
      ? `install: ${prefix} is on your PATH: run aws-vault --help`
      : `install: ${prefix} is not on your PATH; add it (Settings > Environment Variables) or run ${target}`,
  );
}

if (import.meta.main) await main(Deno.args);
