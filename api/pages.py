"""Server-rendered pages (Jinja2): sign-in, my task queue, and the generic task form.

Pages reuse the same services and the same server-side form validation as the JSON API. The
session token sits in an HttpOnly, SameSite=Strict cookie; on top of that every form carries a CSRF
token and every page's scripts a CSP nonce (api/security.py).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import CASEWORK, STAFF, TOKEN_COOKIE, BadCredentials, Purpose, SessionDep, requires
from api.routes.auth import sign_in
from api.security import LOGIN_CSRF_COOKIE, client_address, csp_nonce, csrf_token, login_csrf_binding, verify_csrf
from bokji.applications import summary
from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.definitions import service as definitions
from bokji.errors import Conflict, Forbidden, Invalid, TooManyAttempts
from bokji.identity import service as identity
from bokji.identity.roles import ALL_ROLES
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.notices import service as notices
from bokji.steps import service as steps
from bokji.tasks import service as tasks
from bokji.tasks.models import TaskStatus
from forms.schema import CSRF_FIELD, FormDefinition, render_form

router = APIRouter(include_in_schema=False)
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]
Reader = Annotated[Principal, Depends(requires(*STAFF))]
Anyone = Annotated[Principal, Depends(requires(*ALL_ROLES))]

_env = Environment(
    loader=FileSystemLoader(str(get_settings().forms_dir / "templates")),
    autoescape=select_autoescape(["html"]),
)


def _page(request: Request, name: str, status: int = 200, *, who: Principal | None = None, **context) -> HTMLResponse:
    # Every page: the nonce its <script> elements need, and (signed in) the CSRF token its forms and
    # htmx requests send.
    token = csrf_token(who.token_id) if who and who.token_id else None
    return HTMLResponse(_env.get_template(name).render(csp_nonce=csp_nonce(request), csrf_token=token, who=who,
                                                       **context), status_code=status)


def message_page(request: Request, message: str, *, status: int,
                 title: str = "처리할 수 없습니다 (cannot do this)") -> HTMLResponse:
    return _page(request, "message.html", status=status, title=title, message=message)


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
            raise Forbidden("missing or wrong CSRF token", field="csrf_token")
        await verify_csrf(request, csrf_token(login_csrf_binding(nonce)))
        token = await run_in_threadpool(sign_in, username, password, client_address(request))
    except Forbidden:
        return _login_page(request, status=403, username=username,
                           error="페이지가 만료되었습니다. 다시 로그인해 주세요 "
                                 "(the page expired or came from elsewhere: sign in again)")
    except (BadCredentials, TooManyAttempts) as exc:
        page = _login_page(request, status=exc.status_code, error=exc.message, username=username)
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                        secure=not get_settings().demo, max_age=get_settings().token_minutes * 60)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
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
def home(request: Request, session: SessionDep, who: Reader):
    """Caseworkers land on their task queue; designers, managers and auditors on the processes."""
    if not who.has_any({r.value for r in CASEWORK}):
        return RedirectResponse("/processes", status_code=303)
    return _page(request, "tasks.html", who=who, tasks=tasks.list_for(session, who))


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
    task = tasks.get(session, task_id, who)
    form = tasks.form_definition(session, task)
    if task.status != TaskStatus.OPEN:
        return _page(request, "message.html", status=409, title=task.name, who=who,
                     message=f"이 업무는 이미 처리되었습니다 (already {task.status})")
    return HTMLResponse(_render(task, form, who, values=None, errors=None,
                                case=summary.for_task(session, task, who)))


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
    except Invalid as exc:
        with unit_of_work() as session:
            task = tasks.get(session, task_id, who)
            form = tasks.form_definition(session, task)
            errors = {e["field"]: e["reason"] for e in exc.detail.get("errors", [])}
            case = summary.for_task(session, task, who)
            return HTMLResponse(_render(task, form, who, values=data, errors=errors, case=case), status_code=422)
    except Conflict as exc:
        return _page(request, "message.html", status=409, title="처리 불가 (conflict)", message=exc.message, who=who)
    message = "처리되었습니다 (completed)"
    if stopped:
        message += (f" — 다음 자동 단계('{', '.join(stopped)}')가 멈춰 운영자에게 넘어갔습니다 "
                    "(the next automatic step stopped and is with an operator)")
    return _page(request, "message.html", title=name, message=message, done=True, who=who)


def _render(task, form, who: Principal, *, values, errors, case=None) -> str:
    if form is None:
        form = FormDefinition.from_dict({"id": "confirm", "components": [
            {"type": "text", "text": "이 업무를 완료합니다 (complete this task)"}]})
    return render_form(form, action=f"/tasks/{task.id}/form", values=values, errors=errors,
                       title=task.name or task.element_id, case=case, who=who,
                       csrf_token=csrf_token(who.token_id) if who.token_id else None)
