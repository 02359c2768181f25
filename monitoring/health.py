"""Liveness and readiness checks, shared by the API's /ready and the CLI."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bokji.db import get_engine
from bokji.queue import redis_connection


def database_ok() -> tuple[bool, str]:
    try:
        with get_engine().connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return True, f"schema {version}"
    except SQLAlchemyError as exc:
        return False, type(exc).__name__


def redis_ok() -> tuple[bool, str]:
    try:
        redis_connection().ping()
        return True, "ok"
    except Exception as exc:  # any client error means "not ready"; the reason is reported
        return False, type(exc).__name__


def readiness() -> dict[str, dict[str, object]]:
    checks = {"database": database_ok(), "redis": redis_ok()}
    return {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}
