"""How a sandbox child locks itself down before it reads its first request.

Order matters: everything the child needs is imported first (afterwards it can open no file), then
the filesystem goes (an empty chroot when started as root), then the privileges (an unprivileged
uid, no new privileges, not dumpable), then the resource limits, and last the seccomp filter, an
allowlist: what pure computation over pipes needs and nothing else. No sockets, no open(), no
fork/clone/exec, no kill, no ptrace. A refused call fails with EPERM, so the interpreter reports an
error instead of dying mid-write.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource

import pyseccomp

PR_SET_DUMPABLE = 4
PR_GET_SECCOMP = 21
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39

# Enough for the interpreter to compute, allocate, take signals, keep time and talk over its two pipes.
ALLOWED_SYSCALLS = (
    "read", "write", "readv", "writev", "close", "fstat", "newfstatat", "lseek",
    "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "setitimer", "getitimer",
    "getrusage", "getrlimit", "setrlimit", "prlimit64",
    "clock_gettime", "clock_getres", "gettimeofday", "time",
    "futex", "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getrandom",
    "sched_yield", "restart_syscall", "exit", "exit_group",
)

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int = 0) -> int:
    result = _libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    if result < 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")
    return result


def lock_down(*, scratch: str, uid: int | None, gid: int | None, memory_bytes: int, open_files: int,
              cpu_budget_seconds: int) -> None:
    """Confine this process for good. `uid`/`gid` are used only when started as root."""
    os.chdir(scratch)
    if os.geteuid() == 0:
        if uid is None or uid == 0:
            raise RuntimeError("running as root, the sandbox needs an unprivileged user to drop to")
        os.chroot(scratch)  # an empty directory: no file of the host is even visible
        os.chdir("/")
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if 0 in os.getresuid():
            raise RuntimeError("could not drop root privileges")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)  # no other process of this uid may ptrace it or read its memory
    for limit, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ):
        resource.setrlimit(limit, (value, value))
    # Per request the child lowers the soft CPU limit to what that request may use; the hard limit is
    # its whole life's budget, after which the host replaces it.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_budget_seconds, cpu_budget_seconds))
    _load_seccomp()


def _load_seccomp() -> None:
    refuse = pyseccomp.ERRNO(errno.EPERM)
    syscall_filter = pyseccomp.SyscallFilter(refuse)
    for name in ALLOWED_SYSCALLS:
        syscall_filter.add_rule(pyseccomp.ALLOW, name)
    # prctl only to ask: "am I filtered, do I have no-new-privs" (the handshake reports both).
    for option in (PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS):
        syscall_filter.add_rule(pyseccomp.ALLOW, "prctl", pyseccomp.Arg(0, pyseccomp.EQ, option))
    syscall_filter.load()


def report() -> dict[str, int]:
    """What the host's handshake checks: who we are and how we are confined."""
    return {"pid": os.getpid(), "uid": os.getuid(), "seccomp": _prctl(PR_GET_SECCOMP),
            "no_new_privs": _prctl(PR_GET_NO_NEW_PRIVS)}
