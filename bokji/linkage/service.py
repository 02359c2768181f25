"""Evidence: written once per request (idempotent), reused while fresh, and linked to the cases and
decisions that used it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji.db import utcnow
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.linkage import registry
from bokji.linkage.models import Document, Evidence, EvidenceUse


def reference_period(data_type: registry.DataType, application_date: date) -> str:
    if data_type.reference_period == "year":
        return str(application_date.year - 1)
    first = application_date.replace(day=1) - timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def fresh(session: Session, person_id: uuid.UUID, data_type: registry.DataType) -> Evidence | None:
    since = utcnow() - timedelta(days=data_type.freshness_days)
    return session.scalars(
        select(Evidence).where(Evidence.person_id == person_id, Evidence.data_type == data_type.code,
                               Evidence.retrieved_at >= since)
        .order_by(Evidence.retrieved_at.desc()).limit(1)
    ).first()


def store(session: Session, *, person_id: uuid.UUID, data_type: registry.DataType, value: dict[str, Any],
          period: str, source: str, request_id: str, instance_id: uuid.UUID | None, recorded_by: str,
          source_agency: str | None) -> Evidence:
    """Idempotent by request id: the same job run twice stores one row."""
    session.execute(
        insert(Evidence).values(
            id=uuid.uuid4(), person_id=person_id, data_type=data_type.code, value=value, reference_period=period,
            source=source, source_agency=source_agency, request_id=request_id, retrieved_at=utcnow(),
            legal_basis=data_type.legal_basis, instance_id=instance_id, recorded_by=recorded_by,
        ).on_conflict_do_nothing(index_elements=["request_id"])
    )
    return session.scalars(select(Evidence).where(Evidence.request_id == request_id)).one()


def use(session: Session, instance_id: uuid.UUID, evidence_id: uuid.UUID, element_id: str) -> None:
    # A re-investigation that uses the same evidence again renews the use: `since` filters count it.
    statement = insert(EvidenceUse).values(instance_id=instance_id, evidence_id=evidence_id, element_id=element_id,
                                           used_at=utcnow())
    session.execute(statement.on_conflict_do_update(index_elements=["instance_id", "evidence_id", "element_id"],
                                                    set_={"used_at": statement.excluded.used_at}))


def used_by(session: Session, instance_id: uuid.UUID, element_id: str | None = None,
            since: datetime | None = None) -> list[Evidence]:
    """Evidence the case used (in one step; since a time, e.g. the start of this investigation round)."""
    query = (select(Evidence).join(EvidenceUse, EvidenceUse.evidence_id == Evidence.id)
             .where(EvidenceUse.instance_id == instance_id).order_by(Evidence.retrieved_at))
    if element_id:
        query = query.where(EvidenceUse.element_id == element_id)
    if since is not None:
        query = query.where(EvidenceUse.used_at >= since)
    return list(session.scalars(query).unique())


def latest(items: list[Evidence]) -> list[Evidence]:
    """The newest evidence per (person, data type): a re-investigation adds rows, it must not add up."""
    newest: dict[tuple[uuid.UUID, str], Evidence] = {}
    for item in items:
        key = (item.person_id, item.data_type)
        if key not in newest or item.retrieved_at > newest[key].retrieved_at:
            newest[key] = item
    return sorted(newest.values(), key=lambda e: e.retrieved_at)


def uses(session: Session, instance_id: uuid.UUID) -> list[EvidenceUse]:
    return list(session.scalars(select(EvidenceUse).where(EvidenceUse.instance_id == instance_id)
                                .order_by(EvidenceUse.id)))


def missing(session: Session, instance_id: uuid.UUID, requests: list[dict[str, Any]],
            since: datetime | None = None) -> list[dict[str, Any]]:
    """Each (person, data type) asked for without evidence; bulk requests count per person."""
    have = {(str(e.person_id), e.data_type) for e in used_by(session, instance_id, "investigation", since)}
    wanted = [(str(p), r["data_type"]) for r in requests for p in r.get("person_ids", [r.get("person_id")])]
    return [{"person_id": p, "data_type": t} for p, t in wanted if (p, t) not in have]


def add_document(session: Session, *, instance_id: uuid.UUID, person_id: str, data_type: str,
                 value: dict[str, Any], filename: str, content: bytes, media_type: str, actor: str,
                 period: str) -> Evidence:
    """Evidence a caseworker takes from an uploaded document when an agency could not supply it."""
    kind = registry.get(data_type)
    if not content:
        raise Invalid(_("The document file is empty."), field="file")
    unknown = set(value) - set(kind.fields)
    if unknown:
        raise Invalid(_("%(data_type)s has no field %(field)s (its fields: %(fields)s).") % {
            "data_type": data_type, "field": sorted(unknown)[0], "fields": ", ".join(kind.fields)}, field="value")
    document = Document(instance_id=instance_id, filename=filename[:300], media_type=media_type[:100],
                        sha256=hashlib.sha256(content).hexdigest(), content=content, uploaded_by=actor)
    session.add(document)
    session.flush()
    evidence = store(session, person_id=uuid.UUID(str(person_id)), data_type=kind,
                     value={**value, "document_id": str(document.id), "document": filename}, period=period,
                     source="document",
                     request_id=f"document:{uuid.uuid4()}", instance_id=instance_id, recorded_by=actor,
                     source_agency=None)
    use(session, instance_id, evidence.id, "investigation")
    return evidence
