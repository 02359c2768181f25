"""The engine adapter across processes: specs parsed separately per process must behave the same."""

from __future__ import annotations

import uuid

from bokji.config import ROOT
from bokji.registrations import CALCULATIONS
from processes.parsing import check_bundle
from processes.runtime import Run


def _library_specs():
    files = {p.name: p.read_bytes() for p in (ROOT / "processes" / "bpmn").iterdir()}
    files.update({p.name: p.read_bytes() for p in (ROOT / "forms").glob("*.form")})
    return check_bundle(files, find_form=lambda k: files.get(f"{k}.form")).specs["module_investigation"]


def test_multi_instance_completes_when_another_process_restores_it():
    """The API starts an instance, workers (other processes, their own parsed specs) finish it.

    SpiffWorkflow wires a multi-instance task's children to their parent only when it creates them;
    without processes.parsing._settle_multi_instance the parent never completed in a worker
    (measured: the investigation then waited for its deadline every time)."""
    api_specs, worker_specs = _library_specs(), _library_specs()
    requests = [{"person_id": p, "data_type": t} for p in ("p1", "p2") for t in ("pension", "deposits")]
    run = Run.start(api_specs, {"linkage_requests": requests, "linkage_deadline": "PT1H"}, calculations=CALCULATIONS)
    waits = run.advance().automated
    assert [w.element_id for w in waits] == ["collect"] * 4
    for wait in waits:
        run = Run.restore(worker_specs, run.save(), calculations=CALCULATIONS)
        run.complete_automated_task(wait.task_id, {})
        result = run.advance()
    ended = {(e.element_id, e.outcome) for e in result.events if e.ended}
    assert ("collect_deadline", "cancelled") in ended
    assert [w.element_id for w in result.automated] == ["summarise"]


def test_periodic_review_recomputes_the_variant_amount_from_the_new_figures():
    """A housing case reviewed: re-investigation (its jobs completed here by hand), eligibility again,
    then the housing amount again from the service's rule — a household grown to two since the grant
    gets the two-person reference rent."""
    from bokji.rules import parameters

    files = {p.name: p.read_bytes() for p in (ROOT / "processes" / "bpmn").iterdir()}
    files.update({p.name: p.read_bytes() for p in (ROOT / "forms").glob("*.form")})
    specs = check_bundle(files, find_form=lambda k: files.get(f"{k}.form")).specs["module_periodic_review"]
    run = Run.start(specs, calculations=CALCULATIONS, data={
        "review_interval": "PT0S", "review_round": 0, "linkage_deadline": "PT1H",
        "linkage_requests": [{"person_id": "p1", "data_type": "earned_income"}], "application_date": "2025-03-10",
        "rule": {"kind": "nblss", "benefit": "housing"}, "service_code": "MOHW-NBLSS-HOUSING",
        "region_class": "seoul", "monthly_rent": 500_000,
        "monthly_amount": 352_000, "annual_amount": None})  # granted as one person: the 1-person reference rent
    waits = run.advance().automated
    grown = {"region_class": "seoul", "members": [{"age": 40}, {"age": 12, "relation": "child"}],
             "housing": {"tenure": "rent", "monthly_rent": 500_000}}
    for element, result in (("collect", {}), ("summarise", {"has_missing": False, "missing_evidence": []}),
                            ("means", {"household": grown, **parameters.for_task(parameters.from_file(2025))})):
        (wait,) = [w for w in waits if w.element_id == element]
        run.complete_automated_task(wait.task_id, result)
        waits = run.advance().automated
    (adjust,) = waits
    assert adjust.element_id == "adjust"
    data = run.wf.get_task_from_id(uuid.UUID(adjust.task_id)).data  # what the payment.adjust job will read
    assert data["review_round"] == 1 and data["eligibility"] == "eligible"
    assert data["assessment_date"] == "2025-03-10"  # round 1 of a PT0S interval covers the application date
    assert data["monthly_amount"] == 395_000  # the 2025 Seoul 2-person reference rent
    assert data["amount_source"].startswith("unverified: housing.reference_rent@2025")
