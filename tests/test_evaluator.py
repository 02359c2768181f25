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


def test_dates_and_decimals_a_script_makes_are_kept_in_the_saved_state():
    bundle = check_bundle({"dates.bpmn": b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="dates" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="plan"/>
    <bpmn:scriptTask id="plan" scriptFormat="python"><bpmn:script>due = add_days(applied, 30)
rate = decimal("0.7") * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="plan" targetRef="check"/>
    <bpmn:userTask id="check" camunda:candidateGroups="caseworker"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="e"/><bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""})
    specs = build_specs(bundle)["dates"]
    run = Run.start(specs, {"applied": "2025-03-10"})
    [wait] = run.advance().human
    data = Run.restore(specs, run.save()).human_task_data(wait.task_id)
    assert data["due"] == "2025-04-09" and data["rate"] == "1.4"


def test_a_pure_expression_seen_with_the_same_inputs_costs_no_second_round_trip(monkeypatch):
    recording = _recording(monkeypatch)
    specs = _specs("external_task.bpmn")["external_task"]
    for transfer in ("T1", "T1", "T2"):
        run = Run.start(specs, {})
        run.complete_automated_task(run.advance().automated[0].task_id, {"transfer_id": transfer})
        assert run.advance().completed
    conditions = [s for s in recording.seen if s[1] == "transfer_id is not None"]
    assert len(conditions) == 2  # T1 once, T2 once


def test_an_expression_that_reads_the_clock_is_always_evaluated(monkeypatch):
    recording = _recording(monkeypatch)

    class Task:
        data = {"start": "2025-01-01"}
        task_spec = None

    for _ in range(2):
        assert evaluator.ENGINE.evaluate(Task(), "days_between(start, today()) > 0") is True
    assert len(recording.seen) == 2
