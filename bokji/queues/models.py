from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class SavedFilter(Base):
    """A named queue view (which queue, filters, sort): the owner's own, or shared with a team."""

    __tablename__ = "saved_filter"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)  # bokji/queues/service.py QueueFilter fields
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
