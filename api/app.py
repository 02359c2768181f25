"""The FastAPI application: routers, pages, static bundles and the error contract.

Errors are JSON `{"error": <class>, "message": <what and why>, ...fields}`; a client never sees a
stack trace. Domain errors carry their status; a database outage is a 503.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from api import pages
from api.deps import NotAuthenticated
from api.inputs import BodyLimit, refuse_control_characters
from api.routes import (
    applications,
    auth,
    definitions,
    evidence,
    health,
    instances,
    operations,
    registry,
    screening,
    tasks,
    users,
)
from api.security import SecurityHeaders, error_headers
from bokji.config import ROOT, get_settings
from bokji.db import unit_of_work
from bokji.errors import BokjiError, NotFound, TooManyAttempts, field_path
from bokji.steps.service import deploy_directory
from processes.evaluator import warm_sandbox

log = logging.getLogger("bokji.api")

# Browser bundles shipped by npm (npm ci --ignore-scripts), served as they are.
STATIC_BUNDLES = {
    "bpmn-js": "bpmn-js/dist",
    "dmn-js": "dmn-js/dist",
    "form-js": "@bpmn-io/form-js/dist",
    "htmx": "htmx.org/dist",
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


ROUTERS = (health.router, auth.router, definitions.router, instances.router, tasks.router, operations.router,
           screening.router, registry.router, evidence.router, applications.router, users.router, pages.router)


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(title="bokji", version="0.1.0", lifespan=lifespan,
                  description="Welfare services as BPMN processes",
                  dependencies=[Depends(refuse_control_characters)])
    app.add_middleware(BodyLimit, request_bytes=settings.max_request_bytes, upload_bytes=settings.max_upload_bytes)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(SecurityHeaders)
    node_modules = ROOT / "node_modules"
    for name, path in STATIC_BUNDLES.items():
        if (node_modules / path).is_dir():
            app.mount(f"/static/{name}", StaticFiles(directory=node_modules / path), name=name)

    @app.exception_handler(BokjiError)
    def domain_error(request: Request, exc: BokjiError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        if "text/html" in request.headers.get("accept", ""):  # a person in a browser, not an API client
            if isinstance(exc, NotAuthenticated):
                return RedirectResponse("/login", status_code=303)
            if isinstance(exc, NotFound):  # the same words for unknown and out of scope: nothing leaks
                page = pages.message_page(
                    request, f"없거나 조회 범위 밖입니다 (does not exist or is not in your scope): {exc.message}",
                    status=404, title="찾을 수 없습니다 (not found)")
            else:
                page = pages.message_page(request, exc.message, status=exc.status_code)
            page.headers.update(headers or {})
            return page
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": field_path(e["loc"]) or "body", "reason": e["msg"]}
            for e in exc.errors()
        ]
        message = "invalid request: " + "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return JSONResponse({"error": "Invalid", "message": message, "field": errors[0]["field"] if errors else "body",
                             "errors": errors}, status_code=422)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own refusals (no such route, wrong method, a malformed multipart body) in the
        # same shape as every other error.
        phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
        name = "".join(w.capitalize() for w in phrase.replace("-", " ").split())
        return JSONResponse({"error": name, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(DBAPIError)
    def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return JSONResponse({"error": "Unavailable", "message": "the database is unavailable; retry"},
                                status_code=503, headers={"Retry-After": "2"})
        return _internal(exc)

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal(exc)

    return app


def _internal(exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s", incident, exc_info=exc)
    # Sent by Starlette's outermost middleware, outside SecurityHeaders: the headers are added here.
    return JSONResponse({"error": "InternalError", "message": f"internal error (reference {incident})"},
                        status_code=500, headers=error_headers())


app = create_app()
