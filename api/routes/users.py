"""Administering users' sign-in: lift a lock, revoke every token. Both are recorded as operator actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import R, SessionDep, requires
from bokji.identity import service as identity
from bokji.identity.service import Principal
from bokji.instances import service as instances

router = APIRouter(prefix="/admin/users", tags=["users"])
Admin = Annotated[Principal, Depends(requires(R.ADMIN))]


class UnlockOut(BaseModel):
    username: str
    was_locked: bool = Field(description="whether there were failures or a lock to lift")


class RevokeOut(BaseModel):
    username: str
    token_generation: int = Field(description="tokens issued under an older generation are refused")


@router.post("/{username}/unlock", response_model=UnlockOut)
def unlock(username: str, session: SessionDep, who: Admin) -> UnlockOut:
    """Lift the sign-in lock of a user and forget their failed attempts (not their address's)."""
    was_locked = identity.unlock(session, username)
    instances.record(session, "unlock_user", None, who, None, username=username, was_locked=was_locked)
    return UnlockOut(username=username, was_locked=was_locked)


@router.post("/{username}/revoke-tokens", response_model=RevokeOut)
def revoke_tokens(username: str, session: SessionDep, who: Admin) -> RevokeOut:
    """Every token issued to the user so far is refused from now on, by every API process."""
    user = identity.revoke_all_tokens(session, username)
    instances.record(session, "revoke_tokens", None, who, None, username=username)
    return RevokeOut(username=username, token_generation=user.token_generation)
