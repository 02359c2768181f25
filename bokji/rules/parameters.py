"""Benefit rule parameters: dated, sourced figures stored as data (table `rule_parameter`).

The committed file parameters.json is the seed a policy team edits (`bokji rules load`); the designer
studio will edit the same rows later without a redeploy. Parameters are chosen by the application
date or the benefit month, never by today's date. A figure whose confidence is not `high` is
`unverified`: every trace step that uses it says so, and staff screens badge it.

Calculations never read the database: the caller hands them a `ParameterSet` — screening reads it
here, a case gets it in its task data (`for_task`) before any calculation or DMN table runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bokji.datafile import read_json, replace_all
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.rules.models import RuleParameter

DATA_FILE = Path(__file__).parent / "parameters.json"
CONFIDENCE = ("high", "medium", "low")
YEARS = range(2000, 2100)


class MissingParameter(Exception):
    """A rule needs a figure the reference does not give for the year: the case needs information."""

    def __init__(self, name: str, year: int) -> None:
        super().__init__(f"{name}@{year}")
        self.name, self.year = name, year


@dataclass(frozen=True)
class Parameter:
    name: str
    year: int
    value: Any
    unit: str
    source: str
    confidence: str

    @property
    def unverified(self) -> bool:
        return self.confidence != "high"


@dataclass(frozen=True)
class ParameterSet:
    """Every parameter in force in one year."""

    year: int
    items: dict[str, Parameter] = field(default_factory=dict)

    def get(self, name: str) -> Parameter:
        found = self.items.get(name)
        if found is None:
            raise MissingParameter(name, self.year)
        return found

    def value(self, name: str) -> Any:
        return self.get(name).value

    def has(self, name: str) -> bool:
        return name in self.items


def _by_year(entry: dict[str, Any], key: str, year: str, where: str) -> Any:
    value = entry.get(key)
    if isinstance(value, dict):
        if year not in value:
            raise Invalid(_("%(field)s has no entry for %(year)s.") % {"field": f"{where}.{key}", "year": year},
                          field=f"{where}.{key}")
        value = value[year]
    if not isinstance(value, str) or not value.strip():
        raise Invalid(_("%(field)s is required (a text, or one per year).") % {"field": f"{where}.{key}"},
                      field=f"{where}.{key}")
    return value


def parse(document: Any) -> list[RuleParameter]:
    """Validate the parameter file; every error names the entry and the field."""
    if not isinstance(document, dict) or not isinstance(document.get("parameters"), list):
        raise Invalid(_("A parameter file is an object with a 'parameters' list."), field="parameters")
    rows, seen = [], set()
    for i, entry in enumerate(document["parameters"]):
        where = f"parameters[{i}]"
        if not isinstance(entry, dict):
            raise Invalid(_("%(field)s must be an object.") % {"field": where}, field=where)
        name = entry.get("name")
        if not isinstance(name, str) or "." not in name:
            raise Invalid(_("%(field)s must be a dotted name like 'nblss.median'.") % {"field": f"{where}.name"},
                          field=f"{where}.name")
        years = entry.get("years")
        if not isinstance(years, dict) or not years:
            raise Invalid(_("%(field)s must map a year to its value.") % {"field": f"{where}.years"},
                          field=f"{where}.years")
        for year, value in years.items():
            if not (year.isdigit() and int(year) in YEARS):
                raise Invalid(_("%(field)s: '%(year)s' is not a year.") % {"field": f"{where}.years", "year": year},
                              field=f"{where}.years")
            if (name, int(year)) in seen:
                raise Invalid(_("%(field)s: %(name)s for %(year)s appears twice.") % {
                    "field": where, "name": name, "year": year}, field=f"{where}.name")
            seen.add((name, int(year)))
            confidence = _by_year(entry, "confidence", year, where)
            if confidence not in CONFIDENCE:
                raise Invalid(_("%(field)s must be one of %(choices)s.") % {
                    "field": f"{where}.confidence", "choices": ", ".join(CONFIDENCE)}, field=f"{where}.confidence")
            rows.append(RuleParameter(name=name, year=int(year), value=value, unit=_by_year(entry, "unit", year, where),
                                      source=_by_year(entry, "source", year, where), confidence=confidence))
    return rows


def load(session: Session, path: Path = DATA_FILE) -> int:
    """Replace the parameter table with the file's."""
    return replace_all(session, RuleParameter, parse(read_json(path, "parameters")))


def _sets(rows: list[RuleParameter]) -> dict[int, ParameterSet]:
    sets: dict[int, dict[str, Parameter]] = {}
    for row in rows:
        sets.setdefault(row.year, {})[row.name] = Parameter(row.name, row.year, row.value, row.unit, row.source,
                                                            row.confidence)
    return {year: ParameterSet(year, items) for year, items in sets.items()}


def from_file(year: int, path: Path = DATA_FILE) -> ParameterSet:
    """The file's parameters of one year, without the database (rule tests, benchmarks' baselines)."""
    return _sets(parse(read_json(path, "parameters"))).get(year) or ParameterSet(year)


_cache: dict[str, Any] = {"stamp": None, "sets": {}}


def year_of(session: Session, on: date) -> ParameterSet:
    """The parameters in force on `on`; re-read only when the table changed (one cheap query to know)."""
    stamp = tuple(session.execute(select(func.count(), func.max(RuleParameter.loaded_at))).one())
    if _cache["stamp"] != stamp:
        _cache.update(stamp=stamp, sets=_sets(list(session.scalars(select(RuleParameter)))))
    return _cache["sets"].get(on.year) or ParameterSet(on.year)


def for_task(params: ParameterSet) -> dict[str, Any]:
    """The set as task data: values by name (DMN cells and scripts read `parameters["nblss.median"]`),
    and each figure's source and confidence beside them."""
    return {"parameter_year": params.year,
            "parameters": {name: p.value for name, p in params.items.items()},
            "parameter_basis": {name: {"unit": p.unit, "source": p.source, "confidence": p.confidence}
                                for name, p in params.items.items()}}


def from_task(data: dict[str, Any]) -> ParameterSet:
    """The set a case carries in its task data (see `for_task`)."""
    values, basis, year = data.get("parameters"), data.get("parameter_basis"), data.get("parameter_year")
    if not isinstance(values, dict) or not isinstance(basis, dict) or not isinstance(year, int):
        raise Invalid(_("parameters, parameter_basis and parameter_year must be in the task data (the "
                        "investigation puts them there)."), field="parameters")
    return ParameterSet(year, {name: Parameter(name, year, value, str(basis.get(name, {}).get("unit", "")),
                                               str(basis.get(name, {}).get("source", "")),
                                               str(basis.get(name, {}).get("confidence", "low")))
                               for name, value in values.items()})
