"""The household document a case's rules read: the screening format, filled from the evidence the case
used, the registry and the application's answers — never from raw job results.

    {"region_class": "seoul" | "gyeonggi" | "metropolitan" | "other",
     "locality": "large_city" | "small_city" | "rural" | None,
     "members": [{"person_id": "<uuid>", "age": 67, "relation": "head" | "spouse" | ...,
                  "school_level": None | "elementary" | "middle" | "high",
                  "income": {"earned": 0, "business": 0, "property_income": 0, "public_transfer": 0,
                             "other_income": 0},
                  "assets": {"residential": 0, "general": 0, "financial": 0},
                  "cars": [{"value": 4000000, "engine_cc": 1598, "age_years": 7, "use": "private"}]}],
     "debts": 0, "household_expenses": 0,
     "housing": {"tenure": "rent" | "own", "monthly_rent": 0, "deposit": 0}}

Incomes per month, assets as values, whole won. Each evidence item is its person's: incomes, property,
deposits and cars are attributed to that member, so per-person rules (a couple's pension, a pupil's
level, a car's use) can be written against the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji import words
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.linkage.models import Evidence
from bokji.privacy import access_log
from bokji.registry import service as registry
from bokji.registry.models import Person
from bokji.rules.household import ASSET_KINDS as ASSET_KEYS
from bokji.rules.household import INCOME_KINDS as INCOME_KEYS

# Which evidence feeds which part of a member: (data type, its field, section, key).
MAPPING = (
    ("earned_income", "monthly", "income", "earned"),
    ("business_income", "monthly", "income", "business"),
    ("pension", "monthly", "income", "public_transfer"),
    ("property", "residential", "assets", "residential"),
    ("property", "general", "assets", "general"),
    ("deposits", "financial", "assets", "financial"),
)
USED_TYPES = frozenset({t for t, *_ in MAPPING} | {"vehicles"})


@dataclass(frozen=True)
class MemberFacts:
    """What the registry says of one member: age on the assessment date, relation to the head."""

    person_id: str
    age: int
    relation: str


@dataclass(frozen=True)
class RegistryFacts:
    members: list[MemberFacts]
    region_class: str | None
    locality: str | None


def registry_facts(session: Session, member_ids: list[str], *, applicant: str | None, application_date: date,
                   assessment_date: date, actor: str, purpose: str, instance_id: uuid.UUID) -> RegistryFacts:
    """Relations and residence as the registry had them on the application date (the applicant's
    household then, as the application found it); ages on the assessment date. Both reads are logged.

    A member the registry does not hold in that household then (a case started directly, without a
    registered household) is "other", and without a residence the region class and locality are None:
    the caller falls back to the case's own region class."""
    people = {str(p.id): p for p in session.scalars(
        select(Person).where(Person.id.in_([uuid.UUID(str(m)) for m in member_ids])))}
    missing = [m for m in member_ids if str(m) not in people]
    if missing:
        raise Invalid(_("Member %(id)s is not in the registry.") % {"id": missing[0]}, field="member_ids")
    for person in people.values():  # birth dates are personal data: read for this case, logged
        access_log.record(session, actor, person_id=person.id, instance_id=instance_id, action="read_person",
                          purpose=purpose)
    relations: dict[str, str] = {}
    residence: dict[str, Any] | None = None
    household_id = registry.household_of(session, str(applicant), application_date) if applicant else None
    if household_id is not None:
        view = registry.household_on(session, str(household_id), application_date, actor=actor, purpose=purpose)
        relations = {m["person_id"]: m["relation"] for m in view.members}
        residence = view.residence
    members = [MemberFacts(str(m), registry.age_on(people[str(m)].birth_date, assessment_date),
                           relations.get(str(m), "other")) for m in member_ids]
    return RegistryFacts(members, residence["region_class"] if residence else None,
                         residence["locality"] if residence else None)


def _member(facts: MemberFacts, school_level: str | None) -> dict[str, Any]:
    return {"person_id": facts.person_id, "age": facts.age, "relation": facts.relation, "school_level": school_level,
            "income": dict.fromkeys(INCOME_KEYS, 0), "assets": dict.fromkeys(ASSET_KEYS, 0), "cars": []}


def _car(car: Mapping[str, Any]) -> dict[str, Any]:
    # Evidence recorded before cars had details (or taken from a document without them): unknown, not 0.
    return {"value": int(car.get("value", 0)), "engine_cc": car.get("engine_cc"), "age_years": car.get("age_years"),
            "use": car.get("use")}


def from_evidence(items: Iterable[Evidence], *, members: list[MemberFacts], region_class: str,
                  locality: str | None, case: Mapping[str, Any]) -> dict[str, Any]:
    """The household document from the case's evidence (the newest per person and data type, as the
    caller chose and recorded them), the registry's facts and the case's answers (`monthly_rent`,
    `rental_deposit`, `school_levels`). Members without evidence appear with zeros; the head comes
    first, then the others by person id."""
    levels = case.get("school_levels") or {}
    by_person = {m.person_id: _member(m, levels.get(m.person_id)) for m in members}
    for item in items:
        if item.data_type not in USED_TYPES:
            continue
        member = by_person.get(str(item.person_id))
        if member is None:
            # Dropping it would make the household look poorer than its evidence says.
            raise Invalid(_("Evidence %(id)s (%(data_type)s) is of person %(person)s, who is not a member of "
                            "the case's household.") % {
                "id": item.id, "data_type": words.name(words.DATA_TYPES, item.data_type), "person": item.person_id},
                field="evidence")
        value = item.value or {}
        if item.data_type == "vehicles":
            member["cars"] += [_car(c) for c in value.get("cars", [])]
            continue
        for data_type, name, section, key in MAPPING:
            if data_type == item.data_type:
                member[section][key] += int(value.get(name, 0))
    rent, deposit = int(case.get("monthly_rent") or 0), int(case.get("rental_deposit") or 0)
    ordered = sorted(by_person.values(), key=lambda m: (m["relation"] != "head", m["person_id"]))
    return {
        "region_class": region_class, "locality": locality, "members": ordered,
        "debts": 0, "household_expenses": 0,  # no agency answers these yet
        # A rent or a deposit paid makes the household a tenant (월세, 전세); an answer of 0 does not.
        "housing": {"tenure": "rent" if rent or deposit else "own", "monthly_rent": rent, "deposit": deposit},
    }
