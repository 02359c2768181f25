"""Submitting an application: validate everything first, then open one case per service in one commit.

Each case runs its own variant process; the investigation is shared because evidence belongs to the
person, not to the case: the first case to need a fact collects it and every other case of the
application uses that same evidence (see `bokji/linkage/handlers.py`).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji.applications.models import Application, ApplicationCase
from bokji.catalog import fields
from bokji.catalog.models import CatalogService
from bokji.errors import Invalid, NotFound
from bokji.identity.service import Principal
from bokji.ids import get_or_404, parse_uuid
from bokji.instances.models import ProcessInstance
from bokji.linkage import registry as data_types
from bokji.registry import service as registry
from bokji.registry.models import Person
from bokji.rules import parameters
from bokji.scope import policy

PURPOSE = "intake"  # bokji/privacy/purposes.py


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid("application_date must be an ISO date (YYYY-MM-DD)", field="application_date") from None


def _services(session: Session, codes: Any) -> list[CatalogService]:
    if not isinstance(codes, list) or not codes:
        raise Invalid("services must list at least one service code", field="services")
    found: list[CatalogService] = []
    for i, code in enumerate(codes):
        service = session.get(CatalogService, code) if isinstance(code, str) else None
        if service is None:
            raise Invalid(f"services[{i}]: unknown service code {code!r} (see GET /catalog)", field=f"services[{i}]")
        if service in found:
            raise Invalid(f"services[{i}]: {code} is listed twice", field=f"services[{i}]")
        found.append(service)
    return found


def _consents(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("consents must be an object of data type → consent reference", field="consents")
    for code, reference in value.items():
        if code not in data_types.DATA_TYPES:
            raise Invalid(f"consents.{code}: unknown data type (known: {', '.join(sorted(data_types.DATA_TYPES))})",
                          field=f"consents.{code}")
        if not isinstance(reference, str) or not reference.strip():
            raise Invalid(f"consents.{code} must be the consent form's reference", field=f"consents.{code}")
    return dict(value)


def _person(session: Session, value: Any, field: str) -> Person:
    """A person named in the body: an id that is malformed or unknown is bad input (422), not a 404."""
    try:
        person = session.get(Person, parse_uuid(str(value or ""), what="person", field=field))
    except NotFound:
        person = None
    if person is None:
        raise Invalid(f"{field} is not a registered person", field=field)
    return person


@dataclass(frozen=True)
class CaseToStart:
    """One service of an application: the process that runs its case, and what it starts with."""

    service_code: str
    process_key: str
    business_key: str
    data: dict[str, Any]
    office: str  # the applicant's residence office: whose case it is
    ministry: str  # the catalog service's


def submit(session: Session, body: Any, *, actor: Principal) -> tuple[Application, list[CaseToStart]]:
    """Check and store one application; returns it with the case each service needs (bokji/steps
    starts them in the same transaction). Nothing is stored unless every check passes."""
    if not isinstance(body, dict):
        raise Invalid("an application is a JSON object", field="body")
    on = _date(body.get("application_date"))
    services = _services(session, body.get("services"))
    if not parameters.year_of(session, on).has("nblss.median") and any(s.rule.get("kind") != "none"
                                                                       for s in services):
        # Parameters are chosen by the application date; without that year's figures no case could be
        # decided, so the application is refused here rather than failing later in every case.
        raise Invalid(f"application_date {on}: no rule parameters for {on.year} are loaded (bokji rules load); "
                      f"the figures for {on.year} must be entered first", field="application_date")
    # Unknown, or another office's person not looked up at this counter: the same 404 either way.
    unknown = NotFound(f"person {body.get('applicant_id')} not found", field="applicant_id")
    try:
        applicant = _person(session, body.get("applicant_id"), "applicant_id")
        counter_grant = policy.applicant(session, actor, applicant)
    except (Invalid, NotFound):
        raise unknown from None
    household_id = registry.household_of(session, str(applicant.id), on)
    if household_id is None:
        raise Invalid(f"the applicant belongs to no household on {on} (register the household first)",
                      field="applicant_id")
    household = registry.household_on(session, str(household_id), on, actor=actor.username, purpose=PURPOSE)
    if not household.members:
        raise Invalid(f"the household has no members on {on}", field="household")
    if household.residence is None:
        raise Invalid(f"the household has no residence on {on}", field="household")
    needed: dict[str, list[str]] = {}
    for service in services:
        for name in (service.extra.get("case") or {}).get("application_fields", []):
            needed.setdefault(name, []).append(service.code)
    details = fields.clean(body.get("details"), needed)
    member_ids = {m["person_id"] for m in household.members}
    for person_id in details.get("school_levels", {}):
        if person_id not in member_ids:
            raise Invalid(f"details.school_levels.{person_id} is not a member of the applicant's household on {on}",
                          field=f"details.school_levels.{person_id}")
    for i, obligor in enumerate(details.get("obligor_ids", [])):
        _person(session, obligor, f"details.obligor_ids[{i}]")
        if obligor in member_ids:
            raise Invalid(f"details.obligor_ids[{i}] is a member of the household, not an obligor",
                          field=f"details.obligor_ids[{i}]")
    consents = _consents(body.get("consents"))

    application = Application(
        id=uuid.uuid4(), number=f"A{on:%Y%m%d}-{secrets.token_hex(4).upper()}", applicant_id=applicant.id,
        household_id=household_id, member_ids=[uuid.UUID(m) for m in sorted(member_ids)],
        region_class=household.residence["region_class"], application_date=on, consents=consents, details=details,
        office=household.residence["office"], received_by_office=actor.office, created_by=actor.username,
    )
    session.add(application)
    session.flush()
    if counter_grant is not None:
        counter_grant.application_id = application.id
    cases = []
    for service in services:
        data = {"application_id": str(application.id), "application_number": application.number,
                "service_code": service.code, "applicant_id": str(applicant.id),
                "member_ids": [str(m) for m in application.member_ids], "region_class": application.region_class,
                "application_date": on.isoformat(), "consents": consents, **details}
        cases.append(CaseToStart(service.code, service.process_key, f"{application.number}/{service.code}", data,
                                 application.office, service.ministry))
    return application, cases


def add_case(session: Session, application: Application, service_code: str, instance_id: uuid.UUID) -> None:
    session.add(ApplicationCase(application_id=application.id, service_code=service_code, instance_id=instance_id))


def get(session: Session, application_id: str) -> Application:
    return get_or_404(session, Application, application_id, what="application", field="application_id")


def get_for(session: Session, application_id: str, who: Principal) -> Application:
    """The application if it belongs to `who`'s offices (404 as for an unknown id otherwise)."""
    application = get(session, application_id)
    policy.require(session, who, policy.Kind.CASE, policy.Grade.MASKED, office=application.office,
                   what="application", ident=application_id, field="application_id")
    return application


def cases(session: Session, application_id: uuid.UUID) -> list[tuple[ApplicationCase, ProcessInstance]]:
    return list(session.execute(
        select(ApplicationCase, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == ApplicationCase.instance_id)
        .where(ApplicationCase.application_id == application_id)
        .order_by(ApplicationCase.service_code)
    ).tuples())


def of_instance(session: Session, instance_id: uuid.UUID) -> Application | None:
    return session.scalars(select(Application).join(ApplicationCase)
                           .where(ApplicationCase.instance_id == instance_id)).first()


def of_person(session: Session, person_id: str, who: Principal, *, limit: int = 100
              ) -> tuple[Person, list[Application]]:
    """The person (in `who`'s scope, else 404), and the applications of `who`'s offices they made or were
    a household member of, newest first."""
    person = get_or_404(session, Person, person_id, what="person", field="person_id")
    policy.person(session, who, person, policy.Grade.MASKED)
    return person, list(session.scalars(
        select(Application).where(Application.member_ids.any(person.id),
                                  policy.visible(session, who, policy.Kind.CASE, policy.Grade.MASKED,
                                                 Application.office))
        .order_by(Application.created_at.desc()).limit(min(limit, 500))))
