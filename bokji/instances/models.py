from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow

# The standard process, then the periodic review (확인조사) a granted case waits in.
STAGES = ("application", "investigation", "decision", "payment", "review")


class InstanceStatus(StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RETRIED = "retried"  # an operator ran the element again (a new incident opens if it fails again)
    CANCELLED = "cancelled"  # the instance was cancelled


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """A CHECK constraint: the column holds one of the enum's values (named ck_<table>_<column>)."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(v.value) for v in values)})", name=column)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_status_definition_key", "status", "definition_key"),
        Index("ix_process_instance_waiting_messages", "waiting_messages", postgresql_using="gin"),
        # Case lists, newest first, as the scope policy filters them (bench/scope_filters.py): an office's,
        # a ministry's, everybody's.
        Index("ix_process_instance_office_started_at", "office", "started_at"),
        Index("ix_process_instance_ministry_started_at", "ministry", "started_at"),
        Index("ix_process_instance_started_at", "started_at"),
        one_of("status", InstanceStatus),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    definition_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("definition.id"))
    definition_key: Mapped[str] = mapped_column(String(200))
    definition_version: Mapped[int]
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # InstanceStatus
    stage: Mapped[str | None] = mapped_column(String(32))  # of the standard process, see STAGES
    # Whose case it is (bokji/scope): the applicant's residence office, else the office the model or
    # the starter declares; the catalog service's ministry, else the definition's. Never null.
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))
    ministry: Mapped[str] = mapped_column(String(64))
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # What the engine waits for, copied out of the state so the scheduler and the message API can
    # find instances without loading them: the earliest timer, and the message names it can catch.
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    waiting_messages: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    # Engine state without the spec (processes.runtime); only processes/ reads it.
    state: Mapped[str] = mapped_column(Text, deferred=True)


class ElementHistory(Base):
    """Each model element an instance went through: the case timeline, the heatmap, the audit."""

    __tablename__ = "element_history"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    element_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # open | completed | cancelled | error
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # The task id of the call activity (or sub-process) the element ran inside; None at the top. A called
    # module's diagram shows the rows of that one call.
    parent_task_id: Mapped[str | None] = mapped_column(String(36))


class OperatorAction(Base):
    """Who suspended, resumed, cancelled or retried what, when and why: kept for the audit."""

    __tablename__ = "operator_action"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))  # suspend | resume | cancel | retry_incident
    instance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    job_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """An element that failed while the engine ran it: a script, condition, timer expression or
    decision table (in the sandbox), or a calculation. The instance waits at that element until an
    operator retries it; the rest of the instance runs on. Failed automated *jobs* are incidents on
    their job row instead (bokji/jobs), and `GET /incidents` lists both.

    `message` names the element, what was evaluated and the kind of failure, never a value.
    """

    __tablename__ = "incident"
    __table_args__ = (
        Index("uq_incident_open_task", "instance_id", "task_id", unique=True,
              postgresql_where=text("status = 'open'")),
        Index("ix_incident_status_created_at", "status", "created_at"),
        one_of("status", IncidentStatus),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))  # the engine's task that failed
    element_id: Mapped[str] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))  # as the designer named it, for people
    kind: Mapped[str] = mapped_column(String(16))  # limit | timeout | refused | error | crash | busy | model
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
