"""Process instances as rows: find, lock, list, their history, operator actions and incidents.

Every change to an instance happens under `lock` (a transaction-scoped advisory lock on its id), so no
two processes advance one instance; the state read after taking the lock is the latest committed one.
How an instance moves is the step coordinator's (bokji/steps); this module never advances one.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, undefer

from bokji.db import lock_record, utcnow
from bokji.definitions import service as definitions
from bokji.definitions.models import Definition
from bokji.errors import NotFound
from bokji.identity.service import Principal
from bokji.ids import parse_uuid
from bokji.instances.models import (
    ElementHistory,
    Incident,
    IncidentStatus,
    InstanceStatus,
    OperatorAction,
    ProcessInstance,
)
from bokji.privacy import access_log
from bokji.scope import policy
from processes.calculations import Calculations
from processes.runtime import EMPTY, Run


def get(session: Session, instance_id: uuid.UUID | str) -> ProcessInstance:
    instance = session.get(ProcessInstance, _uuid(instance_id))
    if instance is None:
        raise NotFound(policy.not_found("instance", instance_id), field="instance_id")
    return instance


def get_for(session: Session, instance_id: uuid.UUID | str, who: Principal, need: policy.Grade, *,
            kind: policy.Kind = policy.Kind.CASE, purpose: str | None = None,
            action: str | None = None) -> ProcessInstance:
    """The instance if `who` may see it at `need` (404 worded as for an unknown id otherwise). Reading the
    case's personal data (masked or more) is written to the access log with `purpose` and `action`."""
    instance = get(session, instance_id)
    policy.require(session, who, kind, need, office=instance.office, ministry=instance.ministry,
                   what="instance", ident=instance_id, field="instance_id")
    if kind is policy.Kind.CASE and need >= policy.Grade.MASKED:
        access_log.record(session, who.username, purpose=purpose, action=action or "read_case",
                          instance_id=instance.id)
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
        raise NotFound(policy.not_found("instance", instance_id), field="instance_id")
    return instance


def load_run(session: Session, instance: ProcessInstance, *, calculations: Calculations = EMPTY) -> Run:
    """The instance's run, restored from its state. To read it, no calculations are needed; a step
    that advances it passes them (bokji/steps)."""
    definition = session.get(Definition, instance.definition_id)
    return Run.restore(definitions.specs_of(session, definition), instance.state, calculations=calculations)


def history(session: Session, instance_id: uuid.UUID) -> list[ElementHistory]:
    return list(
        session.scalars(
            select(ElementHistory)
            .where(ElementHistory.instance_id == instance_id)
            .order_by(ElementHistory.started_at, ElementHistory.id)
        )
    )


def list_instances(
    session: Session, who: Principal, *, status: str | None = None, key: str | None = None,
    business_key: str | None = None, limit: int = 100,
) -> list[ProcessInstance]:
    """The instances `who` may see at least aggregated, newest first (the scope policy's filter)."""
    query = (select(ProcessInstance)
             .where(policy.visible(session, who, policy.Kind.CASE, policy.Grade.AGGREGATE, ProcessInstance.office,
                                   ProcessInstance.ministry))
             .order_by(ProcessInstance.started_at.desc()).limit(min(limit, 1000)))
    if status:
        query = query.where(ProcessInstance.status == status)
    if key:
        query = query.where(ProcessInstance.definition_key == key)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    return list(session.scalars(query))


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return parse_uuid(value, what="instance", field="instance_id")


# ---- what instances wait for ----------------------------------------------------------------------
def due_timer_instances(session: Session, *, limit: int = 200) -> list[uuid.UUID]:
    return list(session.scalars(
        select(ProcessInstance.id)
        .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.next_timer_at <= utcnow())
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
    ))


def waiting_for(session: Session, *, message: str, business_key: str) -> list[uuid.UUID]:
    """Instances with this business key that can catch `message` now (running or suspended)."""
    return list(session.scalars(
        select(ProcessInstance.id).where(
            ProcessInstance.business_key == business_key,
            ProcessInstance.waiting_messages.any(message),
            ProcessInstance.status.in_((InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)),
        )
    ))


# ---- operator actions ---------------------------------------------------------------------------------
def record(session: Session, action: str, instance: ProcessInstance | None, actor: Principal,
           reason: str | None, **detail: Any) -> None:
    """Keep who did what to an instance, when and why (suspend, resume, cancel, retries)."""
    session.add(OperatorAction(action=action, instance_id=instance.id if instance else None,
                               job_id=detail.pop("job_id", None), actor=actor.username, reason=reason,
                               detail=detail or None))


def actions(session: Session, instance_id: uuid.UUID) -> list[OperatorAction]:
    return list(session.scalars(
        select(OperatorAction).where(OperatorAction.instance_id == instance_id).order_by(OperatorAction.id)
    ))


def record_incident_retry(session: Session, job, *, actor: Principal, reason: str | None, attempts: int) -> None:
    instance = session.get(ProcessInstance, job.instance_id)
    record(session, "retry_incident", instance, actor, reason, job_id=job.id, attempts=attempts,
           topic=job.topic, last_error=job.last_error)


# ---- element incidents ----------------------------------------------------------------------------
def open_incidents(session: Session, *, instance_id: uuid.UUID | None = None, limit: int = 100) -> list[Incident]:
    query = select(Incident).where(Incident.status == IncidentStatus.OPEN).order_by(Incident.created_at.desc())
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    return list(session.scalars(query.limit(min(limit, 1000))))


def find_incident(session: Session, incident_id: uuid.UUID | str) -> Incident | None:
    return session.get(Incident, parse_uuid(incident_id, what="incident", field="incident_id"))


def cancel_incidents(session: Session, instance_id: uuid.UUID, *, actor: str) -> None:
    session.execute(update(Incident).where(Incident.instance_id == instance_id, Incident.status == IncidentStatus.OPEN)
                    .values(status=IncidentStatus.CANCELLED, resolved_at=utcnow(), resolved_by=actor))
