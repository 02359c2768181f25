from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow
from bokji.rules.household import LOCALITIES, RELATIONS

# A member's relation to the head (RELATIONS): the basic pension needs the couple, the single-parent
# allowance the children and grandchildren; recorded relative to the head of the time. A residence's
# locality class (LOCALITIES: 대도시 / 중소도시 / 농어촌) is used by the basic pension's basic-property
# deduction; not derivable from the NBLSS region class, so it is recorded (or unknown).


def _in(column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=column)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    rrn_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM, never shown
    rrn_hash: Mapped[str] = mapped_column(String(64), unique=True)  # keyed hash for look-up
    rrn_masked: Mapped[str] = mapped_column(String(16))  # YYMMDD-G******
    name: Mapped[str] = mapped_column(String(100), index=True)  # the counter and the queues find by exact name
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
    __table_args__ = (_in("relation", RELATIONS),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # head | member
    relation: Mapped[str] = mapped_column(String(16))  # RELATIONS; the head's is "head"
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    corrects: Mapped[int | None] = mapped_column(ForeignKey("household_membership.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Residence(Base):
    """Where a household lives from `valid_from`; a move is a new row, the old one stays."""

    __tablename__ = "household_residence"
    __table_args__ = (_in("locality", LOCALITIES),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    address: Mapped[str] = mapped_column(String(300))
    region_class: Mapped[str] = mapped_column(String(16))
    locality: Mapped[str | None] = mapped_column(String(16))  # LOCALITIES, or None: not known
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))  # the district office responsible
    valid_from: Mapped[date]
    corrects: Mapped[int | None] = mapped_column(ForeignKey("household_residence.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
