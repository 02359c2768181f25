"""The scope policy: how much of one case or person somebody may see or change, and the same rule
as a SQL filter for list queries (queues, searches, dashboards), so a list never shows what a look-up
would refuse and stays on the office/ministry indexes at a million rows.

Grades, each including the ones before it:
- aggregate: the record without personal data (case numbers, status, stage, dates, office, counts);
- masked: with names and the case's data, identifiers masked (a registration number never leaves
  bokji/privacy in clear, whatever the grade);
- full: also the evidence: agencies' data and documents;
- change: act on it (register, move, complete a task, add a document).

Each role reaches a kind of subject in its own offices (its office and the offices under it), in its
ministry's services, or everywhere: the table RULES, written from the role rules in the README.
Out of scope answers 404 worded exactly as for an id that does not exist, so nobody learns what exists
in another office. Reading a case at masked or more, or a person, writes the access log with a purpose
(bokji/privacy/access_log.py: `instances.get_for` and the registry do).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum, StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from bokji.db import utcnow
from bokji.errors import Invalid, NotFound
from bokji.i18n import gettext
from bokji.identity.roles import Role
from bokji.identity.service import Principal
from bokji.offices import service as offices
from bokji.scope.models import CounterGrant
from bokji.words import not_found


class Grade(IntEnum):
    NONE = 0
    AGGREGATE = 1
    MASKED = 2
    FULL = 3
    CHANGE = 4


class Kind(StrEnum):
    CASE = "case"  # an instance with its tasks, evidence, notices and application
    PERSON = "person"  # a person or a household of the registry
    OPERATION = "operation"  # suspending, resuming, cancelling a case; retrying a failed step
    LOG = "log"  # the operator actions recorded on a case


@dataclass(frozen=True)
class Reach:
    local: Grade = Grade.NONE  # in the person's offices
    ministry: Grade = Grade.NONE  # in the services of the person's ministry
    everywhere: Grade = Grade.NONE


_CASEWORK = {Kind.CASE: Reach(local=Grade.CHANGE), Kind.PERSON: Reach(local=Grade.CHANGE)}
RULES: dict[Role, dict[Kind, Reach]] = {
    Role.CASEWORKER: _CASEWORK,
    Role.SUPERVISOR: {**_CASEWORK, Kind.OPERATION: Reach(local=Grade.CHANGE), Kind.LOG: Reach(local=Grade.FULL)},
    Role.MINISTRY_OFFICER: {Kind.CASE: Reach(ministry=Grade.MASKED)},
    Role.MANAGER: {Kind.CASE: Reach(local=Grade.AGGREGATE)},  # figures and case numbers, no names
    Role.AUDITOR: {Kind.LOG: Reach(everywhere=Grade.FULL)},  # logs, read-only
    Role.DESIGNER: {},  # definitions and instance counts only
    Role.ADMIN: {Kind.CASE: Reach(everywhere=Grade.AGGREGATE), Kind.OPERATION: Reach(everywhere=Grade.CHANGE),
                 Kind.LOG: Reach(everywhere=Grade.FULL)},  # operations, not personal data
    Role.INTEGRATION: {},  # only the topics and messages granted to it (bokji/scope/grants.py)
}


def _reaches(who: Principal, kind: Kind) -> list[Reach]:
    # Roles are StrEnum members: a role name from the token finds its rules directly.
    rules = [RULES.get(r, {}) for r in who.roles]  # type: ignore[call-overload]
    return [r[kind] for r in rules if kind in r]


def offices_of(session: Session, who: Principal) -> frozenset[str]:
    """The person's office and every office under it (asked once per unit of work)."""
    cache = session.info.setdefault("scope_offices", {})
    if who.user_id not in cache:
        cache[who.user_id] = frozenset(offices.under(session, who.office) if who.office else ())
    return cache[who.user_id]


def grade(session: Session, who: Principal, kind: Kind, *, office: str | None, ministry: str | None = None) -> Grade:
    best = Grade.NONE
    reaches = _reaches(who, kind)
    if not reaches:
        return best
    local = office is not None and office in offices_of(session, who)
    own_ministry = ministry is not None and ministry == who.ministry
    for reach in reaches:
        best = max(best, reach.everywhere, reach.local if local else Grade.NONE,
                   reach.ministry if own_ministry else Grade.NONE)
    return best


# What a 404 says of a row `who` may not see: the same words as for an id that names nothing.
def require(session: Session, who: Principal, kind: Kind, need: Grade, *, office: str | None,
            ministry: str | None = None, what: str, ident: object, field: str) -> Grade:
    """The grade, or 404 worded as for an unknown id when it is below `need`."""
    have = grade(session, who, kind, office=office, ministry=ministry)
    if have < need:
        raise NotFound(not_found(what, ident), field=field)
    return have


def visible(session: Session, who: Principal, kind: Kind, need: Grade, office_column: ColumnElement,
            ministry_column: ColumnElement | None = None) -> ColumnElement[bool]:
    """The WHERE clause of a list query: rows `who` has at least `need` on (the rule of `grade`)."""
    conditions: list[ColumnElement[bool]] = []
    for reach in _reaches(who, kind):
        if reach.everywhere >= need:
            return true()
        if reach.local >= need and who.office:
            conditions.append(office_column.in_(sorted(offices_of(session, who))))
        if reach.ministry >= need and who.ministry and ministry_column is not None:
            conditions.append(ministry_column == who.ministry)
    return or_(*conditions) if conditions else false()


# ---- the registry ------------------------------------------------------------------------------------------
class Located(Protocol):
    """A person or household: what the policy reads of it."""

    id: uuid.UUID
    office: str


def person(session: Session, who: Principal, subject: Located, need: Grade, *, field: str = "person_id") -> Grade:
    return require(session, who, Kind.PERSON, need, office=subject.office, what="person", ident=subject.id,
                   field=field)


def household(session: Session, who: Principal, subject: Located, need: Grade, *,
              field: str = "household_id") -> Grade:
    return require(session, who, Kind.PERSON, need, office=subject.office, what="household", ident=subject.id,
                   field=field)


def check_own_office(session: Session, who: Principal, office: str, *, field: str = "office") -> str:
    """An office a caseworker records a new fact in: one of theirs (moving a household out excepted)."""
    if office not in offices_of(session, who):
        raise Invalid(gettext("%(field)s: '%(office)s' is not your office or one under it.") % {
            "field": field, "office": office}, field=field)
    return office


# ---- serving a person of another office at the counter ---------------------------------------------------
COUNTER_GRANT_HOURS = 8  # the working day of the look-up


def grant_counter(session: Session, who: Principal, subject: Located, *, purpose: str) -> None:
    """After a logged look-up by the full registration number: a caseworker may take this person's one
    next application even though the person belongs to another office."""
    if grade(session, who, Kind.PERSON, office=subject.office) >= Grade.CHANGE:
        return
    if not who.has_any({Role.CASEWORKER, Role.SUPERVISOR}):
        return
    now = utcnow()
    session.add(CounterGrant(actor=who.username, person_id=subject.id, purpose=purpose[:300], granted_at=now,
                             expires_at=now + timedelta(hours=COUNTER_GRANT_HOURS)))


def applicant(session: Session, who: Principal, subject: Located, *,
              field: str = "applicant_id") -> CounterGrant | None:
    """May `who` take an application of `subject`? Their own office's person (None), or through an open
    counter grant (returned, for the caller to mark used), else 404 as for an unknown person."""
    if grade(session, who, Kind.PERSON, office=subject.office) >= Grade.CHANGE:
        return None
    found = session.scalars(
        select(CounterGrant).where(CounterGrant.actor == who.username, CounterGrant.person_id == subject.id,
                                   CounterGrant.application_id.is_(None), CounterGrant.expires_at > utcnow())
        .order_by(CounterGrant.id).limit(1).with_for_update()
    ).first()
    if found is None:
        raise NotFound(not_found("person", subject.id), field=field)
    return found
