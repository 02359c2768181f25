"""One row per case and beneficiary unit: who an application's case is for, and which benefit months it
covers once granted.

Two rules live in the database, so that no code path (a race, a retried job, a hand-made row) can break
them: at most one open or active row per unit and service (`uq_entitlement_open_unit`), and no two
active or ended rows of one unit and service covering the same benefit month
(`ex_entitlement_benefit_months`, a gist exclusion; needs the btree_gist extension for the `=` parts).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import DATERANGE, ExcludeConstraint, Range
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow
from bokji.instances.models import one_of


class Unit(StrEnum):
    """Whom one entitlement of a service belongs to (the catalog's `unit`)."""

    HOUSEHOLD = "household"  # unit_id: the household's id
    PERSON = "person"  # unit_id: the applicant's person id
    CHILD = "child"  # unit_id: each covered child's person id


class EntitlementStatus(StrEnum):
    OPEN = "open"  # taken at submission: the case is running, nothing granted yet
    ACTIVE = "active"  # payment set up: benefit_months from its first month
    ENDED = "ended"  # payment stopped: benefit_months closed at the month after the stop
    RELEASED = "released"  # the case ended without a grant, or was cancelled


HELD = (EntitlementStatus.OPEN, EntitlementStatus.ACTIVE)  # what blocks another application
COVERING = (EntitlementStatus.ACTIVE, EntitlementStatus.ENDED)  # rows whose benefit months count


def _status_in(statuses: tuple[EntitlementStatus, ...]) -> str:
    return f"status IN ({', '.join(repr(s.value) for s in statuses)})"


class Entitlement(Base):
    __tablename__ = "entitlement"
    __table_args__ = (
        Index("uq_entitlement_open_unit", "service_code", "unit_id", unique=True,
              postgresql_where=text(_status_in(HELD))),
        ExcludeConstraint(("service_code", "="), ("unit_id", "="), ("benefit_months", "&&"),
                          name="ex_entitlement_benefit_months", using="gist", where=text(_status_in(COVERING))),
        one_of("unit", Unit),
        one_of("status", EntitlementStatus),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # No foreign key: the catalog is replaced as a whole when it is loaded again; the code stays.
    service_code: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[uuid.UUID]  # a household's or a person's id, as `unit` says
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("application.id"), index=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))  # the case's: who may see its application
    status: Mapped[str] = mapped_column(String(16), default=EntitlementStatus.OPEN)
    benefit_months: Mapped[Range[date] | None] = mapped_column(DATERANGE)  # [first day, upper); NULL while open
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(300))
