"""The engine adapter across processes: specs parsed separately per process must behave the same."""

from __future__ import annotations

from bokji.config import ROOT
from bokji.rules import registry as _registry  # noqa: F401 - registers the calculations
from processes.parsing import build_specs, check_bundle
from processes.runtime import Run


def _library_specs():
    files = {p.name: p.read_bytes() for p in (ROOT / "processes" / "bpmn").iterdir()}
    files.update({p.name: p.read_bytes() for p in (ROOT / "forms").glob("*.form")})
    bundle = check_bundle(files, find_form=lambda k: files.get(f"{k}.form"))
    return build_specs(bundle)["module_investigation"]


def test_multi_instance_completes_when_another_process_restores_it():
    """The API starts an instance, workers (other processes, their own parsed specs) finish it.

    SpiffWorkflow wires a multi-instance task's children to their parent only when it creates them;
    without processes.parsing._settle_multi_instance the parent never completed in a worker
    (measured: the investigation then waited for its deadline every time)."""
    api_specs, worker_specs = _library_specs(), _library_specs()
    requests = [{"person_id": p, "data_type": t} for p in ("p1", "p2") for t in ("pension", "deposits")]
    run = Run.start(api_specs, {"linkage_requests": requests, "linkage_deadline": "PT1H"})
    waits = run.advance().automated
    assert [w.element_id for w in waits] == ["collect"] * 4
    for wait in waits:
        run = Run.restore(worker_specs, run.save())
        run.complete_automated_task(wait.task_id, {})
        result = run.advance()
    ended = {(e.element_id, e.outcome) for e in result.events if e.ended}
    assert ("collect_deadline", "cancelled") in ended
    assert [w.element_id for w in result.automated] == ["summarise"]
