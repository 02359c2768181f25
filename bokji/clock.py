"""The platform's clock: every "now" the platform reasons with comes from `now()`.

It is the system clock in UTC, plus an offset that test and demo platforms can move (`bokji clock
set`, `PUT /admin/clock`): the offset lives in the database (`platform_clock`), and every process —
API, workers, scheduler — reads it at most every `REFRESH` seconds, so one move reaches all of them.
Production never moves it and never reads the table. The engine's timers (processes/specs.py) and the
sandbox (the instant its host passes into each evaluation) read it too.

Deliberately on the system clock instead: security timestamps (token issue and expiry), the agency
circuit breaker and rate limit, and liveness heartbeats — they measure real elapsed time.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bokji.config import get_settings
from bokji.errors import Forbidden, Invalid
from bokji.i18n import gettext as _

REFRESH = 1.0  # seconds between reads of the offset
log = logging.getLogger("bokji.clock")

_lock = threading.Lock()
_offset = timedelta(0)
_read_at = float("-inf")


SEOUL = ZoneInfo("Asia/Seoul")  # the offices' calendar: issue dates, deadlines, what a page calls today


def now() -> datetime:
    return datetime.now(UTC) + offset()


def today() -> date:
    """The platform's calendar day in Korea."""
    return now().astimezone(SEOUL).date()


def offset() -> timedelta:
    """How far the platform's clock is ahead of the system's (zero in production)."""
    global _offset, _read_at
    if not movable():
        return timedelta(0)
    if time.monotonic() - _read_at < REFRESH:
        return _offset
    # Another thread may be reading it right now: wait for that read (briefly) rather than answer with a
    # value older than REFRESH — every process must see a move within REFRESH seconds.
    if not _lock.acquire(timeout=1.0):
        return _offset  # the database is slow to answer: the last offset, rather than a stalled request
    if time.monotonic() - _read_at < REFRESH:  # the other thread has just read it
        _lock.release()
        return _offset
    try:
        with _engine().connect() as conn:
            seconds = conn.execute(text("SELECT offset_seconds FROM platform_clock WHERE id = 1")).scalar()
        _offset = timedelta(seconds=float(seconds or 0))
    except SQLAlchemyError as exc:  # the database is away (or not migrated yet): keep the last offset
        log.debug("clock offset not read: %s", type(exc).__name__)
    finally:
        _read_at = time.monotonic()
        _lock.release()
    return _offset


def movable() -> bool:
    return get_settings().demo  # demo and test platforms


def forget() -> None:
    """Read the offset again at the next `now()` (tests, between one platform and the next)."""
    global _read_at
    _read_at = float("-inf")


@lru_cache
def _engine() -> Engine:
    # Its own tiny pool: the clock is read inside other work's transactions and must not take their
    # connections (nor import bokji.db, which reads the clock).
    return create_engine(get_settings().database_url, pool_size=1, max_overflow=1, pool_pre_ping=True)


def move(session: Session, *, offset_seconds: float, actor: str) -> datetime:
    """Set how far the platform's clock runs ahead of the system's (test and demo platforms only).

    Written in the caller's transaction; every process (this one too) sees it within `REFRESH` seconds
    of the commit.
    """
    if not movable():
        raise Forbidden(_("The platform's clock cannot be moved in production."), field="offset_seconds")
    if not -3650 * 86400 <= offset_seconds <= 3650 * 86400:
        raise Invalid(_("offset_seconds must be within ten years."), field="offset_seconds")
    session.execute(text(
        "INSERT INTO platform_clock (id, offset_seconds, set_by, set_at) VALUES (1, :o, :a, now()) "
        "ON CONFLICT (id) DO UPDATE SET offset_seconds = :o, set_by = :a, set_at = now()"),
        {"o": offset_seconds, "a": actor})
    return datetime.now(UTC) + timedelta(seconds=offset_seconds)
