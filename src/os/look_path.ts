/**
 * Finding a program on PATH, as Go's `exec.LookPath` does. Shared by `exec`, the prompt drivers and the pass backend.
 * @module
 */

const WINDOWS = Deno.build.os === "windows";

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (WINDOWS || ((info.mode ?? 0) & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * The path of `command`: a name with a path separator is used as is (if executable), otherwise each directory of
 * `options.path` is searched (an empty entry means the current directory; on Windows the usual extensions are tried).
 * @returns undefined when nothing executable is found
 */
export function lookPath(command: string, options: { path?: string }): string | undefined {
  if (command.includes("/") || (WINDOWS && command.includes("\\"))) return isExecutable(command) ? command : undefined;
  const exts = WINDOWS ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of (options.path ?? "").split(WINDOWS ? ";" : ":")) {
    for (const ext of exts) {
      const candidate = `${dir === "" ? "." : dir}/${command}${ext}`;
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Why {@link lookPath} found nothing, as Go's `exec.LookPath` says it (after `exec: "<command>": `): for a name with a
 * path separator the reason that path cannot run (`permission denied` for a file without execute permission or a
 * directory, `stat <path>: no such file or directory` when it does not exist); for a bare name
 * `executable file not found in $PATH`.
 */
export function lookPathFailure(command: string): string {
  if (!(command.includes("/") || (WINDOWS && command.includes("\\")))) return "executable file not found in $PATH";
  try {
    Deno.statSync(command);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return WINDOWS ? "file does not exist" : `stat ${command}: no such file or directory`;
    }
    if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
    return (e as Error).message;
  }
  return "permission denied";
}
