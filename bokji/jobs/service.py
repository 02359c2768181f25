"""Creating job rows for automated tasks and executing them exactly once."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji import queue
from bokji.db import after_commit, utcnow
from bokji.errors import Conflict
from bokji.jobs.handlers import HandlerContext, get_handler
from bokji.jobs.models import Job


class AlreadyDone(Exception):
    """Another delivery of the same job won; this one's transaction must roll back."""


def create_for(session: Session, instance_id: uuid.UUID, waits) -> list[uuid.UUID]:
    """One job per waiting automated task (idempotent per instance and engine task)."""
    created = []
    now = utcnow()
    for wait in waits:
        kind = "handler" if get_handler(wait.topic) else "external"
        job_id = session.execute(
            insert(Job)
            .values(
                id=uuid.uuid4(), instance_id=instance_id, task_id=wait.task_id, element_id=wait.element_id,
                topic=wait.topic, kind=kind, status="queued", input=wait.input, attempts=0,
                created_at=now, enqueued_at=now if kind == "handler" else None,
            )
            .on_conflict_do_nothing(index_elements=["instance_id", "task_id"])
            .returning(Job.id)
        ).scalar()
        if job_id is not None and kind == "handler":
            created.append(job_id)
            after_commit(session, lambda j=str(job_id): queue.enqueue_job(j))
    return created


def cancel_for_instance(session: Session, instance_id: uuid.UUID) -> None:
    session.execute(
        update(Job).where(Job.instance_id == instance_id, Job.status == "queued")
        .values(status="cancelled", finished_at=utcnow())
    )


def execute(session: Session, job_id: str) -> str:
    """Run the handler and complete the task in one transaction. Returns what happened."""
    from bokji.instances import service as instances

    job = session.get(Job, uuid.UUID(job_id))
    if job is None or job.status != "queued":
        return "skipped"
    handler = get_handler(job.topic)
    if handler is None:
        return "no-handler"
    instance = instances.get(session, job.instance_id)
    ctx = HandlerContext(
        session=session, job_id=job_id, instance_id=str(job.instance_id),
        business_key=instance.business_key, element_id=job.element_id, topic=job.topic,
        input=dict(job.input), attempt=job.attempts + 1,
    )
    result = handler(ctx) or {}
    result = _json_safe(result, job.topic)

    # Only now hold the instance: the handler's time never blocks other work on the case.
    instance = instances.lock(session, job.instance_id)
    job = session.scalars(select(Job).where(Job.id == job.id).execution_options(populate_existing=True)).one()
    if job.status != "queued":
        raise AlreadyDone(job_id)
    if instance.status != "running":
        job.status = "cancelled"
        job.finished_at = utcnow()
        return "cancelled"
    run = instances.load_run(session, instance)
    try:
        run.complete_automated_task(job.task_id, result)
    except Conflict:
        job.status = "cancelled"  # the task left the instance (e.g. an interrupting event)
        job.finished_at = utcnow()
        return "cancelled"
    job.status = "done"
    job.result = result
    job.attempts += 1
    job.finished_at = utcnow()
    instances.advance_and_save(session, instance, run, actor=f"worker:{job.topic}", acted_on=job.task_id)
    return "done"


def record_failure(session: Session, job_id: str, error: str) -> None:
    job = session.get(Job, uuid.UUID(job_id), with_for_update=True)
    if job is None or job.status != "queued":
        return
    job.attempts += 1
    job.last_error = error[:4000]
    job.status = "failed"
    job.finished_at = utcnow()


def _json_safe(result: Any, topic: str) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TypeError(f"handler for '{topic}' returned {type(result).__name__}, expected a dict")
    return json.loads(json.dumps(result, default=str))


def requeue_stale(session: Session, older_than_seconds: float) -> list[str]:
    """Queued handler jobs not finished long after being handed to Redis: hand them over again."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    ids = session.scalars(
        update(Job)
        .where(Job.status == "queued", Job.kind == "handler", Job.enqueued_at < cutoff)
        .values(enqueued_at=utcnow())
        .returning(Job.id)
    ).all()
    for job_id in ids:
        after_commit(session, lambda j=str(job_id): queue.enqueue_job(j))
    return [str(i) for i in ids]
