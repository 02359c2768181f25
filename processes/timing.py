"""Due dates written on user tasks (`camunda:dueDate`): an ISO-8601 duration or date-time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bokji.i18n import gettext as _

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_due(value: str) -> timedelta | datetime:
    """Return a duration (relative to when the task is created) or an absolute instant."""
    value = value.strip()
    match = _DURATION.match(value)
    if match and value not in ("P", "PT"):
        parts = {k: float(v) for k, v in match.groupdict().items() if v}
        return timedelta(**parts)
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        # Shown to the designer whose deploy it refuses (processes/parsing.py): in their language.
        raise ValueError(_("'%(value)s' is neither an ISO-8601 duration (P14D) nor a date-time") % {
            "value": value}) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def due_at(value: str | None, start: datetime) -> datetime | None:
    if not value:
        return None
    parsed = parse_due(value)
    return start + parsed if isinstance(parsed, timedelta) else parsed
