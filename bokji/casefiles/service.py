"""A case's timeline: the elements it went through (bokji/instances element history), who completed its
tasks (bokji/tasks) and which automated steps ran and how (bokji/jobs). The access log is not the timeline:
it records reads, not what was done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji.instances import service as instances
from bokji.jobs.models import Job
from bokji.tasks.models import HumanTask


@dataclass(frozen=True)
class TimelineEntry:
    element_id: str
    element_type: str
    name: str | None
    stage: str | None
    outcome: str  # open | completed | cancelled | error (as the element history records it)
    started_at: datetime
    ended_at: datetime | None
    by: str | None  # the user who completed a task; None for automated steps
    automated: bool  # a service task run by a worker (bokji/jobs)
    attempts: int | None  # of an automated step
    error: str | None  # an automated step's last error, as operators and workers see it (no stack)


def timeline(session: Session, instance_id: uuid.UUID) -> list[TimelineEntry]:
    """Oldest first. The caller has checked scope (bokji.instances.service.get_for)."""
    tasks = {t.element_id: t for t in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.created_at))}
    jobs = {j.element_id: j for j in session.scalars(
        select(Job).where(Job.instance_id == instance_id).order_by(Job.created_at))}
    entries = []
    for h in instances.history(session, instance_id):
        task, job = tasks.get(h.element_id), jobs.get(h.element_id)
        entries.append(TimelineEntry(
            element_id=h.element_id, element_type=h.element_type, name=h.name, stage=h.stage,
            outcome=h.outcome, started_at=h.started_at, ended_at=h.ended_at,
            by=(task.completed_by if task else None) or h.actor, automated=job is not None,
            attempts=job.attempts if job else None, error=job.last_error if job else None))
    return entries
