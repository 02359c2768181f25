"""The sandbox child: `python -I -B processes/sandbox/child.py CONFIG_JSON`, started by the pool.

It is executed, never forked from a platform process, so it holds no settings, keys or database
connections; its environment is empty. It imports what it needs, locks itself down
(`hardening.lock_down`), writes one handshake line and then answers one JSON request per line on
stdin with one JSON reply per line on stdout, until stdin closes.

Requests: `{"op": "eval" | "exec" | "decide", "source" | "table": ..., "names": {...}, "now": ISO,
"cpu": seconds}`. Replies: `{"ok": true, ...}` or `{"ok": false, "kind": "limit" | "refused" |
"error", "detail": ..., "text": ..., "params": {...}, "type": ..., "line": ...}` — never a value the
model computed, never a stack. `detail` is English; `text` is the same as a catalog text with named
`params`, which the host words in the reader's language (the child has no catalog). A limit reply is
the child's last: the host replaces it.
"""

from __future__ import annotations

import json
import math
import resource
import signal
import sys
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

# Started with -I (no environment, no current directory on the path): find our own package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from processes.sandbox import N_, codec, hardening, helpers, policy  # noqa: E402

CACHE_SIZE = 4096
_compiled: dict[tuple[str, str], policy.Checked] = {}


class CpuLimit(BaseException):
    """Raised by SIGPROF when a request has used its CPU time (BaseException: nothing catches it)."""


def _on_sigprof(_signum: int, _frame: object) -> None:
    raise CpuLimit


def checked(mode: str, source: str) -> policy.Checked:
    key = (mode, source)
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) >= CACHE_SIZE:
            _compiled.clear()
        found = policy.check_expression(source) if mode == "eval" else policy.check_script(source)
        _compiled[key] = found
    return found


def namespace(mode: str, names: dict[str, Any]) -> dict[str, Any]:
    """Builtins empty; the helpers, the guards and the task data the source reads (data shadows a helper)."""
    found = helpers.EXPRESSION_HELPERS if mode == "eval" else helpers.SCRIPT_HELPERS
    return {"__builtins__": {}, **found, **helpers.GUARDS, **names}


def evaluate(request: dict[str, Any]) -> dict[str, Any]:
    code = checked("eval", request["source"]).code
    return {"value": codec.encode(eval(code, namespace("eval", codec.decode(request["names"]))), "result")}


def execute(request: dict[str, Any]) -> dict[str, Any]:
    names = codec.decode(request["names"])
    scope = namespace("exec", names)
    exec(checked("exec", request["source"]).code, scope)
    updated = {}
    for name, value in scope.items():
        if name == "__builtins__" or name.startswith("_bokji_") or callable(value):
            continue  # helpers, guards and the script's own functions are not task data
        if helpers.SCRIPT_HELPERS.get(name) is value:
            continue
        updated[name] = codec.encode(value, name)
    return {"updated": updated, "deleted": [n for n in names if n not in scope]}


def decide(request: dict[str, Any]) -> dict[str, Any]:
    """A whole decision table in one round trip: which rules match, and their outputs."""
    table = request["table"]
    scope = namespace("eval", codec.decode(request["names"]))
    inputs: dict[int, Any] = {}
    matched: list[int] = []
    where: dict[str, int] = {}
    try:
        for number, rule in enumerate(table["rules"]):
            where = {"rule": rule["row"]}
            for index, test in rule["tests"]:
                where = {"rule": rule["row"], "input": index + 1}
                if index not in inputs:
                    inputs[index] = eval(checked("eval", table["inputs"][index]).code, scope)
                scope["dmninputexpr"] = inputs[index]
                if not eval(checked("eval", test).code, scope):
                    break
            else:
                matched.append(number)
                if table["unique"]:
                    break
        outputs = []
        for number in matched:
            values = []
            for index, output in enumerate(table["rules"][number]["outputs"]):
                where = {"rule": table["rules"][number]["row"], "output": index + 1}
                values.append(eval(checked("eval", output).code, scope) if output else "")
            outputs.append(values)
        where = {}
        return {"matched": matched, "outputs": codec.encode(outputs, "outputs")}
    except BaseException as exc:
        exc.where = where  # type: ignore[attr-defined] - read by failure()
        raise


OPERATIONS = {"eval": evaluate, "exec": execute, "decide": decide}


def _line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<script>":  # an expression is one line anyway
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def said(kind: str, text: str, params: dict[str, Any] | None = None, construct: str | None = None) -> dict[str, Any]:
    """A reply's kind and detail: `detail` in English (the host's logs), `text` (a catalog text) and its
    `params` for the host to word in the reader's language; `construct` as Python names it."""
    detail = text % params if params else text
    reply: dict[str, Any] = {"kind": kind, "detail": f"{construct}: {detail}" if construct else detail, "text": text}
    if params:
        reply["params"] = params
    if construct:
        reply["construct"] = construct
    return reply


def failure(exc: BaseException, cpu: float) -> dict[str, Any]:
    """What may be said about a failure: its kind, the error type, the line; never the values."""
    reply: dict[str, Any] = {"ok": False}
    if isinstance(exc, CpuLimit):
        reply |= said("limit", N_("CPU time (%(seconds)s s)"), {"seconds": f"{cpu:g}"})
    elif isinstance(exc, MemoryError):
        reply |= said("limit", N_("memory"))
    elif isinstance(exc, RecursionError):
        reply |= said("limit", N_("recursion depth"))
    elif isinstance(exc, helpers.LimitExceeded):
        reply |= said("limit", exc.text, exc.params)
    elif isinstance(exc, helpers.NotAllowed):
        reply |= said("refused", exc.text, exc.params)
    elif isinstance(exc, helpers.Said) and exc.error_type:  # a helper's TypeError or ValueError: no value in it
        reply |= {"type": exc.error_type, **said("error", exc.text, exc.params)}
    elif isinstance(exc, policy.Refused):
        reply |= {**said("refused", exc.reason_id, exc.params, exc.construct), "line": exc.line}
    elif isinstance(exc, SyntaxError):
        reply |= {**said("refused", N_("syntax error")), "line": exc.lineno}
    elif isinstance(exc, codec.Unencodable):
        reply |= {"type": "TypeError", **said("error", exc.text, exc.params)}
    else:
        reply |= {"kind": "error", "type": type(exc).__name__}
        if isinstance(exc, NameError) and isinstance(getattr(exc, "name", None), str):
            # a name from the source, not a value
            reply |= said("error", N_("name '%(name)s' is not defined"), {"name": exc.name})
    reply.setdefault("line", _line(exc.__traceback__))
    if getattr(exc, "where", None):
        reply["where"] = exc.where  # type: ignore[attr-defined]
    return reply


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def answer(request: dict[str, Any], budget: int) -> dict[str, Any]:
    cpu = float(request.get("cpu") or 1.0)
    helpers.set_instant(datetime.fromisoformat(request["now"]))
    # Python-level loops meet SIGPROF at `cpu` seconds (a clean reply); a C-level loop that holds the
    # GIL never returns to Python, so the kernel's soft RLIMIT_CPU (whole seconds, so up to 1.5 s
    # later) ends the process with SIGXCPU, unless the host's wall-clock deadline came first.
    soft = min(math.ceil(_cpu_used() + cpu + 0.5), budget)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, budget))
    signal.setitimer(signal.ITIMER_PROF, cpu)
    try:
        reply = {"ok": True, **OPERATIONS[request["op"]](request)}
    except BaseException as exc:  # the model's failure, reported without its values
        reply = failure(exc, cpu)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    reply["cpu_total"] = round(_cpu_used(), 3)
    return reply


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    signal.signal(signal.SIGPROF, _on_sigprof)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's to handle
    hardening.lock_down(scratch=config["scratch"], uid=config.get("uid"), gid=config.get("gid"),
                        memory_bytes=config["memory_bytes"], open_files=config["open_files"],
                        cpu_budget_seconds=config["cpu_budget_seconds"])
    out, stdin = sys.stdout.buffer, sys.stdin.buffer
    out.write(json.dumps({"ready": True, **hardening.report()}).encode() + b"\n")
    out.flush()
    for line in stdin:
        try:
            request = json.loads(line)
        except ValueError:
            return 2
        reply = answer(request, config["cpu_budget_seconds"])
        try:
            encoded = json.dumps(reply, separators=(",", ":")).encode()
        except (TypeError, ValueError, MemoryError):
            encoded = json.dumps({"ok": False, **said("limit", N_("result too large to send"))}).encode()
        out.write(encoded + b"\n")
        out.flush()
        if reply.get("kind") == "limit":
            return 3  # memory may be exhausted or fragmented: let the host start a fresh child
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
