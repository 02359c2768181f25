"""Persons and households with effective-dated membership and residence; corrections are new rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from bokji.errors import Conflict, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.ids import get_or_404, parse_uuid
from bokji.offices import service as offices
from bokji.privacy import access_log, protection, purposes
from bokji.registry.models import Household, Membership, Person, Residence
from bokji.rules.household import LOCALITIES, REGION_CLASSES, RELATIONS
from bokji.scope import policy
from bokji.words import not_found as _not_found_text

ROLES = ("head", "member")


# ---- persons --------------------------------------------------------------------------------------------

def age_on(born: date, on: date) -> int:
    """Whole years on a date (a birthday counts from its day)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

def register_person(session: Session, *, registration_number: str, name: str, actor: str, office: str
                    ) -> tuple[Person, list[str]]:
    """Validate, protect and store a person; the number is never kept or returned in clear. `office`
    is the registering one until the person joins a household (then it is the household's)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("A name is required (at most 100 characters)."), field="name")
    checked = protection.validate(registration_number)
    protected = protection.protect(checked.digits)
    existing = session.scalar(select(Person.id).where(Person.rrn_hash == protected.lookup_hash))
    if existing is not None:
        # Never the id: the person may be another office's. The look-up is logged and grants the
        # counter what it needs (bokji/scope).
        raise Conflict(_("A person with this registration number is already registered; look them up with "
                         "POST /registry/persons/find (the full number and a purpose)."),
                       field="registration_number")
    person = Person(rrn_ciphertext=protected.ciphertext, rrn_hash=protected.lookup_hash, rrn_masked=protected.masked,
                    name=name, birth_date=checked.birth_date, sex=checked.sex, foreigner=checked.foreigner,
                    office=offices.check(session, office), recorded_by=actor)
    session.add(person)
    session.flush()
    return person, list(checked.warnings)




def find_person(session: Session, *, registration_number: str, actor: str, purpose: str) -> Person:
    digits = protection.normalize(registration_number)
    person = session.scalar(select(Person).where(Person.rrn_hash == protection.lookup_hash(digits)))
    access_log.record(session, actor, purpose=purpose, action="find_person", person_id=person.id if person else None)
    if person is None:
        raise NotFound(_("No person with this registration number is registered."), field="registration_number")
    return person


def search_persons(session: Session, who: Principal, *, name: str, birth_date: date, purpose: str,
                   limit: int = 20) -> list[Person]:
    """Persons of this name and birth date that `who` may read (masked): the counter's look-up when the
    applicant does not have their number at hand. Only within scope (bokji/scope: another office's person
    is not listed, as if unknown; for them the full number and POST /registry/persons/find). Every person
    listed is logged with the purpose; a search that finds nobody is logged too (who searched, why)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("A name is required (at most 100 characters)."), field="name")
    purpose = purposes.check(purpose)
    found = list(session.scalars(
        select(Person).where(Person.name == name, Person.birth_date == birth_date,
                             policy.visible(session, who, policy.Kind.PERSON, policy.Grade.MASKED, Person.office))
        .order_by(Person.recorded_at, Person.id).limit(limit)))
    for person in found:
        access_log.record(session, who.username, purpose=purpose, action="search_person", person_id=person.id)
    if not found:
        access_log.record(session, who.username, purpose=purpose, action="search_person")
    return found


def get_person(session: Session, person_id: str, *, actor: str, purpose: str) -> Person:
    person = session.get(Person, parse_uuid(person_id, what="person", field="person_id"))
    if person is None:
        raise NotFound(_not_found_text("person", person_id), field="person_id")
    access_log.record(session, actor, purpose=purpose, action="read_person", person_id=person.id)
    return person


# ---- households -----------------------------------------------------------------------------------------
def _current(model):
    """Rows no later row corrects: the facts that count."""
    later = aliased(model)
    return ~exists().where(later.corrects == model.id)


def _overlapping(session: Session, person_id: uuid.UUID, start: date, end: date | None,
                 ignore: int | None = None) -> Membership | None:
    query = select(Membership).where(
        Membership.person_id == person_id, _current(Membership),
        or_(Membership.valid_to.is_(None), Membership.valid_to > start),
    )
    if end is not None:
        query = query.where(Membership.valid_from < end)
    if ignore is not None:
        query = query.where(Membership.id != ignore)
    return session.scalars(query).first()


def _person(session: Session, person_id: Any, field: str) -> Person:
    person = session.get(Person, parse_uuid(person_id, what="person", field=field))
    if person is None:
        raise NotFound(_not_found_text("person", person_id), field=field)
    return person


def _check_region(region_class: str) -> None:
    if region_class not in REGION_CLASSES:
        raise Invalid(_("%(field)s must be one of %(choices)s.") % {
            "field": "region_class", "choices": ", ".join(REGION_CLASSES)}, field="region_class")


def _check_locality(locality: str | None) -> str | None:
    if locality is not None and locality not in LOCALITIES:
        raise Invalid(_("locality must be one of %(choices)s, or left out when not known.") % {
            "choices": ", ".join(LOCALITIES)}, field="locality")
    return locality


def _relation(role: str, relation: str | None, field: str) -> str:
    """The head's relation is always "head"; a member recorded without one is "other" (callers that
    predate relations keep working)."""
    if role == "head":
        if relation not in (None, "head"):
            raise Invalid(_("%(field)s: the head's relation is 'head'.") % {"field": field}, field=field)
        return "head"
    if relation is None:
        return "other"
    if relation not in RELATIONS or relation == "head":
        raise Invalid(_("%(field)s must be one of %(choices)s (the relation to the head).") % {
            "field": field, "choices": ", ".join(r for r in RELATIONS if r != "head")}, field=field)
    return relation


def create_household(session: Session, *, members: list[dict[str, Any]], address: str, region_class: str,
                     valid_from: date, actor: str, office: str, locality: str | None = None) -> Household:
    if not members:
        raise Invalid(_("A household has at least one member."), field="members")
    heads = [m for m in members if m.get("role") == "head"]
    if len(heads) != 1:
        raise Invalid(_("A household has exactly one head (role 'head')."), field="members")
    if not (address or "").strip():
        raise Invalid(_("An address is required."), field="address")
    _check_region(region_class)
    _check_locality(locality)
    household = Household(recorded_by=actor, office=offices.check(session, office))
    session.add(household)
    session.flush()
    for i, member in enumerate(members):
        if member.get("role") not in ROLES:
            raise Invalid(_("%(field)s must be head or member.") % {"field": f"members[{i}].role"},
                          field=f"members[{i}].role")
        relation = _relation(member["role"], member.get("relation"), f"members[{i}].relation")
        _join(session, household.id, _person(session, member.get("person_id"), f"members[{i}].person_id"),
              member["role"], relation, valid_from, actor)
    session.add(Residence(household_id=household.id, address=address.strip(), region_class=region_class,
                          locality=locality, office=office, valid_from=valid_from, recorded_by=actor))
    session.flush()
    return household


def _household(session: Session, household_id: Any) -> Household:
    return get_or_404(session, Household, household_id, what="household", field="household_id")


def _join(session: Session, household_id: uuid.UUID, person: Person, role: str, relation: str, valid_from: date,
          actor: str, reason: str | None = None) -> Membership:
    clash = _overlapping(session, person.id, valid_from, None)
    if clash is not None:
        raise Conflict(_("Person %(person)s already belongs to household %(household)s on %(date)s.") % {
            "person": person.id, "household": clash.household_id, "date": valid_from}, field="person_id")
    row = Membership(household_id=household_id, person_id=person.id, role=role, relation=relation,
                     valid_from=valid_from, recorded_by=actor, reason=reason)
    person.office = session.get(Household, household_id).office
    session.add(row)
    session.flush()
    return row


def join(session: Session, household_id: str, *, person_id: str, valid_from: date, actor: str,
         role: str = "member", relation: str | None = None) -> Membership:
    household = _household(session, household_id)
    if role != "member":
        raise Invalid(_("Join as 'member'; change the head with change_head."), field="role")
    if relation == "head":
        raise Invalid(_("A member joins with a relation to the head; change the head with change_head."),
                      field="relation")
    return _join(session, household.id, _person(session, person_id, "person_id"), role,
                 _relation(role, relation, "relation"), valid_from, actor)


def _open_membership(session: Session, household_id: uuid.UUID, person_id: uuid.UUID, on: date) -> Membership:
    row = session.scalars(
        select(Membership).where(
            Membership.household_id == household_id, Membership.person_id == person_id, _current(Membership),
            Membership.valid_from <= on, or_(Membership.valid_to.is_(None), Membership.valid_to > on),
        )
    ).first()
    if row is None:
        raise NotFound(_("Person %(person)s is not in household %(household)s on %(date)s.") % {
            "person": person_id, "household": household_id, "date": on}, field="person_id")
    return row


def _end(session: Session, row: Membership, valid_to: date, actor: str, reason: str) -> Membership:
    if valid_to <= row.valid_from:
        raise Invalid(_("valid_to must be after the membership began (%(date)s).") % {"date": row.valid_from},
                      field="valid_to")
    ended = Membership(household_id=row.household_id, person_id=row.person_id, role=row.role,
                       relation=row.relation, valid_from=row.valid_from, valid_to=valid_to, corrects=row.id,
                       reason=reason, recorded_by=actor)
    session.add(ended)
    session.flush()
    return ended


def leave(session: Session, household_id: str, *, person_id: str, valid_to: date, actor: str) -> Membership:
    household = _household(session, household_id)
    person = _person(session, person_id, "person_id")
    row = _open_membership(session, household.id, person.id, valid_to - _one_day())
    if row.role == "head":
        raise Conflict(_("The head cannot leave; change the head first."), field="person_id")
    return _end(session, row, valid_to, actor, "left the household")


def change_head(session: Session, household_id: str, *, person_id: str, valid_from: date, actor: str) -> None:
    """From `valid_from` the person is the head (relation "head") and the old head a member with
    relation "other": how the old head is related to the new one is not known here. The other members
    keep the relation they were recorded with, which was to the old head (record them anew if it
    changed)."""
    household = _household(session, household_id)
    new_head = _person(session, person_id, "person_id")
    old = session.scalars(
        select(Membership).where(Membership.household_id == household.id, Membership.role == "head",
                                 _current(Membership), Membership.valid_from <= valid_from,
                                 or_(Membership.valid_to.is_(None), Membership.valid_to > valid_from))
    ).first()
    member = _open_membership(session, household.id, new_head.id, valid_from)
    if old is None or old.person_id == new_head.id:
        raise Conflict(_("This person is already the head (or the household has no head then)."), field="person_id")
    for row, role, relation in ((old, "member", "other"), (member, "head", "head")):
        _end(session, row, valid_from, actor, f"became {role} on {valid_from}")
        session.add(Membership(household_id=household.id, person_id=row.person_id, role=role, relation=relation,
                               valid_from=valid_from, recorded_by=actor, reason=f"became {role}"))
    session.flush()


def move(session: Session, household_id: str, *, address: str, region_class: str, valid_from: date, actor: str,
         office: str, locality: str | None = None) -> Residence:
    """A new residence; the household and its members now belong to the office responsible for it."""
    household = _household(session, household_id)
    if not (address or "").strip():
        raise Invalid(_("An address is required."), field="address")
    _check_region(region_class)
    _check_locality(locality)
    household.office = offices.check(session, office)
    row = Residence(household_id=household.id, address=address.strip(), region_class=region_class,
                    locality=locality, office=office, valid_from=valid_from, recorded_by=actor)
    session.add(row)
    members = select(Membership.person_id).where(Membership.household_id == household.id, _current(Membership),
                                                 Membership.valid_to.is_(None))
    session.execute(update(Person).where(Person.id.in_(members)).values(office=office))
    session.flush()
    return row


def correct_membership(session: Session, membership_id: int, *, actor: str, reason: str,
                       valid_from: date | None = None, valid_to: date | None = None) -> Membership:
    """A recording mistake: a new row with the right dates replaces the old one, which is kept."""
    if not (reason or "").strip():
        raise Invalid(_("A correction needs a reason."), field="reason")
    row = session.scalars(select(Membership).where(Membership.id == membership_id, _current(Membership))).first()
    if row is None:
        raise NotFound(_("Membership %(id)s not found, or already corrected.") % {"id": membership_id},
                       field="membership_id")
    start = valid_from or row.valid_from
    end = valid_to if valid_to is not None else row.valid_to
    if end is not None and end <= start:
        raise Invalid(_("valid_to must be after valid_from."), field="valid_to")
    clash = _overlapping(session, row.person_id, start, end, ignore=row.id)
    if clash is not None:
        raise Conflict(_("The corrected dates overlap membership %(id)s.") % {"id": clash.id}, field="valid_from")
    fixed = Membership(household_id=row.household_id, person_id=row.person_id, role=row.role,
                       relation=row.relation, valid_from=start,
                       valid_to=end, corrects=row.id, reason=reason.strip(), recorded_by=actor)
    session.add(fixed)
    session.flush()
    return fixed


@dataclass
class HouseholdView:
    id: str
    on: str
    members: list[dict[str, Any]]
    residence: dict[str, Any] | None
    history: list[dict[str, Any]] = field(default_factory=list)


def household_on(session: Session, household_id: str, on: date, *, actor: str, purpose: str) -> HouseholdView:
    household = _household(session, household_id)
    rows = session.scalars(
        select(Membership).where(Membership.household_id == household.id).order_by(Membership.id)
    ).all()
    corrected = {r.corrects for r in rows if r.corrects is not None}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({r.person_id for r in rows})))}
    members = [
        {"person_id": str(r.person_id), "name": people[r.person_id].name, "masked": people[r.person_id].rrn_masked,
         "role": r.role, "relation": r.relation, "since": r.valid_from.isoformat()}
        for r in rows
        if r.id not in corrected and r.valid_from <= on and (r.valid_to is None or r.valid_to > on)
    ]
    # One row for the read, naming the household and every member whose name and number it shows.
    access_log.record(session, actor, purpose=purpose, action="read_household", household_id=household.id,
                      subject_ids=sorted({uuid.UUID(m["person_id"]) for m in members}, key=str))
    residence = session.scalars(
        select(Residence).where(Residence.household_id == household.id, _current(Residence),
                                Residence.valid_from <= on)
        .order_by(Residence.valid_from.desc(), Residence.id.desc()).limit(1)
    ).first()
    history = [{"membership_id": r.id, "person_id": str(r.person_id), "role": r.role, "relation": r.relation,
                "valid_from": r.valid_from.isoformat(), "valid_to": r.valid_to.isoformat() if r.valid_to else None,
                "corrects": r.corrects, "superseded": r.id in corrected, "reason": r.reason,
                "recorded_at": r.recorded_at.isoformat(), "recorded_by": r.recorded_by} for r in rows]
    history += [{"residence_id": r.id, "address": r.address, "region_class": r.region_class, "locality": r.locality,
                 "valid_from": r.valid_from.isoformat(), "recorded_at": r.recorded_at.isoformat(),
                 "recorded_by": r.recorded_by}
                for r in session.scalars(select(Residence).where(Residence.household_id == household.id)
                                         .order_by(Residence.id))]
    return HouseholdView(str(household.id), on.isoformat(), members,
                         {"address": residence.address, "region_class": residence.region_class,
                          "locality": residence.locality, "office": residence.office,
                          "since": residence.valid_from.isoformat()} if residence else None,
                         history)


def household_of(session: Session, person_id: str, on: date) -> uuid.UUID | None:
    """The household a person belongs to on a date: a case follows the person, not the address."""
    row = session.scalars(
        select(Membership).where(
            Membership.person_id == parse_uuid(person_id, what="person", field="person_id"), _current(Membership),
            and_(Membership.valid_from <= on, or_(Membership.valid_to.is_(None), Membership.valid_to > on)),
        )
    ).first()
    return row.household_id if row else None


def _one_day():
    from datetime import timedelta

    return timedelta(days=1)
