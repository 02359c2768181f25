"""The committed data files a policy team edits (the service catalog, the rule parameters, the offices):
read as JSON, or a 422 naming the file; a reference table replaced whole in the caller's transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bokji.errors import Invalid
from bokji.i18n import gettext as _


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise Invalid(_("%(file)s: cannot read the %(what)s (%(error)s).") % {
            "file": path.name, "what": what, "error": exc}, file=path.name) from None


def replace_all(session: Session, model: type, rows: list[Any]) -> int:
    """Readers see the old rows or the new ones, never a mix (one transaction, the caller's)."""
    session.execute(delete(model))
    session.add_all(rows)
    session.flush()
    return len(rows)
