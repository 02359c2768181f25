"""The registry over HTTP. Reads name their purpose (`purpose=`), which goes to the access log.

A person or household belongs to the office of its residence (bokji/scope): another office's answers
404 as if unknown, except through the logged look-up by full registration number (`/persons/find`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.deps import CASEWORK, INT8_MAX, Id, Purpose, PurposeText, SessionDep, requires
from bokji.errors import Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.ids import get_or_404
from bokji.registry import service as registry
from bokji.registry.models import Household, Membership, Person
from bokji.scope import policy

router = APIRouter(prefix="/registry", tags=["registry"])
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]


class PersonIn(BaseModel):
    registration_number: str = Field(description="주민등록번호 / 외국인등록번호, with or without the hyphen")
    name: str


class PersonOut(BaseModel):
    id: str
    name: str
    registration_number: str  # masked: YYMMDD-G******
    birth_date: date
    sex: str
    foreigner: bool
    warnings: list[str] = []


def _office(who: Principal) -> str:
    if not who.office:
        raise Invalid(_("Your account has no office; an administrator sets it (bokji admin create --office)."),
                      field="office")
    return who.office


def _find(session, model, ident: str, what: str, field: str | None = None):
    return get_or_404(session, model, ident, what=what, field=field or f"{what}_id")


def _household(session, who: Principal, household_id: str, need: policy.Grade) -> None:
    policy.household(session, who, _find(session, Household, household_id, "household"), need)


def _person(p, warnings: list[str] | None = None) -> PersonOut:
    return PersonOut(id=str(p.id), name=p.name, registration_number=p.rrn_masked, birth_date=p.birth_date,
                     sex=p.sex, foreigner=p.foreigner, warnings=warnings or [])


@router.post("/persons", response_model=PersonOut, status_code=201)
def register_person(body: PersonIn, session: SessionDep, who: Worker) -> PersonOut:
    """Validate (format, birth date, century digit; the check digit only warns) and store protected."""
    person, warnings = registry.register_person(session, registration_number=body.registration_number,
                                                name=body.name, actor=who.username, office=_office(who))
    return _person(person, warnings)


class FindIn(BaseModel):
    registration_number: str
    purpose: PurposeText


@router.post("/persons/find", response_model=PersonOut)
def find_person(body: FindIn, session: SessionDep, who: Worker) -> PersonOut:
    """Look a person up by the full registration number (in the body, never in a URL that gets logged).
    Logged with its purpose; a person of another office may then be served at this counter for one
    new application."""
    person = registry.find_person(session, registration_number=body.registration_number, actor=who.username,
                                  purpose=body.purpose)
    policy.grant_counter(session, who, person, purpose=body.purpose)
    return _person(person)


@router.get("/persons/{person_id}", response_model=PersonOut)
def get_person(person_id: Id, purpose: Purpose, session: SessionDep, who: Worker) -> PersonOut:
    policy.person(session, who, _find(session, Person, person_id, "person"), policy.Grade.MASKED)
    return _person(registry.get_person(session, person_id, actor=who.username, purpose=purpose))


RELATION = Field(None, description="relation to the head: spouse, child, grandchild, parent, sibling, other "
                                   "(the head's is always head; left out: other)")
LOCALITY = Field(None, description="large_city (대도시), small_city (중소도시) or rural (농어촌); left out: unknown")


class MemberIn(BaseModel):
    person_id: str
    role: str = "member"
    relation: str | None = RELATION


class HouseholdIn(BaseModel):
    members: list[MemberIn]
    address: str
    region_class: str
    locality: str | None = LOCALITY
    office: str | None = None
    valid_from: date


@router.post("/households", status_code=201)
def create_household(body: HouseholdIn, session: SessionDep, who: Worker) -> dict[str, Any]:
    """A household in one of your offices (default yours), of persons in your scope."""
    for i, member in enumerate(body.members):
        policy.person(session, who, _find(session, Person, member.person_id, "person", f"members[{i}].person_id"),
                      policy.Grade.CHANGE, field=f"members[{i}].person_id")
    office = policy.check_own_office(session, who, body.office or _office(who))
    household = registry.create_household(
        session, members=[m.model_dump() for m in body.members], address=body.address,
        region_class=body.region_class, locality=body.locality, office=office, valid_from=body.valid_from,
        actor=who.username)
    return {"id": str(household.id)}


@router.get("/households/{household_id}")
def get_household(household_id: Id, purpose: Purpose, session: SessionDep, who: Worker,
                  on: date | None = None) -> dict[str, Any]:
    """Members and residence on a date (default today), and every recorded fact with its time."""
    _household(session, who, household_id, policy.Grade.MASKED)
    view = registry.household_on(session, household_id, on or date.today(), actor=who.username, purpose=purpose)
    return view.__dict__


class JoinIn(BaseModel):
    person_id: str
    valid_from: date
    relation: str | None = RELATION


class LeaveIn(BaseModel):
    person_id: str
    valid_to: date


class HeadIn(BaseModel):
    person_id: str
    valid_from: date


class MoveIn(BaseModel):
    address: str
    region_class: str
    locality: str | None = LOCALITY
    office: str | None = None
    valid_from: date


class CorrectIn(BaseModel):
    reason: str = Field(min_length=2)
    valid_from: date | None = None
    valid_to: date | None = None


@router.post("/households/{household_id}/join", status_code=201)
def join(household_id: Id, body: JoinIn, session: SessionDep, who: Worker) -> dict[str, Any]:
    _household(session, who, household_id, policy.Grade.CHANGE)
    policy.person(session, who, _find(session, Person, body.person_id, "person"), policy.Grade.CHANGE)
    row = registry.join(session, household_id, person_id=body.person_id, valid_from=body.valid_from,
                        relation=body.relation, actor=who.username)
    return {"membership_id": row.id}


@router.post("/households/{household_id}/leave")
def leave(household_id: Id, body: LeaveIn, session: SessionDep, who: Worker) -> dict[str, Any]:
    _household(session, who, household_id, policy.Grade.CHANGE)
    row = registry.leave(session, household_id, person_id=body.person_id, valid_to=body.valid_to,
                         actor=who.username)
    return {"membership_id": row.id}


@router.post("/households/{household_id}/head")
def change_head(household_id: Id, body: HeadIn, session: SessionDep, who: Worker) -> dict[str, str]:
    """The person becomes the head; the old head stays a member with relation "other" (their relation
    to the new head is not known); the other members keep theirs."""
    _household(session, who, household_id, policy.Grade.CHANGE)
    registry.change_head(session, household_id, person_id=body.person_id, valid_from=body.valid_from,
                         actor=who.username)
    return {"status": "ok", "note": "the former head is now a member with relation 'other'; the other members "
                                    "keep their relation (recorded to the former head)"}


@router.post("/households/{household_id}/moves", status_code=201)
def move(household_id: Id, body: MoveIn, session: SessionDep, who: Worker) -> dict[str, Any]:
    """A move, by the office responsible now; moving out names the new office (the case follows it)."""
    _household(session, who, household_id, policy.Grade.CHANGE)
    row = registry.move(session, household_id, address=body.address, region_class=body.region_class,
                        locality=body.locality, office=body.office or _office(who), valid_from=body.valid_from,
                        actor=who.username)
    return {"residence_id": row.id}


@router.post("/memberships/{membership_id}/corrections", status_code=201)
def correct(membership_id: Annotated[int, Path(ge=1, le=INT8_MAX)], body: CorrectIn, session: SessionDep,
            who: Worker) -> dict[str, Any]:
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise NotFound(_("Membership %(id)s not found.") % {"id": membership_id}, field="membership_id")
    household = session.get(Household, membership.household_id)
    policy.household(session, who, household, policy.Grade.CHANGE, field="membership_id")
    row = registry.correct_membership(session, membership_id, actor=who.username, reason=body.reason,
                                      valid_from=body.valid_from, valid_to=body.valid_to)
    return {"membership_id": row.id, "corrects": row.corrects}
