"""The offices' calendar: days off with why, a deadline counted on it, and the closures an administrator
enters (bokji/calendar)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import STAFF, SessionDep, requires
from bokji import clock
from bokji.calendar import service as calendar
from bokji.calendar.service import Unit
from bokji.clocks import service as clocks
from bokji.identity.roles import Role
from bokji.identity.service import Principal

router = APIRouter(prefix="/calendar", tags=["calendar"])
Reader = Annotated[Principal, Depends(requires(*STAFF))]
Admin = Annotated[Principal, Depends(requires(Role.ADMIN))]
Office = Annotated[str | None, Query(max_length=64, description="one office's closures too; none: every office's")]


class DayOff(BaseModel):
    day: date
    why: str


class CalendarOut(BaseModel):
    version: str = Field(description="the holidays package's version and the closures' latest change")
    days_off: list[DayOff]


@router.get("", response_model=CalendarOut)
def days_off(session: SessionDep, who: Reader, office: Office = None, start: date | None = None,
             end: date | None = None) -> CalendarOut:
    """The days off from `start` to `end` (default: today and the next 90 days): weekends, public holidays,
    closures."""
    start = start or clock.today()
    end = end or start + timedelta(days=90)
    cal = calendar.load(session)
    found = cal.days_off(start, end, office)
    return CalendarOut(version=cal.version, days_off=[DayOff(day=d, why=w) for d, w in found])


class DeadlineOut(BaseModel):
    deadline: date
    business_days_left: int = Field(description="from today (Seoul): negative once passed")
    version: str


@router.get("/deadline", response_model=DeadlineOut)
def deadline(session: SessionDep, who: Reader, start: date, amount: Annotated[int, Query(ge=1, le=1000)],
             unit: Unit = Unit.BUSINESS_DAYS, first_day_counts: bool = False, roll_forward: bool = True,
             office: Office = None) -> DeadlineOut:
    """The last day of a period beginning on `start`, counted as asked."""
    cal = calendar.load(session)
    last = cal.deadline(start, amount, unit, office, first_day_counts=first_day_counts, roll_forward=roll_forward)
    return DeadlineOut(deadline=last, business_days_left=cal.business_days_between(clock.today(), last, office),
                       version=cal.version)


class ClosureIn(BaseModel):
    day: date
    office: str | None = Field(None, max_length=64, description="none: every office")
    reason: str = Field(min_length=2, max_length=500)


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class ClosureOut(BaseModel):
    id: int
    day: date
    office: str | None
    reason: str
    recorded_by: str
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdrawn_reason: str | None


def _out(row) -> ClosureOut:
    return ClosureOut(id=row.id, day=row.day, office=row.office, reason=row.reason, recorded_by=row.recorded_by,
                      recorded_at=row.recorded_at, withdrawn_at=row.withdrawn_at, withdrawn_by=row.withdrawn_by,
                      withdrawn_reason=row.withdrawn_reason)


@router.get("/closures", response_model=list[ClosureOut])
def closures(session: SessionDep, who: Reader) -> list[ClosureOut]:
    """Every closure, withdrawn ones included: the calendar's history."""
    return [_out(r) for r in calendar.closures(session)]


@router.post("/closures", response_model=ClosureOut, status_code=201)
def add_closure(body: ClosureIn, session: SessionDep, who: Admin) -> ClosureOut:
    """A day off beyond the public holidays (a temporary holiday declared at short notice, a local closure)."""
    row = calendar.add_closure(session, who, day=body.day, office=body.office, reason=body.reason)
    clocks.recompute_open(session, actor=who.username, reason=row.reason)  # open deadlines move; closed ones stay
    return _out(row)


@router.post("/closures/{closure_id}/withdraw", response_model=ClosureOut)
def withdraw_closure(closure_id: int, body: WithdrawIn, session: SessionDep, who: Admin) -> ClosureOut:
    row = calendar.withdraw_closure(session, who, closure_id, reason=body.reason)
    clocks.recompute_open(session, actor=who.username, reason=body.reason)
    return _out(row)
