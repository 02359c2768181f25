from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base


class Office(Base):
    """A district office (시군구) or community centre (읍면동) under it, or a province (시도) above.

    Users, households, applications, cases and tasks name their office by code; the scope policy
    (bokji/scope) lets a caseworker into the cases of their office and of the offices under it.
    """

    __tablename__ = "office"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(64))  # the province (시도) the office is in
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("office.code"))
    # The contact a decision letter names (문의).
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
