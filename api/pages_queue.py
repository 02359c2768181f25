"""The work queue page (업무함): tabs for my tasks, my team's, my office's and those I stand in for; filters
and saved filters; claim, unclaim, bulk claim and (supervisors, team leads) bulk reassign; and the team page
with its substitutes. Everything here calls the services the REST routes in api/routes/queues.py call.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import SessionDep
from api.pages import Worker, _page
from bokji import clock, words
from bokji.catalog import service as catalog
from bokji.errors import BokjiError, Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.queues import service as queues
from bokji.queues.service import QueueFilter, QueueName
from bokji.tasks import service as tasks
from bokji.teams import service as teams

router = APIRouter(include_in_schema=False)

TAB_LABELS = {QueueName.MINE: N_("My tasks"), QueueName.TEAM: N_("My team"),
              QueueName.OFFICE: N_("My office"), QueueName.STANDING_IN: N_("Standing in")}
FILTER_FIELDS = tuple(QueueFilter.model_fields)


def _wanted(request: Request) -> QueueFilter:
    """The filters as the query string gives them (empty fields are no filter)."""
    given = {k: v.strip() for k, v in request.query_params.items() if k in FILTER_FIELDS and v.strip()}
    try:
        return QueueFilter.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(_("%(field)s: this value is not one the queue can filter by.") % {
            "field": first["loc"][0]}, field=str(first["loc"][0])) from None


def _query(queue: QueueName, wanted: QueueFilter, **extra: str) -> str:
    params = {"queue": queue.value, **wanted.model_dump(mode="json", exclude_none=True), **extra}
    if params.get("sort") == "due":
        params.pop("sort")
    return "/queue?" + urlencode(params)


def _render(request: Request, session, who: Principal, queue: QueueName, wanted: QueueFilter, *,
            after: str | None = None, results: list[queues.BulkResult] | None = None, status: int = 200,
            errors: dict[str, str] | None = None) -> HTMLResponse:
    found = queues.page(session, who, queue, wanted, after=after)
    supervising = who.has_any({"supervisor"}) or any(
        teams.leads(session, who.username, t) for t in teams.team_ids_of(session, who.username))
    services = sorted((e for e in catalog.snapshot(session) if not e.synthetic),
                      key=lambda e: words.in_language(e.name_ko, e.name_en))
    return _page(request, "queue.html", status=status, who=who, page=found, wanted=wanted, queue=queue,
                 tabs=[(q, _(TAB_LABELS[q]), found.counts.get(q.value, "0"), _query(q, wanted))
                       for q in queues.tabs(session, who)],
                 next_href=_query(queue, wanted, after=found.next_cursor) if found.next_cursor else None,
                 first_href=_query(queue, wanted) if after else None, here=_query(queue, wanted),
                 services=[(e.code, words.in_language(e.name_ko, e.name_en)) for e in services],
                 stages=list(words.STAGES), saved=queues.saved_filters(session, who),
                 saved_href=lambda v: _query(v.queue, v.filter), supervising=supervising,
                 staff=teams.office_staff(session, who) if supervising else [], results=results,
                 errors=errors or {}, now=clock.now())


@router.get("/queue")
def queue_view(request: Request, session: SessionDep, who: Worker,
               queue: Annotated[QueueName, Query()] = QueueName.MINE,
               after: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    return _render(request, session, who, queue, _wanted(request), after=after)


def _back(request: Request, next_path: str) -> tuple[QueueName, QueueFilter]:
    """The queue view the action was taken from (its tab and filters), read from the form's `next`."""
    params = dict(parse_qsl(urlsplit(next_path).query)) if next_path.startswith("/queue") else {}
    try:
        queue = QueueName(params.get("queue", QueueName.MINE))
        wanted = QueueFilter.model_validate({k: v for k, v in params.items() if k in FILTER_FIELDS and v})
    except (ValueError, ValidationError):
        queue, wanted = QueueName.MINE, QueueFilter()
    return queue, wanted


TaskIds = Annotated[list[str], Form(max_length=200)]  # a list default ([]) is copied per request by FastAPI


def _chosen(task_id: str, selected: list[str]) -> list[str]:
    """A row's own button names its task (`task_id`); the bulk buttons act on the ticked rows (`selected`)."""
    return [task_id] if task_id else selected


@router.post("/queue/claim")
def claim_on_page(request: Request, session: SessionDep, who: Worker,
                  task_id: Annotated[str, Form(max_length=100)] = "", selected: TaskIds = [],  # noqa: B006
                  next: Annotated[str, Form()] = "/queue"):
    """Claim one task (its row's button) or the ticked ones; the queue again with a result per task."""
    return _each(request, session, who, _chosen(task_id, selected), next, lambda t: tasks.claim(session, t, who))


@router.post("/queue/unclaim")
def unclaim_on_page(request: Request, session: SessionDep, who: Worker,
                    task_id: Annotated[str, Form(max_length=100)] = "", selected: TaskIds = [],  # noqa: B006
                    next: Annotated[str, Form()] = "/queue"):
    return _each(request, session, who, _chosen(task_id, selected), next, lambda t: tasks.unclaim(session, t, who))


def _each(request: Request, session, who: Principal, task_ids: list[str], next_path: str, action) -> HTMLResponse:
    """`action` on each task, then the queue view it was taken from with a result per task."""
    results = queues.bulk(session, task_ids, action)
    queue, wanted = _back(request, next_path)
    return _render(request, session, who, queue, wanted, results=results)


@router.post("/queue/reassign")
def reassign_on_page(request: Request, session: SessionDep, who: Worker,
                     selected: TaskIds = [],  # noqa: B006
                     to: Annotated[str, Form(max_length=64)] = "", reason: Annotated[str, Form(max_length=1000)] = "",
                     next: Annotated[str, Form()] = "/queue"):
    queue, wanted = _back(request, next)
    errors = {}
    if not selected:
        errors["selected"] = _("Tick the tasks to reassign.")
    if not to:
        errors["to"] = _("Choose the colleague who takes the tasks.")
    if len(reason.strip()) < 2:
        errors["reason"] = _("Say why the task is given to someone else (at least 2 characters).")
    if errors:
        return _render(request, session, who, queue, wanted, errors=errors, status=422)
    return _each(request, session, who, selected, next,
                 lambda t: tasks.reassign(session, t, who, to=to, reason=reason))


@router.post("/queue/filters")
def save_filter_on_page(request: Request, session: SessionDep, who: Worker,
                        name: Annotated[str, Form(max_length=100)] = "",
                        share_with_team: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/queue"):
    queue, wanted = _back(request, next)
    try:
        queues.save_filter(session, who, name=name, queue=queue, wanted=wanted, share_with_team=bool(share_with_team))
    except Invalid as exc:
        return _render(request, session, who, queue, wanted, errors={exc.detail.get("field", "name"): exc.message},
                       status=422)
    return RedirectResponse(_query(queue, wanted), status_code=303)


@router.post("/queue/filters/{filter_id}/delete")
def delete_filter_on_page(filter_id: str, session: SessionDep, who: Worker, next: Annotated[str, Form()] = "/queue"):
    queues.delete_filter(session, who, filter_id)
    return RedirectResponse(next if next.startswith("/queue") else "/queue", status_code=303)


@router.get("/team")
def team_view(request: Request, session: SessionDep, who: Worker) -> HTMLResponse:
    return _team_page(request, session, who)


def _team_page(request: Request, session, who: Principal, *, errors: dict[str, str] | None = None,
               values: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    mine = teams.teams_of(session, who.username)
    return _page(request, "team.html", status=status, who=who, teams=mine,
                 members=teams.members(session, [t.id for t in mine]), substitutes=teams.substitutes(session, who),
                 staff=teams.office_staff(session, who), errors=errors or {}, values=values or {},
                 may_set=who.has_any({"supervisor"}) or any(teams.leads(session, who.username, t.id) for t in mine))


@router.post("/team/substitutes")
def set_substitute_on_page(request: Request, session: SessionDep, who: Worker,
                           absent: Annotated[str, Form(max_length=64)] = "",
                           substitute: Annotated[str, Form(max_length=64)] = "",
                           starts_on: Annotated[str, Form(max_length=10)] = "",
                           ends_on: Annotated[str, Form(max_length=10)] = ""):
    values = {"absent": absent, "substitute": substitute, "starts_on": starts_on, "ends_on": ends_on}
    errors = {}
    days = {}
    for field in ("starts_on", "ends_on"):
        try:
            days[field] = date.fromisoformat(values[field])
        except ValueError:
            errors[field] = _("Enter a date as YYYY-MM-DD.")
    for field in ("absent", "substitute"):
        if not values[field]:
            errors[field] = _("Choose a staff member.")
    if not errors:
        try:
            teams.set_substitute(session, who, absent=absent, substitute=substitute, **days)
            return RedirectResponse("/team", status_code=303)
        except BokjiError as exc:
            if exc.status_code != 422:
                raise
            errors[exc.detail.get("field", "absent")] = exc.message
    return _team_page(request, session, who, errors=errors, values=values, status=422)


@router.post("/team/substitutes/{substitute_id}/end")
def end_substitute_on_page(substitute_id: str, session: SessionDep, who: Worker):
    teams.end_substitute(session, who, substitute_id)
    return RedirectResponse("/team", status_code=303)
