"""Signing in and out (OAuth2 password flow for API clients; the pages share `sign_in`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import BadCredentials, R, SessionDep, requires
from api.security import client_address
from bokji import clock
from bokji.db import unit_of_work
from bokji.errors import TooManyAttempts
from bokji.i18n import gettext as _
from bokji.identity import service as identity
from bokji.identity.roles import ALL_ROLES
from bokji.identity.service import Principal

router = APIRouter(prefix="/auth", tags=["auth"])
Anyone = Annotated[Principal, Depends(requires(*ALL_ROLES))]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class Me(BaseModel):
    username: str
    roles: list[str]
    office: str | None
    ministry: str | None


def sign_in(username: str, password: str, address: str) -> str:
    """A new token, or BadCredentials (401) / TooManyAttempts (429). Its own unit of work, committed
    before either error is raised: a failure must be counted, not rolled back with the refusal."""
    with unit_of_work() as session:
        outcome = identity.sign_in(session, username, password, address)
        token = identity.issue_token(outcome.user) if outcome.user else None
    if outcome.refused_until is not None:
        raise refused(outcome.refused_until)
    if token is None:
        raise BadCredentials(_("Wrong username or password."), field="username")
    return token


def refused(until: datetime) -> TooManyAttempts:
    seconds = max(1, math.ceil((until - datetime.now(UTC)).total_seconds()))
    at = until.astimezone(clock.SEOUL).strftime("%H:%M:%S")
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        wait = _("1 second") if seconds == 1 else _("%(count)s seconds") % {"count": seconds}
    else:
        wait = _("1 minute") if minutes == 1 else _("%(count)s minutes") % {"count": minutes}
    return TooManyAttempts(
        _("Too many failed sign-ins: try again after %(time)s KST, in about %(wait)s, or ask an administrator "
          "to unlock the account.") % {"time": at, "wait": wait},
        retry_after=seconds, field="username")


@router.post("/token", response_model=Token)
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: every civil servant signs in under their own ID. Throttled per username and
    per client address: 429 with Retry-After while refused (even for the right password)."""
    return Token(access_token=await run_in_threadpool(sign_in, form.username, form.password,
                                                      client_address(request)))


@router.post("/logout", status_code=204)
def logout(session: SessionDep, who: Anyone) -> None:
    """Revoke the token this call carries: every API process refuses it from now on."""
    identity.revoke_token(session, who)


@router.get("/me", response_model=Me)
def me(who: Annotated[Principal, Depends(requires(*R))]) -> Me:
    return Me(username=who.username, roles=sorted(who.roles), office=who.office, ministry=who.ministry)
