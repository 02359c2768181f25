"""Work queues, saved filters, bulk claim and reassignment, teams and substitutes (REST; the queue page
in api/pages_queue.py calls the same services)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import CASEWORK, Id, SessionDep, requires
from bokji.identity.roles import Role
from bokji.identity.service import Principal
from bokji.queues import service as queues
from bokji.queues.service import QueueFilter, QueueName
from bokji.tasks import service as tasks
from bokji.teams import service as teams

router = APIRouter(tags=["queues"])
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]
Supervising = Annotated[Principal, Depends(requires(Role.SUPERVISOR, Role.CASEWORKER, Role.ADMIN))]
TeamAdmin = Annotated[Principal, Depends(requires(Role.SUPERVISOR, Role.ADMIN))]


class QueueItem(BaseModel):
    task_id: str
    instance_id: str
    name: str | None
    element_id: str
    stage: str | None
    service_code: str | None
    service_name: str | None
    application_number: str | None
    applicant: str | None = Field(description="the name; masked unless it is my queue or my claimed task")
    applicant_number: str | None = Field(description="the masked registration number, where the name is shown")
    due_at: datetime | None
    business_days_left: int | None = Field(description="to the due date on the office's calendar; negative: overdue")
    created_at: datetime
    assignee: str | None
    assignee_name: str | None
    team_id: str | None
    returned_reason: str | None = Field(description="set when a supervisor sent the task back: why")
    may_claim: bool
    may_unclaim: bool


class QueuePageOut(BaseModel):
    queue: QueueName
    items: list[QueueItem]
    next: str | None = Field(description="the `after` of the next page; none on the last")
    counts: dict[str, str] = Field(description="open tasks per queue, capped: '999+' means a thousand or more")


def _item(row: queues.QueueRow) -> QueueItem:
    t = row.task
    return QueueItem(task_id=str(t.id), instance_id=str(t.instance_id), name=t.name, element_id=t.element_id,
                     stage=t.stage, service_code=t.service_code, service_name=row.service_name,
                     application_number=t.application_number, applicant=row.applicant,
                     applicant_number=row.applicant_number, due_at=t.due_at,
                     business_days_left=row.business_days_left, created_at=t.created_at,
                     assignee=t.assignee, assignee_name=row.assignee_name,
                     team_id=str(t.team_id) if t.team_id else None, returned_reason=t.returned_reason,
                     may_claim=row.may_claim, may_unclaim=row.may_unclaim)


@router.get("/queues/{queue}", response_model=QueuePageOut)
def queue_page(queue: QueueName, session: SessionDep, who: Worker, wanted: Annotated[QueueFilter, Query()],
               after: Annotated[str | None, Query(max_length=200)] = None) -> QueuePageOut:
    """A page of 50 open tasks of one queue, with the tab counts. Logged: one access-log row naming the
    applicants listed."""
    found = queues.page(session, who, queue, wanted, after=after)
    return QueuePageOut(queue=found.queue, items=[_item(r) for r in found.rows], next=found.next_cursor,
                        counts=found.counts)


class SavedFilterIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    queue: QueueName = QueueName.MINE
    filter: QueueFilter = Field(default_factory=QueueFilter)
    share_with_team: bool = False


class SavedFilterOut(BaseModel):
    id: str
    name: str
    owner: str
    queue: QueueName
    filter: QueueFilter
    shared: bool


def _saved(view: queues.SavedView) -> SavedFilterOut:
    return SavedFilterOut(id=str(view.row.id), name=view.row.name, owner=view.row.owner, queue=view.queue,
                          filter=view.filter, shared=view.shared)


@router.get("/queue-filters", response_model=list[SavedFilterOut])
def saved_filters(session: SessionDep, who: Worker) -> list[SavedFilterOut]:
    """My saved filters and those my teams share."""
    return [_saved(v) for v in queues.saved_filters(session, who)]


@router.post("/queue-filters", response_model=SavedFilterOut, status_code=201)
def save_filter(body: SavedFilterIn, session: SessionDep, who: Worker) -> SavedFilterOut:
    return _saved(queues.save_filter(session, who, name=body.name, queue=body.queue, wanted=body.filter,
                                     share_with_team=body.share_with_team))


@router.delete("/queue-filters/{filter_id}", status_code=204)
def delete_filter(filter_id: Id, session: SessionDep, who: Worker) -> None:
    queues.delete_filter(session, who, filter_id)


class BulkClaimIn(BaseModel):
    task_ids: list[str] = Field(min_length=1, max_length=200)


class ReassignIn(BaseModel):
    to: str = Field(min_length=1, max_length=64, description="the colleague's username")
    reason: str = Field(min_length=2, max_length=1000)


class BulkReassignIn(ReassignIn):
    task_ids: list[str] = Field(min_length=1, max_length=200)


class BulkResultOut(BaseModel):
    task_id: str
    ok: bool
    status: int
    message: str | None = None
    assignee: str | None = None


@router.post("/tasks/claims", response_model=list[BulkResultOut])
def bulk_claim(body: BulkClaimIn, session: SessionDep, who: Worker) -> list[BulkResultOut]:
    """Claim each task; a result per task (one already taken does not stop the others)."""
    results = queues.bulk(session, body.task_ids, lambda task_id: tasks.claim(session, task_id, who))
    return [BulkResultOut(**vars(r)) for r in results]


@router.post("/tasks/reassignments", response_model=list[BulkResultOut])
def bulk_reassign(body: BulkReassignIn, session: SessionDep, who: Supervising) -> list[BulkResultOut]:
    """A supervisor or team lead gives each task to `to`; a result per task (four eyes checked per task)."""
    results = queues.bulk(session, body.task_ids,
                          lambda task_id: tasks.reassign(session, task_id, who, to=body.to, reason=body.reason))
    return [BulkResultOut(**vars(r)) for r in results]


@router.post("/tasks/{task_id}/reassign", response_model=BulkResultOut)
def reassign(task_id: Id, body: ReassignIn, session: SessionDep, who: Supervising) -> BulkResultOut:
    task = tasks.reassign(session, task_id, who, to=body.to, reason=body.reason)
    return BulkResultOut(task_id=str(task.id), ok=True, status=200, assignee=task.assignee)


class TeamOut(BaseModel):
    id: str
    office: str
    name: str
    services: list[str]
    members: list[dict[str, str | bool]]


@router.get("/teams", response_model=list[TeamOut])
def my_teams(session: SessionDep, who: Worker) -> list[TeamOut]:
    """The teams I am in, with their members."""
    return [_team(session, t) for t in teams.teams_of(session, who.username)]


class TeamIn(BaseModel):
    office: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    services: list[str] = Field(default_factory=list, max_length=300,
                                description="catalog codes the team takes; empty: every service of the office")


class MemberIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    lead: bool = False


class MembersIn(BaseModel):
    members: list[MemberIn] = Field(max_length=500)


def _team(session, team) -> TeamOut:
    people = teams.members(session, [team.id])
    return TeamOut(id=str(team.id), office=team.office, name=team.name, services=list(team.services or []),
                   members=[{"username": u.username, "name": u.display_name, "lead": m.lead} for m, u in people])


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, session: SessionDep, who: TeamAdmin) -> TeamOut:
    """A team of an office: a supervisor in their offices, an administrator anywhere. Tasks opened after this go
    to the office's first team that names their service, else to one that takes every service."""
    return _team(session, teams.create_team(session, who, office=body.office, name=body.name,
                                            services=body.services))


@router.put("/teams/{team_id}/members", response_model=TeamOut)
def set_members(team_id: Id, body: MembersIn, session: SessionDep, who: TeamAdmin) -> TeamOut:
    """The team's members and leads, all at once."""
    return _team(session, teams.set_members(session, who, team_id, [(m.username, m.lead) for m in body.members]))


class SubstituteIn(BaseModel):
    absent: str = Field(min_length=1, max_length=64)
    substitute: str = Field(min_length=1, max_length=64)
    starts_on: date
    ends_on: date


class SubstituteOut(BaseModel):
    id: str
    absent: str
    absent_name: str
    substitute: str
    substitute_name: str
    starts_on: date
    ends_on: date
    set_by: str


def _substitute(view: teams.SubstituteView) -> SubstituteOut:
    r = view.row
    return SubstituteOut(id=str(r.id), absent=r.absent, absent_name=view.absent_name, substitute=r.substitute,
                         substitute_name=view.substitute_name, starts_on=r.starts_on, ends_on=r.ends_on,
                         set_by=r.set_by)


@router.get("/substitutes", response_model=list[SubstituteOut])
def substitutes(session: SessionDep, who: Worker) -> list[SubstituteOut]:
    """Current and coming substitutions in my offices."""
    return [_substitute(v) for v in teams.substitutes(session, who)]


@router.post("/substitutes", response_model=SubstituteOut, status_code=201)
def set_substitute(body: SubstituteIn, session: SessionDep, who: Supervising) -> SubstituteOut:
    """A supervisor or the absent person's team lead names a substitute from one day to another (inclusive)."""
    row = teams.set_substitute(session, who, absent=body.absent, substitute=body.substitute,
                               starts_on=body.starts_on, ends_on=body.ends_on)
    return next(_substitute(v) for v in teams.substitutes(session, who) if v.row.id == row.id)


@router.delete("/substitutes/{substitute_id}", status_code=204)
def end_substitute(substitute_id: Id, session: SessionDep, who: Supervising) -> None:
    teams.end_substitute(session, who, substitute_id)
