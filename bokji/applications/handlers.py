"""The intake module's automated task (topic `intake.register`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select

from bokji.applications.models import ApplicationCase
from bokji.catalog import fields
from bokji.catalog.models import CatalogService
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.instances.models import ProcessInstance
from bokji.jobs.handlers import HandlerContext
from bokji.linkage import registry as data_types
from bokji.payments.models import PaymentSchedule
from bokji.privacy import access_log, purposes
from bokji.registry import service as registry
from bokji.registry.models import Person
from bokji.rules import parameters

DEFAULT_LINKAGE_DEADLINE = "P3D"


def _service(ctx: HandlerContext, instance: ProcessInstance) -> CatalogService:
    """The case's service: named in its data, and it must be the service this process serves."""
    code = ctx.input.get("service_code")
    if code:
        service = ctx.session.get(CatalogService, code)
        if service is None:
            raise Invalid(_("service_code '%(code)s' is not in the catalog.") % {"code": code}, field="service_code")
        if service.process_key != instance.definition_key:
            raise Invalid(_("Service %(code)s runs process %(process)s, not %(other)s.") % {
                "code": code, "process": service.process_key, "other": instance.definition_key}, field="service_code")
        return service
    service = ctx.session.scalars(select(CatalogService).where(CatalogService.process_key == instance.definition_key)
                                  .order_by(CatalogService.code).limit(1)).first()
    if service is None:
        raise Invalid(_("No catalog service runs process %(process)s.") % {"process": instance.definition_key},
                      field="service_code")
    return service


def _overlaps(ctx: HandlerContext, service: CatalogService, member_ids: list[uuid.UUID],
              application_id: str | None) -> list[dict[str, str]]:
    """Benefits of the same purpose group the household already receives or asks for in this same
    application: flagged for the caseworker (중복수급 check), never refused here — whether two
    benefits may be combined is a policy rule per pair (roadmap: overlap rules)."""
    found = []
    same_group = select(CatalogService.code).where(CatalogService.purpose_group == service.purpose_group)
    for schedule in ctx.session.scalars(select(PaymentSchedule).where(  # including this very service
            PaymentSchedule.recipient_id.in_(member_ids), PaymentSchedule.status == "active",
            PaymentSchedule.service_code.in_(same_group),
            PaymentSchedule.instance_id != uuid.UUID(ctx.instance_id))):
        found.append({"service_code": schedule.service_code,
                      "reason": f"already receives {schedule.service_code} ({service.purpose_group})"})
    if application_id:
        for code in ctx.session.scalars(select(ApplicationCase.service_code).where(
                ApplicationCase.application_id == uuid.UUID(str(application_id)),
                ApplicationCase.service_code.in_(same_group), ApplicationCase.service_code != service.code)):
            found.append({"service_code": code,
                          "reason": f"also applied for {code} in this application ({service.purpose_group})"})
    return found


def register(ctx: HandlerContext) -> dict[str, Any]:
    """Turn the application into this service's case: what to investigate, which consents are missing,
    and the service's settings from the catalog (rule, payment, review interval, approval limit)."""
    data = ctx.input
    instance = ctx.session.get(ProcessInstance, uuid.UUID(ctx.instance_id))
    service = _service(ctx, instance)
    case = service.extra.get("case") or {}
    try:
        on = date.fromisoformat(str(data.get("application_date")))
    except ValueError:
        raise Invalid(_("application_date must be an ISO date (YYYY-MM-DD)."), field="application_date") from None
    members = data.get("member_ids")
    if not isinstance(members, list) or not members:
        raise Invalid(_("member_ids must list the household's members."), field="member_ids")
    people = {str(p.id): p for p in ctx.session.scalars(
        select(Person).where(Person.id.in_([uuid.UUID(str(m)) for m in members])))}
    missing_people = [m for m in members if str(m) not in people]
    if missing_people:
        raise Invalid(_("Member %(id)s is not in the registry.") % {"id": missing_people[0]}, field="member_ids")
    for person in people.values():  # birth dates are personal data: the read is logged like any other
        access_log.record(ctx.session, f"worker:{instance.started_by}", person_id=person.id, instance_id=instance.id,
                          action="read_person", purpose=purposes.of_case(instance.business_key, instance.id))
    # A direct start (tests, designers' test runs) may name the data types; an application never does.
    wanted = data.get("data_types") or [e for e in service.required_evidence if e in data_types.DATA_TYPES]
    consents = data.get("consents") or {}
    consent_missing = sorted(t for t in wanted if data_types.get(t).consent_needed and not consents.get(t))
    applicant = people.get(str(data.get("applicant_id"))) or people[str(members[0])]
    overlaps = _overlaps(ctx, service, [p.id for p in people.values()], data.get("application_id"))
    rule = service.rule
    params = parameters.year_of(ctx.session, on)
    minimum_age = params.value("basic_pension.minimum_age") if rule["kind"] == "basic_pension" and \
        params.has("basic_pension.minimum_age") else None
    return {
        "service_code": service.code,
        "service_name": service.name_ko,
        "ministry": service.ministry,
        "rule": dict(rule),  # which rule of bokji/rules/benefits.py decides, and its settings
        "benefit": rule.get("benefit") or service.code,
        "data_types": list(wanted),
        # One bulk query per data type for the whole household: half the jobs of one per member.
        "linkage_requests": ([{"person_ids": [str(m) for m in members], "data_type": t} for t in wanted]
                             if len(members) > 1 else [{"person_id": str(members[0]), "data_type": t} for t in wanted]),
        "linkage_deadline": data.get("linkage_deadline") or DEFAULT_LINKAGE_DEADLINE,
        "documents_required": [e for e in service.required_evidence if e not in data_types.DATA_TYPES],
        "consent_missing": consent_missing,
        "has_consent_missing": bool(consent_missing),
        "applicant_id": str(applicant.id),
        "applicant_age": registry.age_on(applicant.birth_date, on),
        # The age check before the investigation uses the same parameter as the rule (None: no age limit).
        "minimum_age": minimum_age,
        "household_size": len(members),
        "approval_limit": case.get("approval_limit"),
        "payment_kind": case.get("payment_kind", "cash"),
        "pay_day": case.get("pay_day"),
        # Tests shorten the review interval by starting a case directly; applications never set it.
        "review_interval": data.get("review_interval") or case.get("review_interval"),
        "obligor_ids": list(data.get("obligor_ids") or []),
        "overlaps": overlaps,
        "has_overlap": bool(overlaps),
        # Every name a later step reads exists from here on (a missing one would be a NameError there).
        **{name: data.get(name) for name in fields.FIELDS if name != "obligor_ids"},
        "monthly_amount": None, "annual_amount": None, "amount_basis": None, "amount_source": None,
        "obligor_excluded": False, "review_round": 0, "review_terminated": False,
    }
