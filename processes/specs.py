"""Task spec classes for our extension vocabulary (see processes/README.md)."""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask as _DefaultServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions import timer
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin as _BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask as _ScriptEngineTask
from SpiffWorkflow.util.task import TaskState

from bokji import clock


class AutomatedTask(_DefaultServiceTask):
    """A bpmn:serviceTask carried out outside the engine.

    Its run hook returns None, so the task stays STARTED until the platform completes it with the
    handler's result: an RQ worker when `topic` names a registered handler, otherwise an outside
    system through the external-task API. The engine never calls out by itself.
    """

    def __init__(self, wf_spec, bpmn_id, topic: str | None = None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic

    def _execute(self, task):
        return None


# --- SpiffWorkflow 3.2 workaround -------------------------------------------------------------------
# `BpmnStartTask.trigger_wf` (used when a message starts an event sub-process) connects the event
# sub-process to the shared Start spec. Specs are parsed once per version and shared by every
# instance (processes.cache), so that edit leaked into all later instances of the version: they then
# caught no messages at all (measured). Ours attaches the triggered child without touching the
# Start spec; the sub-process still flows to End when it finishes.
def _trigger_wf_without_mutating_spec(self, my_task, spec_name):
    spec = self._wf_spec.task_specs.get(spec_name)
    if self.name not in spec._inputs:  # one-way link: the spec's own check wants an input;
        spec._inputs.append(self.name)  # Start's outputs stay as parsed
    if self._wf_spec.end not in spec.outputs:
        spec.connect(self._wf_spec.end)
    child = my_task._add_child(spec, TaskState.FUTURE)
    child.triggered = True
    child.task_spec._update(child)
    return child.id


class _PlatformDatetime(datetime):
    """`datetime` as SpiffWorkflow's timers see it: `now()` is the platform's clock (bokji/clock.py),
    so a timer is due when the platform says so — in every process, and when a test moves the clock."""

    @classmethod
    def now(cls, tz=None):
        instant = clock.now()
        return instant.astimezone(tz) if tz is not None else instant.astimezone().replace(tzinfo=None)


def _install_workarounds() -> None:
    BpmnStartTask.trigger_wf = _trigger_wf_without_mutating_spec
    # The library's timer module reads the system time itself (`datetime.now(timezone.utc)`).
    timer.datetime = _PlatformDatetime


_install_workarounds()


class CalculationTask(_ScriptEngineTask, _BpmnSpecMixin):
    """A business rule task that runs a listed calculation instead of a DMN table."""

    def __init__(self, wf_spec, bpmn_id, calculation: str, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.calculation = calculation

    def _execute(self, task):
        # The calculations the run was given (processes.runtime.Run), kept on the top workflow.
        found = getattr(task.workflow.top_workflow, "bokji_calculations", {}).get(self.calculation)
        if found is None:
            raise LookupError(f"calculation '{self.calculation}' is not available to this run")
        result = found.run(dict(task.data))
        task.set_data(**result, **{f"{self.bpmn_id}_calculation": f"{found.name}@{found.version}"})
        return True
