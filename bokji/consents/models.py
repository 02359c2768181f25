"""A person's consent to having one kind of data fetched from an agency: which, by which signed form, when,
and how far it reaches. Recorded at the counter before an application asks for the data."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, String
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow


class Consent(Base):
    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    data_type: Mapped[str] = mapped_column(String(64))  # a code of bokji/linkage/registry.py DATA_TYPES
    reference: Mapped[str] = mapped_column(String(100))  # the signed consent form's reference
    given_on: Mapped[date]
    scope: Mapped[str] = mapped_column(String(16))  # person (their own data) | household (every member's)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
