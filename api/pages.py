"""Server-rendered pages (Jinja2): sign-in, my task queue, and the generic task form.

Pages reuse the same services and the same server-side form validation as the JSON API. The
session token sits in an HttpOnly, SameSite=Strict cookie, so other sites cannot post forms with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import CASEWORK, READERS, TOKEN_COOKIE, Purpose, R, SessionDep, requires
from bokji.applications import summary
from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.definitions import service as definitions
from bokji.errors import Conflict, Invalid
from bokji.identity import service as identity
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.notices import service as notices
from bokji.steps import service as steps
from bokji.tasks import service as tasks
from bokji.tasks.models import TaskStatus
from forms.schema import FormDefinition, render_form

router = APIRouter(include_in_schema=False)
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]
Reader = Annotated[Principal, Depends(requires(*READERS, R.DESIGNER))]

_env = Environment(
    loader=FileSystemLoader(str(get_settings().forms_dir / "templates")),
    autoescape=select_autoescape(["html"]),
)


def _page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def message_page(message: str, *, status: int, title: str = "처리할 수 없습니다 (cannot do this)") -> HTMLResponse:
    return _page("message.html", status=status, title=title, message=message)


@router.get("/login")
def login_page(error: str | None = None) -> HTMLResponse:
    return _page("login.html", error=error)


@router.post("/login")
def login(session: SessionDep, username: Annotated[str, Form()], password: Annotated[str, Form()]):
    user = identity.authenticate(session, username, password)
    if user is None:
        return _page("login.html", status=401, error="아이디 또는 비밀번호가 틀립니다 (wrong username or password)")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, identity.issue_token(user), httponly=True, samesite="strict",
                        secure=not get_settings().demo, max_age=get_settings().token_minutes * 60)
    return response


@router.get("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/")
def home(session: SessionDep, who: Reader):
    """Caseworkers land on their task queue; designers, managers and auditors on the processes."""
    if not who.has_any({r.value for r in CASEWORK}):
        return RedirectResponse("/processes", status_code=303)
    return _page("tasks.html", who=who, tasks=tasks.list_for(session, who))


@router.get("/processes")
def processes(session: SessionDep, who: Reader) -> HTMLResponse:
    """The deployed processes (latest versions), each linking to its diagram."""
    found = [d for d in definitions.list_definitions(session) if d.kind in ("process", "collaboration")]
    return _page("processes.html", who=who, definitions=found)


@router.get("/definitions/{key}/diagram")
def process_diagram(key: str, session: SessionDep, who: Reader, version: int | None = None) -> HTMLResponse:
    """The deployed process drawn with bpmn-js, with links to the modules it calls."""
    return _page("diagram.html", who=who, diagram=definitions.diagram(session, key, version))


@router.get("/notices/{notice_id}")
def decision_notice(notice_id: str, session: SessionDep, who: Worker,
                    purpose: Purpose = "notice_printing") -> HTMLResponse:
    """The decision notice as issued, laid out for printing (결정통지서)."""
    return _page("notice.html", who=who, doc=notices.printable(session, notice_id, who=who, purpose=purpose))


@router.get("/tasks/{task_id}/form")
def task_form(task_id: str, session: SessionDep, who: Worker) -> HTMLResponse:
    task = tasks.get(session, task_id, who)
    form = tasks.form_definition(session, task)
    if task.status != TaskStatus.OPEN:
        return _page("message.html", status=409, title=task.name,
                     message=f"이 업무는 이미 처리되었습니다 (already {task.status})")
    return HTMLResponse(_render(task, form, who, values=None, errors=None,
                                case=summary.for_task(session, task, who)))


@router.post("/tasks/{task_id}/form")
async def submit_task_form(task_id: str, request: Request, who: Worker) -> HTMLResponse:
    submitted = await request.form()
    data = {k: (v if len(vs := submitted.getlist(k)) == 1 else vs) for k, v in submitted.items()}
    # The form is read asynchronously; the database work runs in the thread pool like `def` routes.
    return await run_in_threadpool(_submit, task_id, data, who)


def _submit(task_id: str, data: dict, who: Principal):
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
        return _page("message.html", status=409, title="처리 불가 (conflict)", message=exc.message)
    message = "처리되었습니다 (completed)"
    if stopped:
        message += (f" — 다음 자동 단계('{', '.join(stopped)}')가 멈춰 운영자에게 넘어갔습니다 "
                    "(the next automatic step stopped and is with an operator)")
    return _page("message.html", title=name, message=message, done=True)


def _render(task, form, who: Principal, *, values, errors, case=None) -> str:
    if form is None:
        form = FormDefinition.from_dict({"id": "confirm", "components": [
            {"type": "text", "text": "이 업무를 완료합니다 (complete this task)"}]})
    return render_form(form, action=f"/tasks/{task.id}/form", values=values, errors=errors,
                       title=task.name or task.element_id, case=case, who=who)
