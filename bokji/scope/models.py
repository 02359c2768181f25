from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, String
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow


class CounterGrant(Base):
    """A caseworker served a person of another office at the counter: after a logged look-up by the
    full registration number with a purpose, they may take that person's one new application."""

    __tablename__ = "counter_grant"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(300))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    application_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("application.id"))  # once used
