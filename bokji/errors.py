"""Domain errors carry their HTTP status; the API maps them to JSON, the CLI to exit codes.

Each kind has a title in the catalog (bokji/i18n.py): the API answers the stable machine code
(`error`) beside the title in the caller's language.
"""

from __future__ import annotations

from typing import Any

from bokji.i18n import N_, gettext


class BokjiError(Exception):
    status_code = 400
    exit_code = 1
    title = N_("This cannot be done")

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "title": gettext(self.title), "message": self.message, **self.detail}


class NotFound(BokjiError):
    status_code = 404
    title = N_("Not found")


class Conflict(BokjiError):
    status_code = 409
    title = N_("Already changed")


class Invalid(BokjiError):
    """Bad input: names the field, file or element and why. Nothing was changed."""

    status_code = 422
    title = N_("Check what you entered")
    exit_code = 2


class Forbidden(BokjiError):
    status_code = 403
    title = N_("Not allowed")


class Unavailable(BokjiError):
    status_code = 503
    title = N_("Unavailable for now")


class TooManyAttempts(BokjiError):
    """Refused for a while (sign-in after repeated failures); `retry_after` seconds until it may try again,
    sent as the Retry-After header."""

    status_code = 429
    title = N_("Too many attempts")

    def __init__(self, message: str, *, retry_after: int, **detail: Any) -> None:
        super().__init__(message, retry_after=retry_after, **detail)
        self.retry_after = retry_after


def field_path(loc: tuple[object, ...] | list[object]) -> str:
    """A validator's location as the field path our messages use: ("members", 1, "age") → members[1].age."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("body", "query", "path"):
            path += f".{part}" if path else str(part)
    return path
