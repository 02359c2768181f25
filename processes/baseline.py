"""The engine alone, for benchmarks: no database, no queue, no platform bookkeeping.

`bench/engine_overhead.py` compares the platform against these two loops on the same model:
(a) in memory, automated tasks completed inline as soon as they start;
(b) the same, with a state-only JSON round trip at every wait point (each automated-task reply,
    the user task, the payment) — the "4d" variant of the SpiffWorkflow baselines in the reference.
Model code runs in the sandbox here too, as on the platform (`processes.evaluator.ENGINE`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from processes import runtime
from processes.evaluator import ENGINE
from processes.parsing import Specs
from processes.specs import AutomatedTask

Service = Callable[[str, dict[str, Any]], dict[str, Any]]


def _roundtrip(specs: Specs, wf: BpmnWorkflow) -> BpmnWorkflow:
    state = runtime.SERIALIZER.serialize_json(wf)
    runtime._restoring.specs = specs
    try:
        wf = runtime.SERIALIZER.deserialize_json(state)
    finally:
        runtime._restoring.specs = None
    wf.script_engine = ENGINE
    return wf


def _complete_service(task, service: Service) -> None:
    spec = task.task_spec
    result = service(spec.topic, task.data)
    variable = (spec.extensions or {}).get("resultVariable")
    task.set_data(**({variable: result} if variable else result))
    task.complete()


def run(specs: Specs, data: dict[str, Any], service: Service, form: dict[str, Any], *,
        roundtrips: bool) -> bool:
    """Run one instance to its end; returns whether it completed."""
    wf = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=ENGINE)
    wf.get_next_task(state=TaskState.READY).set_data(**data)
    wf.do_engine_steps()
    while not wf.is_completed():
        started = [t for t in wf.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, AutomatedTask)]
        human = wf.get_next_task(state=TaskState.READY, manual=True)
        if roundtrips:
            wf = _roundtrip(specs, wf)  # a wait point: the state goes to the store and comes back
            started = [wf.get_task_from_id(t.id) for t in started]
            human = wf.get_task_from_id(human.id) if human else None
        if started:
            for task in started:
                _complete_service(task, service)
                wf.do_engine_steps()
                if roundtrips and task is not started[-1]:
                    wf = _roundtrip(specs, wf)
                    started = [wf.get_task_from_id(t.id) for t in started]
        elif human:
            human.set_data(**form)
            human.run()
            wf.do_engine_steps()
        else:
            return False  # waits for something this loop cannot give (a timer, a message)
    return True
