"""One evaluator: conditions, scripts, timer expressions and DMN tables all go into the sandbox."""

from __future__ import annotations

from pathlib import Path

from processes import evaluator
from processes.parsing import build_specs, check_bundle
from processes.runtime import Run

BPMN = Path(__file__).parent / "fixtures" / "bpmn"


class Recording:
    """The sandbox, with a note of every call: (operation, source or decision, names sent)."""

    def __init__(self, real) -> None:
        self.real = real
        self.seen: list[tuple[str, str, frozenset[str]]] = []

    def evaluate(self, source, names, *, now):
        self.seen.append(("eval", source, frozenset(names)))
        return self.real.evaluate(source, names, now=now)

    def execute(self, source, names, *, now):
        self.seen.append(("exec", source, frozenset(names)))
        return self.real.execute(source, names, now=now)

    def decide(self, table, names, *, now):
        self.seen.append(("decide", "|".join(table["inputs"]), frozenset(names)))
        return self.real.decide(table, names, now=now)


def _specs(*names: str):
    bundle = check_bundle({n: (BPMN / n).read_bytes() for n in names}, find_form=lambda k: None)
    return build_specs(bundle)


def _recording(monkeypatch) -> Recording:
    recording = Recording(evaluator.sandbox())
    monkeypatch.setattr(evaluator, "sandbox", lambda: recording)
    return recording


def test_every_kind_of_model_code_reaches_the_sandbox(monkeypatch):
    recording = _recording(monkeypatch)
    # a decision table, whole, in one call
    Run.start(_specs("decide_level.bpmn", "benefit_level.dmn")["decide_level"], {"monthly_income": 10}).advance()
    # a script task (agency side) and timer expressions (boundary timers)
    Run.start(_specs("two_pools.bpmn")["office_and_agency"], {}).advance()
    Run.start(_specs("timers.bpmn")["review_with_deadline"],
              {"remind_after": "PT1H", "deadline_after": "PT2H"}).advance()
    assert ("decide", "monthly_income", frozenset({"monthly_income"})) in recording.seen
    assert ("exec", "received = True", frozenset()) in recording.seen
    assert ("eval", "remind_after", frozenset({"remind_after"})) in recording.seen
    assert ("eval", "deadline_after", frozenset({"deadline_after"})) in recording.seen


def test_conditions_go_there_with_only_the_variables_they_read(monkeypatch):
    recording = _recording(monkeypatch)
    specs = _specs("external_task.bpmn")["external_task"]
    run = Run.start(specs, {"unrelated": "850315-2123456"})
    waits = run.advance().automated
    run.complete_automated_task(waits[0].task_id, {"transfer_id": "T1"})
    assert run.advance().completed
    assert ("eval", "transfer_id is not None", frozenset({"transfer_id"})) in recording.seen
    assert all("unrelated" not in names for _, _, names in recording.seen)  # nothing else crosses
