"""The office reference table: loading it, checking a code, and the offices under one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji.datafile import read_json
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.offices.models import Office

DATA_FILE = Path(__file__).with_name("offices.json")


def load(session: Session, path: Path = DATA_FILE) -> int:
    """Insert or update the offices of `path` (parents first); offices not in the file stay, since
    cases and users may still name them."""
    document = read_json(path, "offices")
    entries = document.get("offices") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise Invalid(_("%(file)s: the offices file is an object with an 'offices' list.") % {"file": path.name},
                      file=path.name, field="offices")
    known = {e.get("code") for e in entries if isinstance(e, dict)}
    for i, entry in enumerate(entries):
        where = f"{path.name}: offices[{i}]"
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k]
                                                  for k in ("code", "name", "region")):
            raise Invalid(_("%(where)s needs code, name and region.") % {"where": where}, file=path.name,
                          field=f"offices[{i}]")
        if entry.get("parent") is not None and entry["parent"] not in known:
            raise Invalid(_("%(where)s: parent '%(parent)s' is not in the file.") % {
                "where": where, "parent": entry["parent"]}, file=path.name, field=f"offices[{i}].parent")
    for entry in _parents_first(entries):
        values = {"code": entry["code"], "name": entry["name"], "region": entry["region"],
                  "parent_code": entry.get("parent"), "phone": _text(entry.get("phone"), 40),
                  "address": _text(entry.get("address"), 300)}
        session.execute(insert(Office).values(**values)
                        .on_conflict_do_update(index_elements=["code"], set_=values))
    session.flush()
    return len(entries)


def _text(value: object, limit: int) -> str | None:
    """An optional contact field: text up to the column's length, else nothing."""
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _parents_first(entries: list[dict]) -> list[dict]:
    done: set[str] = set()
    ordered: list[dict] = []
    pending = list(entries)
    while pending:
        ready = [e for e in pending if e.get("parent") is None or e["parent"] in done]
        if not ready:
            raise Invalid(_("offices: the parent links form a cycle."), field="offices")
        for entry in ready:
            ordered.append(entry)
            done.add(entry["code"])
        pending = [e for e in pending if e["code"] not in done]
    return ordered


def check(session: Session, code: str | None, *, field: str = "office") -> str:
    """`code` if it names an office, else 422 naming the field."""
    if not code or session.get(Office, code) is None:
        raise Invalid(_("%(field)s: unknown office '%(code)s' (offices are a reference table: bokji offices "
                        "load).") % {"field": field, "code": code if code is not None else ""}, field=field)
    return code


def under(session: Session, code: str) -> list[str]:
    """`code` and every office below it (a district and its community centres)."""
    tree = select(Office.code).where(Office.code == code).cte("tree", recursive=True)
    tree = tree.union_all(select(Office.code).where(Office.parent_code == tree.c.code))
    return list(session.scalars(select(tree.c.code)))


def all_offices(session: Session) -> list[Office]:
    return list(session.scalars(select(Office).order_by(Office.code)))
