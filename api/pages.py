"""Server-rendered pages (Jinja2): sign-in, the frame, processes and diagrams, the notice, and the generic
task form (the work queue is api/pages_queue.py).

Pages reuse the same services and the same server-side form validation as the JSON API. The
session token sits in an HttpOnly, SameSite=Strict cookie; on top of that every form carries a CSRF
token and every page's scripts a CSP nonce (api/security.py).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import CASEWORK, STAFF, TOKEN_COOKIE, BadCredentials, Purpose, SessionDep, requires
from api.routes.auth import sign_in
from api.security import LOGIN_CSRF_COOKIE, client_address, csp_nonce, csrf_token, login_csrf_binding, verify_csrf
from bokji import i18n
from bokji.applications import summary
from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.definitions import service as definitions
from bokji.errors import BokjiError, Conflict, Forbidden, Invalid, TooManyAttempts
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity import service as identity
from bokji.identity.roles import ALL_ROLES
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.notices import service as notices
from bokji.offices.models import Office
from bokji.steps import service as steps
from bokji.tasks import service as tasks
from bokji.tasks.models import TaskStatus
from forms import labels
from forms.schema import CSRF_FIELD, FormDefinition, render_form, template_environment

_env = template_environment

router = APIRouter(include_in_schema=False)
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]
Reader = Annotated[Principal, Depends(requires(*STAFF))]
Anyone = Annotated[Principal, Depends(requires(*ALL_ROLES))]
MONITORING = {"manager", "ministry_officer", "admin"}  # the dashboard's readers (api/pages_monitor.py)

@lru_cache(maxsize=1024)  # reference data: a renamed office shows its new name after a restart
def _office_name(code: str) -> str:
    with unit_of_work() as session:
        office = session.get(Office, code)
        return office.name if office is not None else code


def _menu(who: Principal | None, path: str) -> list[dict[str, object]]:
    """The pages a person's roles open, in one order (the frame's menu)."""
    if who is None:
        return []
    items = []
    if who.has_any({r.value for r in CASEWORK}):
        items.append(("/queue", _("Work queue")))
        items.append(("/intake", _("Intake")))
        items.append(("/team", _("Team")))
    if who.has_any(MONITORING):
        items.append(("/monitor", _("Dashboard")))
    if who.has_any({r.value for r in STAFF}):
        items.append(("/processes", _("Processes")))
    return [{"href": href, "label": label, "current": path == href} for href, label in items]


def frame(request: Request, who: Principal | None) -> dict[str, object]:
    """What every page's frame shows: who is signed in and their office, their menu, the language
    switch; the nonce its scripts need and (signed in) the CSRF token its forms and htmx requests send."""
    return {"who": who, **labels.language_switch(),
            "menu": _menu(who, request.url.path), "current_path": request.url.path,
            "office_name": _office_name(who.office) if who and who.office else None,
            "csp_nonce": csp_nonce(request), "csrf_token": csrf_token(who.token_id) if who and who.token_id else None}


def _page(request: Request, name: str, status: int = 200, *, who: Principal | None = None, **context) -> HTMLResponse:
    return HTMLResponse(_env().get_template(name).render(**frame(request, who), **context), status_code=status)


def viewer(request: Request) -> Principal | None:
    """The person signed in with this browser, if any (an error page still shows the frame)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    try:
        with unit_of_work() as session:
            return identity.principal_from_token(session, token)
    except SQLAlchemyError:  # the database may be what failed: the page then shows no one
        return None


# The titles of the refusals that are not our own errors (the router's, the body limit's), by status.
ERROR_TITLES = {400: N_("This cannot be done"), 401: N_("Sign in first"), 403: N_("Not allowed"),
                404: N_("Not found"), 405: N_("This cannot be done"), 409: N_("Already changed"),
                413: N_("Too large"), 422: N_("Check what you entered"), 429: N_("Too many attempts"),
                500: N_("Something went wrong on our side"), 503: N_("Unavailable for now")}


def message_page(request: Request, message: str, *, status: int, title: str | None = None,
                 kind: str | None = None, detail: str | None = None) -> HTMLResponse:
    """An error or message as a page in the frame (browsers; the API answers JSON); `detail` names what
    was asked for (an id, a field)."""
    return _page(request, "message.html", status=status, who=viewer(request), kind=kind, message=message,
                 detail=detail, title=title or _(ERROR_TITLES.get(status, ERROR_TITLES[400])))


def error_page(request: Request, exc: BokjiError) -> HTMLResponse:
    return message_page(request, exc.message, status=exc.status_code, title=_(exc.title), kind=type(exc).__name__)


def _login_page(request: Request, *, status: int = 200, error: str | None = None, username: str = "") -> HTMLResponse:
    # The sign-in form's CSRF token, before any session: a signed double-submit cookie. A new random
    # value per form shown; the form carries its HMAC, which another site can neither read nor make.
    nonce = secrets.token_urlsafe(24)
    page = _page(request, "login.html", status=status, error=error, username=username,
                 login_csrf=csrf_token(login_csrf_binding(nonce)))
    page.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=not get_settings().demo,
                    path="/login", max_age=3600)
    return page


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]):
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    try:
        if not nonce:
            raise Forbidden(_("Missing or wrong CSRF token."), field="csrf_token")
        await verify_csrf(request, csrf_token(login_csrf_binding(nonce)))
        token = await run_in_threadpool(sign_in, username, password, client_address(request))
    except Forbidden:
        return _login_page(request, status=403, username=username,
                           error=_("The page expired or came from elsewhere: sign in again."))
    except (BadCredentials, TooManyAttempts) as exc:
        page = _login_page(request, status=exc.status_code, error=exc.message, username=username)
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                        secure=not get_settings().demo, max_age=get_settings().token_minutes * 60)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    preferred = await run_in_threadpool(_preferred_language, username)
    if preferred:  # the person's own choice follows them to any browser
        _language_cookie(response, preferred)
    return response


def _preferred_language(username: str) -> str | None:
    with unit_of_work() as session:
        user = identity.get_user(session, username)
        return user.locale if user is not None else None


def _language_cookie(response: HTMLResponse | RedirectResponse, lang: str) -> None:
    response.set_cookie(i18n.COOKIE, lang, samesite="lax", secure=not get_settings().demo, max_age=365 * 86400)


@router.post("/language")
def switch_language(request: Request, lang: Annotated[str, Form()], next: Annotated[str, Form()] = "/"):
    """Korean or English, for this browser and (signed in) as the person's preference."""
    chosen = i18n.choose(lang)
    who = viewer(request)
    if who is not None:
        with unit_of_work() as session:
            identity.set_locale(session, who.username, chosen)
    # Only a path of ours: never an open redirect to another site.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    _language_cookie(response, chosen)
    return response


@router.get("/logout")
def logout_page(request: Request, who: Anyone) -> HTMLResponse:
    """Signing out changes state, so it is a POST (with the CSRF token); this page only offers the button."""
    return _page(request, "logout.html", who=who)


@router.post("/logout")
def logout(session: SessionDep, who: Anyone) -> RedirectResponse:
    """Revoke the session's token (the CSRF check ran in `requires`) and drop the cookie."""
    identity.revoke_token(session, who)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/")
def home(request: Request, session: SessionDep, who: Anyone):
    """Caseworkers land on their task queue; managers, ministry officers and administrators on the dashboard;
    designers and auditors on the processes; an integration system's account has no pages and is told so."""
    if who.has_any({r.value for r in CASEWORK}):
        return RedirectResponse("/queue", status_code=303)
    if who.has_any(MONITORING):
        return RedirectResponse("/monitor", status_code=303)
    if who.has_any({r.value for r in STAFF}):
        return RedirectResponse("/processes", status_code=303)
    return _page(request, "message.html", status=403, who=who, title=_("No pages for this account"),
                 message=_("This account is for another system; it uses the API, not these pages."))


@router.get("/processes")
def processes(request: Request, session: SessionDep, who: Reader) -> HTMLResponse:
    """The deployed processes (latest versions), each linking to its diagram."""
    found = [d for d in definitions.list_definitions(session) if d.kind in ("process", "collaboration")]
    return _page(request, "processes.html", who=who, definitions=found)


@router.get("/definitions/{key}/diagram")
def process_diagram(request: Request, key: str, session: SessionDep, who: Reader,
                    version: int | None = None) -> HTMLResponse:
    """The deployed process drawn with bpmn-js, with links to the modules it calls."""
    return _page(request, "diagram.html", who=who, diagram=definitions.diagram(session, key, version))


@router.get("/notices/{notice_id}")
def decision_notice(request: Request, notice_id: str, session: SessionDep, who: Worker,
                    purpose: Purpose = "notice_printing") -> HTMLResponse:
    """The decision notice as issued, laid out for printing (결정통지서)."""
    doc = notices.printable(session, notice_id, who=who, purpose=purpose)
    return _page(request, "notice.html", who=who, doc=doc)


@router.get("/tasks/{task_id}/form")
def task_form(request: Request, task_id: str, session: SessionDep, who: Worker) -> HTMLResponse:
    """The task's form beside its case: first its state (returned, claimed by someone else, 맡기), then the
    fields, filled with my draft if I saved one (the page saves it as I type)."""
    task = tasks.get(session, task_id, who)
    form = tasks.form_definition(session, task)
    if task.status != TaskStatus.OPEN:
        return _page(request, "message.html", status=409, title=labels.model_text(task.name), who=who, kind="Conflict",
                     message=_("This task has already been dealt with.") + " " + tasks.current_state(task, session),
                     links=_links(session, task, who))
    draft = tasks.get_draft(session, task.id, who)
    values = draft.data if draft else None
    if values is None and task.returned_reason:  # sent back: start from what was decided last time
        earlier = tasks.previous_completion(session, task, task.element_id)
        values = dict(earlier.submission or {}) if earlier is not None else None
    case = summary.for_task(session, task, who)
    extra = {**_task_page(session, task, who), "draft_at": draft.updated_at if draft else None}
    return HTMLResponse(_render(request, task, form, who, values=values, errors=None, case=case, extra=extra))


@router.post("/tasks/{task_id}/form/claim")
def claim_task(task_id: str, session: SessionDep, who: Worker) -> RedirectResponse:
    """맡기: take the task from its form page (409 as a page if someone else was quicker)."""
    task = tasks.claim(session, task_id, who)
    return RedirectResponse(f"/tasks/{task.id}/form", status_code=303)


@router.post("/tasks/{task_id}/form")
async def submit_task_form(task_id: str, request: Request, who: Worker) -> HTMLResponse:
    submitted = await request.form()
    data = {k: (v if len(vs := submitted.getlist(k)) == 1 else vs) for k, v in submitted.items()
            if k != CSRF_FIELD}  # checked by `requires` already; not the task's data
    # The form is read asynchronously; the database work runs in the thread pool like `def` routes.
    return await run_in_threadpool(_submit, request, task_id, data, who)


def _submit(request: Request, task_id: str, data: dict, who: Principal):
    # Our own unit of work: a failed validation must roll back, yet still render the page.
    try:
        with unit_of_work() as session:
            task = steps.complete_task(session, task_id, data, who)
            name = task.name
            stopped = [i.element_name or i.element_id
                       for i in instances.open_incidents(session, instance_id=task.instance_id)]
            links = _links(session, task, who)
    except Invalid as exc:
        with unit_of_work() as session:
            task = tasks.get(session, task_id, who)
            form = tasks.form_definition(session, task)
            errors = {e["field"]: e["reason"] for e in exc.detail.get("errors", [])}
            case = summary.for_task(session, task, who)
            return HTMLResponse(_render(request, task, form, who, values=data, errors=errors, case=case,
                                        extra=_task_page(session, task, who)), status_code=422)
    except Conflict as exc:
        return _conflict(request, task_id, data, who, exc)
    message = _("Done.")
    if stopped:
        message += " " + _("The next automatic step (%(steps)s) stopped and is with an operator.") % {
            "steps": ", ".join(stopped)}
    return _page(request, "message.html", title=labels.model_text(name), message=message, done=True, who=who,
                 links=links)


def _conflict(request: Request, task_id: str, data: dict, who: Principal, exc: Conflict) -> HTMLResponse:
    """Someone else completed, claimed or cancelled the task since this form was opened (or won the race
    to complete it): the form again, 409, saying who did what and when, with what this person typed still
    in the fields and kept as their draft. Nothing advanced."""
    with unit_of_work() as session:
        task = tasks.get(session, task_id, who)
        form = tasks.form_definition(session, task)
        known = {c.key for c in form.fields} if form is not None else set()
        typed = {k: v for k, v in data.items() if k in known}
        if typed:
            tasks.store_draft(session, task, who, typed)
        state = tasks.current_state(task, session) if task.status != TaskStatus.OPEN or (
            task.assignee and task.assignee != who.username) else exc.message
        extra = _task_page(session, task, who, conflict={"message": state, "status": task.status})
        case = summary.for_task(session, task, who) if task.status == TaskStatus.OPEN else None
        return HTMLResponse(_render(request, task, form, who, values=data, errors=None, case=case, extra=extra),
                            status_code=409)


def _task_page(session, task, who: Principal, *, conflict: dict | None = None) -> dict:
    """The task's state the form page shows above its fields (forms/templates/form.html `task_page`)."""
    is_open = task.status == TaskStatus.OPEN
    by_other = bool(is_open and task.assignee and task.assignee != who.username)
    returned = {"reason": task.returned_reason, "who": tasks.display_name(session, task.returned_by),
                "when": task.created_at} if task.returned_reason else None
    return {
        "draft_url": f"/tasks/{task.id}/draft", "case_url": f"/cases/{task.instance_id}",
        "claim": {"action": f"/tasks/{task.id}/form/claim", "open": not task.assignee,
                  "mine": task.assignee == who.username, "by_other": by_other,
                  "who": tasks.display_name(session, task.assignee), "when": task.claimed_at} if is_open else None,
        "returned": returned, "conflict": conflict,
        "readonly": by_other or not is_open,
    }


def _links(session, task, who: Principal) -> list[dict[str, str]]:
    """Where to go after a task: the case's next task this person may work on (if any) and the case (the
    page's own last link goes back to the queue)."""
    links = []
    following = tasks.next_for(session, task.instance_id, who)
    if following is not None:
        links.append({"id": "next-task", "href": f"/tasks/{following.id}/form",
                      "label": _("Next task of this case: %(task)s") % {
                          "task": labels.model_text(following.name) or following.element_id}})
    links.append({"id": "case-link", "href": f"/cases/{task.instance_id}", "label": _("Open the case")})
    return links


def _render(request: Request, task, form, who: Principal, *, values, errors, case=None, extra=None) -> str:
    if form is None:
        form = FormDefinition.from_dict({"id": "confirm", "components": [
            {"type": "text", "text": N_("Complete this task.")}]})
    return render_form(form, action=f"/tasks/{task.id}/form", values=values, errors=errors,
                       title=task.name or task.element_id, case=case, frame=frame(request, who),
                       csrf_token=csrf_token(who.token_id) if who.token_id else None,
                       amount_period=case.amount_period if case is not None else None, extra=extra)
