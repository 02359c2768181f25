from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow
from bokji.instances.models import one_of


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class HumanTask(Base):
    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_status_due_at", "status", "due_at"),
        Index("ix_human_task_office_status_due_at", "office", "status", "due_at"),  # an office's queue
        Index("ix_human_task_candidate_groups", "candidate_groups", postgresql_using="gin"),
        one_of("status", TaskStatus),
    )

    # The engine's task id: unique, and stable across the instance's saves.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(300))
    candidate_groups: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    candidate_users: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)  # username who claimed it
    form_key: Mapped[str | None] = mapped_column(String(200))
    # Four eyes: whoever completed this element of the instance may not complete this task.
    four_eyes_of: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(32))
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))  # the instance's
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    submission: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A task opened again after a later task sent the case back (a supervisor's return): why and by whom
    # (bokji/tasks/service.py mark_returned); when is this task's created_at.
    returned_reason: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(64))


class TaskDraft(Base):
    """What a person has typed into a task's form so far, kept on the server (one per task and person)
    and deleted with the task's completion."""

    __tablename__ = "task_draft"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
