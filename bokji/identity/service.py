"""Users and authentication. Services never commit: the caller's unit of work does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji import words
from bokji.config import get_settings
from bokji.errors import Conflict, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity import passwords, throttle
from bokji.identity.models import RevokedToken, User
from bokji.identity.passwords import hash_password
from bokji.identity.roles import Role
from bokji.offices import service as offices

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
# Claims every token must carry; a token without one of them (no `exp`: a token forever) is refused.
REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "gen"]


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str | None = None,
    office: str | None = None,
    ministry: str | None = None,
    grants: list[str] | None = None,
) -> User:
    if not USERNAME.match(username):
        raise Invalid(_("The username must be 2-64 characters: a-z first, then a-z 0-9 _ . -"), field="username")
    if len(password) < 8:
        raise Invalid(_("The password must be at least 8 characters."), field="password")
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown or not roles:
        choices = ", ".join(f"{r.value} ({words.name(words.ROLES, r.value)})" for r in Role)
        if not roles:
            raise Invalid(_("Give at least one role; choose from: %(choices)s.") % {"choices": choices}, field="roles")
        raise Invalid(_("Unknown roles: %(roles)s; choose from: %(choices)s.") % {
            "roles": ", ".join(unknown), "choices": choices}, field="roles")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(_("User '%(username)s' exists.") % {"username": username}, field="username")
    if office is not None:
        offices.check(session, office)
    for grant in grants or []:
        if not grant.startswith(("topic:", "message:")) or len(grant.split(":", 1)[1]) < 1:
            raise Invalid(_("grants: '%(grant)s' must be topic:<name> or message:<name>.") % {"grant": grant},
                          field="grants")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=list(roles),
        office=office,
        ministry=ministry,
        grants=list(grants or []),
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in attempt: the user, or none and perhaps until when sign-in is refused."""

    user: User | None
    refused_until: datetime | None = None


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if `password` is theirs. An unknown (or inactive) username is checked against a dummy
    hash: one argon2 run either way, so the answer's timing does not tell which usernames exist. A
    matching hash that is not today's argon2id (an old scrypt one, weaker parameters) is replaced."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    matches, rehashed = passwords.verify(password, user.password_hash if user else passwords.dummy_hash())
    if user is None or not matches:
        return None
    if rehashed:
        user.password_hash = rehashed
    return user


def sign_in(session: Session, username: str, password: str, address: str) -> SignIn:
    """`authenticate`, throttled per username and per client address (bokji/identity/throttle.py).
    Failures are written to `session`: the caller commits them even when it then refuses the caller."""
    at = throttle.now()
    refused = throttle.lock_and_check(session, username, address, at)
    if refused is not None:  # no password is checked while refused, not even the right one
        return SignIn(None, refused)
    user = authenticate(session, username, password)
    if user is None:
        return SignIn(None, throttle.record_failure(session, username, address, at))
    throttle.record_success(session, username)
    return SignIn(user)


@dataclass(frozen=True)
class Principal:
    """Who is acting: carried through services so every action is attributed to one person."""

    user_id: str
    username: str
    roles: frozenset[str]
    office: str | None
    ministry: str | None
    grants: frozenset[str] = frozenset()  # an integration system's "topic:<name>" / "message:<name>"
    # The token this request came with (None for the system): sign-out revokes it, CSRF tokens derive from it.
    token_id: str | None = field(default=None, compare=False)
    token_expires_at: datetime | None = field(default=None, compare=False)

    @classmethod
    def of(cls, user: User, *, token_id: str | None = None, token_expires_at: datetime | None = None) -> Principal:
        return cls(str(user.id), user.username, frozenset(user.roles), user.office, user.ministry,
                   frozenset(user.grants or ()), token_id, token_expires_at)

    def has_any(self, roles: set[str] | frozenset[str]) -> bool:
        return bool(self.roles & set(roles))


SYSTEM = Principal("system", "system", frozenset({"admin"}), None, None)


def issue_token(user: User) -> str:
    settings = get_settings()
    now = datetime.now(UTC)
    claims = {"sub": str(user.id), "usr": user.username, "jti": uuid.uuid4().hex, "gen": user.token_generation,
              "iat": now, "exp": now + timedelta(minutes=settings.token_minutes)}
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def principal_from_token(session: Session, token: str) -> Principal | None:
    """Who holds `token`, or None: bad signature, expired, a claim missing, signed out, or revoked with
    all of the user's tokens. One query on two primary keys (the user, the revoked token)."""
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=["HS256"],
                            options={"require": REQUIRED_CLAIMS})
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError):
        return None
    revoked = exists().where(RevokedToken.jti == str(claims["jti"]))
    row = session.execute(select(User, revoked).where(User.id == user_id)).first()
    if row is None:
        return None
    user, is_revoked = row
    if not user.active or is_revoked or claims["gen"] != user.token_generation:
        return None
    return Principal.of(user, token_id=str(claims["jti"]),
                        token_expires_at=datetime.fromtimestamp(claims["exp"], UTC))


def revoke_token(session: Session, who: Principal) -> None:
    """Sign out: the token `who` came with is refused from now on, by every API process."""
    if who.token_id is None or who.token_expires_at is None:
        return
    session.execute(insert(RevokedToken).values(jti=who.token_id, user_id=uuid.UUID(who.user_id),
                                                expires_at=who.token_expires_at).on_conflict_do_nothing())
    # A revoked token past its expiry is refused by its `exp` anyway: its row is not needed any more.
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < datetime.now(UTC)))


def get_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def set_locale(session: Session, username: str, locale: str) -> None:
    """The person's language for pages and messages (bokji/i18n.py chose a supported one)."""
    user = get_user(session, username)
    if user is not None:
        user.locale = locale


def revoke_all_tokens(session: Session, username: str) -> User:
    """Every token issued to `username` so far is refused (a lost laptop, a person who left)."""
    user = session.scalar(update(User).where(User.username == username)
                          .values(token_generation=User.token_generation + 1).returning(User))
    if user is None:
        raise NotFound(_("No user '%(username)s'.") % {"username": username}, field="username")
    return user


def unlock(session: Session, username: str) -> bool:
    """An administrator lifts the sign-in lock of `username`; whether there was anything to lift."""
    if session.scalar(select(User.id).where(User.username == username)) is None:
        raise NotFound(_("No user '%(username)s'.") % {"username": username}, field="username")
    return throttle.unlock(session, username)


DEMO_PASSWORD = "bokji-demo-2026"
DEMO_USERS = [
    # username, roles, display name, office, ministry
    ("designer", ["designer"], "설계 담당 Designer", None, "MOHW"),
    ("caseworker", ["caseworker"], "사회복지 담당 Caseworker", "seoul-jongno", "MOHW"),
    ("caseworker2", ["caseworker"], "사회복지 담당 2 Caseworker", "seoul-jongno", "MOHW"),
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
        raise Invalid(_("Demo users are only seeded when BOKJI_ENV is demo or test."), field="BOKJI_ENV")
    created = []
    for username, roles, name, office, ministry in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            session.add(User(username=username, display_name=name, password_hash=_demo_hash(username), roles=roles,
                             office=office, ministry=ministry, grants=DEMO_GRANTS.get(username, [])))
            created.append(username)
    session.flush()
    return created


_DEMO_HASHES: dict[str, str] = {}


def _demo_hash(username: str) -> str:
    # Each demo user has their own salt (no two users share a hash), but the hash is made once per process:
    # seeding runs at every demo start and before every test and should not cost an argon2 run per user each time.
    if username not in _DEMO_HASHES:
        _DEMO_HASHES[username] = hash_password(DEMO_PASSWORD)
    return _DEMO_HASHES[username]
