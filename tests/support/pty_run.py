#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal and answers its prompts, as a person at a terminal would.

usage: pty_run.py SCRIPT_JSON -- CMD ARGS...
SCRIPT_JSON is a list of [expected_text, reply] pairs: once the terminal shows expected_text
(after the previous match), reply is typed. Prints one JSON object: {"output": all bytes the
terminal showed (decoded), "code": exit status (128+N for a signal), "unmatched": pairs not reached}.
The child is its own session leader with the pty as controlling terminal, so /dev/tty is this pty.
Bounded: gives up after 60 s.
"""
import json, os, pty, select, sys, time

def main() -> None:
    sep = sys.argv.index("--")
    script = json.loads(sys.argv[1])
    cmd = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    pos = 0
    deadline = time.time() + 30
    while time.time() < deadline:
        if script:
            want = script[0][0].encode()
            i = out.find(want, pos)
            if i >= 0:
                pos = i + len(want)
                time.sleep(0.05)  # let the child switch the terminal mode before typing
                os.write(fd, script.pop(0)[1].encode())
                continue
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        else:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pid = 0
                break
    if pid and time.time() >= deadline:
        os.kill(pid, 9)  # bounded: a prompt that never came must not hang the test run
    if pid:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code
    print(json.dumps({"output": out.decode("utf-8", "replace"), "code": code, "unmatched": script}))

main()
