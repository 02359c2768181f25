"""The FastAPI application: routers, pages, static bundles and the error contract.

Errors are JSON `{"error": <class>, "message": <what and why>, ...fields}`; a client never sees a
stack trace. Domain errors carry their status; a database outage is a 503.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from http import HTTPStatus
from http.cookies import SimpleCookie

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from api import pages, pages_case, pages_intake, pages_monitor, pages_queue
from api.deps import NotAuthenticated
from api.inputs import BodyLimit, refuse_control_characters
from api.observability import RequestMetrics
from api.routes import (
    applications,
    auth,
    calendar,
    casefiles,
    definitions,
    evidence,
    health,
    instances,
    metrics,
    monitor,
    operations,
    queues,
    registry,
    screening,
    tasks,
    users,
)
from api.security import SecurityHeaders, error_headers
from bokji import i18n, logs
from bokji.config import ROOT, get_settings
from bokji.db import unit_of_work
from bokji.errors import BokjiError, Invalid, NotFound, TooManyAttempts, field_path
from bokji.i18n import gettext as _
from bokji.steps.service import deploy_directory
from processes.evaluator import warm_sandbox

log = logging.getLogger("bokji.api")

# Browser bundles shipped by npm (npm ci --ignore-scripts), served as they are.
STATIC_BUNDLES = {
    "fonts": "@fontsource/noto-sans-kr",  # the Korean webfont, served with the pages (no font needed on the PC)
    "bpmn-js": "bpmn-js/dist",
    "dmn-js": "dmn-js/dist",
    "form-js": "@bpmn-io/form-js/dist",
    "htmx": "htmx.org/dist",
    "echarts": "echarts/dist",  # the dashboard's charts (full build: it has the heatmap)
}


def _deploy_library() -> None:
    settings = get_settings()
    with unit_of_work() as session:
        result = deploy_directory(session, settings.bpmn_dir)
    if result is not None:
        log.info("process library: %s", "deployed" if result.created else "unchanged")


@asynccontextmanager
async def lifespan(app: FastAPI):
    warm_sandbox(2)
    if get_settings().deploy_on_start:
        try:
            _deploy_library()
        except OperationalError as exc:  # the database may come later; /ready says so meanwhile
            log.warning("process library not deployed at start-up: %s", exc)
    yield


ROUTERS = (health.router, auth.router, calendar.router, definitions.router, instances.router, tasks.router,
           operations.router, metrics.router, screening.router, registry.router, evidence.router, applications.router,
           users.router,
           pages.router, pages_intake.router, pages_case.router, casefiles.router, queues.router, pages_queue.router,
           monitor.router, pages_monitor.router)


def create_app() -> FastAPI:
    logs.configure()  # the web server's own worker processes start here, not in bokji/cli.py
    settings = get_settings()
    app = FastAPI(title="bokji", version="0.1.0", lifespan=lifespan,
                  description="Welfare services as BPMN processes",
                  dependencies=[Depends(refuse_control_characters)])
    app.add_middleware(BodyLimit, request_bytes=settings.max_request_bytes, upload_bytes=settings.max_upload_bytes)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Language)
    app.add_middleware(RequestMetrics)  # outermost of ours: every request's id and latency, errors included
    node_modules = ROOT / "node_modules"
    for name, path in STATIC_BUNDLES.items():
        if (node_modules / path).is_dir():
            app.mount(f"/static/{name}", StaticFiles(directory=node_modules / path), name=name)
    # Our own stylesheet and scripts (no inline scripts: the CSP stays strict).
    app.mount("/static/bokji", StaticFiles(directory=settings.forms_dir / "static"), name="bokji")

    @app.exception_handler(BokjiError)
    def domain_error(request: Request, exc: BokjiError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        if _browser(request):
            if isinstance(exc, NotAuthenticated):
                return RedirectResponse("/login", status_code=303)
            if isinstance(exc, NotFound):  # the same words for unknown and out of scope: nothing leaks
                page = pages.message_page(request, _("It does not exist, or it is outside your scope."),
                                          status=404, kind=type(exc).__name__, detail=exc.message)
            else:
                page = pages.error_page(request, exc)
            page.headers.update(headers or {})
            return page
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": field_path(e["loc"]) or "body", "reason": e["msg"]}
            for e in exc.errors()
        ]
        message = _("Invalid request: %(errors)s") % {"errors": "; ".join(f"{e['field']}: {e['reason']}"
                                                                          for e in errors)}
        if _browser(request):
            return pages.message_page(request, message, status=422, kind="Invalid")
        return JSONResponse({"error": "Invalid", "title": _(Invalid.title), "message": message,
                             "field": errors[0]["field"] if errors else "body", "errors": errors}, status_code=422)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        # Starlette's own refusals (no such route, wrong method, a malformed multipart body) in the
        # same shape as every other error; a person in a browser gets the page.
        phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
        name = "".join(w.capitalize() for w in phrase.replace("-", " ").split())
        if _browser(request):
            text = _("There is no such page.") if exc.status_code == 404 else str(exc.detail)
            page = pages.message_page(request, text, status=exc.status_code, kind=name)
            page.headers.update(exc.headers or {})
            return page
        title = _(pages.ERROR_TITLES.get(exc.status_code, pages.ERROR_TITLES[400]))
        return JSONResponse({"error": name, "title": title, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(DBAPIError)
    def database_error(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            message = _("The database is unavailable; retry.")
            if _browser(request):
                page = pages.message_page(request, message, status=503, kind="Unavailable")
                page.headers.update({"Retry-After": "2", **error_headers()})
                return page
            return JSONResponse({"error": "Unavailable", "message": message}, status_code=503,
                                headers={"Retry-After": "2"})
        return _internal(request, exc)

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> Response:
        return _internal(request, exc)

    return app


def _browser(request: Request) -> bool:
    """A person in a browser (who gets a page), not an API client (who gets JSON)."""
    return "text/html" in request.headers.get("accept", "")


class Language:
    """The language of each request: the person's choice (the switch's cookie), else Korean for pages;
    an API client may ask for English with Accept-Language. Set in the request's context, where pages,
    validation messages, error titles and the rules' texts read it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            cookie = SimpleCookie(headers.get("cookie", "")).get(i18n.COOKIE)
            # A browser's own language does not count: the pages are Korean unless the person switches.
            page = "text/html" in headers.get("accept", "")
            accepted = "" if page else headers.get("accept-language", "").split(",")[0].split("-")[0].strip().lower()
            i18n.set_current(i18n.choose(cookie.value if cookie else None, accepted))
        await self.app(scope, receive, send)


def _internal(request: Request, exc: Exception) -> Response:
    """A fault of ours: logged under a reference the person can quote; never the exception itself. The unit of
    work has rolled back, so nothing the request asked for was changed."""
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s", incident, exc_info=exc)
    message = _("Internal error (reference %(reference)s).") % {"reference": incident}
    # Sent by Starlette's outermost middleware, outside SecurityHeaders: the headers are added here.
    if _browser(request):
        page = pages.message_page(request, message + " " + _("Nothing was changed; try again, or quote the reference "
                                                            "to the help desk."), status=500, kind="InternalError")
        page.headers.update(error_headers())
        return page
    return JSONResponse({"error": "InternalError", "message": message}, status_code=500, headers=error_headers())


app = create_app()
