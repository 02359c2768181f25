from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow


class RuleParameter(Base):
    """One benefit figure for one year, with where it comes from and how sure we are of it."""

    __tablename__ = "rule_parameter"
    __table_args__ = (CheckConstraint("confidence IN ('high', 'medium', 'low')", name="confidence"),)

    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. nblss.median
    year: Mapped[int] = mapped_column(primary_key=True)  # in force 1 January - 31 December
    value: Mapped[Any] = mapped_column(JSONB)
    unit: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    confidence: Mapped[str] = mapped_column(String(8))  # high | medium | low; not high = unverified
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
