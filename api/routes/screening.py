from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import STAFF, R, SessionDep, requires
from bokji.catalog import service as catalog
from bokji.identity.service import Principal
from bokji.rules.household import Household
from bokji.screening.service import screen

router = APIRouter(tags=["screening"])


class ScreeningIn(BaseModel):
    household: Household = Field(description="the household format (README: Screening)")
    on: date | None = Field(None, description="application date; parameters of that year are used")


@router.post("/screening")
def screening(body: ScreeningIn, session: SessionDep,
              who: Annotated[Principal, Depends(requires(R.CASEWORKER, R.SUPERVISOR))]) -> dict[str, Any]:
    """Every catalog service: eligible / not eligible / needs information, amount, reasons; eligible first."""
    return screen(session, body.household, body.on or date.today()).to_dict()


class ServiceOut(BaseModel):
    code: str
    ministry: str
    ministry_name_ko: str
    name_ko: str
    name_en: str
    purpose_group: str
    process_key: str
    processing_days: int | None
    required_evidence: list[str]
    legal_basis: str
    rule: dict[str, Any]
    synthetic: bool


@router.get("/catalog", response_model=list[ServiceOut])
def list_catalog(session: SessionDep, who: Annotated[Principal, Depends(requires(*STAFF))]
                 ) -> list[ServiceOut]:
    return [ServiceOut.model_validate(s, from_attributes=True) for s in catalog.all_services(session)]
