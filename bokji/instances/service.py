"""Starting and advancing process instances.

Every change to an instance happens under `lock` (a transaction-scoped advisory lock on its id),
so no two processes advance one instance; the state read after taking the lock is the latest
committed one. The engine runs to the next wait state inside the caller's transaction: state,
history, tasks and jobs commit together or not at all.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, undefer

from bokji.db import lock_record, utcnow
from bokji.definitions import service as definitions
from bokji.definitions.models import Definition
from bokji.errors import Conflict, Invalid, NotFound
from bokji.identity.service import Principal
from bokji.ids import parse_uuid
from bokji.instances.models import ElementHistory, Incident, OperatorAction, ProcessInstance
from bokji.jobs import service as jobs
from bokji.rules import registry as _rules  # noqa: F401 - registers the calculations
from bokji.tasks import service as tasks
from processes.runtime import Run


def start(
    session: Session,
    *,
    key: str,
    data: dict[str, Any],
    actor: Principal,
    business_key: str | None = None,
    version: int | None = None,
) -> ProcessInstance:
    if not isinstance(data, dict):
        raise Invalid("data must be a JSON object", field="data")
    definition = definitions.get_version(session, key, version)
    specs = definitions.specs_of(session, definition)
    instance = ProcessInstance(
        id=uuid.uuid4(), definition_id=definition.id, definition_key=definition.key,
        definition_version=definition.version, business_key=business_key, status="running",
        stage=None, office=actor.office, ministry=actor.ministry, started_by=actor.username, state="",
    )
    session.add(instance)
    session.flush()
    lock_record(session, "instance", instance.id)
    run = Run.start(specs, data)
    advance_and_save(session, instance, run, actor=actor.username)
    return instance


def get(session: Session, instance_id: uuid.UUID | str) -> ProcessInstance:
    instance = session.get(ProcessInstance, _uuid(instance_id))
    if instance is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return instance


def lock(session: Session, instance_id: uuid.UUID | str) -> ProcessInstance:
    """Take the instance's lock and return its freshly read row."""
    instance_uuid = _uuid(instance_id)
    lock_record(session, "instance", instance_uuid)
    instance = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_uuid)
        .options(undefer(ProcessInstance.state))  # whoever locks is about to load the run
        .execution_options(populate_existing=True)
    ).first()
    if instance is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return instance


def load_run(session: Session, instance: ProcessInstance) -> Run:
    definition = session.get(Definition, instance.definition_id)
    return Run.restore(definitions.specs_of(session, definition), instance.state)


def advance_and_save(
    session: Session, instance: ProcessInstance, run: Run, *, actor: str, acted_on: str | None = None
) -> None:
    """Run the engine to its next wait state and write everything that changed.

    `acted_on` is the engine task the actor just completed; its history row gets the actor's name.
    """
    result = run.advance()
    now = utcnow()
    # One statement for all rows entered and one per (outcome, actor) for rows left: an advance
    # touches several elements, and round trips, not the engine, dominate a step's cost.
    new_rows: list[dict[str, Any]] = []
    closed: dict[tuple[str, str], list[str]] = {}
    for event in result.events:
        who = actor if event.task_id == acted_on or event.element_type == "startEvent" else "system"
        if event.started:
            if event.stage:  # entering an element that declares a stage moves the instance there
                instance.stage = event.stage
            new_rows.append(dict(
                instance_id=instance.id, task_id=event.task_id, element_id=event.element_id,
                element_type=event.element_type, name=event.name, stage=instance.stage,
                actor=who if event.ended else None, outcome=event.outcome, started_at=now,
                ended_at=now if event.ended else None,
            ))
        elif event.ended:
            closed.setdefault((event.outcome, who), []).append(event.task_id)
    if new_rows:
        session.execute(insert(ElementHistory).values(new_rows)
                        .on_conflict_do_nothing(index_elements=["instance_id", "task_id"]))
    for (outcome, who), task_ids in closed.items():
        session.execute(
            update(ElementHistory)
            .where(ElementHistory.instance_id == instance.id, ElementHistory.task_id.in_(task_ids))
            .values(ended_at=now, outcome=outcome, actor=who)
        )
    cancelled = [e.task_id for e in result.events if e.outcome == "cancelled"]
    if cancelled:  # e.g. an interrupting boundary timer took a user or service task away
        tasks.cancel_tasks(session, cancelled)
        jobs.cancel_for_tasks(session, instance.id, cancelled)
    tasks.open_for(session, instance, result.human, now=now)
    jobs.create_for(session, instance.id, result.automated)
    for incident in result.incidents:
        session.execute(
            insert(Incident)
            .values(id=uuid.uuid4(), instance_id=instance.id, task_id=incident.task_id,
                    element_id=incident.element_id, kind=incident.kind, message=incident.message,
                    status="open", created_at=now)
            .on_conflict_do_nothing(index_elements=["instance_id", "task_id"], index_where=text("status = 'open'"))
        )
    instance.next_timer_at = result.next_timer_at
    instance.waiting_messages = result.waiting_messages
    if result.completed:
        instance.status = "completed"
        instance.ended_at = now
        instance.next_timer_at = None
        instance.waiting_messages = []
        tasks.cancel_for_instance(session, instance.id)
    instance.state = run.save()
    instance.updated_at = now


def history(session: Session, instance_id: uuid.UUID) -> list[ElementHistory]:
    return list(
        session.scalars(
            select(ElementHistory)
            .where(ElementHistory.instance_id == instance_id)
            .order_by(ElementHistory.started_at, ElementHistory.id)
        )
    )


def list_instances(
    session: Session, *, status: str | None = None, key: str | None = None,
    business_key: str | None = None, limit: int = 100,
) -> list[ProcessInstance]:
    query = select(ProcessInstance).order_by(ProcessInstance.started_at.desc()).limit(min(limit, 1000))
    if status:
        query = query.where(ProcessInstance.status == status)
    if key:
        query = query.where(ProcessInstance.definition_key == key)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    return list(session.scalars(query))


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return parse_uuid(value, what="instance", field="instance_id")


# ---- timers and messages ----------------------------------------------------------------------------
def due_timer_instances(session: Session, *, limit: int = 200) -> list[uuid.UUID]:
    return list(session.scalars(
        select(ProcessInstance.id)
        .where(ProcessInstance.status == "running", ProcessInstance.next_timer_at <= utcnow())
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
    ))


def fire_timers(session: Session, instance_id: uuid.UUID) -> bool:
    """Let due timers of one instance fire and advance it. False if nothing was due any more."""
    instance = lock(session, instance_id)
    if instance.status != "running" or instance.next_timer_at is None or instance.next_timer_at > utcnow():
        return False
    run = load_run(session, instance)
    advance_and_save(session, instance, run, actor="system:timer")
    return True


def correlate(session: Session, *, message: str, correlation_key: str, payload: dict[str, Any],
              actor: Principal) -> list[ProcessInstance]:
    """Deliver a message to the instances (by business key) that wait for it, durably, in one commit."""
    if not message:
        raise Invalid("messageName is required", field="messageName")
    if not isinstance(payload, dict):
        raise Invalid("payload must be a JSON object", field="payload")
    candidates = session.scalars(
        select(ProcessInstance.id).where(
            ProcessInstance.business_key == correlation_key,
            ProcessInstance.waiting_messages.any(message),
            ProcessInstance.status.in_(("running", "suspended")),
        )
    ).all()
    delivered = []
    for instance_id in candidates:
        instance = lock(session, instance_id)
        if message not in (instance.waiting_messages or []):
            continue  # someone else's message got there first
        if instance.status == "suspended":
            raise Conflict(f"instance {instance.id} waiting for '{message}' is suspended",
                           field="correlationKey")
        run = load_run(session, instance)
        if run.correlate(message, payload):
            advance_and_save(session, instance, run, actor=actor.username)
            delivered.append(instance)
    if not delivered:
        raise NotFound(f"no instance with business key '{correlation_key}' waits for message '{message}'",
                       field="correlationKey", correlation_key=correlation_key, message_name=message)
    return delivered


# ---- operator actions ---------------------------------------------------------------------------------
def _record(session: Session, action: str, instance: ProcessInstance | None, actor: Principal,
            reason: str | None, **detail: Any) -> None:
    session.add(OperatorAction(action=action, instance_id=instance.id if instance else None,
                               job_id=detail.pop("job_id", None), actor=actor.username, reason=reason,
                               detail=detail or None))


def suspend(session: Session, instance_id: str, *, actor: Principal, reason: str | None) -> ProcessInstance:
    instance = lock(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}; only running instances can be suspended",
                       field="instance_id", status=instance.status)
    instance.status = "suspended"
    instance.updated_at = utcnow()
    _record(session, "suspend", instance, actor, reason)
    return instance


def resume(session: Session, instance_id: str, *, actor: Principal, reason: str | None) -> ProcessInstance:
    instance = lock(session, instance_id)
    if instance.status != "suspended":
        raise Conflict(f"instance {instance.id} is {instance.status}, not suspended", field="instance_id",
                       status=instance.status)
    instance.status = "running"
    instance.updated_at = utcnow()
    jobs.requeue_for_instance(session, instance.id)
    _record(session, "resume", instance, actor, reason)
    return instance


def cancel(session: Session, instance_id: str, *, actor: Principal, reason: str | None) -> ProcessInstance:
    instance = lock(session, instance_id)
    if instance.status not in ("running", "suspended"):
        raise Conflict(f"instance {instance.id} is already {instance.status}", field="instance_id",
                       status=instance.status)
    run = load_run(session, instance)
    run.cancel()
    now = utcnow()
    instance.status, instance.ended_at, instance.updated_at = "cancelled", now, now
    instance.next_timer_at, instance.waiting_messages = None, []
    instance.state = run.save()
    session.execute(
        update(ElementHistory)
        .where(ElementHistory.instance_id == instance.id, ElementHistory.ended_at.is_(None))
        .values(ended_at=now, outcome="cancelled", actor=actor.username)
    )
    tasks.cancel_for_instance(session, instance.id)
    jobs.cancel_for_instance(session, instance.id)
    session.execute(update(Incident).where(Incident.instance_id == instance.id, Incident.status == "open")
                    .values(status="cancelled", resolved_at=now, resolved_by=actor.username))
    _record(session, "cancel", instance, actor, reason)
    return instance


def actions(session: Session, instance_id: uuid.UUID) -> list[OperatorAction]:
    return list(session.scalars(
        select(OperatorAction).where(OperatorAction.instance_id == instance_id).order_by(OperatorAction.id)
    ))


def record_incident_retry(session: Session, job, *, actor: Principal, reason: str | None, attempts: int) -> None:
    instance = session.get(ProcessInstance, job.instance_id)
    _record(session, "retry_incident", instance, actor, reason, job_id=job.id, attempts=attempts,
            topic=job.topic, last_error=job.last_error)


# ---- element incidents ----------------------------------------------------------------------------
def open_incidents(session: Session, *, instance_id: uuid.UUID | None = None, limit: int = 100) -> list[Incident]:
    query = select(Incident).where(Incident.status == "open").order_by(Incident.created_at.desc())
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    return list(session.scalars(query.limit(min(limit, 1000))))


def find_incident(session: Session, incident_id: uuid.UUID | str) -> Incident | None:
    return session.get(Incident, parse_uuid(incident_id, what="incident", field="incident_id"))


def retry_incident(session: Session, incident_id: uuid.UUID | str, *, actor: Principal,
                   reason: str | None, variables: dict[str, Any] | None = None) -> Incident:
    """Run the failed element again, after a fix: `variables` set in the data it runs on (Camunda's
    "set variables and retry"), a limit raised, an outage over. It may fail again: then a new incident
    opens for it. Recorded as an operator action with the names (not the values) of the variables.
    """
    for name in variables or {}:
        if not name.isidentifier() or name.startswith("_"):
            raise Invalid(f"variables.{name}: a variable name is an identifier not starting with '_'",
                          field=f"variables.{name}")
    incident = find_incident(session, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    instance = lock(session, incident.instance_id)
    session.refresh(incident)
    if incident.status != "open":
        raise Conflict(f"incident {incident.id} is {incident.status}, not open", field="incident_id",
                       status=incident.status)
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}; resume it first", field="incident_id",
                       status=instance.status)
    run = load_run(session, instance)
    run.retry(incident.task_id, variables)
    now = utcnow()
    incident.status, incident.resolved_at, incident.resolved_by = "retried", now, actor.username
    session.flush()  # the partial unique index: the element may open a new incident below
    session.execute(update(ElementHistory)
                    .where(ElementHistory.instance_id == instance.id, ElementHistory.task_id == incident.task_id)
                    .values(outcome="open", ended_at=None, actor=None))
    _record(session, "retry_incident", instance, actor, reason, incident_id=str(incident.id),
            element_id=incident.element_id, kind=incident.kind, variables=sorted(variables or {}))
    advance_and_save(session, instance, run, actor=actor.username)
    return incident
