from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Computed, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow
from bokji.instances.models import one_of


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_ONLY = text("status = 'open'")


def _queue_indexes() -> list[Index]:
    """The queues read open tasks only, by one key (a person, a team, an office) in due-date or age order,
    and page by keyset: a partial index per key and order serves each page (and its capped count) from the
    index alone (../shared/reference/wave2-technical-options.md section 7). Closed tasks are not in them."""
    return [Index(f"ix_human_task_open_{key}_{order}", key, order, "id", postgresql_where=OPEN_ONLY)
            for key in ("assignee", "team_id", "office") for order in ("due_key", "created_at")]


class HumanTask(Base):
    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_status_due_at", "status", "due_at"),
        Index("ix_human_task_candidate_groups", "candidate_groups", postgresql_using="gin"),
        Index("ix_human_task_open_applicant", "applicant_id", postgresql_where=OPEN_ONLY),
        Index("ix_human_task_open_application", "application_number", postgresql_where=OPEN_ONLY),
        *_queue_indexes(),
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
    # What a queue shows and filters by, copied from the case when the task opens (a queue page must not
    # read 50 instances' state): the service, the application and its applicant, the team whose queue it is in.
    service_code: Mapped[str | None] = mapped_column(String(64))
    application_number: Mapped[str | None] = mapped_column(String(40))
    applicant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    # The due date as a sort key: no due date sorts last (year 9999: Python reads it, unlike infinity), and
    # keyset pages need a value in every row.
    due_key: Mapped[datetime] = mapped_column(
        Computed("coalesce(due_at, '9999-12-31 00:00:00+00'::timestamptz)", persisted=True))
    # A task opened again after a later task sent the case back (a supervisor's return): why and by whom
    # (bokji/tasks/service.py mark_returned); when is this task's created_at.
    returned_reason: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(64))
    # The case's legal clock as the workspace shows it (bokji/clocks sweep): "warned" some business days before
    # the deadline, "breached" after it, when the task was also escalated to the office's supervisor.
    sla_flag: Mapped[str | None] = mapped_column(String(16))
    escalated_to: Mapped[str | None] = mapped_column(String(64))


class TaskDraft(Base):
    """What a person has typed into a task's form so far, kept on the server (one per task and person)
    and deleted with the task's completion."""

    __tablename__ = "task_draft"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
