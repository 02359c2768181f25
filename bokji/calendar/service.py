"""Business days and deadlines on the offices' calendar.

A business day is a weekday that is neither a public holiday of South Korea (the `holidays` package: fixed and
lunar holidays, substitute holidays, temporary holidays and election days from its table) nor a closure an
administrator entered, for every office or for one. Temporary holidays are declared at short notice, so a
closure can be added the day before; every deadline should keep `BusinessCalendar.version` (the package's
version and the closures' latest change) to say which calendar it was counted on.

Counting follows what a deadline declares rather than one statute's rule: the unit (calendar days or business
days), whether the first day counts, and whether a deadline falling on a day off rolls forward to the next
business day. The legal clocks that use it (issue 15) declare those per service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bokji import clock
from bokji.calendar.models import Closure
from bokji.db import utcnow
from bokji.errors import Invalid, NotFound
from bokji.i18n import current
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.offices.models import Office

WEEKEND = (5, 6)  # Saturday, Sunday
LONGEST_SPAN_DAYS = 3 * 366  # a deadline or a listing further than this is refused: no statute needs it


class Unit(StrEnum):
    DAYS = "days"
    BUSINESS_DAYS = "business_days"


@lru_cache(maxsize=256)
def _public_holidays(year: int, language: str) -> dict[date, str]:
    return dict(holidays.country_holidays("KR", years=[year], language=language))


@dataclass(frozen=True)
class BusinessCalendar:
    """The calendar as of one moment: public holidays plus the closures in force then."""

    closures: dict[tuple[date, str | None], str] = field(default_factory=dict)  # (day, office or None) -> why
    version: str = ""

    def day_off(self, day: date, office: str | None = None) -> str | None:
        """Why `day` is not a business day (for `office`), or None if it is one."""
        if (reason := self.closures.get((day, None)) or (office and self.closures.get((day, office)))):
            return reason
        named = _public_holidays(day.year, "ko" if current() == "ko" else "en_US").get(day)
        if named:
            return named
        return _("Saturday") if day.weekday() == 5 else _("Sunday") if day.weekday() == 6 else None

    def is_business_day(self, day: date, office: str | None = None) -> bool:
        return self.day_off(day, office) is None

    def next_business_day(self, day: date, office: str | None = None) -> date:
        """`day` itself if it is a business day, else the first one after it."""
        for _step in range(LONGEST_SPAN_DAYS):
            if self.is_business_day(day, office):
                return day
            day += timedelta(days=1)
        raise Invalid(_("No business day within three years of %(day)s.") % {"day": day.isoformat()}, field="day")

    def add_business_days(self, start: date, count: int, office: str | None = None, *,
                          first_day_counts: bool = False) -> date:
        """The `count`-th business day counted from `start` (from the day after, unless the first day counts and
        is itself a business day)."""
        _check_count(count)
        day = start if first_day_counts else start + timedelta(days=1)
        seen = 0
        for _step in range(LONGEST_SPAN_DAYS):
            if self.is_business_day(day, office):
                seen += 1
                if seen == count:
                    return day
            day += timedelta(days=1)
        raise Invalid(_("%(count)s business days reach further than three years.") % {"count": count}, field="count")

    def business_days_between(self, start: date, end: date, office: str | None = None) -> int:
        """Business days after `start` up to and including `end` (negative when `end` is before `start`): how far
        a deadline is, as a queue shows it ("3 business days left")."""
        if abs((end - start).days) > LONGEST_SPAN_DAYS:
            raise Invalid(_("The span from %(start)s to %(end)s is longer than three years.") % {
                "start": start.isoformat(), "end": end.isoformat()}, field="end")
        low, high, sign = (start, end, 1) if end >= start else (end, start, -1)
        return sign * sum(1 for n in range(1, (high - low).days + 1)
                          if self.is_business_day(low + timedelta(days=n), office))

    def deadline(self, start: date, amount: int, unit: Unit, office: str | None = None, *,
                 first_day_counts: bool = False, roll_forward: bool = True) -> date:
        """The last day of a period of `amount` days or business days beginning on `start`."""
        if unit == Unit.BUSINESS_DAYS:
            return self.add_business_days(start, amount, office, first_day_counts=first_day_counts)
        _check_count(amount)
        last = start + timedelta(days=amount - 1 if first_day_counts else amount)
        return self.next_business_day(last, office) if roll_forward else last

    def days_off(self, start: date, end: date, office: str | None = None) -> list[tuple[date, str]]:
        """The days off from `start` to `end` (both included), with why."""
        if end < start or (end - start).days > LONGEST_SPAN_DAYS:
            raise Invalid(_("Choose a span of at most three years, ending after it starts."), field="end")
        found = []
        for n in range((end - start).days + 1):
            day = start + timedelta(days=n)
            if (why := self.day_off(day, office)) is not None:
                found.append((day, why))
        return found


def _check_count(count: int) -> None:
    if count < 1:
        raise Invalid(_("A period counts at least one day (got %(count)s).") % {"count": count}, field="count")


def load(session: Session) -> BusinessCalendar:
    """The calendar now: the closures in force (read once per unit of work)."""
    if "calendar" not in session.info:
        rows = session.execute(select(Closure.day, Closure.office, Closure.reason)
                               .where(Closure.withdrawn_at.is_(None))).all()
        latest = session.scalar(select(func.max(func.greatest(Closure.recorded_at, Closure.withdrawn_at))))
        version = f"holidays {holidays.__version__}; closures {latest.isoformat() if latest else 'none'}"
        session.info["calendar"] = BusinessCalendar({(d, o): r for d, o, r in rows}, version)
    return session.info["calendar"]


def add_closure(session: Session, who: Principal, *, day: date, office: str | None, reason: str) -> Closure:
    """An administrator closes every office, or one, on `day` (a temporary holiday, a local closure)."""
    reason = reason.strip()
    if len(reason) < 2:
        raise Invalid(_("Say why the offices are closed (at least 2 characters)."), field="reason")
    if office is not None and session.get(Office, office) is None:
        raise Invalid(_("Unknown office '%(office)s'.") % {"office": office}, field="office")
    if abs((day - clock.today()).days) > LONGEST_SPAN_DAYS:
        raise Invalid(_("A closure must be within three years of today."), field="day")
    same_place = Closure.office.is_(None) if office is None else Closure.office == office
    already = session.scalar(select(Closure.id).where(Closure.day == day, same_place, Closure.withdrawn_at.is_(None)))
    if already is not None:
        raise Invalid(_("%(day)s is already closed there.") % {"day": day.isoformat()}, field="day")
    row = Closure(day=day, office=office, reason=reason, recorded_by=who.username)
    session.add(row)
    session.flush()
    session.info.pop("calendar", None)
    return row


def withdraw_closure(session: Session, who: Principal, closure_id: int, *, reason: str) -> Closure:
    row = session.get(Closure, closure_id)
    if row is None or row.withdrawn_at is not None:
        raise NotFound(_("Closure %(id)s not found.") % {"id": closure_id}, field="closure_id")
    reason = reason.strip()
    if len(reason) < 2:
        raise Invalid(_("Say why the closure is withdrawn (at least 2 characters)."), field="reason")
    row.withdrawn_at, row.withdrawn_by, row.withdrawn_reason = utcnow(), who.username, reason
    session.flush()
    session.info.pop("calendar", None)
    return row


def closures(session: Session) -> list[Closure]:
    """Every closure, withdrawn ones included (the calendar's history), latest day first."""
    return list(session.scalars(select(Closure).order_by(Closure.day.desc(), Closure.id.desc())))
