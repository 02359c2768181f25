from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class Person(Base):
    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    rrn_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM, never shown
    rrn_hash: Mapped[str] = mapped_column(String(64), unique=True)  # keyed hash for look-up
    rrn_masked: Mapped[str] = mapped_column(String(16))  # YYMMDD-G******
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    foreigner: Mapped[bool] = mapped_column(default=False)
    # The office responsible for the person (bokji/scope): their household's, else the registering one.
    office: Mapped[str] = mapped_column(ForeignKey("office.code"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Household(Base):
    __tablename__ = "household"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    office: Mapped[str] = mapped_column(ForeignKey("office.code"), index=True)  # of the latest residence
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Membership(Base):
    """A person belongs to a household from `valid_from` until `valid_to` (exclusive), in a role."""

    __tablename__ = "household_membership"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # head | member
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    corrects: Mapped[int | None] = mapped_column(ForeignKey("household_membership.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Residence(Base):
    """Where a household lives from `valid_from`; a move is a new row, the old one stays."""

    __tablename__ = "household_residence"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    address: Mapped[str] = mapped_column(String(300))
    region_class: Mapped[str] = mapped_column(String(16))
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))  # the district office responsible
    valid_from: Mapped[date]
    corrects: Mapped[int | None] = mapped_column(ForeignKey("household_residence.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
