from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow

# How each outcome is named on the notice (결정통지서); the handler's text and the printed page use it.
OUTCOME_KO = {"granted": "지급 결정", "rejected": "거부 결정", "not_eligible": "부적합 결정", "terminated": "중지 결정"}


class DecisionNotice(Base):
    """A notice as issued: outcome, reasons, amount, appeal deadline. A new decision is a new notice."""

    __tablename__ = "decision_notice"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(String(100), unique=True)  # the job id: a rerun issues nothing new
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # granted | rejected | not_eligible | terminated
    amount: Mapped[int | None]
    period: Mapped[str | None] = mapped_column(String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{"text", "source"}]
    issued_on: Mapped[date]
    appeal_deadline: Mapped[date]
    appeal_basis: Mapped[str] = mapped_column(String(300))
    text_ko: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
