"""What a caseworker sees of a case while working on one of its tasks: the service, the eligibility
result with its trace, the amount with its basis and whether that basis is verified, and the evidence
with its provenance. Showing evidence is a read of personal data: it is logged with the task as purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.linkage import service as evidence
from bokji.privacy import access_log, purposes
from bokji.registry.models import Person
from bokji.tasks import service as tasks
from bokji.tasks.models import HumanTask, TaskStatus


def _amount_step(assessment: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
    """The trace step the amount came from, unless a caseworker adjusted it since."""
    if data.get("amount_source") == "caseworker" or assessment.get("amount") is None:
        return None
    return next((s for s in reversed(assessment.get("trace") or []) if s.get("result") == assessment["amount"]), None)


def unverified(*texts: Any) -> bool:
    return any("unverified" in str(t or "") for t in texts)


@dataclass
class CaseSummary:
    service: str
    application_number: str | None
    eligibility: str | None
    reason: str | None
    reason_message: dict[str, Any] | None  # the rule's first reason as a message id (the reader's language)
    recognised_income: int | None
    parameter_year: int | None
    threshold: int | None
    threshold_basis: str | None
    threshold_unverified: bool
    calculation: str | None
    trace: list[dict[str, Any]]  # steps: id, params, result, text, unverified
    missing_information: list[str]  # what the rule needed and lacked (a field, or a parameter name@year)
    unverified_figures: list[str]  # parameters and assumptions the result rests on that are not confirmed
    amount: int | None
    amount_period: str | None
    amount_basis: str | None
    amount_step: dict[str, Any] | None  # the rule's step that gave the amount (shown in the reader's language)
    amount_unverified: bool
    obligor: dict[str, Any] | None
    missing: list[dict[str, Any]]
    consent_missing: list[str]
    overlaps: list[dict[str, str]]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # The rule's own amount, and a person's adjustment of it (amount, period, who, display name, why,
    # when) once one was made: what a supervisor approving it sees side by side.
    computed_amount: int | None = None
    computed_period: str | None = None
    adjustment: dict[str, Any] | None = None


def adjustment_of(session: Session, task: HumanTask, data: dict[str, Any]) -> dict[str, Any] | None:
    """The latest completed task of the case that set `amount_override` (the caseworker's decision):
    the adjusted amount, who adjusted it and why (its `decision_comment`)."""
    if data.get("amount_source") != "caseworker":
        return None
    done = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == task.instance_id, HumanTask.status == TaskStatus.COMPLETED,
        HumanTask.submission["amount_override"].astext.is_not(None)).order_by(HumanTask.completed_at.desc())).first()
    if done is None:
        return None
    submission = done.submission or {}
    return {"amount": submission.get("amount_override"),
            "period": "year" if data.get("monthly_amount") is None and data.get("annual_amount") is not None
            else "month",
            "by": done.completed_by, "by_name": tasks.display_name(session, done.completed_by),
            "reason": submission.get("decision_comment"), "at": done.completed_at}


def for_task(session: Session, task: HumanTask, who: Principal) -> CaseSummary | None:
    """None for tasks of processes that are not a catalog service's case (e.g. the demo)."""
    instance = instances.get(session, task.instance_id)
    data = instances.load_run(session, instance).human_task_data(str(task.id))
    if not data.get("service_code"):
        return None
    assessment = data.get("assessment") or {}
    monthly, annual = data.get("monthly_amount"), data.get("annual_amount")
    used = evidence.used_by(session, instance.id)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({e.person_id for e in used})))}
    purpose = purposes.of_case(instance.business_key, instance.id)  # the case the task belongs to
    for person_id in people:
        access_log.record(session, who.username, purpose=purpose, action="read_case", person_id=person_id,
                          instance_id=instance.id)
    return CaseSummary(
        service=f"{data.get('service_name') or ''} ({data['service_code']})".strip(),
        application_number=data.get("application_number"),
        eligibility=data.get("eligibility"), reason=data.get("reason"),
        reason_message=(assessment.get("reasons") or [None])[0],
        recognised_income=data.get("recognised_income"),
        parameter_year=assessment.get("parameter_year"),
        threshold=data.get("threshold"), threshold_basis=data.get("threshold_basis"),
        threshold_unverified=unverified(data.get("threshold_basis")),
        calculation=assessment.get("calculation"), trace=list(assessment.get("trace") or []),
        missing_information=list(data.get("missing_information") or []),
        unverified_figures=list(assessment.get("unverified") or []),
        amount=monthly if monthly is not None else annual,
        amount_period="month" if monthly is not None else "year" if annual is not None else None,
        amount_basis=data.get("amount_basis") or (data.get("reason") if monthly is not None else None),
        amount_step=_amount_step(assessment, data),
        amount_unverified=unverified(data.get("amount_source"), data.get("amount_basis")),
        obligor=({"excluded": data.get("obligor_excluded"), "reason": data.get("obligor_reason"),
                  "unverified": unverified(data.get("obligor_source"))} if data.get("obligor_reason") else None),
        missing=list(data.get("missing_evidence") or []), consent_missing=list(data.get("consent_missing") or []),
        overlaps=list(data.get("overlaps") or []),
        evidence=[{"person": people[e.person_id].name if e.person_id in people else str(e.person_id),
                   "masked": people[e.person_id].rrn_masked if e.person_id in people else "",
                   "data_type": e.data_type, "value": e.value, "period": e.reference_period, "source": e.source,
                   "agency": e.source_agency, "retrieved_at": e.retrieved_at.isoformat(timespec="seconds")}
                  for e in used],
        computed_amount=assessment.get("amount"),
        computed_period=assessment.get("period") or ("month" if monthly is not None else "year"
                                                     if annual is not None else None),
        adjustment=adjustment_of(session, task, data),
    )
