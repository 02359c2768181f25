"""DMN decisions evaluated on their own, outside any process (screening asks many at once).

They run in the sandbox like business rule tasks (one round trip per table), on a plain dict of inputs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from processes.evaluator import ENGINE, SandboxedDecision
from processes.parsing import BokjiParser, _parse_xml, decision_engine


class _Context:
    """What the DMN engine reads from a task: its data and the workflow's script engine."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.workflow = SimpleNamespace(script_engine=ENGINE)
        self.task_spec = SimpleNamespace(bpmn_id=None, bpmn_name=None, name="decision")


class Decisions:
    def __init__(self, engines: dict[str, SandboxedDecision]) -> None:
        self._engines = engines

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> Decisions:
        parser = BokjiParser()
        for name, content in files.items():
            parser.add_dmn_xml(_parse_xml(name, content).getroot(), filename=name)
        return cls({d: decision_engine(parser, d) for d in parser.dmn_parsers})

    def evaluate(self, decision_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._engines[decision_id].result(_Context(dict(inputs)))

    def __contains__(self, decision_id: str) -> bool:
        return decision_id in self._engines
