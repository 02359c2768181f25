"""One evaluator: conditions, scripts, timer expressions and DMN cells all go through processes.evaluator."""

from __future__ import annotations

from pathlib import Path

from processes import evaluator
from processes.parsing import build_specs, check_bundle
from processes.runtime import Run

BPMN = Path(__file__).parent / "fixtures" / "bpmn"


class Recording(evaluator.Environment):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def evaluate(self, expression, context, external_context=None):
        self.seen.append(expression)
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        self.seen.append(script)
        return super().execute(script, context, external_context)


def _specs(*names: str):
    bundle = check_bundle({n: (BPMN / n).read_bytes() for n in names}, find_form=lambda k: None)
    return build_specs(bundle)


def test_every_kind_of_expression_reaches_the_one_evaluator(monkeypatch):
    recording = Recording()
    monkeypatch.setattr(evaluator.ENGINE, "environment", recording)
    # DMN input expression and cells
    Run.start(_specs("decide_level.bpmn", "benefit_level.dmn")["decide_level"], {"monthly_income": 10}).advance()
    # script task (agency side) and timer expression (boundary timers)
    Run.start(_specs("two_pools.bpmn")["office_and_agency"], {}).advance()
    Run.start(_specs("timers.bpmn")["review_with_deadline"],
              {"remind_after": "PT1H", "deadline_after": "PT2H"}).advance()
    seen = "\n".join(recording.seen)
    assert "monthly_income" in seen  # the DMN input expression
    assert "received = True" in seen  # the script
    assert "remind_after" in seen and "deadline_after" in seen  # timer expressions


def test_conditions_are_evaluated_there_too(monkeypatch):
    recording = Recording()
    monkeypatch.setattr(evaluator.ENGINE, "environment", recording)
    specs = _specs("external_task.bpmn")["external_task"]
    run = Run.start(specs, {})
    waits = run.advance().automated
    run.complete_automated_task(waits[0].task_id, {"transfer_id": "T1"})
    assert run.advance().completed
    assert "transfer_id is not None" in recording.seen
