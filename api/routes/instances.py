from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import CASE_READERS, CASEWORK, INT4_MAX, Id, Limit, R, SessionDep, requires
from bokji.casefiles import service as casefiles
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.instances.models import InstanceStatus
from bokji.jobs.models import Job, JobStatus
from bokji.scope import policy
from bokji.steps import service as steps
from bokji.tasks.models import HumanTask, TaskStatus

router = APIRouter(prefix="/instances", tags=["instances"])


class StartIn(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="process (or collaboration) id")
    version: int | None = Field(None, ge=1, le=INT4_MAX, description="pin a version; default the latest")
    business_key: str | None = Field(None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, description="the start variables the process declares")
    office: str | None = Field(None, max_length=64, description=(
        "the office the case belongs to, for a process without an applicant (default: the model's, "
        "else yours)"))


class HistoryOut(BaseModel):
    element_id: str
    element_type: str
    name: str | None
    stage: str | None
    actor: str | None
    outcome: str
    started_at: datetime
    ended_at: datetime | None


class WaitOut(BaseModel):
    id: str
    kind: str  # human | job
    element_id: str
    name: str | None = None
    status: str


class IncidentBrief(BaseModel):
    """An element of this instance that failed; it waits there until an operator retries it."""

    id: uuid.UUID
    element_id: str
    element_name: str | None
    kind: str  # limit | timeout | refused | error | crash | busy | model
    message: str
    created_at: datetime


class InstanceOut(BaseModel):
    id: str
    key: str
    version: int
    business_key: str | None
    status: str
    stage: str | None
    office: str | None
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    waiting: list[WaitOut] = []
    history: list[HistoryOut] = []
    incidents: list[IncidentBrief] = []


def _out(session, instance, *, detail: bool) -> InstanceOut:
    out = InstanceOut(
        id=str(instance.id), key=instance.definition_key, version=instance.definition_version,
        business_key=instance.business_key, status=instance.status, stage=instance.stage,
        office=instance.office, started_by=instance.started_by, started_at=instance.started_at,
        ended_at=instance.ended_at,
    )
    if detail:
        out.history = [HistoryOut.model_validate(h, from_attributes=True)
                       for h in instances.history(session, instance.id)]
        humans = session.query(HumanTask).filter_by(instance_id=instance.id, status=TaskStatus.OPEN).all()
        jobs = session.query(Job).filter(Job.instance_id == instance.id, Job.status == JobStatus.QUEUED).all()
        out.waiting = [WaitOut(id=str(t.id), kind="human", element_id=t.element_id, name=t.name,
                               status=t.status) for t in humans]
        out.waiting += [WaitOut(id=str(j.id), kind="job", element_id=j.element_id, status=j.status)
                        for j in jobs]
        out.incidents = incidents_of(session, instance.id)
    return out


def incidents_of(session, instance_id) -> list[IncidentBrief]:
    return [IncidentBrief.model_validate(i, from_attributes=True)
            for i in instances.open_incidents(session, instance_id=instance_id)]


@router.post("", response_model=InstanceOut, status_code=201)
def start(
    body: StartIn, session: SessionDep,
    who: Annotated[Principal, Depends(requires(*CASEWORK, R.ADMIN))],
) -> InstanceOut:
    """Start an instance; the engine runs to its first wait state before this returns.

    If model code fails on the way (a script, a condition, a timer expression, a decision table),
    the instance is still started and stops at that element: `incidents` says which and how."""
    instance = steps.start_requested(session, key=body.key, version=body.version, data=body.data,
                                     business_key=body.business_key, actor=who, office=body.office)
    return _out(session, instance, detail=True)


@router.get("", response_model=list[InstanceOut])
def list_instances(
    session: SessionDep, who: Annotated[Principal, Depends(requires(*CASE_READERS))],
    status: InstanceStatus | None = None,
    key: Annotated[str | None, Query(max_length=200)] = None,
    business_key: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
) -> list[InstanceOut]:
    """The instances in your scope (bokji/scope): your offices', your ministry's, or all for admins."""
    rows = instances.list_instances(session, who, status=status, key=key, business_key=business_key,
                                    limit=limit)
    return [_out(session, i, detail=False) for i in rows]


@router.get("/{instance_id}", response_model=InstanceOut)
def get_instance(
    instance_id: Id, session: SessionDep, who: Annotated[Principal, Depends(requires(*CASE_READERS))],
) -> InstanceOut:
    """Status, stage, what it waits for and the element history (no personal data: aggregate grade)."""
    instance = instances.get_for(session, instance_id, who, policy.Grade.AGGREGATE)
    return _out(session, instance, detail=True)


class ActionIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


class ActionOut(BaseModel):
    action: str
    actor: str
    reason: str | None
    at: datetime
    detail: dict[str, Any] | None = None


Operator = Annotated[Principal, Depends(requires(R.SUPERVISOR, R.ADMIN))]


@router.post("/{instance_id}/suspend", response_model=InstanceOut)
def suspend(instance_id: Id, body: ActionIn, session: SessionDep, who: Operator) -> InstanceOut:
    """Stop all progress: no task completion, job or timer runs until resumed (recorded)."""
    return _out(session, steps.suspend(session, instance_id, actor=who, reason=body.reason), detail=True)


@router.post("/{instance_id}/resume", response_model=InstanceOut)
def resume(instance_id: Id, body: ActionIn, session: SessionDep, who: Operator) -> InstanceOut:
    return _out(session, steps.resume(session, instance_id, actor=who, reason=body.reason), detail=True)


@router.post("/{instance_id}/cancel", response_model=InstanceOut)
def cancel(instance_id: Id, body: ActionIn, session: SessionDep, who: Operator) -> InstanceOut:
    """End the instance for good: open tasks and jobs are cancelled (recorded)."""
    return _out(session, steps.cancel(session, instance_id, actor=who, reason=body.reason), detail=True)


@router.get("/{instance_id}/actions", response_model=list[ActionOut])
def operator_actions(
    instance_id: Id, session: SessionDep,
    who: Annotated[Principal, Depends(requires(R.SUPERVISOR, R.ADMIN, R.AUDITOR))],
) -> list[ActionOut]:
    instance = instances.get_for(session, instance_id, who, policy.Grade.FULL,
                                 kind=policy.Kind.LOG)
    return [ActionOut.model_validate(a, from_attributes=True) for a in instances.actions(session, instance.id)]


class TimelineOut(BaseModel):
    element_id: str
    element_type: str
    name: str | None
    stage: str | None
    outcome: str
    started_at: datetime
    ended_at: datetime | None
    by: str | None
    automated: bool
    attempts: int | None
    error: str | None


@router.get("/{instance_id}/timeline", response_model=list[TimelineOut])
def case_timeline(
    instance_id: Id, session: SessionDep, who: Annotated[Principal, Depends(requires(*CASE_READERS))],
) -> list[TimelineOut]:
    """What happened to the case, oldest first: elements passed, who completed each task, automated
    steps with their attempts and errors (no personal data: aggregate grade, as the instance itself)."""
    instance = instances.get_for(session, instance_id, who, policy.Grade.AGGREGATE)
    return [TimelineOut.model_validate(e, from_attributes=True) for e in casefiles.timeline(session, instance.id)]
