from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bokji.db import Base, new_id, utcnow


class Deployment(Base):
    """One upload: the files exactly as validated (plus the forms and called processes they need)."""

    __tablename__ = "deployment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    checksum: Mapped[str] = mapped_column(String(64), index=True)  # sha256 over the submitted files
    files: Mapped[dict[str, str]] = mapped_column(JSONB)  # file name -> text
    warnings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    source: Mapped[str] = mapped_column(String(16))  # startup | api | cli
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)

    definitions: Mapped[list[Definition]] = relationship(back_populates="deployment")


class Definition(Base):
    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("kind", "key", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # process | collaboration | decision
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(300))
    deployment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deployment.id"))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How a process is started, as its model declares (processes.parsing.ProcessInfo); None for
    # decisions and collaborations.
    process_kind: Mapped[str | None] = mapped_column(String(16))  # module | variant | process
    starter_groups: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    starter_users: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    inputs: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    office: Mapped[str | None] = mapped_column(ForeignKey("office.code"))
    ministry: Mapped[str | None] = mapped_column(String(64))  # declared, else the deployer's

    deployment: Mapped[Deployment] = relationship(back_populates="definitions")
