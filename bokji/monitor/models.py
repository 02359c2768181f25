"""The dashboard's summary tables: what the `monitor` process (workers/monitor.py) keeps, and the only tables the
dashboard's figures are read from (a page view never scans the cases). Each refresh recounts the cases changed
since the previous one (all open cases on a new day), in one transaction under an advisory lock, and stamps
`monitor_state.as_of`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base


class MonitorState(Base):
    """One row: when the figures were last refreshed, and what the next refresh starts from."""

    __tablename__ = "monitor_state"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    as_of: Mapped[datetime | None]  # the platform clock when the last refresh began
    watermark: Mapped[datetime | None]  # cases updated after this (less the overlap) are recounted
    today: Mapped[date | None]  # the day the open cases were last counted to
    calendar_version: Mapped[str | None] = mapped_column(String(200))
    days_from: Mapped[date | None]  # the span monitor_day covers
    days_to: Mapped[date | None]
    cases_recounted: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)


class MonitorDay(Base):
    """The offices' calendar as a table, written from `BusinessCalendar.is_business_day` (bokji/calendar): `n` is
    the number of business days up to and including `day`, so business days after a up to b = n(b) - n(a), in SQL.
    Office '*' is every office; an office with a closure of its own has rows of its own."""

    __tablename__ = "monitor_day"
    __table_args__ = (Index("ix_monitor_day_office_n", "office", "n"),)

    office: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    n: Mapped[int]
    business: Mapped[bool]


class MonitorCase(Base):
    """One clocked case's figures: business days gross and net, to the first payment, left, its SLA state and the
    at-risk forecast."""

    __tablename__ = "monitor_case"
    __table_args__ = (
        Index("ix_monitor_case_office_started_on", "office", "started_on"),
        Index("ix_monitor_case_ministry_started_on", "ministry", "started_on"),
        Index("ix_monitor_case_started_on", "started_on"),
        Index("ix_monitor_case_application", "application_id"),
        Index("ix_monitor_case_due_on", "due_on", "instance_id"),  # the cases list, by due day
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID]
    applicant_id: Mapped[uuid.UUID | None]
    business_key: Mapped[str | None] = mapped_column(String(200))
    definition_key: Mapped[str] = mapped_column(String(200))
    definition_version: Mapped[int]
    service_code: Mapped[str] = mapped_column(String(64))
    ministry: Mapped[str] = mapped_column(String(64))
    office: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM of the application
    stage: Mapped[str | None] = mapped_column(String(32))
    stage_since: Mapped[date | None]  # the first day of the current stage
    clock_state: Mapped[str] = mapped_column(String(16))
    started_on: Mapped[date]
    due_on: Mapped[date]
    stopped_on: Mapped[date | None]
    decided: Mapped[bool]
    first_payment_on: Mapped[date | None]
    warn_before: Mapped[int] = mapped_column(default=0)
    gross: Mapped[int]  # business days application -> decision (or today), the first day not counted
    net: Mapped[int]  # without the paused business days
    pay_days: Mapped[int | None]  # business days application -> first scheduled payment
    days_left: Mapped[int]  # business days from today to due_on (negative once passed)
    forecast_on: Mapped[date | None]  # the forecast decision day of an open case
    breach_in: Mapped[int | None]  # "will breach in N business days" (forecast after due_on, not breached yet)
    sla_state: Mapped[str] = mapped_column(String(16))  # on_time | at_risk | breached | paused | closed


class MonitorCaseStage(Base):
    """How long a case spent in each stage up to the decision (first row of the stage to first row of the next, or
    the decision day), in business days; `days` is None while the case is still in it."""

    __tablename__ = "monitor_case_stage"

    instance_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64))
    decided: Mapped[bool]
    entered_on: Mapped[date]
    left_on: Mapped[date | None]
    days: Mapped[int | None]


class MonitorStageP90(Base):
    """Per service and stage: the p90 business days of decided cases (or the clock's stage target without
    history), and the sum of the later stages' up to the decision: what the forecast adds."""

    __tablename__ = "monitor_stage_p90"

    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    p90: Mapped[float] = mapped_column(Float)
    later: Mapped[float] = mapped_column(Float)
    cases: Mapped[int]  # decided cases behind the p90 (0: the stage target)


class MonitorCaseElement(Base):
    """One instance's passage through one element (the heatmap's grain, kept so a recount can subtract it)."""

    __tablename__ = "monitor_case_element"

    instance_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    definition_key: Mapped[str] = mapped_column(String(200))
    definition_version: Mapped[int]
    office: Mapped[str] = mapped_column(String(64))
    ministry: Mapped[str] = mapped_column(String(64))
    open: Mapped[bool]
    days: Mapped[int]  # business days spent there (all its rows; an open one up to today)


class MonitorElement(Base):
    """The heatmap: per definition version, element and office, cases that went through, open now, days spent."""

    __tablename__ = "monitor_element"

    definition_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    definition_version: Mapped[int] = mapped_column(primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    office: Mapped[str] = mapped_column(String(64), primary_key=True)
    ministry: Mapped[str] = mapped_column(String(64), primary_key=True)
    cases: Mapped[int]
    open: Mapped[int]
    days: Mapped[int] = mapped_column(BigInteger)


class MonitorCaseload(Base):
    """Open tasks per caseworker (and the office and ministry of their cases)."""

    __tablename__ = "monitor_caseload"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    office: Mapped[str] = mapped_column(String(64), primary_key=True)
    ministry: Mapped[str] = mapped_column(String(64), primary_key=True)
    open: Mapped[int] = mapped_column(Integer)
    overdue: Mapped[int] = mapped_column(Integer)
    warned: Mapped[int] = mapped_column(Integer)
    breached: Mapped[int] = mapped_column(Integer)


class MonitorApplication(Base):
    """One application's clock across its cases: the household's turnaround."""

    __tablename__ = "monitor_application"
    __table_args__ = (Index("ix_monitor_application_office_started_on", "office", "started_on"),)

    application_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    office: Mapped[str] = mapped_column(String(64))
    started_on: Mapped[date]
    cases: Mapped[int]
    decided_cases: Mapped[int]
    all_decided: Mapped[bool]  # every case stopped
    last_decision_on: Mapped[date | None]  # the last case's decision day, once all are stopped
    gross: Mapped[int]  # business days application -> last decision (or today)
    net: Mapped[int]  # the longest net of its cases
