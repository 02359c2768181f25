from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow
from bokji.instances.models import one_of


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # the office waits on the applicant: the days do not count
    STOPPED = "stopped"  # decided (or the case ended without a decision): its figures stay as they are


class ClockEventKind(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    EXTEND = "extend"
    RECOMPUTE = "recompute"  # the calendar changed (a closure added or withdrawn) and moved the deadline
    WARN = "warn"
    BREACH = "breach"
    STOP = "stop"


class CaseClock(Base):
    """One catalog case's legal clock: from the application's day to the decision, counted as the service's
    catalog entry declares (`clock`: limit, unit, first-day rule, roll-forward, stage targets, what pauses it).

    `due_on` is the deadline as it stands: the limit from `started_on`, moved on by every finished pause and
    every extension, on the calendar `calendar_version` names. A stopped clock is never recomputed, so a
    closed case keeps its figures."""

    __tablename__ = "case_clock"
    __table_args__ = (
        # The scheduler's sweep reads the open clocks by deadline; dashboards read by office and ministry.
        Index("ix_case_clock_open_due_on", "due_on", postgresql_where=text("state <> 'stopped'")),
        Index("ix_case_clock_office_started_on", "office", "started_on"),
        Index("ix_case_clock_ministry_started_on", "ministry", "started_on"),
        one_of("state", ClockState),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("application.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(64))
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))
    ministry: Mapped[str] = mapped_column(String(64))
    rule: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the catalog's clock as this case uses it
    started_on: Mapped[date]  # the application's day (receipt)
    due_on: Mapped[date]
    calendar_version: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16), default=ClockState.RUNNING)
    paused_since: Mapped[date | None]
    paused_business_days: Mapped[int] = mapped_column(default=0)  # finished pauses: gross minus net
    extended_days: Mapped[int] = mapped_column(default=0)
    stopped_on: Mapped[date | None]  # the decision's day (its notice), or the day the case ended without one
    decided: Mapped[bool] = mapped_column(default=False)  # stopped by a decision (not by a cancellation)
    first_payment_on: Mapped[date | None]  # the first scheduled payment day of a granted cash benefit
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClockEvent(Base):
    """What happened to a clock, with who and why: the audit of every deadline and the dashboard's history.
    A warning and a breach are recorded once per deadline (the unique index): the sweep may run twice, or in
    two schedulers, and still warns and escalates once."""

    __tablename__ = "clock_event"
    __table_args__ = (
        Index("uq_clock_event_once_per_deadline", "instance_id", "kind", "due_on", unique=True,
              postgresql_where=text("kind IN ('warn', 'breach')")),
        Index("ix_clock_event_kind_at", "kind", "at"),
        one_of("kind", ClockEventKind),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    on: Mapped[date]  # the platform's day it happened
    due_on: Mapped[date]  # the deadline after it
    previous_due_on: Mapped[date | None]
    calendar_version: Mapped[str] = mapped_column(String(120))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """The outbox of messages to people: SLA warnings and escalations to staff, extension notices to applicants.
    Written in the transaction that decided to send them; a sender delivers each once (`sent_at`), here to the
    log. `dedupe_key` keeps a decision taken twice from writing two messages."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # sla_warning | sla_breach | extension
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | letter
    recipient_user: Mapped[str | None] = mapped_column(String(64), index=True)  # a member of staff
    recipient_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"))  # an applicant
    instance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
