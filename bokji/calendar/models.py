from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow


class Closure(Base):
    """A day the offices (or one office) do not work beyond the public holidays: a temporary holiday declared at
    short notice, a local closure. Never edited: a mistaken one is withdrawn, with who and why, and stays."""

    __tablename__ = "closure"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    office: Mapped[str | None] = mapped_column(ForeignKey("office.code"))  # None: every office
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
