"""A case's own notes and documents, written by the caseworkers working on it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class CaseNote(Base):
    """A caseworker's note on a case. Never edited: a correction is a new note."""

    __tablename__ = "case_note"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseDocument(Base):
    """A file uploaded to a case (a PDF or an image), with its checksum; every read is logged."""

    __tablename__ = "case_document"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))  # as found in the content, not as the browser said
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
