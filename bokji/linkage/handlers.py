"""The investigation module's automated tasks (topics `linkage.*`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from bokji.db import lock_record
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.instances.models import ProcessInstance
from bokji.jobs.handlers import HandlerContext
from bokji.linkage import client, registry
from bokji.linkage import household as household_document
from bokji.linkage import service as evidence
from bokji.privacy import access_log, protection, purposes
from bokji.registry.models import Person
from bokji.rules import parameters
from bokji.rules.calculations import assessment_date


def _round_started(data: dict[str, Any]) -> datetime | None:
    """When this investigation round began (the module records it): older uses belong to earlier rounds."""
    value = data.get("investigation_started_at")
    return datetime.fromisoformat(value) if value else None




def collect(ctx: HandlerContext) -> dict[str, Any]:
    """One data type for one household member (`person_id`), or for several in one bulk call
    (`person_ids`): reuse fresh evidence, else ask the agency."""
    request = ctx.input.get("request") or {}
    if "person_ids" in request:
        return _collect_bulk(ctx, request)
    kind = registry.get(str(request.get("data_type")))
    step = str(request.get("step") or "investigation")  # e.g. "obligor": facts about people outside the household
    person = ctx.session.get(Person, uuid.UUID(str(request.get("person_id"))))
    if person is None:
        raise Invalid(_("Person %(id)s is not in the registry.") % {"id": request.get("person_id")}, field="person_id")
    instance_id = uuid.UUID(ctx.instance_id)
    # Every case of an application asks for the same facts at about the same time. One fact is
    # collected by one job at a time: the others wait here, then find it fresh and use it.
    lock_record(ctx.session, "fact", f"{person.id}:{kind.code}")
    reuse = evidence.fresh(ctx.session, person.id, kind)
    if reuse is not None:
        evidence.use(ctx.session, instance_id, reuse.id, step)
        return {}
    consent = (ctx.input.get("consents") or {}).get(kind.code)
    if kind.consent_needed and not consent:
        return {}  # not asked: it will be listed as missing, for the caseworker to take from a document
    instance = ctx.session.get(ProcessInstance, instance_id)
    # Who asked and why: the caseworker who opened the case, for this case's investigation.
    access_log.record(ctx.session, f"worker:{instance.started_by}", person_id=person.id, instance_id=instance.id,
                      purpose=purposes.of_case(instance.business_key, instance.id), action=f"linkage:{kind.code}")
    period = evidence.reference_period(kind, assessment_date(ctx.input))
    try:
        answer = client.call(kind, {"registration_number": protection.reveal(person.rrn_ciphertext),
                                    "period": period, "request_id": ctx.job_id, "consent_reference": consent})
    except client.AgencyRefused:
        return {}  # the agency said no (e.g. the consent it holds does not match): missing, not retried
    stored = evidence.store(ctx.session, person_id=person.id, data_type=kind, value=answer["value"], period=period,
                            source="agency", request_id=ctx.job_id, instance_id=instance_id,
                            recorded_by=f"worker:{ctx.topic}", source_agency=kind.agency)
    evidence.use(ctx.session, instance_id, stored.id, step)
    return {}


def summarise(ctx: HandlerContext) -> dict[str, Any]:
    """What the investigation still lacks, for the caseworker's missing-data task."""
    instance_id = uuid.UUID(ctx.instance_id)
    requests = list(ctx.input.get("linkage_requests") or [])
    since = _round_started(ctx.input)
    gaps = evidence.missing(ctx.session, instance_id, requests, since)
    if gaps:  # another case of the application may have filled a gap since (an agency retry, a document)
        for gap in gaps:
            found = evidence.fresh(ctx.session, uuid.UUID(gap["person_id"]), registry.get(gap["data_type"]))
            if found is not None:
                evidence.use(ctx.session, instance_id, found.id, "investigation")
        gaps = evidence.missing(ctx.session, instance_id, requests, since)
    return {"missing_evidence": gaps, "has_missing": bool(gaps)}


def household_means(ctx: HandlerContext) -> dict[str, Any]:
    """The decision's input built from evidence only (never from raw job results), recording the use:
    `household` (each member's evidence, with the registry's ages, relations and locality and the
    application's answers: bokji/linkage/household.py) and the parameters of the date the case is
    assessed on (bokji/rules/parameters.py), so every rule and DMN table after it reads the same figures."""
    instance_id = uuid.UUID(ctx.instance_id)
    members = list(ctx.input.get("member_ids") or [])
    items = [item for item in evidence.latest(evidence.used_by(ctx.session, instance_id, "investigation",
                                                               _round_started(ctx.input)))
             if item.data_type in household_document.USED_TYPES]
    for item in items:
        evidence.use(ctx.session, instance_id, item.id, ctx.element_id)
    document = _household(ctx, instance_id, members, items)
    return {"household": document,
            **parameters.for_task(parameters.year_of(ctx.session, assessment_date(ctx.input)))}


def _household(ctx: HandlerContext, instance_id: uuid.UUID, members: list[str], items: list[Any]) -> dict[str, Any]:
    instance = ctx.session.get(ProcessInstance, instance_id)
    try:
        applied = date.fromisoformat(str(ctx.input.get("application_date")))
    except ValueError:
        raise Invalid(_("application_date must be an ISO date (YYYY-MM-DD)."), field="application_date") from None
    facts = household_document.registry_facts(
        ctx.session, members, applicant=ctx.input.get("applicant_id") or (members[0] if members else None),
        application_date=applied, assessment_date=assessment_date(ctx.input), actor=f"worker:{instance.started_by}",
        purpose=purposes.of_case(instance.business_key, instance.id), instance_id=instance.id)
    # The registry's residence on the application date; a case without a registered household (a
    # direct start) keeps the region class it was started with.
    return household_document.from_evidence(items, members=facts.members,
                                            region_class=facts.region_class or ctx.input.get("region_class"),
                                            locality=facts.locality, case=ctx.input)


def _collect_bulk(ctx: HandlerContext, request: dict[str, Any]) -> dict[str, Any]:
    kind = registry.get(str(request.get("data_type")))
    instance_id = uuid.UUID(ctx.instance_id)
    instance = ctx.session.get(ProcessInstance, instance_id)
    consent = (ctx.input.get("consents") or {}).get(kind.code)
    if kind.consent_needed and not consent:
        return {}
    period = evidence.reference_period(kind, assessment_date(ctx.input))
    asks = []
    for person_id in sorted(str(p) for p in request["person_ids"]):  # one order: no deadlock between bulk jobs
        lock_record(ctx.session, "fact", f"{person_id}:{kind.code}")
    for n, person_id in enumerate(request["person_ids"]):
        person = ctx.session.get(Person, uuid.UUID(str(person_id)))
        if person is None:
            raise Invalid(_("Person %(id)s is not in the registry.") % {"id": person_id}, field="person_ids")
        reuse = evidence.fresh(ctx.session, person.id, kind)
        if reuse is not None:
            evidence.use(ctx.session, instance_id, reuse.id, "investigation")
            continue
        access_log.record(ctx.session, f"worker:{instance.started_by}", person_id=person.id, instance_id=instance.id,
                          purpose=purposes.of_case(instance.business_key, instance.id), action=f"linkage:{kind.code}")
        asks.append((person, f"{ctx.job_id}:{n}"))
    if not asks:
        return {}
    answer = client.call(kind, {"queries": [
        {"registration_number": protection.reveal(p.rrn_ciphertext), "period": period, "request_id": rid,
         "consent_reference": consent} for p, rid in asks]}, bulk=True)
    by_request = {r.get("request_id"): r for r in answer.get("results", [])}
    for person, rid in asks:
        result = by_request.get(rid)
        if not result or "value" not in result:
            continue  # refused for this person: listed as missing
        stored = evidence.store(ctx.session, person_id=person.id, data_type=kind, value=result["value"],
                                period=period, source="agency", request_id=rid, instance_id=instance_id,
                                recorded_by=f"worker:{ctx.topic}", source_agency=kind.agency)
        evidence.use(ctx.session, instance_id, stored.id, "investigation")
    return {}


def obligor_means(ctx: HandlerContext) -> dict[str, Any]:
    """Each obligor's monthly income and property, from the evidence the obligor step collected."""
    instance_id = uuid.UUID(ctx.instance_id)
    per_person: dict[str, dict[str, int]] = {}
    for item in evidence.latest(evidence.used_by(ctx.session, instance_id, "obligor")):
        totals = per_person.setdefault(str(item.person_id), {"monthly_income": 0, "general_property": 0,
                                                              "residential_property": 0})
        if item.data_type in ("earned_income", "business_income", "pension"):
            totals["monthly_income"] += int(item.value.get("monthly", 0))
        elif item.data_type == "property":
            totals["general_property"] += int(item.value.get("general", 0))
            totals["residential_property"] += int(item.value.get("residential", 0))
        else:
            continue
        evidence.use(ctx.session, instance_id, item.id, ctx.element_id)
    obligors = [{"person_id": p, **v} for p, v in sorted(per_person.items())]
    return {"obligors": obligors,
            "obligor_max_income": max((o["monthly_income"] for o in obligors), default=0),
            "obligor_max_property": max((o["general_property"] for o in obligors), default=0)}
