"""The one evaluator: every condition, script, timer expression, completion condition and DMN table
the engine meets goes through here into the sandbox (`processes/sandbox`), never into eval/exec in
this process.

SpiffWorkflow calls `ENGINE.evaluate(task, expression)` and `ENGINE.execute(task, script)`; we send
the source with only the task-data variables it reads and the platform's instant (`bokji.clock`) to
a sandbox child, and bring back a value or the variables a script set. Business rule tasks evaluate
their whole decision table in one round trip (`SandboxedDecision`). A failure becomes
`ElementFailure`: the runtime turns it into an incident on the element (see processes/runtime.py).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import OrderedDict
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import HitPolicy
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge

from bokji import clock
from bokji.config import get_settings
from bokji.i18n import N_
from bokji.i18n import gettext as _
from processes.sandbox import policy
from processes.sandbox import pool as sandbox_pool
from processes.sandbox.codec import Unencodable, decode, encode, encode_names
from processes.sandbox.pool import Limits, Sandbox, SandboxFailure

log = logging.getLogger("bokji.sandbox")


class ElementFailure(SpiffWorkflowException):
    """Evaluating something a model wrote failed at an element. Safe to show: it names the element,
    what was evaluated and the kind of failure, never a value, the environment or a stack. `what` and
    the message are in the current request's (or job's) language; the incident keeps that text."""

    def __init__(self, task: Any, what: str, failure: SandboxFailure) -> None:
        self.task = task
        self.kind = failure.kind
        self.message = f"{what}: {failure.said()}"
        super().__init__(self.message)


def limits_from_settings() -> Limits:
    settings = get_settings()
    return Limits(cpu_seconds=settings.sandbox_cpu_seconds, wall_seconds=settings.sandbox_wall_seconds,
                  memory_mb=settings.sandbox_memory_mb, children=settings.sandbox_children,
                  user=settings.sandbox_user)


def sandbox() -> Sandbox:
    return sandbox_pool.shared(limits_from_settings)


def warm_sandbox(children: int) -> None:
    """At a process's start: children ready for the first requests, or a clear log line saying why
    none can start (every model evaluation would then become an incident)."""
    try:
        sandbox().warm(children)
    except SandboxFailure as exc:
        log.error("the sandbox cannot start children (%s): every model expression and script will stop "
                  "as an incident until this is fixed", exc)


@functools.lru_cache(maxsize=8192)
def checked(mode: str, source: str) -> policy.Checked:
    """The host checks too (cached per source): a refused model fails here without a round trip."""
    return policy.check_expression(source) if mode == "eval" else policy.check_script(source)


def _now() -> str:
    return clock.now().isoformat()


def _reading(reads: frozenset[str], data: dict[str, Any]) -> dict[str, Any]:
    """Only the variables a source reads cross the boundary."""
    return {name: data[name] for name in reads if name in data}


# What may go wrong before or in the sandbox; each becomes a SandboxFailure, then an ElementFailure.
FAILURES = (SandboxFailure, policy.Refused, SyntaxError, Unencodable)


def _as_failure(exc: Exception) -> SandboxFailure:
    if isinstance(exc, SandboxFailure):
        return exc
    if isinstance(exc, policy.Refused):
        return SandboxFailure("refused", text=exc.reason_id, params=exc.params, construct=exc.construct, line=exc.line)
    if isinstance(exc, Unencodable):
        return SandboxFailure("error", text=exc.text, params=exc.params, error_type="TypeError")
    return SandboxFailure("refused", text=N_("syntax error"), line=getattr(exc, "lineno", None))


CLOCK = frozenset({"now", "today"})


class _Memo:
    """Results of pure evaluations, by source and inputs, so a condition seen with the same values
    (`decision == "approve"`) costs no round trip. Expressions and tables are pure functions of the
    variables they read: no I/O, no randomness, and the clock only through now()/today() — a source
    that names those is never remembered. Failures are never remembered either."""

    def __init__(self, size: int = 20_000, key_chars: int = 4096) -> None:
        self.size, self.key_chars = size, key_chars
        self._values: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, source: str, names: dict[str, Any], reads: frozenset[str]) -> tuple[str, str] | None:
        if reads & CLOCK:
            return None
        try:
            inputs = json.dumps(encode_names(names), sort_keys=True, separators=(",", ":"))
        except (Unencodable, TypeError, ValueError):
            return None
        return (source, inputs) if len(inputs) <= self.key_chars else None

    def get(self, key: tuple[str, str] | None) -> Any:
        if key is None:
            return None
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
        return found

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def put(self, key: tuple[str, str] | None, encoded: Any) -> None:
        if key is None:
            return
        with self._lock:
            self._values[key] = encoded
            if len(self._values) > self.size:
                self._values.popitem(last=False)


MEMO = _Memo()


def _what(task: Any, source: str) -> str:
    spec = getattr(task, "task_spec", None)
    element = getattr(spec, "bpmn_id", None)
    event = getattr(spec, "event_definition", None)
    if isinstance(event, TimerEventDefinition):
        kind = N_("timer expression")
    elif getattr(spec, "cond_task_specs", None) is not None or "Gateway" in type(spec).__name__:
        kind = N_("condition")
    elif getattr(spec, "condition", None) == source:
        kind = N_("completion condition")
    else:
        kind = N_("expression")
    return _("%(what)s '%(source)s' at element '%(element)s'") % {
        "what": _(kind), "source": policy.excerpt(source, 80), "element": element}


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script-engine interface, answered by the sandbox."""

    def evaluate(self, task, expression, external_context=None):
        data = {**(external_context or {}), **task.data}
        try:
            reads = checked("eval", expression).names
            names = _reading(reads, data)
            key = MEMO.key(expression, names, reads)
            remembered = MEMO.get(key)
            if remembered is not None:
                value = decode(remembered[0])
            else:
                value = sandbox().evaluate(expression, names, now=_now())
                MEMO.put(key, (encode(value),))
        except FAILURES as exc:
            raise ElementFailure(task, _what(task, expression), _as_failure(exc)) from None
        _check_timer_value(task, expression, value)
        return value

    def execute(self, task, script, external_context=None):
        data = {**(external_context or {}), **task.data}
        element = getattr(task.task_spec, "bpmn_id", None)
        try:
            names = _reading(checked("exec", script).names, data)
            updated, deleted = sandbox().execute(script, names, now=_now())
        except FAILURES as exc:
            raise ElementFailure(task, _("script at element '%(element)s'") % {"element": element},
                                 _as_failure(exc)) from None
        task.data.update(updated)
        for name in deleted:
            task.data.pop(name, None)
        return True

    def call_service(self, task, **kwargs):
        raise NotImplementedError("service tasks are completed by workers, never by the script engine")


def _check_timer_value(task: Any, expression: str, value: Any) -> None:
    """A timer expression must give an ISO-8601 string SpiffWorkflow can parse; a bad value would
    otherwise fail later inside the library as a bare AttributeError."""
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, TimerEventDefinition) or event.expression != expression:
        return
    if isinstance(event, DurationTimerEventDefinition):
        expected = N_("gave %(got)s; expected an ISO-8601 duration (P14D)")
    elif isinstance(event, CycleTimerEventDefinition):
        expected = N_("gave %(got)s; expected an ISO-8601 repeating interval (R3/PT1H)")
    else:
        expected = N_("gave %(got)s; expected an ISO-8601 date-time")
    try:
        if not isinstance(value, str):
            raise TypeError
        if isinstance(event, DurationTimerEventDefinition):
            TimerEventDefinition.parse_iso_duration(value)
        elif isinstance(event, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # the library raises bare Exception, AttributeError, ValueError ...
        got = type(value).__name__ if not isinstance(value, str) else _("text that is not one")
        raise ElementFailure(task, _what(task, expression),
                             SandboxFailure("error", text=expected, params={"got": got},
                                            error_type="ValueError")) from None


class SandboxedDecision(DMNEngine):
    """A decision table evaluated whole in the sandbox (one round trip, not one per cell).

    Cells are read as SpiffWorkflow reads them (`policy.unary_test`), with the input evaluated once.
    """

    def __init__(self, decision_table, decision_id: str) -> None:
        super().__init__(decision_table)
        self.decision_id = decision_id
        inputs = list(decision_table.inputs)
        rules = []
        for rule in decision_table.rules:
            tests = [[inputs.index(entry.input), policy.unary_test(lhs)]
                     for entry in rule.inputEntries for lhs in entry.lhs if lhs is not None]
            outputs = [entry.text or None for entry in rule.outputEntries]
            rules.append({"row": rule.row_number, "tests": tests, "outputs": outputs})
        self.table = {
            "unique": decision_table.hit_policy != HitPolicy.COLLECT.value,
            "inputs": [i.expression or i.label for i in inputs],
            "rules": rules,
        }
        self.output_keys = [[e.output.name or e.output.label for e in rule.outputEntries]
                            for rule in decision_table.rules]
        self._reads: frozenset[str] | None = None
        self.key_source = json.dumps(self.table, sort_keys=True)  # the table's identity in the memo

    def sources(self) -> list[str]:
        found = list(self.table["inputs"])
        for rule in self.table["rules"]:
            found += [test for _, test in rule["tests"]] + [o for o in rule["outputs"] if o]
        return found

    def reads(self) -> frozenset[str]:
        """Every variable the table reads (computed once; a refused cell raises here, at run time)."""
        if self._reads is None:
            self._reads = frozenset().union(*(checked("eval", s).names for s in self.sources()))
        return self._reads

    def result(self, task):
        data = task.data
        try:
            reads = self.reads()
            names = _reading(reads, data)
            key = MEMO.key(self.key_source, names, reads)
            remembered = MEMO.get(key)
            if remembered is not None:
                matched, outputs = remembered[0], decode(remembered[1])
            else:
                matched, outputs = sandbox().decide(self.table, names, now=_now())
                MEMO.put(key, (matched, encode(outputs)))
        except FAILURES as exc:
            failure = _as_failure(exc)
            at = {"decision": self.decision_id, **(getattr(failure, "where", None) or {}),
                  "element": getattr(getattr(task, "task_spec", None), "bpmn_id", None)}
            if "input" in at:
                where = _("decision '%(decision)s' rule %(rule)s input %(input)s at element '%(element)s'") % at
            elif "output" in at:
                where = _("decision '%(decision)s' rule %(rule)s output %(output)s at element '%(element)s'") % at
            elif "rule" in at:
                where = _("decision '%(decision)s' rule %(rule)s at element '%(element)s'") % at
            else:
                where = _("decision '%(decision)s' at element '%(element)s'") % at
            raise ElementFailure(task, where, failure) from None
        rows = [_as_dict(self.output_keys[number], values) for number, values in zip(matched, outputs, strict=True)]
        if not self.table["unique"]:
            result: dict[str, Any] = {}
            for row in rows:
                for key, value in row.items():
                    result.setdefault(key, []).append(value)
            return result
        return rows[0] if rows else {}


def _as_dict(keys: list[str], values: list[Any]) -> dict[str, Any]:
    """One rule's outputs by name; `a.b` names nest, as in SpiffWorkflow."""
    out: dict[str, Any] = {}
    for key, value in zip(keys, values, strict=True):
        parts = key.split(".")
        for part in reversed(parts[1:]):
            value = {part: value}
        out[parts[0]] = DeepMerge.merge(out.get(parts[0], {}), value) if len(parts) > 1 else value
    return out


ENGINE = SandboxedScriptEngine()
