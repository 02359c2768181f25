"""The case view (issue 14): the application and its cases, the case's timeline, its process diagram with
what ran marked, evidence with provenance, the decision with its trace, notices, notes and documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import SessionDep
from api.pages import Worker, _page
from api.routes.casefiles import case_for
from bokji.casefiles import service as casefiles
from bokji.db import unit_of_work
from bokji.errors import Invalid, NotFound
from bokji.identity.service import Principal
from bokji.scope import policy

router = APIRouter(include_in_schema=False)


def _case_page(request: Request, session, instance_id: str, who: Principal, *, status: int = 200,
               errors: dict[str, str] | None = None, note_text: str = "") -> HTMLResponse:
    instance = case_for(session, instance_id, who, policy.Grade.MASKED, "read_case")
    try:
        drawn = casefiles.diagram(session, instance)
    except NotFound:  # no BPMN file defines the key as a process (a collaboration's pools): the rest shows
        drawn = None
    return _page(request, "case.html", status, who=who, instance=instance,
                 timeline=casefiles.timeline(session, instance.id), diagram=drawn,
                 file=casefiles.case_file(session, instance, who), errors=errors or {}, note_text=note_text)


@router.get("/cases/{instance_id}")
def case_view(request: Request, instance_id: str, session: SessionDep, who: Worker) -> HTMLResponse:
    """The case file; reading it (the applicant, the evidence) is logged with the case as purpose."""
    return _case_page(request, session, instance_id, who)


@router.get("/cases/{instance_id}/diagram")
def case_module_diagram(request: Request, instance_id: str, session: SessionDep, who: Worker,
                        call: str = "") -> HTMLResponse:
    """A module the case called (`call`: the call activities' ids from the case's process down, joined by
    "/"), drawn with what ran inside that call."""
    instance = case_for(session, instance_id, who, policy.Grade.AGGREGATE, "read_case")
    drawn = casefiles.diagram(session, instance, call[:1000])
    return _page(request, "case_diagram.html", who=who, instance=instance, diagram=drawn)


@router.post("/cases/{instance_id}/notes")
def add_note(request: Request, instance_id: str, who: Worker, text: Annotated[str, Form(max_length=8000)] = ""):
    """The note form of the case page: back to the page's notes, or the page with the error beside the field."""
    try:
        with unit_of_work() as session:
            instance = case_for(session, instance_id, who, policy.Grade.CHANGE, "add_case_note")
            casefiles.add_note(session, instance.id, author=who.username, text=text)
    except Invalid as exc:
        with unit_of_work() as session:
            return _case_page(request, session, instance_id, who, status=422, errors={"text": exc.message},
                              note_text=text)
    return RedirectResponse(f"/cases/{instance.id}#case-notes", status_code=303)


@router.post("/cases/{instance_id}/documents")
def add_document(request: Request, instance_id: str, who: Worker, file: Annotated[UploadFile, File()]):
    """The upload form of the case page (the same checks as POST /instances/{id}/documents)."""
    try:
        with unit_of_work() as session:
            instance = case_for(session, instance_id, who, policy.Grade.CHANGE, "add_case_document")
            casefiles.add_document(session, instance.id, filename=file.filename or "",
                                   content=file.file.read(casefiles.MAX_DOCUMENT + 1), uploaded_by=who.username)
    except Invalid as exc:
        with unit_of_work() as session:
            return _case_page(request, session, instance_id, who, status=422, errors={"file": exc.message})
    return RedirectResponse(f"/cases/{instance.id}#case-documents", status_code=303)
