"""Ids from the outside world (URLs, job payloads) turned into UUIDs, or a 404 naming the field."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy.orm import Session

from bokji.errors import NotFound
from bokji.words import not_found

T = TypeVar("T")


def parse_uuid(value: uuid.UUID | str, *, what: str, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        # Not found rather than invalid: an id that cannot exist names nothing, like an unknown one.
        raise NotFound(not_found(what, value), field=field) from None


def get_or_404(session: Session, model: type[T], value: uuid.UUID | str, *, what: str, field: str) -> T:
    """The row with this id, or a 404 naming the field (malformed ids name nothing, like unknown ones)."""
    found = session.get(model, parse_uuid(value, what=what, field=field))
    if found is None:
        raise NotFound(not_found(what, value), field=field)
    return found
