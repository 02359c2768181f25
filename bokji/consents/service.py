"""Consents: recorded as rows (never changed; a new consent is a new row), and read back as the
`consents` object an application takes ({data type: consent reference})."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji import clock
from bokji.consents.models import Consent
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.linkage import registry as data_types

SCOPES = ("person", "household")


def record(session: Session, person_id: uuid.UUID, *, data_type: str, reference: str, given_on: date, scope: str,
           actor: str) -> Consent:
    """One consent of a person the caller may change (the route asks the scope policy first)."""
    if data_type not in data_types.DATA_TYPES:
        raise Invalid(_("Unknown data type (known: %(codes)s).") % {"codes": ", ".join(sorted(data_types.DATA_TYPES))},
                      field="data_type")
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise Invalid(_("The consent form's reference is required (at most 100 characters)."), field="reference")
    if given_on > clock.today():
        raise Invalid(_("A consent cannot be dated in the future."), field="given_on")
    if scope not in SCOPES:
        raise Invalid(_("The scope must be one of %(scopes)s.") % {"scopes": ", ".join(SCOPES)}, field="scope")
    row = Consent(person_id=person_id, data_type=data_type, reference=reference, given_on=given_on, scope=scope,
                  recorded_by=actor)
    session.add(row)
    session.flush()
    return row


def of_person(session: Session, person_id: uuid.UUID) -> list[Consent]:
    return list(session.scalars(select(Consent).where(Consent.person_id == person_id).order_by(Consent.id)))


def for_application(session: Session, person_id: uuid.UUID) -> dict[str, str]:
    """The `consents` object POST /applications takes: the latest reference per data type."""
    return {c.data_type: c.reference for c in of_person(session, person_id)}
