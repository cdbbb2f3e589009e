#!/usr/bin/env python3
"""Runs a command with the kernel keyring's system calls refused, as Docker's default seccomp profile refuses them.

usage: keyctl_denied.py CMD ARGS...
add_key, request_key and keyctl fail with EPERM in CMD and everything it starts (a seccomp filter is inherited and
cannot be removed). x86_64 and aarch64 Linux; other system calls and ABIs are left alone.
"""
import ctypes, os, platform, struct, sys

# (AUDIT_ARCH_*, the numbers of add_key, request_key, keyctl) per machine
ARCHES = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, EPERM = 0x7FFF0000, 0x00050000, 1
PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, SECCOMP_MODE_FILTER = 22, 38, 2


def insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def main() -> None:
    arch, numbers = ARCHES[platform.machine()]
    prog = [
        insn(BPF_LD_W_ABS, 4),  # seccomp_data.arch
        insn(BPF_JEQ_K, arch, 1, 0),
        insn(BPF_RET_K, SECCOMP_RET_ALLOW),
        insn(BPF_LD_W_ABS, 0),  # seccomp_data.nr
    ]
    for i, nr in enumerate(numbers):
        prog.append(insn(BPF_JEQ_K, nr, len(numbers) - i, 0))  # jump to the ERRNO return
    prog.append(insn(BPF_RET_K, SECCOMP_RET_ALLOW))
    prog.append(insn(BPF_RET_K, SECCOMP_RET_ERRNO | EPERM))
    code = ctypes.create_string_buffer(b"".join(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}")
    os.execvp(sys.argv[1], sys.argv[1:])


main()
