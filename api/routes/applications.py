"""Applications: one submission for several services, one case each."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import CASEWORK, Id, Purpose, SessionDep, requires
from bokji.applications import service as applications
from bokji.identity.service import Principal
from bokji.notices.models import DecisionNotice
from bokji.payments.models import PaymentSchedule
from bokji.privacy import access_log
from bokji.registry.models import Person
from bokji.steps import service as steps

router = APIRouter(prefix="/applications", tags=["applications"])


class PaymentOut(BaseModel):
    kind: str
    amount: int | None
    period: str | None
    first_month: str
    pay_day: int | None
    amount_basis: str | None
    status: str


class NoticeOut(BaseModel):
    id: uuid.UUID  # the printable page is /notices/{id}
    outcome: str
    amount: int | None
    period: str | None
    reasons: list[dict[str, Any]]
    issued_on: date
    appeal_deadline: date
    appeal_basis: str
    text_ko: str


class CaseOut(BaseModel):
    service_code: str
    instance_id: str
    business_key: str | None
    process: str
    status: str
    stage: str | None
    payment: PaymentOut | None
    notices: list[NoticeOut]


class ApplicationOut(BaseModel):
    id: str
    number: str
    applicant_id: str
    applicant_masked: str
    household_id: str
    member_ids: list[str]
    region_class: str
    application_date: date
    consents: dict[str, str]
    details: dict[str, Any]
    office: str | None
    created_by: str
    created_at: datetime
    cases: list[CaseOut]


def _out(session, application) -> ApplicationOut:
    cases = []
    for case, instance in applications.cases(session, application.id):
        payment = session.scalars(select(PaymentSchedule).where(PaymentSchedule.instance_id == instance.id)).first()
        notices = session.scalars(select(DecisionNotice).where(DecisionNotice.instance_id == instance.id)
                                  .order_by(DecisionNotice.created_at)).all()
        cases.append(CaseOut(
            service_code=case.service_code, instance_id=str(instance.id), business_key=instance.business_key,
            process=f"{instance.definition_key} v{instance.definition_version}", status=instance.status,
            stage=instance.stage,
            payment=PaymentOut.model_validate(payment, from_attributes=True) if payment else None,
            notices=[NoticeOut.model_validate(n, from_attributes=True) for n in notices]))
    applicant = session.get(Person, application.applicant_id)
    return ApplicationOut(
        id=str(application.id), number=application.number, applicant_id=str(application.applicant_id),
        applicant_masked=applicant.rrn_masked, household_id=str(application.household_id),
        member_ids=[str(m) for m in application.member_ids], region_class=application.region_class,
        application_date=application.application_date, consents=application.consents, details=application.details,
        office=application.office, created_by=application.created_by, created_at=application.created_at,
        cases=cases)


@router.post("", status_code=201, response_model=ApplicationOut)
def submit(session: SessionDep, who: Annotated[Principal, Depends(requires(*CASEWORK))],
           body: Annotated[dict[str, Any], Body(description=(
               "applicant_id, application_date (YYYY-MM-DD), services (catalog codes), consents "
               "({data type: consent reference}), details (answers the services need)"))]) -> ApplicationOut:
    """One application → one case per service; the household is read from the registry on the date."""
    application = steps.apply(session, body, actor=who)
    return _out(session, application)


@router.get("", response_model=list[ApplicationOut])
def of_person(session: SessionDep, who: Annotated[Principal, Depends(requires(*CASEWORK))],
              person_id: Annotated[str, Query(max_length=100, json_schema_extra={"format": "uuid"},
                                              description="applicant or household member")],
              purpose: Purpose) -> list[ApplicationOut]:
    """A person's applications (as applicant or household member), newest first. Logged with its purpose."""
    person, found = applications.of_person(session, person_id, who)
    for member in {person.id} | {m for a in found for m in a.member_ids}:  # whose data the answer shows
        access_log.record(session, who.username, purpose=purpose, action="list_applications", person_id=member)
    return [_out(session, a) for a in found]


@router.get("/{application_id}", response_model=ApplicationOut)
def read(application_id: Id, session: SessionDep,
         who: Annotated[Principal, Depends(requires(*CASEWORK))],
         purpose: Purpose) -> ApplicationOut:
    """The application, its cases, their payment set-up and notices. Logged with its purpose."""
    application = applications.get_for(session, application_id, who)
    for person_id in application.member_ids:
        access_log.record(session, who.username, purpose=purpose, action="read_application", person_id=person_id)
    return _out(session, application)
