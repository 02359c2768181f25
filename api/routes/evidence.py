"""A case's evidence: what it used, where each fact came from, and documents added by caseworkers."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel

from api.deps import CASEWORK, Id, Purpose, SessionDep, requires
from bokji import words
from bokji.errors import Conflict, Invalid
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.instances import service as instances
from bokji.instances.models import InstanceStatus
from bokji.linkage import service as evidence
from bokji.privacy import access_log
from bokji.scope import policy

router = APIRouter(prefix="/instances", tags=["evidence"])
MAX_DOCUMENT = 10 * 1024 * 1024


class EvidenceOut(BaseModel):
    id: str
    person_id: str
    data_type: str
    value: dict[str, Any]
    reference_period: str
    source: str
    source_agency: str | None
    request_id: str
    retrieved_at: datetime
    legal_basis: str
    asked_by_case: str | None
    used_in: list[str]


@router.get("/{instance_id}/evidence", response_model=list[EvidenceOut])
def case_evidence(instance_id: Id, session: SessionDep,
                  who: Annotated[Principal, Depends(requires(*CASEWORK))],
                  purpose: Purpose) -> list[EvidenceOut]:
    """Each fact the case used, with provenance, and the steps (investigation, decisions) that used it."""
    instance = instances.get_for(session, instance_id, who, policy.Grade.FULL, purpose=purpose,
                                 action="read_evidence")
    used: dict[uuid.UUID, list[str]] = {}
    for u in evidence.uses(session, instance.id):
        used.setdefault(u.evidence_id, []).append(u.element_id)
    rows = evidence.used_by(session, instance.id)
    for person_id in {r.person_id for r in rows}:
        access_log.record(session, who.username, purpose=purpose, action="read_evidence", person_id=person_id,
                          instance_id=instance.id)
    return [EvidenceOut(id=str(r.id), person_id=str(r.person_id), data_type=r.data_type, value=r.value,
                        reference_period=r.reference_period, source=r.source, source_agency=r.source_agency,
                        request_id=r.request_id, retrieved_at=r.retrieved_at, legal_basis=r.legal_basis,
                        asked_by_case=str(r.instance_id) if r.instance_id else None, used_in=used.get(r.id, []))
            for r in rows]


@router.post("/{instance_id}/evidence", status_code=201)
def add_document_evidence(
    instance_id: Id, session: SessionDep, who: Annotated[Principal, Depends(requires(*CASEWORK))],
    person_id: Annotated[str, Form()], data_type: Annotated[str, Form()], period: Annotated[str, Form()],
    value: Annotated[str, Form(description="JSON object with the data type's fields")],
    file: Annotated[UploadFile, File(description="the document the value was taken from")],
) -> dict[str, str]:
    """Missing data taken from a document: stored as evidence with source "document"."""
    instance = instances.get_for(session, instance_id, who, policy.Grade.CHANGE,
                                 purpose="investigation", action="add_document")
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        raise Conflict(_("Case %(id)s is %(status)s.") % {
            "id": instance.id, "status": words.name(words.STATUSES, instance.status)}, field="instance_id")
    try:
        parsed = json.loads(value)
    except ValueError:
        raise Invalid(_("value must be a JSON object."), field="value") from None
    if not isinstance(parsed, dict):
        raise Invalid(_("value must be a JSON object."), field="value")
    content = file.file.read(MAX_DOCUMENT + 1)
    if len(content) > MAX_DOCUMENT:
        raise Invalid(_("The document is larger than %(limit)s bytes.") % {"limit": MAX_DOCUMENT}, field="file")
    row = evidence.add_document(session, instance_id=instance.id, person_id=person_id, data_type=data_type,
                                value=parsed, filename=file.filename or "document", content=content,
                                media_type=file.content_type or "application/octet-stream", actor=who.username,
                                period=period)
    return {"evidence_id": str(row.id)}
