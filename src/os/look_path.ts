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
