/**
 * The few libc calls Deno cannot make by itself: `execve` (replace this process, as aws-vault does on Unix) and
 * `signal` (reset SIGPIPE before exec; ignore SIGUSR1 so a long-running parent cannot be opened by Deno's inspector).
 * Thin on purpose: everything above it is ordinary TypeScript.
 * @module
 */

import { type Logger, SILENT } from "../core/log.ts";

/** Signal numbers Linux and macOS share, by name: for `signal()` here and the 128+N status of a killed child. */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
} as const;

/** SIGUSR1 differs between Linux (10) and macOS/BSD (30). */
export const SIGUSR1 = Deno.build.os === "linux" ? 10 : 30;

const SIG_DFL = null;
const SIG_IGN = Deno.UnsafePointer.create(1n);

const SYMBOLS = {
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
} as const;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function libc(): Deno.DynamicLibrary<typeof SYMBOLS> {
  lib ??= Deno.dlopen(Deno.build.os === "darwin" ? "/usr/lib/libSystem.B.dylib" : "libc.so.6", SYMBOLS);
  return lib;
}

const encoder = new TextEncoder();

/** NUL-terminated C strings plus a NULL-terminated pointer array; the strings stay referenced by the result. */
function cStringArray(values: readonly string[]): { array: Uint8Array; keep: Uint8Array[] } {
  const keep = values.map((v) => encoder.encode(v + "\0"));
  const pointers = new BigUint64Array(values.length + 1);
  keep.forEach((buf, i) => pointers[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))));
  return { array: new Uint8Array(pointers.buffer), keep };
}

/**
 * Replaces this process with `path` (Unix only). Returns only if `execve` failed; the caller then falls back to a
 * subprocess. SIGPIPE is reset first: the Rust runtime under Deno ignores it, and an ignored signal survives exec,
 * which would change how the command behaves in a pipeline (`yes | head`).
 */
export function execve(path: string, argv: readonly string[], env: Readonly<Record<string, string>>): void {
  if (Deno.build.os === "windows") return;
  const c = libc();
  c.symbols.signal(SIGNALS.SIGPIPE, SIG_DFL);
  const args = cStringArray(argv);
  const envp = cStringArray(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  c.symbols.execve(encoder.encode(path + "\0"), args.array, envp.array);
  // Still here: execve failed. Restore what Deno expects before going on.
  c.symbols.signal(SIGNALS.SIGPIPE, SIG_IGN);
  void args.keep, envp.keep;
}

/**
 * Keeps SIGUSR1 ignored in this process. Deno ≥ 2.9.2 opens the V8 inspector on 127.0.0.1:9229 when a process that
 * has run for over 500 ms receives SIGUSR1, and it installs that handler only at the 500 ms mark, replacing an
 * earlier SIG_IGN. So the signal is ignored now and re-ignored every 10 ms until the call that replaced Deno's
 * handler is seen (or 5 s have passed), leaving no usable window. Children spawned earlier keep their default.
 * The end of that watch is logged (`SIGUSR1 guard: …`), which tests wait for instead of guessing at Deno's timing.
 */
export function guardSigusr1(options?: { log?: Logger }): void {
  if (Deno.build.os === "windows") return;
  const log = options?.log ?? SILENT;
  const { signal } = libc().symbols;
  // SIG_DFL is NULL and SIG_IGN is 1: any other previous disposition is the handler Deno installs.
  const replacesDenos = () => {
    const previous = signal(SIGUSR1, SIG_IGN);
    return previous !== null && Deno.UnsafePointer.value(previous) !== 1n;
  };
  // A process that has already run for 500 ms (a server that fetched credentials first) has Deno's handler by now.
  if (replacesDenos()) {
    log.debug("SIGUSR1 guard: Deno's inspector handler replaced, SIGUSR1 is ignored");
    return;
  }
  const started = Date.now();
  const timer = setInterval(() => {
    if (replacesDenos()) log.debug("SIGUSR1 guard: Deno's inspector handler replaced, SIGUSR1 is ignored");
    else if (Date.now() - started > 5000) {
      log.debug("SIGUSR1 guard: Deno installed no handler in 5 s, SIGUSR1 is ignored");
    } else return;
    clearInterval(timer);
  }, 10);
  Deno.unrefTimer(timer);
}
