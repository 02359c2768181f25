from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import R, SessionDep, requires
from bokji.errors import BokjiError
from bokji.identity import service as identity
from bokji.identity.service import Principal

router = APIRouter(prefix="/auth", tags=["auth"])


class BadCredentials(BokjiError):
    status_code = 401


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class Me(BaseModel):
    username: str
    roles: list[str]
    office: str | None
    ministry: str | None


@router.post("/token", response_model=Token)
def token(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: every civil servant signs in under their own ID."""
    user = identity.authenticate(session, form.username, form.password)
    if user is None:
        raise BadCredentials("wrong username or password", field="username")
    return Token(access_token=identity.issue_token(user))


@router.get("/me", response_model=Me)
def me(who: Annotated[Principal, Depends(requires(*R))]) -> Me:
    return Me(username=who.username, roles=sorted(who.roles), office=who.office, ministry=who.ministry)
