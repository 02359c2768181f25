from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, new_id, utcnow


class Team(Base):
    """A team of one office (e.g. 통합조사팀): its members work its queue. A task goes to the first team of
    its office that takes its service (`services` empty: every service); a task no team takes stays in the
    office's queue."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("office", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    office: Mapped[str] = mapped_column(ForeignKey("office.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    services: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)  # catalog codes; [] = all
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_member"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"), primary_key=True, index=True)
    lead: Mapped[bool] = mapped_column(default=False)  # the team lead (팀장): reassigns, sets substitutes


class Substitute(Base):
    """While `absent` is away (from `starts_on` to `ends_on`, inclusive, Seoul dates), `substitute` sees the
    tasks claimed by or meant for them and may claim them (대직자)."""

    __tablename__ = "substitute"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ck_substitute_dates"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    absent: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    substitute: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    office: Mapped[str] = mapped_column(ForeignKey("office.code"))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
