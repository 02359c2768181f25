"""A case's notes and documents (issue 14, case view): written by the caseworkers working on the case, under
the scope policy (another office's case is answered 404); every read of a document is logged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import CASEWORK, Id, PurposeText, SessionDep, requires
from bokji.casefiles import service as casefiles
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.privacy import purposes
from bokji.scope import policy

router = APIRouter(prefix="/instances", tags=["case file"])
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=casefiles.MAX_NOTE)


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    created_at: datetime


class DocumentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


def case_for(session, instance_id, who: Principal, need: policy.Grade, action: str):
    """The case if `who` may, at `need` (404 otherwise), the read logged with the case as its purpose."""
    instance = instances.get(session, instance_id)
    return instances.get_for(session, instance_id, who, need, action=action,
                             purpose=purposes.of_case(instance.business_key, instance.id))


@router.post("/{instance_id}/notes", status_code=201, response_model=NoteOut)
def add_note(instance_id: Id, body: NoteIn, session: SessionDep, who: Worker) -> NoteOut:
    instance = case_for(session, instance_id, who, policy.Grade.CHANGE, "add_case_note")
    note = casefiles.add_note(session, instance.id, author=who.username, text=body.text)
    return NoteOut.model_validate(note, from_attributes=True)


@router.get("/{instance_id}/notes", response_model=list[NoteOut])
def list_notes(instance_id: Id, session: SessionDep, who: Worker) -> list[NoteOut]:
    """Newest first (notes may name people: the read is logged)."""
    instance = case_for(session, instance_id, who, policy.Grade.MASKED, "read_case_notes")
    return [NoteOut.model_validate(n, from_attributes=True) for n in casefiles.notes(session, instance.id)]


@router.post("/{instance_id}/documents", status_code=201, response_model=DocumentOut)
def add_document(instance_id: Id, session: SessionDep, who: Worker,
                 file: Annotated[UploadFile, File(description="a PDF, PNG or JPEG of at most 10 MB")]) -> DocumentOut:
    """Stored with its SHA-256; the type is read from the content, and must agree with the name."""
    instance = case_for(session, instance_id, who, policy.Grade.CHANGE, "add_case_document")
    content = file.file.read(casefiles.MAX_DOCUMENT + 1)
    document = casefiles.add_document(session, instance.id, filename=file.filename or "", content=content,
                                      uploaded_by=who.username)
    return DocumentOut.model_validate(document, from_attributes=True)


@router.get("/{instance_id}/documents", response_model=list[DocumentOut])
def list_documents(instance_id: Id, session: SessionDep, who: Worker) -> list[DocumentOut]:
    instance = case_for(session, instance_id, who, policy.Grade.MASKED, "read_case_documents")
    return [DocumentOut.model_validate(d, from_attributes=True) for d in casefiles.documents(session, instance.id)]


@router.get("/{instance_id}/documents/{document_id}")
def download_document(instance_id: Id, document_id: Id, session: SessionDep, who: Worker,
                      purpose: PurposeText | None = None) -> Response:
    """The file as uploaded. Every read is logged with a purpose: the one given, else the case."""
    instance = instances.get(session, instance_id)
    instance = instances.get_for(session, instance_id, who, policy.Grade.FULL, action="read_case_document",
                                 purpose=purpose or purposes.of_case(instance.business_key, instance.id))
    document = casefiles.document(session, instance.id, document_id)
    ascii_name = document.filename.encode("ascii", "replace").decode().replace('"', "_")
    quoted = quote(document.filename, safe="")
    return Response(document.content, media_type=document.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "X-Checksum-SHA256": document.sha256})
