/**
 * The process side of `exec`: PATH lookup, exit statuses, signal forwarding, and the process replacement (execve)
 * with SIGPIPE restored, exercised through a real parent process (tests/support/exec_harness.ts).
 */
import { equal, ok } from "node:assert/strict";
import { lookPath } from "../src/os/look_path.ts";
import { waitForText } from "./support/cli.ts";

const harness = new URL("./support/exec_harness.ts", import.meta.url).pathname;

function start(mode: "subprocess" | "replace" | "server-fails", cmd: string[], env?: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", harness, mode, ...cmd],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Whether the kernel discards signal `signo` for process `pid` (its bit in /proc/<pid>/status SigIgn). */
function ignoresSignal(pid: number, signo: number): boolean {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("SigIgn:"));
  return ((BigInt(`0x${line?.split(/\s+/)[1] ?? "0"}`) >> BigInt(signo - 1)) & 1n) === 1n;
}

const alive = (pid: number) => {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
};

Deno.test("lookPath: names with a slash as is, PATH search, executables only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\n");
    await Deno.chmod(`${dir}/tool`, 0o755);
    await Deno.writeTextFile(`${dir}/data`, "x");
    equal(lookPath("tool", { path: `/nonexistent:${dir}` }), `${dir}/tool`);
    equal(lookPath("data", { path: dir }), undefined);
    equal(lookPath(`${dir}/tool`, { path: "" }), `${dir}/tool`);
    equal(lookPath("no-such-command-here", { path: dir }), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const mode of ["subprocess", "replace"] as const) {
  Deno.test(`${mode}: the exit code and a killing signal come back as the status`, async () => {
    equal((await start(mode, ["sh", "-c", "exit 7"]).output()).code, 7);
    equal((await start(mode, ["sh", "-c", "kill -TERM $$"]).output()).code, 143);
  });
}

Deno.test("subprocess: TERM is forwarded, INT is not (the terminal already sends it), SIGUSR1 opens no inspector", async () => {
  const child = start("subprocess", [
    "sh",
    "-c",
    "trap 'exit 42' TERM; echo started; while :; do sleep 0.05; echo tick; done",
  ]);
  await waitForText(child.stdout, "started");
  // The guard logs when it has replaced Deno's SIGUSR1 handler (installed at Deno's 500 ms mark): from then on the
  // kernel discards SIGUSR1 for this process, which /proc shows.
  await waitForText(child.stderr, "SIGUSR1 guard:");
  ok(ignoresSignal(child.pid, 10), "SIGUSR1 is ignored");
  Deno.kill(child.pid, "SIGUSR1");
  Deno.kill(child.pid, "SIGINT");
  // The child still runs (it would have printed its exit otherwise); the parent must be alive and waiting for it.
  await waitForText(child.stdout, "tick");
  ok(alive(child.pid), "the parent survives INT and waits for its child");
  const inspector = await Deno.connect({ hostname: "127.0.0.1", port: 9229 }).then(
    (c) => (c.close(), true),
    () => false,
  );
  equal(inspector, false, "no V8 inspector listening after SIGUSR1");
  Deno.kill(child.pid, "SIGTERM");
  const status = await child.status;
  equal(status.code, 42, "TERM reached the child, whose own exit code came back");
  await child.stderr.cancel();
});

Deno.test("replace: the command gets SIGPIPE back at its default and no blocked signals", async () => {
  const out = await start("replace", ["sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"]).output();
  equal(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  const ign = BigInt("0x" + /SigIgn:\s*([0-9a-f]+)/.exec(text)![1]);
  const blk = BigInt("0x" + /SigBlk:\s*([0-9a-f]+)/.exec(text)![1]);
  equal(ign & (1n << 12n), 0n, "SIGPIPE (13) not ignored");
  equal(blk, 0n);
  // `yes | head -1` ends only if yes dies of SIGPIPE.
  const pipe = await start("replace", ["sh", "-c", "yes | head -n 1"]).output();
  equal(new TextDecoder().decode(pipe.stdout), "y\n");
});

Deno.test("subprocess: HUP, USR2, WINCH and QUIT reach the command; the parent ends with its status", async () => {
  const script = "trap 'echo hup' HUP; trap 'echo usr2' USR2; trap 'echo winch' WINCH; trap 'exit 44' QUIT; " +
    "echo started; while :; do sleep 0.05; done";
  const child = start("subprocess", ["sh", "-c", script]);
  await waitForText(child.stdout, "started");
  await waitForText(child.stderr, "SIGUSR1 guard:");
  for (const [signal, echo] of [["SIGHUP", "hup"], ["SIGUSR2", "usr2"], ["SIGWINCH", "winch"]] as const) {
    Deno.kill(child.pid, signal);
    await waitForText(child.stdout, echo);
  }
  ok(alive(child.pid), "the parent outlives the signals it forwards");
  Deno.kill(child.pid, "SIGQUIT");
  const status = await child.status;
  equal(status.code, 44, "QUIT reached the command, whose exit code came back");
  await child.stdout.cancel();
  await child.stderr.cancel();
});

Deno.test("subprocess: when the credential server it relies on goes down, the command gets TERM and the error comes back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ready = `${dir}/ready`;
    const script = `trap 'echo term; exit 9' TERM; echo started; touch '${ready}'; while :; do sleep 0.05; done`;
    const child = start("server-fails", ["sh", "-c", script], { HARNESS_READY_FILE: ready });
    await waitForText(child.stdout, "started");
    await waitForText(child.stdout, "term");
    await waitForText(child.stderr, "error: the credential server on port");
    equal((await child.status).code, 1);
    await child.stdout.cancel();
    await child.stderr.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
