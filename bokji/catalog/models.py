from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bokji.db import Base, utcnow
from bokji.entitlements.models import Unit
from bokji.instances.models import one_of


class CatalogService(Base):
    __tablename__ = "catalog_service"
    __table_args__ = (one_of("unit", Unit),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    ministry: Mapped[str] = mapped_column(String(16), index=True)
    ministry_name_ko: Mapped[str] = mapped_column(String(100))
    ministry_name_en: Mapped[str] = mapped_column(String(200))
    name_ko: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(16), default=Unit.HOUSEHOLD)  # whom one entitlement belongs to
    purpose_group: Mapped[str] = mapped_column(String(64), index=True)  # for overlap checks
    process_key: Mapped[str] = mapped_column(String(200))
    processing_days: Mapped[int | None]  # statutory processing days; None = unverified
    required_evidence: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    legal_basis: Mapped[str] = mapped_column(String(300))  # or "unverified"
    rule: Mapped[dict[str, Any]] = mapped_column(JSONB)  # how screening decides, see bokji/screening
    extra: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    synthetic: Mapped[bool] = mapped_column(default=False)
    catalog_version: Mapped[str] = mapped_column(String(32))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
