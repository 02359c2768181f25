"""Task spec classes for our extension vocabulary (see processes/README.md)."""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.defaults import ServiceTask as _DefaultServiceTask


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
