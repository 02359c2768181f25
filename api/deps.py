"""Request-scoped dependencies: the unit of work and who is calling.

Every endpoint declares its roles with `requires(...)` (or is listed in PUBLIC_PATHS); a test walks
the routes to keep it so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from bokji.db import unit_of_work
from bokji.errors import BokjiError, Forbidden
from bokji.identity.roles import Role
from bokji.identity.service import Principal, principal_from_token

TOKEN_COOKIE = "bokji_token"
PUBLIC_PATHS = {"/health", "/ready", "/auth/token", "/login", "/logout", "/openapi.json", "/docs",
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


def current_principal(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)] = None
) -> Principal:
    token = token or request.cookies.get(TOKEN_COOKIE)
    principal = principal_from_token(session, token) if token else None
    if principal is None:
        raise NotAuthenticated("not signed in or the token expired", field="Authorization")
    return principal


def requires(*roles: Role):
    allowed = frozenset(r.value for r in roles)

    def check_roles(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_any(allowed):
            raise Forbidden(f"this needs one of the roles {sorted(allowed)}", field="role")
        return principal

    check_roles.__roles__ = allowed  # type: ignore[attr-defined]  # read by the route-roles test
    return check_roles


R = Role
CASEWORK = (R.CASEWORKER, R.SUPERVISOR)
# People, not systems: what is not personal data (definitions, the catalog, the pages' frame).
STAFF = tuple(r for r in R if r is not R.INTEGRATION)
# Who reads cases at all; how much of which case is the scope policy's (bokji/scope/policy.py).
CASE_READERS = (R.CASEWORKER, R.SUPERVISOR, R.MINISTRY_OFFICER, R.MANAGER, R.ADMIN)
