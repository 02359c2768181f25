"""Users and authentication. Services never commit: the caller's unit of work does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji.config import get_settings
from bokji.errors import Conflict, Invalid
from bokji.identity.models import User
from bokji.identity.roles import Role
from bokji.offices import service as offices

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str | None = None,
    office: str | None = None,
    ministry: str | None = None,
) -> User:
    if not USERNAME.match(username):
        raise Invalid("username must be 2-64 characters: a-z first, then a-z 0-9 _ . -", field="username")
    if len(password) < 8:
        raise Invalid("password must be at least 8 characters", field="password")
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown or not roles:
        raise Invalid(f"unknown roles {unknown}; choose from {[r.value for r in Role]}", field="roles")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user '{username}' exists", field="username")
    if office is not None:
        offices.check(session, office)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=list(roles),
        office=office,
        ministry=ministry,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or not verify_password(password, user.password_hash):
        return None
    return user


@dataclass(frozen=True)
class Principal:
    """Who is acting: carried through services so every action is attributed to one person."""

    user_id: str
    username: str
    roles: frozenset[str]
    office: str | None
    ministry: str | None
    grants: frozenset[str] = frozenset()  # an integration system's "topic:<name>" / "message:<name>"

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(str(user.id), user.username, frozenset(user.roles), user.office, user.ministry,
                   frozenset(user.grants or ()))

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & set(roles))


SYSTEM = Principal("system", "system", frozenset({"admin"}), None, None)


def issue_token(user: User) -> str:
    settings = get_settings()
    now = datetime.now(UTC)
    claims = {"sub": str(user.id), "usr": user.username, "iat": now,
              "exp": now + timedelta(minutes=settings.token_minutes)}
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def principal_from_token(session: Session, token: str) -> Principal | None:
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    user = session.get(User, _uuid(claims.get("sub")))
    if user is None or not user.active:
        return None
    return Principal.of(user)


def _uuid(value: object):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


DEMO_PASSWORD = "bokji-demo-2026"
DEMO_USERS = [
    # username, roles, display name, office, ministry
    ("designer", ["designer"], "설계 담당 Designer", None, "MOHW"),
    ("caseworker", ["caseworker"], "사회복지 담당 Caseworker", "seoul-jongno", "MOHW"),
    ("supervisor", ["supervisor", "caseworker"], "팀장 Supervisor", "seoul-jongno", "MOHW"),
    ("manager", ["manager"], "관리자 Manager", "seoul-jongno", "MOHW"),
    ("ministry", ["ministry_officer"], "보건복지부 담당관 Ministry officer", None, "MOHW"),
    ("auditor", ["auditor"], "감사 Auditor", None, "MOHW"),
    ("admin", ["admin"], "시스템 관리자 Admin", None, None),
    ("integration", ["integration"], "연계 시스템 Integration client", None, None),
]
# What the demo's integration client may do: the bank's external task and the messages the demo
# and test models catch.
DEMO_GRANTS = {"integration": ["topic:bank.transfer", "message:bank_result", "message:documents_received",
                               "message:application_withdrawn"]}


def seed_demo_users(session: Session) -> list[str]:
    """One user per role for demo mode (password in the README). Never runs in production."""
    if not get_settings().demo:
        raise Invalid("demo users are only seeded when BOKJI_ENV is demo or test", field="BOKJI_ENV")
    created = []
    for username, roles, name, office, ministry in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            session.add(User(username=username, display_name=name, password_hash=_demo_hash(), roles=roles,
                             office=office, ministry=ministry, grants=DEMO_GRANTS.get(username, [])))
            created.append(username)
    session.flush()
    return created


_DEMO_HASH: str | None = None


def _demo_hash() -> str:
    # One scrypt run for all demo users: they share a published password anyway, and seeding
    # (at every demo start and before every test) should not cost a scrypt per user.
    global _DEMO_HASH
    if _DEMO_HASH is None:
        _DEMO_HASH = hash_password(DEMO_PASSWORD)
    return _DEMO_HASH
