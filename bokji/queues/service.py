"""The work queues: open tasks by person, team or office, filtered by the case's business fields, sorted by
due date or age, and paged by keyset (50 a page).

Each queue reads one partial index of open tasks (bokji/tasks/models.py `_queue_indexes`): a page is an
index range scan from the cursor, whatever the depth. Tab counts are index-only counts capped at
`COUNT_CAP` ("999+"): at most a thousand index entries per tab and page view, no counter table to keep in
step. The applicant's name is shown in full only in one's own queue or on a task one has claimed; elsewhere
masked. Every page that names applicants writes one access-log row listing them.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, false, func, or_, select, tuple_
from sqlalchemy.orm import Session

from bokji import clock
from bokji.calendar import service as calendar
from bokji.catalog import service as catalog
from bokji.errors import BokjiError, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.models import User
from bokji.identity.service import Principal
from bokji.ids import parse_uuid
from bokji.privacy import access_log, protection
from bokji.queues.models import SavedFilter
from bokji.registry.models import Person
from bokji.scope import policy
from bokji.tasks import service as tasks
from bokji.tasks.models import HumanTask, TaskStatus
from bokji.teams import service as teams
from bokji.words import in_language, not_found

PAGE_SIZE = 50
COUNT_CAP = 1000  # a tab shows "999+" above this: counting further costs more and tells a person nothing


class QueueName(StrEnum):
    MINE = "mine"  # claimed by me
    TEAM = "team"  # my teams' tasks
    OFFICE = "office"  # my office's (and the offices under it)
    STANDING_IN = "standing_in"  # claimed by someone I substitute for today


class Sort(StrEnum):
    DUE = "due"  # earliest due first; no due date last
    AGE = "age"  # oldest first


class State(StrEnum):
    UNCLAIMED = "unclaimed"
    CLAIMED = "claimed"
    RETURNED = "returned"  # sent back by a supervisor (the reason is on the task)


class Due(StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"  # due by the end of today (Seoul), overdue included
    WEEK = "week"  # due within seven days, overdue included


class QueueFilter(BaseModel):
    """What a queue view asks for; also what a saved filter keeps."""

    service: str | None = Field(None, max_length=64, description="a catalog service code")
    stage: str | None = Field(None, max_length=32)
    status: State | None = None
    due: Due | None = None
    name: str | None = Field(None, max_length=100, description="the applicant's exact name")
    registration_number: str | None = Field(None, max_length=20, description="the applicant's exact number")
    application_number: str | None = Field(None, max_length=40)
    sort: Sort = Sort.DUE

    def active(self) -> bool:
        return any(v is not None for k, v in self if k != "sort")


@dataclass
class QueueRow:
    task: HumanTask
    service_name: str | None
    applicant: str | None  # the name, or masked (not my queue, not claimed by me)
    applicant_number: str | None  # the masked registration number, where the name is shown
    may_claim: bool
    may_unclaim: bool
    assignee_name: str | None = None  # the display name of whoever claimed it
    business_days_left: int | None = None  # to the due date on the office's calendar (negative: overdue)


@dataclass
class QueuePage:
    queue: QueueName
    rows: list[QueueRow]
    next_cursor: str | None
    counts: dict[str, str]  # per queue, capped ("999+"); the current queue counts what the filters leave


def tabs(session: Session, who: Principal) -> list[QueueName]:
    """The queues `who` has: their own, their teams' (if in one), the office's, and stand-ins while any."""
    found = [QueueName.MINE]
    if teams.team_ids_of(session, who.username):
        found.append(QueueName.TEAM)
    found.append(QueueName.OFFICE)
    if teams.standing_in_for(session, who.username):
        found.append(QueueName.STANDING_IN)
    return found


def page(session: Session, who: Principal, queue: QueueName, wanted: QueueFilter, *,
         after: str | None = None, limit: int = PAGE_SIZE) -> QueuePage:
    if queue not in tabs(session, who):
        raise NotFound(_("You have no '%(queue)s' queue.") % {"queue": queue}, field="queue")
    order = HumanTask.due_key if wanted.sort == Sort.DUE else HumanTask.created_at
    query = _filtered(session, who, queue, wanted)
    if after:
        query = query.where(tuple_(order, HumanTask.id) > _cursor_values(after))
    found = list(session.scalars(query.order_by(order, HumanTask.id).limit(limit + 1)))
    more, found = len(found) > limit, found[:limit]
    rows = _rows(session, who, queue, found)
    counts = {q.value: _capped(session, _in_queue(session, who, q)) for q in tabs(session, who)}
    if wanted.active():
        counts[queue.value] = _capped(session, _filtered(session, who, queue, wanted))
    subjects = sorted({t.applicant_id for t in found if t.applicant_id}, key=str)
    if subjects:
        access_log.record(session, who.username, purpose="work_queue", action=f"list_queue:{queue.value}",
                          subject_ids=subjects)
    last = found[-1] if found else None
    next_cursor = _cursor(getattr(last, "due_key" if wanted.sort == Sort.DUE else "created_at"), last.id) \
        if more and last is not None else None
    return QueuePage(queue, rows, next_cursor, counts)


def _in_queue(session: Session, who: Principal, queue: QueueName) -> Select:
    """The open tasks of one queue, by the key its partial index leads with."""
    query = select(HumanTask).where(HumanTask.status == TaskStatus.OPEN)
    if queue == QueueName.MINE:
        return query.where(HumanTask.assignee == who.username)
    if queue == QueueName.TEAM:
        team_ids = teams.team_ids_of(session, who.username)
        return query.where(HumanTask.team_id.in_(team_ids) if team_ids else false())
    if queue == QueueName.STANDING_IN:
        return query.where(HumanTask.assignee.in_(sorted(teams.standing_in_for(session, who.username))))
    return query.where(HumanTask.office.in_(sorted(policy.offices_of(session, who))))


def _filtered(session: Session, who: Principal, queue: QueueName, wanted: QueueFilter) -> Select:
    query = _in_queue(session, who, queue).where(
        policy.visible(session, who, policy.Kind.CASE, policy.Grade.CHANGE, HumanTask.office))
    if wanted.service:
        query = query.where(HumanTask.service_code == wanted.service)
    if wanted.stage:
        query = query.where(HumanTask.stage == wanted.stage)
    if wanted.status == State.UNCLAIMED:
        query = query.where(HumanTask.assignee.is_(None))
    elif wanted.status == State.CLAIMED:
        query = query.where(HumanTask.assignee.is_not(None))
    elif wanted.status == State.RETURNED:
        query = query.where(HumanTask.returned_reason.is_not(None))
    if wanted.due is not None:  # due_key: what the queue's index holds (no due date is never overdue)
        query = query.where(HumanTask.due_key < _due_before(wanted.due))
    if wanted.application_number:
        query = query.where(HumanTask.application_number == wanted.application_number.strip().upper())
    if wanted.name:
        query = query.where(HumanTask.applicant_id.in_(select(Person.id).where(Person.name == wanted.name.strip())))
    if wanted.registration_number:
        query = query.where(HumanTask.applicant_id.in_(
            select(Person.id).where(Person.rrn_hash == _number_hash(wanted.registration_number))))
    return query


def _due_before(due: Due) -> datetime:
    now = clock.now()
    if due == Due.OVERDUE:
        return now
    if due == Due.WEEK:
        return now + timedelta(days=7)
    tomorrow = datetime.combine(now.astimezone(clock.SEOUL).date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=clock.SEOUL)
    return tomorrow


def _number_hash(number: str) -> str:
    return protection.lookup_hash(number)  # a malformed number: 422 naming registration_number


def _capped(session: Session, query: Select) -> str:
    inner = query.with_only_columns(HumanTask.id).order_by(None).limit(COUNT_CAP).subquery()
    count = session.scalar(select(func.count()).select_from(inner)) or 0
    return f"{COUNT_CAP - 1}+" if count >= COUNT_CAP else str(count)


def _rows(session: Session, who: Principal, queue: QueueName, found: list[HumanTask]) -> list[QueueRow]:
    people = {p.id: p for p in session.scalars(
        select(Person).where(Person.id.in_({t.applicant_id for t in found if t.applicant_id})))}
    standing_in = teams.standing_in_for(session, who.username)
    services = {e.code: e for e in catalog.snapshot(session)}
    days = calendar.load(session)
    today = clock.today()
    claimed_by = {t.assignee for t in found if t.assignee}
    names = {username: name for username, name in session.execute(
        select(User.username, User.display_name).where(User.username.in_(claimed_by)))}
    rows = []
    for task in found:
        person = people.get(task.applicant_id) if task.applicant_id else None
        shown = queue == QueueName.MINE or task.assignee == who.username
        service = services.get(task.service_code or "")
        works = tasks.may_work_on(task, who, standing_in)
        rows.append(QueueRow(
            task=task, service_name=in_language(service.name_ko, service.name_en) if service else None,
            applicant=(person.name if shown else protection.mask_name(person.name)) if person else None,
            applicant_number=person.rrn_masked if person and shown else None,
            may_claim=works and (task.assignee is None or task.assignee in standing_in),
            may_unclaim=task.assignee == who.username,
            assignee_name=names.get(task.assignee, task.assignee) if task.assignee else None,
            business_days_left=days.business_days_between(today, task.due_at.astimezone(clock.SEOUL).date(),
                                                          task.office) if task.due_at else None))
    return rows


def _cursor(value: datetime, task_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([value.isoformat(), str(task_id)]).encode()).decode()


def _cursor_values(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        value, task_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(value), uuid.UUID(task_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise Invalid(_("This page link is damaged: open the queue again from its first page."),
                      field="after") from None


# ---- saved filters -------------------------------------------------------------------------------------------
@dataclass
class SavedView:
    row: SavedFilter
    queue: QueueName
    filter: QueueFilter
    shared: bool


def saved_filters(session: Session, who: Principal) -> list[SavedView]:
    """My own saved filters and those shared with my teams."""
    team_ids = teams.team_ids_of(session, who.username)
    rows = session.scalars(select(SavedFilter).where(or_(
        and_(SavedFilter.owner == who.username, SavedFilter.team_id.is_(None)),
        SavedFilter.team_id.in_(team_ids) if team_ids else false())).order_by(SavedFilter.name))
    return [_view(r) for r in rows]


def save_filter(session: Session, who: Principal, *, name: str, queue: QueueName, wanted: QueueFilter,
                share_with_team: bool) -> SavedView:
    name = name.strip()
    if not name:
        raise Invalid(_("Give the filter a name."), field="name")
    team_id = None
    if share_with_team:
        team_ids = teams.team_ids_of(session, who.username)
        if not team_ids:
            raise Invalid(_("You are in no team to share the filter with."), field="share_with_team")
        team_id = team_ids[0]
    row = SavedFilter(name=name, owner=who.username, team_id=team_id,
                      params={"queue": queue.value, **wanted.model_dump(mode="json", exclude_none=True)})
    session.add(row)
    session.flush()
    return _view(row)


def delete_filter(session: Session, who: Principal, filter_id: str) -> None:
    """The owner deletes their filter; a team's shared filter also its lead."""
    row = session.get(SavedFilter, parse_uuid(filter_id, what="saved_filter", field="filter_id"))
    visible = row is not None and (row.owner == who.username or row.team_id in teams.team_ids_of(session, who.username))
    if not visible:
        raise NotFound(not_found("saved_filter", filter_id), field="filter_id")
    if row.owner != who.username and not teams.leads(session, who.username, row.team_id):
        raise NotFound(not_found("saved_filter", filter_id), field="filter_id")
    session.delete(row)


def _view(row: SavedFilter) -> SavedView:
    params = dict(row.params)
    queue = QueueName(params.pop("queue", QueueName.MINE))
    return SavedView(row, queue, QueueFilter.model_validate(params), row.team_id is not None)


# ---- bulk actions ---------------------------------------------------------------------------------------------
@dataclass
class BulkResult:
    task_id: str
    ok: bool
    status: int
    message: str | None = None
    assignee: str | None = None


def bulk(session: Session, task_ids: list[str], action) -> list[BulkResult]:
    """`action(task_id)` on each task on its own: one refused (taken meanwhile, out of scope) leaves the
    others done. A savepoint per task keeps a failed one's half-change out of the transaction."""
    results = []
    for task_id in dict.fromkeys(task_ids):  # each once, in the order given
        try:
            with session.begin_nested():
                task = action(task_id)
            results.append(BulkResult(task_id, True, 200, assignee=task.assignee))
        except BokjiError as exc:
            results.append(BulkResult(task_id, False, exc.status_code, exc.message))
    return results
