"""Sign-in throttling per username and per client address, kept in PostgreSQL.

After `login_user_failures` failures in a row for one username (existing or not, so a lock tells
nothing about which usernames exist), or `login_address_failures` from one address, that username
or address is refused for `login_lock_seconds`, doubled at every further failure up to
`login_lock_max_seconds`. While refused, no password is checked and nothing is counted: the right
password is refused too, and an address that is refused cannot add failures to anybody's account.
That is what keeps one address from locking everybody out: it is itself refused after
`login_address_failures` failures, i.e. after locking at most address/user (2 by default) accounts,
and afterwards it gets one try per (doubling) lock period.

Both keys are serialised with transaction advisory locks for the whole attempt, so a burst of
parallel guesses is checked one at a time instead of all passing the check before any is counted.
Clock: the system clock, as for tokens (see bokji/clock.py): a lock measures real elapsed time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji.config import get_settings
from bokji.db import lock_record
from bokji.identity.models import LoginThrottle, ThrottleKind


def now() -> datetime:
    return datetime.now(UTC)


def user_key(username: str) -> str:
    return username.strip().lower()[:256]


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    # Always address first, then user: one lock order everywhere, so two attempts never deadlock.
    return [(ThrottleKind.ADDRESS.value, address[:256]), (ThrottleKind.USER.value, user_key(username))]


def lock_and_check(session: Session, username: str, address: str, at: datetime) -> datetime | None:
    """Take the attempt's locks (held until the caller's commit); until when it is refused, if it is."""
    keys = _keys(username, address)
    for kind, key in keys:
        lock_record(session, "login_throttle", f"{kind}:{key}")
    rows = session.scalars(select(LoginThrottle).where(
        tuple_(LoginThrottle.kind, LoginThrottle.key).in_(keys))).all()
    until = max((r.locked_until for r in rows if r.locked_until and r.locked_until > at), default=None)
    return until


def record_failure(session: Session, username: str, address: str, at: datetime) -> datetime | None:
    """Count one failure for the username and the address; until when either is now refused, if it is."""
    settings = get_settings()
    forget = at - timedelta(seconds=settings.login_forget_seconds)
    # Rows quiet for longer than the forget period count nothing any more (indexed by last_failure_at).
    # SKIP LOCKED: rows another attempt is writing are left to a later purge, never waited for (two
    # purges waiting on each other's rows would deadlock).
    stale = (select(LoginThrottle.kind, LoginThrottle.key)
             .where(LoginThrottle.last_failure_at < forget)
             .where(LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until < at))
             .limit(1000).with_for_update(skip_locked=True))
    session.execute(delete(LoginThrottle).where(tuple_(LoginThrottle.kind, LoginThrottle.key).in_(stale)))
    limits = {ThrottleKind.ADDRESS.value: settings.login_address_failures,
              ThrottleKind.USER.value: settings.login_user_failures}
    refused: datetime | None = None
    for kind, key in _keys(username, address):
        failures = session.execute(
            insert(LoginThrottle).values(kind=kind, key=key, failures=1, last_failure_at=at)
            .on_conflict_do_update(index_elements=["kind", "key"],
                                   set_={"failures": LoginThrottle.failures + 1, "last_failure_at": at})
            .returning(LoginThrottle.failures)).scalar_one()
        over = failures - limits[kind]
        if over >= 0:
            seconds = min(settings.login_lock_seconds * 2 ** min(over, 30), settings.login_lock_max_seconds)
            until = at + timedelta(seconds=seconds)
            session.execute(update(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
                            .values(locked_until=until))
            refused = max(refused or until, until)
    return refused


def record_success(session: Session, username: str) -> None:
    """The right password: the username's count starts again. The address's does not, or an attacker
    holding one account could wipe their address's failures by signing in between guesses."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.kind == ThrottleKind.USER.value,
                                                LoginThrottle.key == user_key(username)))


def unlock(session: Session, username: str) -> bool:
    """Forget the username's failures and lock (an administrator's decision); whether there was any."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.kind == ThrottleKind.USER.value,
                                                         LoginThrottle.key == user_key(username)))
    return bool(result.rowcount)
