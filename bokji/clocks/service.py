"""Each catalog case's legal clock: started with the case, paused while the office waits on the applicant,
extended with a reason and an approver, recounted when the calendar changes, stopped by the decision; the
sweep warns before a deadline and escalates a breach to the office's supervisor, once per deadline.

The deadline is always recomputed from what is recorded (`_due`): the limit from the application's day on the
clock's counting rules, then the extensions (in the clock's unit), then the business days of finished pauses.
So a closure added later moves every open deadline it touches (and says so in a `recompute` event), while a
stopped clock keeps the figures of the calendar it was counted on (`calendar_version`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji import clock
from bokji.applications.models import Application
from bokji.calendar import service as calendar
from bokji.calendar.service import BusinessCalendar, Unit
from bokji.catalog import clocks as rules
from bokji.catalog.models import CatalogService
from bokji.clocks.models import CaseClock, ClockEvent, ClockEventKind, ClockState, Notification
from bokji.db import utcnow
from bokji.errors import Conflict, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.models import User
from bokji.identity.service import Principal
from bokji.instances.models import ProcessInstance
from bokji.tasks.models import HumanTask, TaskStatus
from bokji.teams.models import TeamMember

log = logging.getLogger("bokji.clocks")
SYSTEM = "system"
MAX_EXTENSION_DAYS = 90  # a sanity bound on one extension when the statute gives none (the reference does not)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Elapsed:
    gross: int  # business days from the application's day to the decision (or today), the first day not counted
    net: int  # the same without the days the clock was paused
    business_days_left: int  # to the deadline (negative once it has passed)


# ---- counting --------------------------------------------------------------------------------------
def _due(row: CaseClock, cal: BusinessCalendar) -> date:
    rule = row.rule
    unit = Unit(rule["unit"])
    due = cal.deadline(row.started_on, rule["limit"] + row.extended_days, unit, row.office,
                       first_day_counts=rule["first_day_counts"], roll_forward=rule["roll_forward"])
    if row.paused_business_days:
        due = cal.add_business_days(due, row.paused_business_days, row.office)
    return due


def _pause_days(row: CaseClock, cal: BusinessCalendar, until: date) -> int:
    """Business days of the pause in progress, up to `until` (the days after the pause began)."""
    if row.paused_since is None:
        return 0
    return max(0, cal.business_days_between(row.paused_since, until, row.office))


def elapsed(row: CaseClock, cal: BusinessCalendar, today: date | None = None) -> Elapsed:
    today = today or clock.today()
    end = row.stopped_on or today
    gross = max(0, cal.business_days_between(row.started_on, end, row.office))
    paused = row.paused_business_days + _pause_days(row, cal, end)
    return Elapsed(gross=gross, net=max(0, gross - paused),
                   business_days_left=cal.business_days_between(today, row.due_on, row.office))


def sla_state(row: CaseClock, today: date | None = None) -> str:
    """on_time · paused · breached · closed (decided in time) — the forecast's at_risk is the dashboard's."""
    today = today or clock.today()
    if row.state == ClockState.STOPPED:
        return "breached" if row.stopped_on and row.stopped_on > row.due_on else "closed"
    if row.state == ClockState.PAUSED:
        return "paused"
    return "breached" if today > row.due_on else "on_time"


def end_of_day(day: date) -> datetime:
    """A due day as the instant it ends in Korea (what a task's due_at holds)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=clock.SEOUL)


# ---- the case's life ---------------------------------------------------------------------------------
def _event(session: Session, row: CaseClock, kind: ClockEventKind, *, actor: str, previous: date | None = None,
           reason: str | None = None, detail: dict[str, Any] | None = None, cal: BusinessCalendar) -> None:
    session.add(ClockEvent(instance_id=row.instance_id, kind=kind, on=clock.today(), due_on=row.due_on,
                           previous_due_on=previous, calendar_version=cal.version, actor=actor, reason=reason,
                           detail=detail))
    row.calendar_version = cal.version
    row.updated_at = utcnow()


def start(session: Session, *, instance_id: uuid.UUID, application: Application, service: CatalogService,
          ministry: str, actor: str) -> CaseClock:
    """The case's clock, from the application's day (it is received that day)."""
    cal = calendar.load(session)
    rule = rules.parse(service.extra.get("clock"), f"catalog.{service.code}")
    row = CaseClock(instance_id=instance_id, application_id=application.id, service_code=service.code,
                    office=application.office, ministry=ministry, rule=rule, started_on=application.application_date,
                    due_on=date.min, calendar_version=cal.version, state=ClockState.RUNNING,
                    paused_business_days=0, extended_days=0, decided=False)
    row.due_on = _due(row, cal)
    session.add(row)
    _event(session, row, ClockEventKind.START, actor=actor, cal=cal,
           detail={"limit": rule["limit"], "unit": rule["unit"], "verified": rule["verified"]})
    return row


def of_instance(session: Session, instance_id: uuid.UUID, *, lock: bool = False) -> CaseClock | None:
    query = select(CaseClock).where(CaseClock.instance_id == instance_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def pause(session: Session, row: CaseClock, *, actor: str, reason: str) -> bool:
    """Stop the clock while the office waits on the applicant (False if it is not running)."""
    if row.state != ClockState.RUNNING:
        return False
    cal = calendar.load(session)
    row.state, row.paused_since = ClockState.PAUSED, clock.today()
    _event(session, row, ClockEventKind.PAUSE, actor=actor, reason=reason, cal=cal)
    return True


def resume(session: Session, row: CaseClock, *, actor: str, reason: str) -> bool:
    """Run the clock again: the paused business days move the deadline on (False if it was not paused)."""
    if row.state != ClockState.PAUSED:
        return False
    cal = calendar.load(session)
    days = _pause_days(row, cal, clock.today())
    previous = row.due_on
    row.paused_business_days += days
    row.state, row.paused_since = ClockState.RUNNING, None
    row.due_on = _due(row, cal)
    _event(session, row, ClockEventKind.RESUME, actor=actor, reason=reason, previous=previous, cal=cal,
           detail={"paused_business_days": days})
    _reset_warning(session, row, previous)
    return True


def extend(session: Session, row: CaseClock, *, days: int, reason: str, approver: Principal,
           requested_by: str | None = None) -> None:
    """An extension of the limit with its reason, approved by a supervisor; the applicant is told (outbox)."""
    if row.state == ClockState.STOPPED:
        raise Conflict(_("The case is decided: its clock cannot be extended."), field="days")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise Invalid(_("Say why the deadline is extended (at least 5 characters)."), field="reason")
    most = row.rule.get("extension", {}).get("max_days") or MAX_EXTENSION_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= most:
        raise Invalid(_("days must be a whole number from 1 to %(most)s.") % {"most": most}, field="days")
    cal = calendar.load(session)
    previous = row.due_on
    row.extended_days += days
    row.due_on = _due(row, cal)
    _event(session, row, ClockEventKind.EXTEND, actor=approver.username, reason=reason, previous=previous, cal=cal,
           detail={"days": days, "unit": row.rule["unit"], "approved_by": approver.username,
                   "requested_by": requested_by or approver.username,
                   "max_days_verified": row.rule.get("extension", {}).get("max_days") is not None})
    _reset_warning(session, row, previous)
    application = session.get(Application, row.application_id)
    number = application.number if application else ""
    _notify(session, f"extension:{row.instance_id}:{row.extended_days}", kind="extension", channel="letter",
            person_id=application.applicant_id if application else None, instance_id=row.instance_id,
            subject=_("Your application %(number)s: the decision is extended") % {"number": number},
            body=_("The decision on your application %(number)s (%(service)s) will be made by %(due)s instead of "
                   "%(previous)s. Reason: %(reason)s") % {
                "number": number, "service": row.service_code, "due": row.due_on.isoformat(),
                "previous": previous.isoformat(), "reason": reason})


def stop(session: Session, instance_id: uuid.UUID, *, on: date, decided: bool, actor: str = SYSTEM) -> None:
    """The decision (its notice's day), or the end of a case without one: the clock's figures are final."""
    row = of_instance(session, instance_id, lock=True)
    if row is None or row.state == ClockState.STOPPED:
        return
    cal = calendar.load(session)
    if row.state == ClockState.PAUSED:
        row.paused_business_days += _pause_days(row, cal, on)
        row.paused_since = None
    row.state, row.stopped_on, row.decided = ClockState.STOPPED, on, decided
    figures = elapsed(row, cal, on)
    _event(session, row, ClockEventKind.STOP, actor=actor, cal=cal,
           detail={"decided": decided, "gross": figures.gross, "net": figures.net, "on_time": on <= row.due_on})
    session.execute(update(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
                    .values(sla_flag=None))


def record_first_payment(session: Session, instance_id: uuid.UUID, on: date) -> None:
    session.execute(update(CaseClock).where(CaseClock.instance_id == instance_id,
                                            CaseClock.first_payment_on.is_(None))
                    .values(first_payment_on=on, updated_at=utcnow()))


def on_advance(session: Session, instance_id: uuid.UUID, *, opened: list[tuple[str, str | None]],
               ended: list[str]) -> None:
    """What an advance of the engine means for the clock: a task the applicant must answer (an element the clock's
    `pause_on` names) opened → pause; such an element ended → resume. `opened` is (element id, name)."""
    if not opened and not ended:
        return
    row = of_instance(session, instance_id, lock=True)
    if row is None or row.state == ClockState.STOPPED:
        return
    waits_on_applicant = set(row.rule.get("pause_on") or ())
    if row.state == ClockState.PAUSED and waits_on_applicant & set(ended):
        resume(session, row, actor=SYSTEM, reason=_("The applicant's answer is in (%(element)s).") % {
            "element": ", ".join(sorted(waits_on_applicant & set(ended)))})
    for element_id, name in opened:
        if element_id in waits_on_applicant:
            pause(session, row, actor=SYSTEM, reason=_("Waiting on the applicant: %(task)s") % {
                "task": name or element_id})
            break


def task_due(session: Session, instance: ProcessInstance, stage: str | None, declared: datetime | None
             ) -> datetime | None:
    """A task's due date on a clocked case: the stage's target in business days from today, never after the
    case's deadline, and never later than what the element itself declares. Other processes keep `declared`."""
    row = session.info.get(("clock", instance.id)) or of_instance(session, instance.id)
    if row is None or row.state == ClockState.STOPPED:
        return declared
    session.info[("clock", instance.id)] = row
    cal = calendar.load(session)
    days = []
    target = row.rule.get("stages", {}).get(stage or "")
    if target:
        days.append(cal.add_business_days(clock.today(), target, row.office))
    days.append(row.due_on)
    due = end_of_day(min(days))
    return min(due, declared) if declared else due


# ---- the calendar changed ----------------------------------------------------------------------------
def recompute_open(session: Session, *, actor: str, reason: str) -> int:
    """Count every open deadline again on the calendar as it now is; each one that moved says so."""
    session.info.pop("calendar", None)
    cal = calendar.load(session)
    moved = 0
    for row in session.scalars(select(CaseClock).where(CaseClock.state != ClockState.STOPPED)
                               .order_by(CaseClock.instance_id).with_for_update()):
        due = _due(row, cal)
        if due != row.due_on:
            previous, row.due_on = row.due_on, due
            _event(session, row, ClockEventKind.RECOMPUTE, actor=actor, reason=reason, previous=previous, cal=cal)
            _reset_warning(session, row, previous)
            moved += 1
        else:
            row.calendar_version = cal.version
    return moved


def _reset_warning(session: Session, row: CaseClock, previous: date) -> None:
    """A deadline moved later: its warning and breach were about the old one, so the new one may warn again."""
    if row.due_on > previous:
        row.warned_at = None
        row.breached_at = None
        session.execute(update(HumanTask).where(HumanTask.instance_id == row.instance_id,
                                                HumanTask.status == TaskStatus.OPEN)
                        .values(sla_flag=None))


# ---- warnings and escalation (the scheduler's sweep) ---------------------------------------------------
def _notify(session: Session, key: str, *, kind: str, channel: str, subject: str, body: str,
            user: str | None = None, person_id: uuid.UUID | None = None, instance_id: uuid.UUID | None = None) -> None:
    session.execute(insert(Notification).values(
        id=uuid.uuid4(), dedupe_key=key, kind=kind, channel=channel, recipient_user=user,
        recipient_person_id=person_id, instance_id=instance_id, subject=subject, body=body, created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]))


def _once(session: Session, row: CaseClock, kind: ClockEventKind, cal: BusinessCalendar, reason: str) -> bool:
    """Record the warning or breach of this deadline; False when it was recorded before (by any scheduler)."""
    inserted = session.scalar(insert(ClockEvent).values(
        instance_id=row.instance_id, kind=kind, on=clock.today(), due_on=row.due_on, calendar_version=cal.version,
        actor=SYSTEM, reason=reason, at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["instance_id", "kind", "due_on"],
                             index_where=ClockEvent.kind.in_(["warn", "breach"])).returning(ClockEvent.id))
    return inserted is not None


def supervisor_of(session: Session, office: str, team_id: uuid.UUID | None) -> str | None:
    """Whom a breach goes to: the lead of the task's team, else a supervisor of the office."""
    if team_id is not None:
        lead = session.scalar(select(User.username).join(TeamMember, TeamMember.username == User.username)
                              .where(TeamMember.team_id == team_id, TeamMember.lead.is_(True), User.active.is_(True))
                              .order_by(User.username).limit(1))
        if lead:
            return lead
    return session.scalar(select(User.username).where(User.office == office, User.roles.any("supervisor"),
                                                      User.active.is_(True)).order_by(User.username).limit(1))


def _open_tasks(session: Session, instance_id: uuid.UUID) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == TaskStatus.OPEN)))


def _warn(session: Session, row: CaseClock, cal: BusinessCalendar, left: int) -> None:
    row.warned_at = utcnow()
    for task in _open_tasks(session, row.instance_id):
        task.sla_flag = task.sla_flag or "warned"
        if task.assignee:
            _notify(session, f"warn:{row.instance_id}:{row.due_on}:{task.assignee}", kind="sla_warning",
                    channel="email", user=task.assignee, instance_id=row.instance_id,
                    subject=_("Deadline in %(days)s business days") % {"days": left},
                    body=_("Case %(case)s (%(service)s) must be decided by %(due)s.") % {
                        "case": row.instance_id, "service": row.service_code, "due": row.due_on.isoformat()})


def _breach(session: Session, row: CaseClock) -> None:
    row.breached_at = utcnow()
    for task in _open_tasks(session, row.instance_id):
        boss = supervisor_of(session, task.office, task.team_id)
        task.sla_flag = "breached"
        if boss is None:
            log.warning("breach of case %s: no supervisor in office %s", row.instance_id, task.office)
            continue
        task.escalated_to = boss
        if boss not in task.candidate_users:
            task.candidate_users = [*task.candidate_users, boss]
        for channel in ("email", "sms"):
            _notify(session, f"breach:{row.instance_id}:{row.due_on}:{task.id}:{channel}", kind="sla_breach",
                    channel=channel, user=boss, instance_id=row.instance_id,
                    subject=_("Deadline passed: %(task)s") % {"task": task.name or task.element_id},
                    body=_("Case %(case)s (%(service)s) was due on %(due)s and is not decided; the task is "
                           "escalated to you.") % {"case": row.instance_id, "service": row.service_code,
                                                   "due": row.due_on.isoformat()})


def sweep(session: Session, today: date | None = None) -> dict[str, int]:
    """Warn of deadlines near and escalate the ones passed: each once per deadline, whoever runs it how often.
    Paused clocks neither warn nor breach (the office is waiting on the applicant)."""
    today = today or clock.today()
    cal = calendar.load(session)
    done = {"warned": 0, "breached": 0}
    horizon = today + timedelta(days=120)  # no clock warns further ahead than this (warn_before ≤ 60 business days)
    rows = session.scalars(
        select(CaseClock).where(CaseClock.state == ClockState.RUNNING, CaseClock.due_on <= horizon,
                                or_(CaseClock.warned_at.is_(None), CaseClock.breached_at.is_(None)))
        .order_by(CaseClock.due_on).limit(SWEEP_BATCH).with_for_update(skip_locked=True))
    for row in rows:
        left = cal.business_days_between(today, row.due_on, row.office)
        if today > row.due_on:
            if row.breached_at is None and _once(session, row, ClockEventKind.BREACH, cal,
                                                 _("Not decided by the deadline.")):
                _breach(session, row)
                done["breached"] += 1
            row.breached_at = row.breached_at or utcnow()
            row.warned_at = row.warned_at or utcnow()
        elif left <= row.rule.get("warn_before", 0) and row.warned_at is None:
            if _once(session, row, ClockEventKind.WARN, cal,
                     _("%(days)s business days to the deadline.") % {"days": left}):
                _warn(session, row, cal, left)
                done["warned"] += 1
            row.warned_at = row.warned_at or utcnow()
    return done


def send_notifications(session: Session, limit: int = 200) -> int:
    """The outbox's sender. Here it writes each message to the log (no mail or SMS gateway is configured);
    a real sender replaces the one line that delivers."""
    rows = list(session.scalars(select(Notification).where(Notification.sent_at.is_(None))
                                .order_by(Notification.created_at).limit(limit).with_for_update(skip_locked=True)))
    for note in rows:
        log.info("notification %s %s to %s: %s", note.kind, note.channel,
                 note.recipient_user or f"person:{note.recipient_person_id}", note.subject)
        note.sent_at = utcnow()
    return len(rows)


# ---- reading -------------------------------------------------------------------------------------------
def events(session: Session, instance_id: uuid.UUID) -> list[ClockEvent]:
    return list(session.scalars(select(ClockEvent).where(ClockEvent.instance_id == instance_id)
                                .order_by(ClockEvent.at, ClockEvent.id)))


@dataclass(frozen=True)
class ApplicationClock:
    """One application's turnaround across its cases: the household's view of "how long did it take"."""

    application_id: uuid.UUID
    started_on: date
    cases: int
    decided: int
    open: int
    last_decision_on: date | None
    gross: int  # business days from the application's day to the last decision (or today while any is open)
    net: int  # the longest net figure of its cases (a case's pauses are its own; days are not summed across cases)
    due_on: date | None  # the latest deadline of its open cases


def application_clock(session: Session, application_id: uuid.UUID, today: date | None = None) -> ApplicationClock:
    today = today or clock.today()
    rows = list(session.scalars(select(CaseClock).where(CaseClock.application_id == application_id)))
    if not rows:
        raise NotFound(_("Application %(id)s has no clocked cases.") % {"id": application_id}, field="application_id")
    cal = calendar.load(session)
    started = min(r.started_on for r in rows)
    open_rows = [r for r in rows if r.state != ClockState.STOPPED]
    decided = [r for r in rows if r.state == ClockState.STOPPED and r.decided]
    end = today if open_rows else max(r.stopped_on or today for r in rows)
    office = rows[0].office
    gross = max(0, cal.business_days_between(started, end, office))
    net = max(elapsed(r, cal, today).net for r in rows)
    return ApplicationClock(
        application_id=application_id, started_on=started, cases=len(rows), decided=len(decided),
        open=len(open_rows), last_decision_on=max((r.stopped_on for r in decided if r.stopped_on), default=None),
        gross=gross, net=net, due_on=max((r.due_on for r in open_rows), default=None))

