"""Request-scoped dependencies: the unit of work and who is calling.

Every endpoint declares its roles with `requires(...)` (or is listed in PUBLIC_PATHS); a test walks
the routes to keep it so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator, WithJsonSchema
from sqlalchemy.orm import Session

from api.security import SAFE_METHODS, csrf_token, verify_csrf
from bokji import words
from bokji.db import unit_of_work
from bokji.errors import BokjiError, Forbidden, Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity.roles import Role
from bokji.identity.service import Principal, principal_from_token
from bokji.privacy import purposes

TOKEN_COOKIE = "bokji_token"
# /language is the switch on the sign-in page too: it sets the browser's language, and the signed-in
# person's preference only with their (SameSite) session.
PUBLIC_PATHS = {"/health", "/ready", "/auth/token", "/login", "/language", "/openapi.json", "/docs",
                "/docs/oauth2-redirect", "/redoc"}

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_session() -> Iterator[Session]:
    # scope="function" below: commit happens when the endpoint returns, before the response is sent,
    # so a failed commit is reported to the caller instead of being lost after a 200.
    with unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class NotAuthenticated(BokjiError):
    status_code = 401
    title = N_("Sign in first")


class BadCredentials(BokjiError):
    status_code = 401
    title = N_("Wrong username or password")


@dataclass(frozen=True)
class Caller:
    principal: Principal
    by_cookie: bool  # the browser's session cookie, not an Authorization header: CSRF applies


def _caller(request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)] = None) -> Caller:
    # A plain `def` (the thread pool) for the database look-up; the CSRF check, which may await the
    # request's form, is the async dependency below.
    by_cookie = token is None
    token = token or request.cookies.get(TOKEN_COOKIE)
    principal = principal_from_token(session, token) if token else None
    if principal is None:
        raise NotAuthenticated(_("Not signed in, or the session expired."), field="Authorization")
    return Caller(principal, by_cookie)


async def current_principal(request: Request, caller: Annotated[Caller, Depends(_caller)]) -> Principal:
    """Who is calling. A browser (the session cookie) changing something must also prove the request
    comes from one of our pages: the CSRF token (api/security.py), same origin."""
    if caller.by_cookie and request.method not in SAFE_METHODS:
        await verify_csrf(request, csrf_token(caller.principal.token_id or ""))
    return caller.principal


def requires(*roles: Role):
    allowed = frozenset(r.value for r in roles)

    def check_roles(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_any(allowed):
            raise Forbidden(_("This needs one of the roles: %(roles)s") % {
                "roles": ", ".join(words.name(words.ROLES, r) for r in sorted(allowed))}, field="role")
        return principal

    check_roles.__roles__ = allowed  # type: ignore[attr-defined]  # read by the route-roles test
    return check_roles


R = Role
CASEWORK = (R.CASEWORKER, R.SUPERVISOR)
# People, not systems: what is not personal data (definitions, the catalog, the pages' frame).
STAFF = tuple(r for r in R if r is not R.INTEGRATION)
# Who reads cases at all; how much of which case is the scope policy's (bokji/scope/policy.py).
CASE_READERS = (R.CASEWORKER, R.SUPERVISOR, R.MINISTRY_OFFICER, R.MANAGER, R.ADMIN)


# Bounds of what the API takes, checked before any SQL: the database's integer columns (a larger
# number is an overflow there, not a row that does not exist), and one bound for every list.
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
# A row's UUID. Stays a string so that a malformed one is a 404 naming the field, like an unknown one
# (bokji.ids.parse_uuid); the schema says what it is.
Id = Annotated[str, Path(max_length=100, json_schema_extra={"format": "uuid"}, description="a UUID")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many, 1-500")]


def _purpose(value: str) -> str:
    try:
        return purposes.check(value)
    except Invalid as exc:
        raise ValueError(exc.message) from None


# Why a read of personal data is made (bokji/privacy/purposes.py), checked with the request's other
# parameters; the access log checks it again as it writes, for callers other than the API.
PurposeText = Annotated[str, AfterValidator(_purpose), WithJsonSchema({
    "type": "string", "pattern": purposes.PATTERN,
    "description": "why you read this (access log): a code — " + purposes.codes_text()
                   + " — or a case reference (application number or case id)"})]
Purpose = Annotated[PurposeText, Query()]
