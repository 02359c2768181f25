"""Civil servants: users, roles, offices, passwords and access tokens; sign-in throttling."""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
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
    office: Mapped[str | None] = mapped_column(ForeignKey("office.code"), index=True)  # bokji/offices; whom tasks go to
    ministry: Mapped[str | None] = mapped_column(String(64))
    # An integration system's grants: "topic:<name>" (external tasks) and "message:<name>".
    grants: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every token carries the generation it was issued under; "revoke all tokens" increments it, so
    # all older tokens fail the check every request already makes on this row.
    token_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    locale: Mapped[str] = mapped_column(String(8), default="ko", server_default="ko")  # bokji/i18n.py LOCALES


class ThrottleKind(StrEnum):
    USER = "user"  # keyed by the username tried, whether or not such a user exists
    ADDRESS = "address"  # keyed by the client address


class LoginThrottle(Base):
    """Failed sign-ins of one username or one client address, and until when it is refused."""

    __tablename__ = "login_throttle"
    __table_args__ = (CheckConstraint("kind IN ('user', 'address')", name="kind"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(index=True)  # old rows are purged by it
    locked_until: Mapped[datetime | None]


class RevokedToken(Base):
    """A signed-out token, refused until it would have expired anyway (then the row can go)."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
