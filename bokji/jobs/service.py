"""Automated tasks as job rows: create, claim under a lease, complete exactly once, retry, incident.

At-least-once delivery (RQ, the sweeper, external workers retrying) plus a database check at
completion gives exactly-once effects: a job completes only while its row is `running` under the
attempt number the completer claimed, inside the same transaction as the handler's writes and the
instance's advance. Anything else rolls back.
"""

from __future__ import annotations

import json
import random
import traceback
import uuid
from collections.abc import Container
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji import metrics, queue, words
from bokji.config import get_settings
from bokji.db import after_commit, utcnow
from bokji.errors import Conflict, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.ids import parse_uuid
from bokji.instances.models import InstanceStatus, ProcessInstance
from bokji.jobs.models import Job, JobKind, JobStatus


class AlreadyDone(Conflict):
    """Another delivery of the same job won (or the lease was lost); this transaction must roll back."""

    def __init__(self, job_id: str) -> None:
        super().__init__(_("Job %(id)s was completed or taken over by another attempt.") % {"id": job_id}, field="id")


UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.INCIDENT)


@dataclass(frozen=True)
class Claim:
    job_id: str
    attempt: int
    topic: str = ""  # for the metrics' labels


# ---- creating ----------------------------------------------------------------------------------
def create_for(session: Session, instance_id: uuid.UUID, waits, *, handled: Container[str]) -> list[uuid.UUID]:
    """One job per waiting automated task (idempotent per instance and engine task): run by our workers
    when its topic is `handled`, else an external task for another system."""
    settings = get_settings()
    created = []
    now = utcnow()
    for wait in waits:
        kind = JobKind.HANDLER if wait.topic in handled else JobKind.EXTERNAL
        job_id = session.execute(
            insert(Job)
            .values(
                id=uuid.uuid4(), instance_id=instance_id, task_id=wait.task_id, element_id=wait.element_id,
                topic=wait.topic, kind=kind, status=JobStatus.QUEUED, input=wait.input, attempts=0,
                max_attempts=wait.retries or settings.job_max_attempts, next_run_at=now, created_at=now,
                enqueued_at=now if kind == JobKind.HANDLER else None,
            )
            .on_conflict_do_nothing(index_elements=["instance_id", "task_id"])
            .returning(Job.id)
        ).scalar()
        if job_id is not None and kind == JobKind.HANDLER:
            created.append(job_id)
            _enqueue_after_commit(session, job_id)
    return created


def _enqueue_after_commit(session: Session, job_id: uuid.UUID) -> None:
    after_commit(session, lambda j=str(job_id): queue.enqueue_job(j))


def cancel_for_instance(session: Session, instance_id: uuid.UUID) -> None:
    session.execute(
        update(Job)
        .where(Job.instance_id == instance_id, Job.status.in_(UNFINISHED))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow(), locked_by=None, locked_until=None)
    )


def cancel_for_tasks(session: Session, instance_id: uuid.UUID, task_ids: list[str]) -> None:
    """Jobs whose engine task was cancelled (e.g. by an interrupting boundary event)."""
    if task_ids:
        session.execute(
            update(Job)
            .where(Job.instance_id == instance_id, Job.task_id.in_(task_ids),
                   Job.status.in_(UNFINISHED))
            .values(status=JobStatus.CANCELLED, finished_at=utcnow(), locked_by=None, locked_until=None)
        )


# ---- claiming and completing ---------------------------------------------------------------------
def claim(session: Session, job_id: str, worker: str, *, lease: float | None = None) -> Claim | None:
    """Take a due queued job under a lease; None if it is not due, taken, done or gone."""
    now = utcnow()
    running = select(ProcessInstance.id).where(ProcessInstance.id == Job.instance_id,
                                               ProcessInstance.status == InstanceStatus.RUNNING).exists()
    row = session.execute(
        update(Job)
        .where(Job.id == _uuid(job_id), Job.status == JobStatus.QUEUED, Job.next_run_at <= now, running)
        .values(status=JobStatus.RUNNING, locked_by=worker, attempts=Job.attempts + 1,
                locked_until=now + timedelta(seconds=lease or get_settings().job_lease))
        .returning(Job.attempts, Job.topic)
    ).first()
    return Claim(job_id, row.attempts, row.topic) if row else None


def finish_attempt(session: Session, claim: Claim) -> Job:
    """The claimed attempt is over (the caller holds the instance's lock): the job as committed now,
    its lease released; AlreadyDone if another attempt won or the lease was taken back."""
    job = _fresh(session, _uuid(claim.job_id))
    if job.status != JobStatus.RUNNING or job.attempts != claim.attempt:
        raise AlreadyDone(claim.job_id)
    job.locked_by, job.locked_until, job.finished_at = None, None, utcnow()
    return job


class Suspended(Conflict):
    """The instance was suspended meanwhile: the attempt is given back; resume re-enqueues the job."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(_("Instance %(id)s is suspended.") % {"id": instance_id}, field="processInstanceId")


def renew_lease(session: Session, claim: Claim, *, lease: float | None = None) -> bool:
    """Extend a running attempt's lease (the worker's heartbeat); False once the attempt is no longer
    the job's (done, failed, or taken back), so the heartbeat stops."""
    renewed = session.execute(
        update(Job)
        .where(Job.id == _uuid(claim.job_id), Job.status == JobStatus.RUNNING, Job.attempts == claim.attempt)
        .values(locked_until=utcnow() + timedelta(seconds=lease or get_settings().job_lease))
        .returning(Job.id)
    ).first()
    return renewed is not None


def release(session: Session, claim: Claim) -> None:
    """Give a claimed attempt back untouched (not counted as a failure)."""
    session.execute(
        update(Job)
        .where(Job.id == _uuid(claim.job_id), Job.status == JobStatus.RUNNING, Job.attempts == claim.attempt)
        .values(status=JobStatus.QUEUED, attempts=Job.attempts - 1, locked_by=None, locked_until=None)
    )


def postpone(session: Session, claim: Claim, reason: str, delay: float) -> str:
    """Give the attempt back uncounted and try again after `delay` seconds."""
    job = session.get(Job, _uuid(claim.job_id), with_for_update=True)
    if job is None or job.status != JobStatus.RUNNING or job.attempts != claim.attempt:
        return "stale"
    job.status, job.attempts = JobStatus.QUEUED, job.attempts - 1
    job.locked_by = job.locked_until = None
    job.last_error = reason[:2000]
    job.next_run_at = utcnow() + timedelta(seconds=delay)
    return "postponed"


def record_failure(session: Session, claim: Claim, exc: BaseException | str, *,
                   retries_left: int | None = None, retry_in: float | None = None) -> str:
    """The attempt failed (its transaction rolled back). Retry with backoff, or open an incident."""
    job = session.get(Job, _uuid(claim.job_id), with_for_update=True)
    if job is None or job.status != JobStatus.RUNNING or job.attempts != claim.attempt:
        return "stale"
    message = str(exc) if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    job.last_error = message[:2000]
    if not isinstance(exc, str):
        job.error_stack = "".join(traceback.format_exception(exc))[-20_000:]
    job.locked_by = job.locked_until = None
    if retries_left is not None:  # an external worker decides, as in Camunda's failure API
        job.max_attempts = job.attempts + max(retries_left, 0)
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.INCIDENT
        job.finished_at = utcnow()
        _count_failure(session, job.topic, "incident")
        return "incident"
    job.status = JobStatus.QUEUED
    job.next_run_at = utcnow() + timedelta(seconds=retry_in if retry_in is not None else backoff(job.attempts))
    _count_failure(session, job.topic, "retry")
    return "retry"


def _count_failure(session: Session, topic: str, outcome: str) -> None:
    """Counted once the failure is committed (a rolled-back decision was never made)."""
    def count() -> None:
        metrics.JOB_FAILURES.labels(topic, outcome).inc()
        if outcome == "retry":
            metrics.JOB_RETRIES.labels(topic, "backoff").inc()

    after_commit(session, count)


def backoff(attempt: int) -> float:
    """Seconds before the next try: base * 2^(attempt-1), capped, with +-jitter."""
    settings = get_settings()
    delay = min(settings.retry_backoff_base * 2 ** max(attempt - 1, 0), settings.retry_backoff_max)
    return delay * (1 + random.uniform(-settings.retry_jitter, settings.retry_jitter))


# ---- the scheduler's sweeps ------------------------------------------------------------------------
def reclaim_expired_leases(session: Session) -> list[str]:
    """Running jobs whose lease ran out (the worker died or hung): back to queued, or incident."""
    now = utcnow()
    expired = session.scalars(
        select(Job).where(Job.status == JobStatus.RUNNING, Job.locked_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    for job in expired:
        job.last_error = f"lease expired (held by {job.locked_by}); the worker died or took too long"
        job.locked_by = job.locked_until = None
        if job.attempts >= job.max_attempts:
            job.status, job.finished_at = JobStatus.INCIDENT, now
            _count_failure(session, job.topic, "incident")
        else:
            job.status, job.next_run_at = JobStatus.QUEUED, now
            _count_failure(session, job.topic, "retry")
            if job.kind == JobKind.HANDLER:
                job.enqueued_at = now
                _enqueue_after_commit(session, job.id)
    return [str(j.id) for j in expired]


def enqueue_due(session: Session, *, check_redis: bool) -> list[str]:
    """Hand due handler jobs to Redis: retries whose backoff passed, and jobs Redis lost."""
    settings = get_settings()
    now = utcnow()
    candidates = session.scalars(
        select(Job)
        .join(ProcessInstance, ProcessInstance.id == Job.instance_id)
        .where(Job.status == JobStatus.QUEUED, Job.kind == JobKind.HANDLER, Job.next_run_at <= now,
               ProcessInstance.status == InstanceStatus.RUNNING)
        .order_by(Job.next_run_at)
        .limit(5000)
        .with_for_update(of=Job, skip_locked=True)
    ).all()
    grace = now - timedelta(seconds=settings.job_enqueue_grace)
    due = [j for j in candidates if j.enqueued_at is None or j.enqueued_at < j.next_run_at]
    if check_redis:
        settled = [j for j in candidates if j not in due and j.enqueued_at < grace]
        missing = queue.missing_jobs([str(j.id) for j in settled])
        due += [j for j in settled if str(j.id) in missing]
    for job in due:
        job.enqueued_at = now
        _enqueue_after_commit(session, job.id)
    return [str(j.id) for j in due]


# ---- incidents --------------------------------------------------------------------------------------
def incidents(session: Session, *, limit: int = 100) -> list[Job]:
    return list(session.scalars(
        select(Job).where(Job.status == JobStatus.INCIDENT).order_by(Job.finished_at.desc()).limit(min(limit, 1000))
    ))


def retry_incident(session: Session, job_id: str, *, attempts: int = 1) -> Job:
    if attempts < 1 or attempts > 100:
        raise Invalid(_("attempts must be between 1 and 100."), field="attempts")
    job = session.get(Job, _uuid(job_id), with_for_update=True)
    if job is None:
        raise NotFound(_("Job %(id)s not found.") % {"id": job_id}, field="job_id")
    if job.status != JobStatus.INCIDENT:
        raise Conflict(_("Job %(id)s is %(status)s, not an incident.") % {
            "id": job_id, "status": words.name(words.STATUSES, job.status)}, field="job_id", status=job.status)
    now = utcnow()
    job.status, job.next_run_at, job.finished_at = JobStatus.QUEUED, now, None
    job.max_attempts = job.attempts + attempts
    if job.kind == JobKind.HANDLER:
        job.enqueued_at = now
        _enqueue_after_commit(session, job.id)
    topic = job.topic
    after_commit(session, lambda: metrics.JOB_RETRIES.labels(topic, "operator").inc())
    return job


def requeue_for_instance(session: Session, instance_id: uuid.UUID) -> None:
    """After resume: hand the instance's queued handler jobs to Redis again."""
    now = utcnow()
    ids = session.scalars(
        update(Job).where(Job.instance_id == instance_id, Job.status == JobStatus.QUEUED, Job.kind == JobKind.HANDLER)
        .values(next_run_at=now, enqueued_at=now).returning(Job.id)
    ).all()
    for job_id in ids:
        _enqueue_after_commit(session, job_id)


# ---- external tasks ------------------------------------------------------------------------------
def fetch_and_lock(session: Session, *, worker: str, topics: list[str], max_tasks: int,
                   lock_seconds: float) -> list[Job]:
    """Camunda-style fetch-and-lock: due external jobs of these topics, locked to `worker`."""
    settings = get_settings()
    if not worker:
        raise Invalid(_("workerId is required."), field="workerId")
    if not topics:
        raise Invalid(_("Give at least one topic."), field="topics")
    if not 0 < lock_seconds <= settings.external_lock_max:
        raise Invalid(_("lockDuration must be between 1 ms and %(max)s s.") % {
            "max": f"{settings.external_lock_max:.0f}"}, field="lockDuration")
    now = utcnow()
    jobs = session.scalars(
        select(Job)
        .join(ProcessInstance, ProcessInstance.id == Job.instance_id)
        .where(Job.kind == JobKind.EXTERNAL, Job.topic.in_(topics), Job.next_run_at <= now,
               ProcessInstance.status == InstanceStatus.RUNNING,
               or_(Job.status == JobStatus.QUEUED, (Job.status == JobStatus.RUNNING) & (Job.locked_until < now)))
        .order_by(Job.next_run_at)
        .limit(max(1, min(max_tasks, 100)))
        .with_for_update(of=Job, skip_locked=True)
    ).all()
    for job in jobs:
        job.status, job.locked_by = JobStatus.RUNNING, worker
        job.locked_until = now + timedelta(seconds=lock_seconds)
        job.attempts += 1
    return jobs


def external_claim(session: Session, job_id: str, worker: str, grants: frozenset[str]) -> Claim:
    """The claim an external worker holds, checked: a topic the system is granted, locked to this worker
    and unexpired."""
    job = session.get(Job, _uuid(job_id))
    if job is None or job.kind != JobKind.EXTERNAL or f"topic:{job.topic}" not in grants:
        raise NotFound(_("External task %(id)s not found.") % {"id": job_id}, field="id")
    if job.status != JobStatus.RUNNING or job.locked_by != worker:
        raise Conflict(_("External task %(id)s is not locked by worker '%(worker)s' (status %(status)s, locked by "
                         "%(locked_by)s).") % {"id": job_id, "worker": worker,
                                               "status": words.name(words.STATUSES, job.status),
                                               "locked_by": job.locked_by or "–"}, field="workerId")
    if job.locked_until is not None and job.locked_until < utcnow():
        raise Conflict(_("The lock of worker '%(worker)s' on external task %(id)s expired.") % {
            "worker": worker, "id": job_id}, field="workerId")
    return Claim(str(job.id), job.attempts, job.topic)


# ---- helpers ----------------------------------------------------------------------------------------
def _fresh(session: Session, job_id: uuid.UUID) -> Job:
    return session.scalars(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).one()


def json_safe(result: Any, topic: str) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TypeError(f"handler for '{topic}' returned {type(result).__name__}, expected a dict")
    return json.loads(json.dumps(result, default=str))


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return parse_uuid(value, what="job", field="id")
