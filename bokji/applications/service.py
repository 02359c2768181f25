"""Submitting an application: validate everything first, then open one case per service in one commit.

Each case runs its own variant process; the investigation is shared because evidence belongs to the
person, not to the case: the first case to need a fact collects it and every other case of the
application uses that same evidence (see `bokji/linkage/handlers.py`).

A case is for a beneficiary unit — the household, the applicant, or each child covered, as the catalog's
`unit` says — and a unit holds one open case or active entitlement per service (`bokji/entitlements`):
an application asking again for a unit already held is refused as a whole (409).
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
from bokji.entitlements import service as entitlements
from bokji.entitlements.models import Entitlement, Unit
from bokji.errors import Conflict, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.ids import get_or_404, parse_uuid
from bokji.instances.models import ProcessInstance
from bokji.linkage import registry as data_types
from bokji.privacy import access_log
from bokji.registry import service as registry
from bokji.registry.models import Person
from bokji.rules import parameters
from bokji.scope import policy
from bokji.words import in_language, not_found

PURPOSE = "intake"  # bokji/privacy/purposes.py


def _date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_("application_date must be an ISO date (YYYY-MM-DD)."), field="application_date") from None


def _services(session: Session, codes: Any) -> list[CatalogService]:
    if not isinstance(codes, list) or not codes:
        raise Invalid(_("services must list at least one service code."), field="services")
    found: list[CatalogService] = []
    for i, code in enumerate(codes):
        service = session.get(CatalogService, code) if isinstance(code, str) else None
        if service is None:
            raise Invalid(_("%(field)s: unknown service code '%(code)s' (see GET /catalog).") % {
                "field": f"services[{i}]", "code": code}, field=f"services[{i}]")
        if service in found:
            raise Invalid(_("%(field)s: %(code)s is listed twice.") % {"field": f"services[{i}]", "code": code},
                          field=f"services[{i}]")
        found.append(service)
    return found


def _consents(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(_("consents must be an object of data type → consent reference."), field="consents")
    for code, reference in value.items():
        if code not in data_types.DATA_TYPES:
            raise Invalid(_("%(field)s: unknown data type (known: %(known)s).") % {
                "field": f"consents.{code}", "known": ", ".join(sorted(data_types.DATA_TYPES))},
                field=f"consents.{code}")
        if not isinstance(reference, str) or not reference.strip():
            raise Invalid(_("%(field)s must be the consent form's reference.") % {"field": f"consents.{code}"},
                          field=f"consents.{code}")
    return dict(value)


def _person(session: Session, value: Any, field: str) -> Person:
    """A person named in the body: an id that is malformed or unknown is bad input (422), not a 404."""
    try:
        person = session.get(Person, parse_uuid(str(value or ""), what="person", field=field))
    except NotFound:
        person = None
    if person is None:
        raise Invalid(_("%(field)s is not a registered person.") % {"field": field}, field=field)
    return person


def _child_ids(value: list[str], members: dict[str, str], on: date) -> list[str]:
    """`details.child_ids`: household members on the application date, each once."""
    for i, child in enumerate(value):
        field = f"details.child_ids[{i}]"
        if child not in members:
            raise Invalid(_("%(field)s is not a member of the applicant's household on %(date)s.") % {
                "field": field, "date": on}, field=field)
        if child in value[:i]:
            raise Invalid(_("%(field)s is listed twice.") % {"field": field}, field=field)
    return value


def _claims(session: Session, services: list[CatalogService], *, applicant: Person, household_id: uuid.UUID,
            members: dict[str, str], child_ids: list[str] | None, on: date, actor: Principal
            ) -> list[tuple[entitlements.Claim, ...]]:
    """Per service, the units its case is for: the household, the applicant, or each child covered —
    those named in `details.child_ids`, else every member under 18 on the application date."""
    under_18: list[str] | None = None
    out = []
    for i, service in enumerate(services):
        unit = Unit(service.unit)
        if unit is Unit.HOUSEHOLD:
            out.append((entitlements.Claim(service.code, unit, household_id, _("this household")),))
            continue
        if unit is Unit.PERSON:
            out.append((entitlements.Claim(service.code, unit, applicant.id, _("this person")),))
            continue
        if child_ids is None and under_18 is None:
            people = session.scalars(select(Person).where(Person.id.in_([uuid.UUID(m) for m in members]))).all()
            for person in people:  # birth dates are personal data: each read is logged
                access_log.record(session, actor.username, purpose=PURPOSE, action="read_person", person_id=person.id)
            under_18 = sorted(str(p.id) for p in people if registry.age_on(p.birth_date, on) < 18)
        children = child_ids if child_ids is not None else under_18
        if not children:
            raise Invalid(_("%(field)s: %(code)s is a benefit per child, and the household has no member under 18 on "
                            "%(date)s; name the children in details.child_ids.") % {
                "field": f"services[{i}]", "code": service.code, "date": on}, field=f"services[{i}]")
        out.append(tuple(entitlements.Claim(service.code, unit, uuid.UUID(c),
                                            _("the child %(name)s") % {"name": members[c]}) for c in children))
    return out


def _refusal(session: Session, actor: Principal, index: int, service_code: str, service_name: str,
             claim: entitlements.Claim, held: Entitlement | None) -> Conflict:
    """The 409 for a unit already held: the earlier application's number only for who may see it."""
    said = _("%(field)s: %(who)s already has an open case or an active entitlement for %(service)s "
             "(%(code)s)") % {"field": f"services[{index}]", "who": claim.words, "service": service_name,
                              "code": service_code}
    detail: dict[str, Any] = {"field": f"services[{index}]", "service_code": service_code, "unit": str(claim.unit)}
    if held is None:  # the other submission rolled back after the unique index refused this one
        return Conflict(_("%(refusal)s: another application for it was being submitted at the same moment; submit "
                          "again.") % {"refusal": said}, **detail)
    if policy.grade(session, actor, policy.Kind.CASE, office=held.office) >= policy.Grade.MASKED:
        number = session.get(Application, held.application_id).number
        return Conflict(_("%(refusal)s: application %(number)s.") % {"refusal": said, "number": number},
                        application_number=number, **detail)
    # Neither its number nor which office.
    return Conflict(_("%(refusal)s, held at another office.") % {"refusal": said}, **detail)


@dataclass(frozen=True)
class CaseToStart:
    """One service of an application: the process that runs its case, and what it starts with."""

    service_code: str
    process_key: str
    business_key: str
    data: dict[str, Any]
    office: str  # the applicant's residence office: whose case it is
    ministry: str  # the catalog service's
    index: int  # its place in the body's `services` (what a refusal names)
    service_name: str
    claims: tuple[entitlements.Claim, ...]  # the units the case is for


def submit(session: Session, body: Any, *, actor: Principal) -> tuple[Application, list[CaseToStart]]:
    """Check and store one application; returns it with the case each service needs (bokji/steps
    starts them in the same transaction). Nothing is stored unless every check passes."""
    if not isinstance(body, dict):
        raise Invalid(_("An application is a JSON object."), field="body")
    on = _date(body.get("application_date"))
    services = _services(session, body.get("services"))
    if not parameters.year_of(session, on).has("nblss.median") and any(s.rule.get("kind") != "none"
                                                                       for s in services):
        # Parameters are chosen by the application date; without that year's figures no case could be
        # decided, so the application is refused here rather than failing later in every case.
        raise Invalid(_("application_date %(date)s: no rule parameters for %(year)s are loaded (bokji rules load); "
                        "the figures for %(year)s must be entered first.") % {"date": on, "year": on.year},
                      field="application_date")
    # Unknown, or another office's person not looked up at this counter: the same 404 either way.
    unknown = NotFound(not_found("person", body.get("applicant_id")), field="applicant_id")
    try:
        applicant = _person(session, body.get("applicant_id"), "applicant_id")
        counter_grant = policy.applicant(session, actor, applicant)
    except (Invalid, NotFound):
        raise unknown from None
    household_id = registry.household_of(session, str(applicant.id), on)
    if household_id is None:
        raise Invalid(_("The applicant belongs to no household on %(date)s (register the household first).") % {
            "date": on}, field="applicant_id")
    household = registry.household_on(session, str(household_id), on, actor=actor.username, purpose=PURPOSE)
    if not household.members:
        raise Invalid(_("The household has no members on %(date)s.") % {"date": on}, field="household")
    if household.residence is None:
        raise Invalid(_("The household has no residence on %(date)s.") % {"date": on}, field="household")
    needed: dict[str, list[str]] = {}
    for service in services:
        for name in (service.extra.get("case") or {}).get("application_fields", []):
            needed.setdefault(name, []).append(service.code)
    details = fields.clean(body.get("details"), needed)
    members = {m["person_id"]: m["name"] for m in household.members}  # the names word a refusal
    member_ids = set(members)
    for person_id in details.get("school_levels", {}):
        if person_id not in member_ids:
            raise Invalid(_("%(field)s is not a member of the applicant's household on %(date)s.") % {
                "field": f"details.school_levels.{person_id}", "date": on}, field=f"details.school_levels.{person_id}")
    for i, obligor in enumerate(details.get("obligor_ids", [])):
        _person(session, obligor, f"details.obligor_ids[{i}]")
        if obligor in member_ids:
            raise Invalid(_("%(field)s is a member of the household, not an obligor.") % {
                "field": f"details.obligor_ids[{i}]"}, field=f"details.obligor_ids[{i}]")
    child_ids = _child_ids(details["child_ids"], members, on) if "child_ids" in details else None
    consents = _consents(body.get("consents"))
    claims = _claims(session, services, applicant=applicant, household_id=household_id, members=members,
                     child_ids=child_ids, on=on, actor=actor)
    # Last of the checks: a unit already held refuses the whole application. Locked first, so that a
    # second submission for the same unit waits here until this one commits, then sees its rows.
    entitlements.lock(session, [c for mine in claims for c in mine])
    for i, (service, mine) in enumerate(zip(services, claims, strict=True)):
        for claim in mine:
            held = entitlements.holder(session, claim)
            if held is not None:
                raise _refusal(session, actor, i, service.code, in_language(service.name_ko, service.name_en), claim,
                               held)

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
    for i, (service, mine) in enumerate(zip(services, claims, strict=True)):
        data = {"application_id": str(application.id), "application_number": application.number,
                "service_code": service.code, "applicant_id": str(applicant.id),
                "member_ids": [str(m) for m in application.member_ids], "region_class": application.region_class,
                "application_date": on.isoformat(), "consents": consents, **details,
                # Whom the case is for; a child benefit's calculations read the children it covers.
                "unit": service.unit, "unit_ids": [str(c.unit_id) for c in mine]}
        data.pop("child_ids", None)
        if service.unit == Unit.CHILD:
            data["child_ids"] = [str(c.unit_id) for c in mine]
        cases.append(CaseToStart(service.code, service.process_key, f"{application.number}/{service.code}", data,
                                 application.office, service.ministry, i,
                                 in_language(service.name_ko, service.name_en), mine))
    return application, cases


def add_case(session: Session, application: Application, case: CaseToStart, instance_id: uuid.UUID, *,
             actor: Principal) -> None:
    """Record the started case and take its units (status open). The unique index refusing one (another
    submission got past the lock) is the same 409 as the check in `submit`; the caller's transaction,
    and with it the whole application, rolls back."""
    session.add(ApplicationCase(application_id=application.id, service_code=case.service_code,
                                instance_id=instance_id))
    try:
        entitlements.take(session, case.claims, application_id=application.id, instance_id=instance_id,
                          office=application.office)
    except entitlements.Held as held:
        raise _refusal(session, actor, case.index, case.service_code, case.service_name, held.claim,
                       held.holder) from None


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


@dataclass(frozen=True)
class HeldService:
    """A service the applicant's unit already holds (open case or active entitlement), before submitting."""

    service_code: str
    words: str  # who holds it: "this household", "the child 김아이"
    application_number: str | None  # the earlier application's, only for who may see it


def already_held(session: Session, *, applicant_id: str, on: date, actor: Principal) -> dict[str, HeldService]:
    """Per catalog service, what an application of `applicant_id` on `on` would be refused for: the same
    units (`_claims`) and the same holder look-up (`entitlements.holder`) as `submit`, so a counter page
    shows before submitting what the submission would refuse. A child benefit for a household without
    children is left out (`submit` names that itself). The household's read is logged (purpose intake)."""
    applicant = _person(session, applicant_id, "applicant_id")
    policy.applicant(session, actor, applicant)
    household_id = registry.household_of(session, str(applicant.id), on)
    if household_id is None:
        return {}
    household = registry.household_on(session, str(household_id), on, actor=actor.username, purpose=PURPOSE)
    members = {m["person_id"]: m["name"] for m in household.members}
    out: dict[str, HeldService] = {}
    services = list(session.scalars(select(CatalogService).order_by(CatalogService.code)))
    try:
        claims = _claims(session, services, applicant=applicant, household_id=household_id, members=members,
                         child_ids=None, on=on, actor=actor)
    except Invalid:  # no member under 18: the child benefits have no unit to hold
        services = [s for s in services if Unit(s.unit) is not Unit.CHILD]
        claims = _claims(session, services, applicant=applicant, household_id=household_id, members=members,
                         child_ids=None, on=on, actor=actor)
    for service, mine in zip(services, claims, strict=True):
        for claim in mine:
            held = entitlements.holder(session, claim)
            if held is None:
                continue
            number = None
            if policy.grade(session, actor, policy.Kind.CASE, office=held.office) >= policy.Grade.MASKED:
                number = session.get(Application, held.application_id).number
            out[service.code] = HeldService(service.code, claim.words, number)
            break
    return out
