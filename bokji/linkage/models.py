from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class Evidence(Base):
    """One fact about a person, with where it came from. Never updated; newer evidence is a new row."""

    __tablename__ = "evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    data_type: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reference_period: Mapped[str] = mapped_column(String(16))  # YYYY-MM or YYYY
    source: Mapped[str] = mapped_column(String(16))  # agency | document
    source_agency: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(100), unique=True)  # the job id: a rerun writes nothing
    retrieved_at: Mapped[datetime] = mapped_column(default=utcnow)
    legal_basis: Mapped[str] = mapped_column(String(300))
    instance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(64))


class EvidenceUse(Base):
    """Which evidence a case used, and in which step (investigation, or the decision it fed)."""

    __tablename__ = "evidence_use"
    __table_args__ = (UniqueConstraint("instance_id", "evidence_id", "element_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence.id"))
    element_id: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Document(Base):
    """A file a caseworker uploaded for a case (evidence with source "document" points at it)."""

    __tablename__ = "document"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
