from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow

PAYMENT_KINDS = ("cash", "in_kind", "qualification")  # money, a benefit in kind, or a qualification only


class PaymentSchedule(Base):
    """A granted case's entitlement: one per case (set-up is idempotent), stopped, never deleted."""

    __tablename__ = "payment_schedule"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # cash | in_kind | qualification
    amount: Mapped[int | None]  # whole won per period; None for in kind and qualifications
    period: Mapped[str | None] = mapped_column(String(8))  # month | year
    first_month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    pay_day: Mapped[int | None]  # day of the month; None = unverified
    amount_basis: Mapped[str | None] = mapped_column(String(300))  # which rule and figures, or "unverified"
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | stopped
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_reason: Mapped[str | None] = mapped_column(String(300))
