"""Screening: which catalog services could this household get, on this date, with what amount and why.

Each service's own rule (bokji/rules/benefits.py) runs on the household with the parameters of the
date's year — the same calculations a case's eligibility step, its decision form, its notice and its
periodic review use. Results: eligible first, then by expected amount, then by code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bokji.catalog import service as catalog
from bokji.errors import Unavailable
from bokji.rules import benefits, parameters, recognised_income
from bokji.rules.household import Household, parse
from bokji.rules.trace import Tracer


@dataclass
class ServiceResult:
    code: str
    name_ko: str
    name_en: str
    ministry: str
    purpose_group: str
    status: str  # eligible | not_eligible | needs_information
    expected_amount: int | None
    period: str | None  # month | year
    payment: str  # cash | in_kind | qualification
    duration_months: int | None
    reasons: list[str]
    threshold: int | None
    tested_income: int | None
    missing: list[str]
    unverified: list[str]
    assessment: dict[str, Any]  # the rule's whole result: message ids with parameters, the trace
    synthetic: bool = False


@dataclass
class Screening:
    on: str
    household_size: int
    parameter_year: int
    recognised_income: dict[str, Any] | None  # the basic livelihood method's, shown once
    results: list[ServiceResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nblss_income(household: Household, params: parameters.ParameterSet) -> dict[str, Any] | None:
    t = Tracer(f"{recognised_income.NAME}@{recognised_income.VERSION}", params)
    try:
        found = recognised_income.calculate(t, household)
    except (parameters.MissingParameter, recognised_income.NeedsField):
        return None
    return {**asdict(found), "parameter_year": params.year, "calculation": t.result.calculation,
            "trace": [{**asdict(s), "text": s.text} for s in t.result.trace]}


def screen(session: Session, household_doc: Any, on: date) -> Screening:
    household = parse(household_doc)
    services = catalog.snapshot(session)
    if not services:
        raise Unavailable("the service catalog is empty (bokji catalog load)", field="catalog")
    params = parameters.year_of(session, on)
    screening = Screening(on.isoformat(), household.size, params.year, _nblss_income(household, params))
    memo: dict[str, benefits.Assessment] = {}  # rules are pure: services with the same rule share a result
    for service in services:
        key = json.dumps(service.rule, sort_keys=True)
        if key not in memo:
            memo[key] = benefits.assess(household, params, benefits.Case(on=on, rule=service.rule))
        found = memo[key]
        screening.results.append(ServiceResult(
            service.code, service.name_ko, service.name_en, service.ministry, service.purpose_group, found.status,
            found.amount, found.period, found.payment, found.duration_months, [r.text for r in found.reasons],
            found.threshold, found.tested_income, list(found.missing), list(found.unverified), found.to_dict(),
            synthetic=service.synthetic))
    order = {"eligible": 0, "needs_information": 1, "not_eligible": 2}
    screening.results.sort(key=lambda r: (order[r.status], -(r.expected_amount or 0), r.code))
    return screening
