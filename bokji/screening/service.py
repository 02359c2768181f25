"""Screening: which catalog services could this household get, on this date, with what amount and why.

Each service's own rule (bokji/rules/benefits.py) runs on the household with the parameters of the
date's year — the same calculations a case's eligibility step, its decision form, its notice and its
periodic review use. Results: eligible first, then by expected amount, then by code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bokji.catalog import service as catalog
from bokji.errors import Unavailable
from bokji.i18n import gettext as _
from bokji.rules import benefits, parameters, recognised_income
from bokji.rules.household import Household, parse
from bokji.rules.trace import Tracer

# What each service's result holds: the catalog entry's names (code, names, ministry, purpose group,
# synthetic), then the rule's result (shared by
# services with the same rule): status, expected_amount (whole won per period), period (month | year),
# payment (cash | in_kind | qualification), duration_months, reasons (texts), threshold, tested_income,
# missing (what the rule needs: a field or a parameter name@year), unverified (figures and assumptions
# not confirmed) and assessment (the rule's whole result: message ids with parameters, the trace).


@dataclass
class Screening:
    on: str
    household_size: int
    parameter_year: int
    recognised_income: dict[str, Any] | None  # the basic livelihood method's, shown once
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        # Shallow: services with the same rule share one result (a deep copy of 292 traces would cost
        # more than screening itself).
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _result(found: benefits.Assessment) -> dict[str, Any]:
    return {"status": found.status, "expected_amount": found.amount, "period": found.period,
            "payment": found.payment, "duration_months": found.duration_months,
            "reasons": [r.text for r in found.reasons], "threshold": found.threshold,
            "tested_income": found.tested_income, "missing": found.missing, "unverified": found.unverified,
            "assessment": found.to_dict()}


def _nblss_income(household: Household, params: parameters.ParameterSet) -> dict[str, Any] | None:
    t = Tracer(f"{recognised_income.NAME}@{recognised_income.VERSION}", params)
    try:
        found = recognised_income.calculate(t, household)
    except (parameters.MissingParameter, recognised_income.NeedsField):
        return None
    return {**asdict(found), "parameter_year": params.year, "calculation": t.result.calculation,
            "trace": [s.to_dict() for s in t.result.trace]}


def screen(session: Session, household_doc: Any, on: date) -> Screening:
    household = parse(household_doc)
    services = catalog.snapshot(session)
    if not services:
        raise Unavailable(_("The service catalog is empty (bokji catalog load)."), field="catalog")
    params = parameters.year_of(session, on)
    screening = Screening(on.isoformat(), household.size, params.year, _nblss_income(household, params))
    memo: dict[str, dict[str, Any]] = {}  # rules are pure: services with the same rule share one result
    for service in services:
        if service.rule_key not in memo:
            case = benefits.Case(on=on, rule=service.rule)
            memo[service.rule_key] = _result(benefits.assess(household, params, case))
        screening.results.append(service.names() | memo[service.rule_key])
    order = {"eligible": 0, "needs_information": 1, "not_eligible": 2}
    screening.results.sort(key=lambda r: (order[r["status"]], -(r["expected_amount"] or 0), r["code"]))
    return screening
