"""The entitlement transitions, one function each, in the caller's transaction (services never commit).

    take (submission: open) → activate (payment set up: active) → end (payment stopped: ended)
    take → release (the case ended without a grant, or was cancelled: released)

A submission locks every unit it asks for (advisory locks, in sorted order so that two submissions never
wait for each other crosswise), then checks for an open or active row: a second submission for the same
unit waits for the first to commit and then sees its row. The database's unique index is the backstop
for a writer that took no lock: `take` turns its violation into `Held`, which the caller words as the
same refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bokji.db import lock_record, utcnow
from bokji.entitlements.models import HELD, Entitlement, EntitlementStatus, Unit
from bokji.errors import Conflict
from bokji.i18n import gettext as _

UNIQUE_OPEN = "uq_entitlement_open_unit"
ENDED_WITHOUT_GRANT = "ended without a grant"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Claim:
    """One unit a case is for: (service, unit) is what may be held only once."""

    service_code: str
    unit: Unit
    unit_id: uuid.UUID
    words: str = field(default="", compare=False)  # "this household", "the child 김아이": for a refusal

    @property
    def key(self) -> str:
        return f"{self.service_code}:{self.unit_id}"


class Held(Exception):  # not a BokjiError: the caller words the refusal (it knows the application)
    """The claim's unit already has an open or active row for the service (`holder`; None when the
    other submission rolled back in the meantime)."""

    def __init__(self, claim: Claim, holder: Entitlement | None) -> None:
        super().__init__(claim.key)
        self.claim, self.holder = claim, holder


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s."""
    years, month = divmod(day.month - 1 + months, 12)
    return date(day.year + years, month + 1, 1)


def lock(session: Session, claims: Iterable[Claim]) -> None:
    """Serialise submissions per unit and service until the transaction ends."""
    for key in sorted({c.key for c in claims}):
        lock_record(session, "entitlement", key)


def holder(session: Session, claim: Claim) -> Entitlement | None:
    """The open or active row of the claim's unit and service, if there is one."""
    return session.scalars(select(Entitlement).where(
        Entitlement.service_code == claim.service_code, Entitlement.unit_id == claim.unit_id,
        Entitlement.status.in_(HELD)).limit(1)).first()


def take(session: Session, claims: Iterable[Claim], *, application_id: uuid.UUID, instance_id: uuid.UUID,
         office: str) -> list[Entitlement]:
    """Open one row per claim for a case just started. Raises `Held` when the unique index refuses one
    (a writer that raced past the lock): each row in its own savepoint, so the refused claim is known."""
    rows = []
    for claim in claims:
        row = Entitlement(id=uuid.uuid4(), service_code=claim.service_code, unit=claim.unit, unit_id=claim.unit_id,
                          application_id=application_id, instance_id=instance_id, office=office,
                          status=EntitlementStatus.OPEN, opened_at=utcnow())
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as exc:
            if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != UNIQUE_OPEN:
                raise
            raise Held(claim, holder(session, claim)) from None
        rows.append(row)
    return rows


def _clear_of_ended(session: Session, row: Entitlement, start: date, months: int | None) -> date:
    """The earliest first month from `start` on at which the row's benefit months overlap none of the
    ended entitlements of its unit and service (a re-application after a termination)."""
    while True:
        upper = add_months(start, months) if months is not None else None
        overlapping = session.scalars(select(Entitlement.benefit_months).where(
            Entitlement.service_code == row.service_code, Entitlement.unit_id == row.unit_id,
            Entitlement.status == EntitlementStatus.ENDED,
            Entitlement.benefit_months.overlaps(Range(start, upper, bounds="[)")))).all()
        if not overlapping:
            return start
        if any(r.upper is None for r in overlapping):
            raise Conflict(_("%(unit)s %(id)s has an ended %(service)s entitlement without an end month; it must be "
                             "closed before a new one starts.") % {
                "unit": row.unit, "id": row.unit_id, "service": row.service_code}, field="benefit_months")
        start = max(r.upper for r in overlapping)


def activate(session: Session, instance_id: uuid.UUID, *, first_month: date, months: int | None = None
             ) -> date | None:
    """Payment set up: the case's open rows become active from `first_month` (unbounded, or for `months`
    months), later if an ended entitlement of the same unit still covers it. Returns the first day of the
    first benefit month used — the same for every row of the case, as its one payment schedule has one
    first month — or None when the case has no open rows (a start without an application, or a set-up
    run again after the rows were activated)."""
    rows = session.scalars(select(Entitlement).where(
        Entitlement.instance_id == instance_id, Entitlement.status == EntitlementStatus.OPEN)
        .order_by(Entitlement.id).with_for_update()).all()
    if not rows:
        return None
    start = month_start(first_month)
    moved = True
    while moved:  # a later start for one row may overlap another row's ended entitlement: until none moves
        moved = False
        for row in rows:
            later = _clear_of_ended(session, row, start, months)
            if later > start:
                start, moved = later, True
    upper = add_months(start, months) if months is not None else None
    for row in rows:
        row.status = EntitlementStatus.ACTIVE
        row.benefit_months = Range(start, upper, bounds="[)")
    return start


def end(session: Session, instance_id: uuid.UUID, *, on: date, reason: str) -> None:
    """Payment stopped on `on`: the case's active rows end, covering up to the end of that month (or their
    own earlier end; an entitlement stopped before its first month covers no month)."""
    stop = add_months(on, 1)
    now = utcnow()
    for row in session.scalars(select(Entitlement).where(
            Entitlement.instance_id == instance_id, Entitlement.status == EntitlementStatus.ACTIVE)
            .with_for_update()):
        lower, upper = row.benefit_months.lower, row.benefit_months.upper
        upper = stop if upper is None or upper > stop else upper
        row.benefit_months = Range(lower, max(upper, lower), bounds="[)")
        row.status, row.closed_at, row.closed_reason = EntitlementStatus.ENDED, now, reason[:300]


def release(session: Session, instance_id: uuid.UUID, *, reason: str) -> None:
    """The case ended without its payment being set up (refused, not eligible, cancelled): its rows still
    open no longer hold the unit. Active rows stay: a granted case's entitlement outlives its instance."""
    session.execute(update(Entitlement).where(
        Entitlement.instance_id == instance_id, Entitlement.status == EntitlementStatus.OPEN)
        .values(status=EntitlementStatus.RELEASED, closed_at=utcnow(), closed_reason=reason[:300]))
