from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class Application(Base):
    """What the applicant asked for at the counter, as submitted. Never edited: the cases carry on."""

    __tablename__ = "application"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # shown to the applicant; cases' business keys
    applicant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("household.id"), index=True)
    # The household as it was on the application date (the registry keeps the history).
    member_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    region_class: Mapped[str] = mapped_column(String(16))
    application_date: Mapped[date]
    consents: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)  # data type -> consent reference
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # service-specific answers
    office: Mapped[str] = mapped_column(ForeignKey("office.code"), index=True)  # the applicant's residence's
    received_by_office: Mapped[str | None] = mapped_column(ForeignKey("office.code"))  # the counter that took it
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationCase(Base):
    """One case (process instance) per service applied for."""

    __tablename__ = "application_case"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("application.id"), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), unique=True)
