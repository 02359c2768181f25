"""Operating the engine: incidents, message correlation and external tasks (Camunda-style)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import INT4_MAX, Id, Limit, R, SessionDep, requires
from bokji import clock
from bokji.errors import Forbidden, Invalid
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.jobs import service as jobs
from bokji.steps import service as steps

router = APIRouter(tags=["operations"])
Admin = Annotated[Principal, Depends(requires(R.ADMIN))]
Integration = Annotated[Principal, Depends(requires(R.INTEGRATION))]  # and only the topics granted to it


class IncidentOut(BaseModel):
    id: str = Field(description="the job's id (a failed job) or the incident's (a failed element)")
    job_id: str | None = None
    instance_id: str
    element_id: str
    kind: str = Field(description="handler | external: a job that failed every attempt; "
                                  "element: model code or a calculation that failed at this element")
    failure: str | None = Field(None, description="for elements: limit | timeout | refused | error | crash | "
                                                  "busy | model")
    topic: str | None = None
    attempts: int | None = None
    last_error: str | None
    error_stack: str | None = None  # operators only: this endpoint is admin-only
    at: datetime | None


class RetryIn(BaseModel):
    attempts: int = Field(1, ge=1, le=100, description="jobs: how many more attempts before a new incident")
    reason: str | None = Field(None, max_length=2000)
    variables: dict[str, Any] | None = Field(
        None, description="elements: variables to set in the data the element runs on before it runs again")


def _job_out(job, *, stack: bool) -> IncidentOut:
    return IncidentOut(id=str(job.id), job_id=str(job.id), instance_id=str(job.instance_id),
                       element_id=job.element_id, kind=job.kind, topic=job.topic, attempts=job.attempts,
                       last_error=job.last_error, error_stack=job.error_stack if stack else None,
                       at=job.finished_at)


def _element_out(incident) -> IncidentOut:
    return IncidentOut(id=str(incident.id), instance_id=str(incident.instance_id), element_id=incident.element_id,
                       kind="element", failure=incident.kind, last_error=incident.message, at=incident.created_at)


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(session: SessionDep, who: Admin, limit: Limit = 100) -> list[IncidentOut]:
    """What waits for an operator, newest first: jobs that failed every attempt (with the error and
    stack) and elements whose model code failed (what failed and how, never a value)."""
    found = [_job_out(j, stack=True) for j in jobs.incidents(session, limit=limit)]
    found += [_element_out(i) for i in instances.open_incidents(session, limit=limit)]
    return sorted(found, key=lambda i: i.at.timestamp() if i.at else 0.0, reverse=True)[:limit]


@router.post("/incidents/{incident_id}/retry", response_model=IncidentOut)
def retry_incident(incident_id: Id, body: RetryIn, session: SessionDep, who: Admin) -> IncidentOut:
    """After a fix: run the job or the element again (recorded as an operator action)."""
    if instances.find_incident(session, incident_id) is not None:
        return _element_out(steps.retry_incident(session, incident_id, actor=who, reason=body.reason,
                                                     variables=body.variables))
    if body.variables:
        raise Invalid(_("variables are set only when retrying a failed element, not a job."), field="variables")
    job = jobs.retry_incident(session, incident_id, attempts=body.attempts)
    instances.record_incident_retry(session, job, actor=who, reason=body.reason, attempts=body.attempts)
    return _job_out(job, stack=False)


class MessageIn(BaseModel):
    messageName: str = Field(min_length=1, max_length=200)  # noqa: N815 - Camunda's REST names
    correlationKey: str = Field(min_length=1, max_length=200, description="the instance's business key")  # noqa: N815
    payload: dict[str, Any] = Field(default_factory=dict, description="merged into the process data")


class MessageOut(BaseModel):
    delivered_to: list[str]


@router.post("/messages", response_model=MessageOut)
def correlate(body: MessageIn, session: SessionDep,
              who: Annotated[Principal, Depends(requires(R.INTEGRATION, R.CASEWORKER, R.SUPERVISOR, R.ADMIN))]
              ) -> MessageOut:
    """Deliver a message to waiting receive tasks, catch events and event sub-processes; 404 if none."""
    delivered = steps.correlate(session, message=body.messageName, correlation_key=body.correlationKey,
                                    payload=body.payload, actor=who)
    return MessageOut(delivered_to=[str(i.id) for i in delivered])


class TopicIn(BaseModel):
    topicName: str = Field(min_length=1)  # noqa: N815
    lockDuration: int = Field(60_000, ge=1, le=INT4_MAX, description="milliseconds")  # noqa: N815


class FetchIn(BaseModel):
    workerId: str = Field(min_length=1, max_length=200)  # noqa: N815
    maxTasks: int = Field(1, ge=1, le=100)  # noqa: N815
    topics: list[TopicIn] = Field(min_length=1)


class ExternalTaskOut(BaseModel):
    id: str
    topicName: str  # noqa: N815
    workerId: str | None  # noqa: N815
    lockExpirationTime: datetime | None  # noqa: N815
    processInstanceId: str  # noqa: N815
    businessKey: str | None  # noqa: N815
    activityId: str  # noqa: N815
    retries: int
    variables: dict[str, Any]


class CompleteIn(BaseModel):
    workerId: str = Field(min_length=1)  # noqa: N815
    variables: dict[str, Any] = Field(default_factory=dict)


class FailureIn(BaseModel):
    workerId: str = Field(min_length=1)  # noqa: N815
    errorMessage: str = Field(min_length=1, max_length=2000)  # noqa: N815
    errorDetails: str | None = Field(None, max_length=20_000)  # noqa: N815
    retries: int = Field(0, ge=0, le=100, description="attempts left; 0 opens an incident")
    retryTimeout: int = Field(0, ge=0, le=INT4_MAX, description="milliseconds before the next try")  # noqa: N815


@router.post("/external-tasks/fetch-and-lock", response_model=list[ExternalTaskOut])
def fetch_and_lock(body: FetchIn, session: SessionDep, who: Integration) -> list[ExternalTaskOut]:
    """Due external tasks of these topics, locked to this worker (each topic's lock duration)."""
    for i, topic in enumerate(body.topics):
        if f"topic:{topic.topicName}" not in who.grants:
            raise Forbidden(_("%(field)s: topic '%(topic)s' is not granted to this system.") % {
                "field": f"topics[{i}]", "topic": topic.topicName},
                            field=f"topics[{i}].topicName")
    out = []
    remaining = body.maxTasks
    for topic in body.topics:
        if remaining <= 0:
            break
        locked = jobs.fetch_and_lock(session, worker=body.workerId, topics=[topic.topicName],
                                     max_tasks=remaining, lock_seconds=topic.lockDuration / 1000)
        remaining -= len(locked)
        for job in locked:
            instance = instances.get(session, job.instance_id)
            out.append(ExternalTaskOut(
                id=str(job.id), topicName=job.topic, workerId=job.locked_by, lockExpirationTime=job.locked_until,
                processInstanceId=str(job.instance_id), businessKey=instance.business_key,
                activityId=job.element_id, retries=job.max_attempts - job.attempts, variables=job.input))
    return out


@router.post("/external-tasks/{task_id}/complete", status_code=204)
def complete_external(task_id: Id, body: CompleteIn, session: SessionDep, who: Integration) -> None:
    """Complete with variables (merged into the process data); 409 if not locked by this worker."""
    claim = jobs.external_claim(session, task_id, body.workerId, who.grants)
    steps.complete_job(session, claim, jobs.json_safe(body.variables, "external"), actor=f"external:{body.workerId}")


@router.post("/external-tasks/{task_id}/failure", status_code=204)
def fail_external(task_id: Id, body: FailureIn, session: SessionDep, who: Integration) -> None:
    """Report a failure: retry after `retryTimeout` while `retries` > 0, else an incident."""
    claim = jobs.external_claim(session, task_id, body.workerId, who.grants)
    message = body.errorMessage + (f"\n{body.errorDetails}" if body.errorDetails else "")
    jobs.record_failure(session, claim, message, retries_left=body.retries, retry_in=body.retryTimeout / 1000)


class ClockOut(BaseModel):
    now: datetime = Field(description="the platform's instant, as this API process reads it")
    offset_seconds: float = Field(description="how far it runs ahead of the system clock")
    movable: bool = Field(description="test and demo platforms only")


class ClockIn(BaseModel):
    offset_seconds: float = Field(description="run this many seconds ahead of the system clock (0: back in step)")


@router.get("/admin/clock", response_model=ClockOut)
def read_clock(who: Admin) -> ClockOut:
    """The platform's clock, which every service, worker, the scheduler and the sandbox read."""
    return ClockOut(now=clock.now(), offset_seconds=clock.offset().total_seconds(), movable=clock.movable())


@router.put("/admin/clock", response_model=ClockOut)
def move_clock(body: ClockIn, session: SessionDep, who: Admin) -> ClockOut:
    """Move the platform's clock (not in production): timers, due dates and review dates follow in every
    process within a second of the commit. Recorded as an operator action."""
    moved = clock.move(session, offset_seconds=body.offset_seconds, actor=who.username)
    instances.record(session, "move_clock", None, who, None, offset_seconds=body.offset_seconds)
    return ClockOut(now=moved, offset_seconds=body.offset_seconds, movable=True)
