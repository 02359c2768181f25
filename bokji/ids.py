"""Ids from the outside world (URLs, job payloads) turned into UUIDs, or a 404 naming the field."""

from __future__ import annotations

import uuid

from bokji.errors import NotFound


def parse_uuid(value: uuid.UUID | str, *, what: str, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        # Not found rather than invalid: an id that cannot exist names nothing, like an unknown one.
        raise NotFound(f"{what} {value!r} not found (not a valid id)", field=field) from None
