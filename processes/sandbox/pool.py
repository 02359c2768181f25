"""The host side of the sandbox: a small pool of child processes per platform process.

Every API, worker and scheduler process has its own pool (made on first use, again after a fork).
A request takes an idle child, or starts one while fewer than `children` exist, or waits for one.
Each evaluation has a wall-clock deadline: a child that has not answered by then is killed and
replaced, and so is a child that reported a limit or died (a crash, SIGXCPU). Children are started
by executing `child.py` with an empty environment, never forked from this process.

Measured here: a round trip to a warm child costs tens of microseconds; starting one ~0.1 s.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bokji.i18n import gettext as _
from processes.sandbox import N_, codec

CHILD = Path(__file__).resolve().parent / "child.py"
START_TIMEOUT = 20.0  # seconds for a new child to import and lock itself down
CPU_BUDGET = 600  # CPU seconds a child may use in its life before it is replaced
# An evaluation takes well under a millisecond. One still running after this long is likely a runaway:
# its child drops to the lowest CPU priority, behind requests, the database and everyone else's model
# code, for the rest of its life (a process may not raise its priority again).
DEMOTE_AFTER = 0.1


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float = 2.0  # CPU time one evaluation may use
    wall_seconds: float = 5.0  # wall clock before the child is killed and replaced
    memory_mb: int = 256  # address space of one child
    open_files: int = 8
    children: int = 40  # children per process at most: as many as the API's request threads, so no
    # request waits behind slow scripts of others (children start when needed, see idle_seconds)
    wait_seconds: float = 30.0  # how long an evaluation waits for a free child
    idle_children: int = 2  # children kept however long they are idle
    idle_seconds: float = 60.0  # more than that many idle for this long are retired
    user: str = "nobody"  # the uid children drop to when the platform runs as root
    reply_bytes: int = 16 * 1024 * 1024  # longest reply read from a child
    requests_per_child: int = 20_000


# The kinds as a person reads them (the code itself stays in `kind` and in the incident's kind).
KINDS = {"limit": N_("limit"), "timeout": N_("timeout"), "refused": N_("refused"), "error": N_("error"),
         "crash": N_("crash"), "busy": N_("busy")}


class SandboxFailure(Exception):
    """An evaluation that did not produce a value. `kind`: limit | timeout | refused | error | crash | busy.

    The message names the kind and, for errors, the exception type and line — never a value the
    model computed, the host's environment or its stack. `detail` and `str()` are English (logs);
    `text` (a catalog text) with its `params` is what `said()` words in the reader's language, behind
    `construct` (a refused construct, as Python names it).
    """

    def __init__(self, kind: str, detail: str | None = None, *, text: str | None = None,
                 params: dict[str, Any] | None = None, construct: str | None = None,
                 error_type: str | None = None, line: int | None = None, where: dict[str, int] | None = None) -> None:
        if detail is None and text is not None:
            detail = text % params if params else text
            detail = f"{construct}: {detail}" if construct else detail
        self.kind = kind
        self.detail = detail
        self.text, self.params, self.construct = text, params or {}, construct
        self.error_type = error_type
        self.line = line
        self.where = where or {}
        parts = [kind] + [p for p in (error_type, detail) if p]
        super().__init__(": ".join(parts) + (f" (line {line})" if line else ""))

    def said(self) -> str:
        """The failure in the current request's language: kind, error type, what happened, line."""
        detail = self.detail
        if self.text is not None:
            detail = _(self.text) % self.params if self.params else _(self.text)
            detail = f"{self.construct}: {detail}" if self.construct else detail
        kind = _(KINDS[self.kind]) if self.kind in KINDS else self.kind
        parts = [kind] + [p for p in (self.error_type, detail) if p]
        return ": ".join(parts) + (_(" (line %(line)s)") % {"line": self.line} if self.line else "")

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> SandboxFailure:
        return cls(str(reply.get("kind") or "error"), reply.get("detail"), text=reply.get("text"),
                   params=reply.get("params"), construct=reply.get("construct"), error_type=reply.get("type"),
                   line=reply.get("line"), where=reply.get("where"))


class _Lost(Exception):
    """The child was gone before it got the request: nothing ran, so another child may take it."""


class _Child:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.scratch = tempfile.mkdtemp(prefix="bokji-sandbox-")
        config = {"scratch": self.scratch, "memory_bytes": limits.memory_mb * 1024 * 1024,
                  "open_files": limits.open_files, "cpu_budget_seconds": CPU_BUDGET, **_drop_to(limits.user)}
        self.popen = subprocess.Popen(
            [sys.executable, "-I", "-B", str(CHILD), json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=self.scratch, env={"LANG": "C.UTF-8"}, close_fds=True, start_new_session=True,
        )
        self.buffer = b""
        self.idle_since = time.monotonic()
        self.requests = 0
        self.cpu_total = 0.0
        self.killed = False
        self.demoted = False
        try:
            self.handshake = json.loads(self._read_line(time.monotonic() + START_TIMEOUT))
        except SandboxFailure:
            self.kill()
            raise SandboxFailure("crash", text=N_("the sandbox child did not start")) from None
        if not self.handshake.get("ready") or self.handshake.get("seccomp") != 2:
            self.kill()
            raise SandboxFailure("crash", text=N_("the sandbox child could not lock itself down"))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        line = json.dumps(request, separators=(",", ":")).encode() + b"\n"
        try:
            self.popen.stdin.write(line)
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Lost from None
        started = time.monotonic()
        reply = json.loads(self._read_line(started + self.limits.wall_seconds, demote_at=started + DEMOTE_AFTER))
        self.requests += 1
        self.cpu_total = float(reply.get("cpu_total") or 0)
        return reply

    def worn_out(self) -> bool:
        return self.demoted or self.requests >= self.limits.requests_per_child or self.cpu_total > CPU_BUDGET / 2

    def _read_line(self, deadline: float, demote_at: float | None = None) -> bytes:
        fd = self.popen.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while b"\n" not in self.buffer:
            now = time.monotonic()
            if now >= deadline:
                self.kill()
                raise SandboxFailure("timeout", text=N_("no answer within %(seconds)s s of wall clock"),
                                     params={"seconds": f"{self.limits.wall_seconds:g}"})
            if demote_at is not None and now >= demote_at and not self.demoted:
                self.demote()
            wake = min(deadline, demote_at) if demote_at is not None and not self.demoted else deadline
            if not poller.poll(max(wake - now, 0) * 1000):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise self._death()
            self.buffer += chunk
            if len(self.buffer) > self.limits.reply_bytes:
                self.kill()
                raise SandboxFailure("limit", text=N_("reply larger than %(size)s MB"),
                                     params={"size": self.limits.reply_bytes // (1024 * 1024)})
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _death(self) -> SandboxFailure:
        try:
            code = self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.popen.returncode
        self.cleanup()
        if code == -signal.SIGXCPU:
            return SandboxFailure("limit", text=N_("CPU time (%(seconds)s s)"),
                                  params={"seconds": f"{self.limits.cpu_seconds:g}"})
        if code == -signal.SIGKILL:
            return SandboxFailure("limit", text=N_("killed by the kernel (CPU or memory)"))
        if code is not None and code < 0:
            return SandboxFailure("crash", text=N_("the interpreter died of signal %(signal)s "
                                                   "(e.g. recursion through built-in functions)"),
                                  params={"signal": signal.Signals(-code).name})
        return SandboxFailure("crash", text=N_("the sandbox child exited with code %(code)s"), params={"code": code})

    def demote(self) -> None:
        self.demoted = True
        try:
            os.setpriority(os.PRIO_PROCESS, self.popen.pid, 19)
        except OSError:
            pass  # it just ended

    def kill(self) -> None:
        self.killed = True
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.cleanup()

    def retire(self) -> None:
        """Close stdin: the child's read loop ends and it exits on its own."""
        try:
            self.popen.stdin.close()
            self.popen.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        self.cleanup()

    def cleanup(self) -> None:
        for stream in (self.popen.stdin, self.popen.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)


def _drop_to(user: str) -> dict[str, int]:
    if os.geteuid() != 0:
        return {}  # not root: the child keeps this user, with the same limits
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise SandboxFailure("crash", text=N_("the sandbox user '%(user)s' does not exist"),
                             params={"user": user}) from None
    return {"uid": entry.pw_uid, "gid": entry.pw_gid}


class Sandbox:
    """Evaluate model code in child processes: `evaluate`, `execute`, `decide`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._idle: list[_Child] = []
        self._count = 0
        self._cond = threading.Condition()

    # ---- the three operations ------------------------------------------------------------------------
    def evaluate(self, source: str, names: dict[str, Any], *, now: str) -> Any:
        reply = self._call({"op": "eval", "source": source, "names": codec.encode_names(names), "now": now})
        return codec.decode(reply["value"])

    def execute(self, source: str, names: dict[str, Any], *, now: str) -> tuple[dict[str, Any], list[str]]:
        """Run a script; returns the variables it left (new and changed) and those it deleted."""
        reply = self._call({"op": "exec", "source": source, "names": codec.encode_names(names), "now": now})
        return codec.decode(reply["updated"]), list(reply["deleted"])

    def decide(self, table: dict[str, Any], names: dict[str, Any], *, now: str) -> tuple[list[int], list[list]]:
        """Evaluate a decision table: the indexes of the matching rules and their output values."""
        reply = self._call({"op": "decide", "table": table, "names": codec.encode_names(names), "now": now})
        return list(reply["matched"]), codec.decode(reply["outputs"])

    # ---- the pool --------------------------------------------------------------------------------------
    def warm(self, count: int) -> None:
        """Start `count` children now (a process's start-up), so the first requests need not wait and
        a sandbox that cannot work is reported at once. Raises SandboxFailure if one cannot start."""
        started = [self._checkout() for _ in range(count)]
        for child in started:
            self._checkin(child)

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        request["cpu"] = self.limits.cpu_seconds
        for attempt in range(2):
            child = self._checkout()
            try:
                reply = child.ask(request)
            except _Lost:
                self._discard(child)
                if attempt:
                    raise SandboxFailure("crash", text=N_("the sandbox child was lost")) from None
                continue
            except SandboxFailure:
                self._discard(child)
                raise
            except BaseException:  # interrupted mid-request (a signal in the host): the child is unknown
                child.kill()
                self._discard(child)
                raise
            if reply.get("ok"):
                self._checkin(child)
                return reply
            failure = SandboxFailure.from_reply(reply)
            if failure.kind == "limit":
                child.kill()
                self._discard(child)
            else:
                self._checkin(child)
            raise failure
        raise SandboxFailure("crash", text=N_("the sandbox child was lost"))

    def _checkout(self) -> _Child:
        deadline = time.monotonic() + self.limits.wait_seconds
        with self._cond:
            while True:
                while self._idle:
                    child = self._idle.pop()
                    if child.alive():
                        return child
                    self._forget(child)
                if self._count < self.limits.children:
                    self._count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SandboxFailure("busy", text=N_("no sandbox child free within %(seconds)s s"),
                                        params={"seconds": f"{self.limits.wait_seconds:g}"})
                self._cond.wait(remaining)
        try:
            child = _Child(self.limits)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        return child

    def _checkin(self, child: _Child) -> None:
        if child.worn_out():
            child.retire()
            self._discard(child)
            return
        now = time.monotonic()
        child.idle_since = now
        with self._cond:
            self._idle.append(child)
            self._cond.notify()
            # A burst started many children; beyond a few, the ones idle longest are let go. The list is
            # used last-in first-out, so its front holds the children idle longest.
            stale = [c for c in self._idle[:-self.limits.idle_children or None]
                     if now - c.idle_since > self.limits.idle_seconds]
            for old in stale:
                self._idle.remove(old)
        for old in stale:
            old.retire()
            self._discard(old)

    def _discard(self, child: _Child) -> None:
        with self._cond:
            self._forget(child)
            self._cond.notify()

    def _forget(self, child: _Child) -> None:
        if not child.killed:
            child.kill()
        self._count -= 1

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()
            with self._cond:
                self._count -= 1


_current: tuple[int, Sandbox] | None = None
_lock = threading.Lock()


def shared(limits: Callable[[], Limits]) -> Sandbox:
    """This process's pool, made on first use with `limits()`. A forked process gets a pool of its
    own: its parent's children belong to its parent."""
    global _current
    current = _current
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _lock:
        if _current is None or _current[0] != os.getpid():
            _current = (os.getpid(), Sandbox(limits()))
        return _current[1]


@atexit.register
def _close_at_exit() -> None:
    current = _current
    if current is not None and current[0] == os.getpid():
        current[1].close()
