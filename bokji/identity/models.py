from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    office: Mapped[str | None] = mapped_column(ForeignKey("office.code"))  # bokji/offices
    ministry: Mapped[str | None] = mapped_column(String(64))
    # An integration system's grants: "topic:<name>" (external tasks) and "message:<name>".
    grants: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
