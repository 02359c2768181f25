from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow
from bokji.instances.models import one_of


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed under a lease
    DONE = "done"
    INCIDENT = "incident"  # failed every attempt: an operator retries it
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    HANDLER = "handler"  # run by our RQ workers
    EXTERNAL = "external"  # fetched and completed by another system (Camunda's external tasks)


class Job(Base):
    """One execution of an automated (service) task of an instance.

    Life cycle: queued -> running (claimed under a lease) -> done; a failure goes back to queued
    with a later `next_run_at` (exponential backoff with jitter) until `max_attempts`, then to
    incident, where an operator retries it. A lease that runs out (the worker died) puts it back
    to queued. `attempts` is also the fencing token: only the holder of the current attempt may
    complete the job.
    """

    __tablename__ = "job"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        Index("ix_job_status_next_run_at", "status", "next_run_at"),
        Index("ix_job_kind_topic_status", "kind", "topic", "status"),
        one_of("status", JobStatus),
        one_of("kind", JobKind),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))  # the engine's task id
    element_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # JobKind
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    input: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # shown to operators and external workers
    error_stack: Mapped[str | None] = mapped_column(Text)  # operators only, never in task/case views
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
