"""Database plumbing: engine, declarative base, the unit of work and row locks.

Services never commit. The unit of work (an API request, an RQ job, a CLI command) opens a session,
commits once at the end and only then hands queued jobs to Redis (`after_commit`), so a worker never
sees a job whose rows are not yet visible, and a rolled-back request enqueues nothing.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache

from sqlalchemy import DateTime, MetaData, create_engine, func, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from bokji import clock
from bokji.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def utcnow() -> datetime:
    return clock.now()


def new_id() -> uuid.UUID:
    return uuid.uuid4()


SQL_NOW = func.now()


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    settings = get_settings()
    return create_engine(
        url or settings.database_url,
        pool_pre_ping=True,
        # An error's text (logged, or kept as a job's last error) shows the statement, never its values: they
        # may be a person's data (bokji/logs.py).
        hide_parameters=True,
        # Up to 40 connections, the API's request threads: a request waiting on a slow script in the
        # sandbox holds one, and must not make the others (or /ready) wait for theirs.
        pool_size=5,
        max_overflow=35,
        connect_args={
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            # Shown in pg_stat_activity: which bokji process holds a connection or a lock.
            "application_name": f"bokji-{os.environ.get('BOKJI_PROCESS', 'app')}-{os.getpid()}",
        },
    )


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


AFTER_COMMIT_KEY = "bokji_after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed; dropped on rollback."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(action)


@contextlib.contextmanager
def unit_of_work() -> Iterator[Session]:
    session = _session_factory()()
    try:
        yield session
        session.commit()
        actions = session.info.pop(AFTER_COMMIT_KEY, [])
        for action in actions:
            action()
    except BaseException:
        session.rollback()
        session.info.pop(AFTER_COMMIT_KEY, None)
        raise
    finally:
        session.close()


def lock_record(session: Session, namespace: str, key: object) -> None:
    """Transaction-scoped advisory lock: serialises work on one record across processes.

    Released at commit/rollback. Needs no row to exist (Polar's `pg_advisory_xact_lock` recipe).
    """
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{namespace}:{key}"}
    )
