"""The access log: every read or change of a person's data or a case, with who, whose, which case and
why. Insert-only; written through `record` (the scope policy and the registry call it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Identity, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column

from bokji.db import Base, utcnow
from bokji.privacy import purposes


class AccessLog(Base):
    """Every read of a person's data: who, whose, why, when. Insert-only."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    household_id: Mapped[uuid.UUID | None]
    instance_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # the case read or changed
    # A list read at once (a queue page): every person it named, in one row rather than fifty.
    subject_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid))
    purpose: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def record(session: Session, actor: str, *, purpose: str | None, action: str, person_id: uuid.UUID | None = None,
           household_id: uuid.UUID | None = None, instance_id: uuid.UUID | None = None,
           subject_ids: list[uuid.UUID] | None = None) -> None:
    """One row: who, whose, which case, why, what. The purpose is a code or a case reference
    (bokji/privacy/purposes.py), else 422 naming `purpose`; the row keeps it as checked."""
    session.add(AccessLog(actor=actor, purpose=purposes.check(purpose), action=action, person_id=person_id,
                          household_id=household_id, instance_id=instance_id,
                          subject_ids=subject_ids))
