"""Teams and substitutes. A task opened in an office goes to the team of that office that takes its
service (`team_for`); the team's members work that queue. Supervisors of the office (and team leads) set
substitutes for absent staff: over the dates given, the substitute sees the absent person's tasks and may
claim them (bokji/tasks/service.py asks `standing_in_for`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, delete, or_, select
from sqlalchemy.orm import Session

from bokji import clock
from bokji.errors import Forbidden, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.models import User
from bokji.identity.service import Principal
from bokji.ids import parse_uuid
from bokji.scope import policy
from bokji.teams.models import Substitute, Team, TeamMember
from bokji.words import not_found


def team_for(session: Session, office: str, service_code: str | None) -> uuid.UUID | None:
    """The team of `office` that takes `service_code`: one that names it before one that takes every service;
    None if no team does (the task then sits in the office's queue only)."""
    names_it = Team.services.any(service_code) if service_code else False
    return session.scalar(
        select(Team.id).where(Team.office == office, or_(names_it, Team.services == []))
        .order_by(case((names_it, 0), else_=1), Team.created_at, Team.name).limit(1))


def teams_of(session: Session, username: str) -> list[Team]:
    return list(session.scalars(select(Team).join(TeamMember, TeamMember.team_id == Team.id)
                                .where(TeamMember.username == username).order_by(Team.name)))


def team_ids_of(session: Session, username: str) -> list[uuid.UUID]:
    """The teams whose queue `username` works (asked once per unit of work)."""
    cache = session.info.setdefault("team_ids", {})
    if username not in cache:
        cache[username] = [t.id for t in teams_of(session, username)]
    return cache[username]


def leads(session: Session, username: str, team_id: uuid.UUID | None) -> bool:
    return team_id is not None and session.scalar(select(TeamMember.lead).where(
        TeamMember.team_id == team_id, TeamMember.username == username)) is True


def members(session: Session, team_ids: list[uuid.UUID]) -> list[tuple[TeamMember, User]]:
    return list(session.execute(select(TeamMember, User).join(User, User.username == TeamMember.username)
                                .where(TeamMember.team_id.in_(team_ids)).order_by(User.display_name)).tuples())


def office_staff(session: Session, who: Principal) -> list[User]:
    """The active caseworkers and supervisors of the offices `who` reaches: whom tasks may be given to."""
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.office.in_(sorted(policy.offices_of(session, who))),
        User.roles.overlap(["caseworker", "supervisor"])).order_by(User.display_name)))


def standing_in_for(session: Session, username: str, on: date | None = None) -> frozenset[str]:
    """Whom `username` substitutes for on `on` (today in Seoul): their tasks are theirs to see and claim."""
    on = on or clock.today()
    cache = session.info.setdefault("standing_in_for", {})
    if (username, on) not in cache:
        cache[(username, on)] = frozenset(session.scalars(select(Substitute.absent).where(
            Substitute.substitute == username, Substitute.starts_on <= on, Substitute.ends_on >= on)))
    return cache[(username, on)]


@dataclass
class SubstituteView:
    row: Substitute
    absent_name: str
    substitute_name: str


def substitutes(session: Session, who: Principal) -> list[SubstituteView]:
    """Current and coming substitutions in the offices `who` reaches."""
    names = {u.username: u.display_name for u in office_staff(session, who)}
    rows = session.scalars(select(Substitute).where(
        Substitute.office.in_(sorted(policy.offices_of(session, who))), Substitute.ends_on >= clock.today())
        .order_by(Substitute.starts_on, Substitute.absent))
    return [SubstituteView(r, names.get(r.absent, r.absent), names.get(r.substitute, r.substitute)) for r in rows]


def set_substitute(session: Session, who: Principal, *, absent: str, substitute: str, starts_on: date,
                   ends_on: date) -> Substitute:
    """A supervisor of the office (or a lead of the absent person's team) names a substitute for some days."""
    _require_supervising(session, who, absent)
    staff = {u.username: u for u in office_staff(session, who)}
    if absent not in staff:
        raise Invalid(not_found("user", absent), field="absent")
    if substitute not in staff:
        raise Invalid(not_found("user", substitute), field="substitute")
    if substitute == absent:
        raise Invalid(_("A person cannot stand in for themselves."), field="substitute")
    if ends_on < starts_on:
        raise Invalid(_("The last day (%(ends)s) is before the first (%(starts)s).") % {
            "ends": ends_on.isoformat(), "starts": starts_on.isoformat()}, field="ends_on")
    if ends_on < clock.today():
        raise Invalid(_("The substitution would already be over (its last day is %(ends)s).") % {
            "ends": ends_on.isoformat()}, field="ends_on")
    row = Substitute(absent=absent, substitute=substitute, starts_on=starts_on, ends_on=ends_on,
                     office=staff[absent].office, set_by=who.username)
    session.add(row)
    session.flush()
    session.info.pop("standing_in_for", None)
    return row


def end_substitute(session: Session, who: Principal, substitute_id: str) -> None:
    row = session.get(Substitute, parse_uuid(substitute_id, what="substitute", field="substitute_id"))
    if row is None or row.office not in policy.offices_of(session, who):
        raise NotFound(not_found("substitute", substitute_id), field="substitute_id")
    _require_supervising(session, who, row.absent)
    session.execute(delete(Substitute).where(Substitute.id == row.id))
    session.info.pop("standing_in_for", None)


def _require_supervising(session: Session, who: Principal, username: str) -> None:
    if who.has_any({"supervisor", "admin"}):
        return
    their_teams = set(team_ids_of(session, username))
    if not any(leads(session, who.username, t) for t in their_teams):
        raise Forbidden(_("Only a supervisor or the team lead sets substitutes and reassigns tasks."),
                        field="absent")


def create_team(session: Session, who: Principal, *, office: str, name: str, services: list[str]) -> Team:
    """A supervisor makes a team in their offices; an administrator in any office."""
    from bokji.catalog import service as catalog
    from bokji.offices.models import Office

    if who.has_any({"admin"}):
        if session.get(Office, office) is None:
            raise Invalid(_("Unknown office '%(office)s'.") % {"office": office}, field="office")
    else:
        policy.check_own_office(session, who, office)
    name = name.strip()
    if not name:
        raise Invalid(_("Give the team a name."), field="name")
    if session.scalar(select(Team.id).where(Team.office == office, Team.name == name)) is not None:
        raise Invalid(_("The office already has a team named '%(name)s'.") % {"name": name}, field="name")
    for code in services:
        catalog.get(session, code)  # 404 naming `services` for a code not in the catalog
    team = Team(office=office, name=name, services=list(dict.fromkeys(services)))
    session.add(team)
    session.flush()
    return team


def set_members(session: Session, who: Principal, team_id: str, members: list[tuple[str, bool]]) -> Team:
    """The team's members (username, lead), all at once: active staff of the team's office."""
    team = session.get(Team, parse_uuid(team_id, what="team", field="team_id"))
    if team is None or not (who.has_any({"admin"}) or team.office in policy.offices_of(session, who)):
        raise NotFound(not_found("team", team_id), field="team_id")
    staff = set(session.scalars(select(User.username).where(
        User.active.is_(True), User.office == team.office, User.roles.overlap(["caseworker", "supervisor"]))))
    for index, (username, _lead) in enumerate(members):
        if username not in staff:
            raise Invalid(not_found("user", username), field=f"members[{index}].username")
    session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    for username, lead in dict(members).items():
        session.add(TeamMember(team_id=team.id, username=username, lead=lead))
    session.flush()
    session.info.pop("team_ids", None)
    return team


DEMO_TEAMS = [
    # office, name, services ([] = every service), members (username, lead)
    ("seoul-jongno", "통합조사·급여팀", [], [("supervisor", True), ("caseworker", False), ("caseworker2", False)]),
]


def seed_demo_teams(session: Session) -> None:
    """The demo office's team (demo and test mode only, like the demo users)."""
    for office, name, services, people in DEMO_TEAMS:
        if session.scalar(select(Team.id).where(Team.office == office, Team.name == name)) is not None:
            continue
        team = Team(office=office, name=name, services=services)
        session.add(team)
        session.flush()
        for username, lead in people:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                session.add(TeamMember(team_id=team.id, username=username, lead=lead))
    session.flush()
