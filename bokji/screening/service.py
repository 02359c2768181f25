"""Screening: which catalog services could this household get, on this date, and why.

Recognised income is computed once (the registered calculation); each service's rule then decides
eligible / not_eligible / needs_information with its reasons and expected amount. Thresholds and
eligibility come from the deployed DMN decisions, so a designer's new rule version is used as soon
as it is deployed. Results: eligible first, then by expected amount, then by code.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bokji.catalog import service as catalog
from bokji.definitions import service as definitions
from bokji.errors import Invalid, Unavailable
from bokji.rules.parameters import parameters_on
from bokji.rules.recognised_income import calculate, won
from bokji.screening.household import Household, parse_household
from processes.decisions import Decisions

THRESHOLD = "nblss_selection_threshold"
ELIGIBILITY = "nblss_eligibility"
_cache: dict[tuple[str, str], Decisions] = {}
_thresholds: dict[tuple, dict[str, Any]] = {}
_lock = threading.Lock()


@dataclass
class ServiceResult:
    code: str
    name_ko: str
    name_en: str
    ministry: str
    purpose_group: str
    status: str  # eligible | not_eligible | needs_information
    expected_amount: int | None
    reasons: list[str]
    threshold: int | None = None
    synthetic: bool = False


@dataclass
class Screening:
    on: str
    household_size: int
    recognised_income: dict[str, Any] | None
    results: list[ServiceResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decisions(session: Session) -> Decisions:
    found = []
    for decision_id in (THRESHOLD, ELIGIBILITY):
        definition = definitions.latest(session, decision_id, kind="decision", required=False)
        if definition is None:
            raise Unavailable(f"decision '{decision_id}' is not deployed (deploy processes/bpmn)",
                              field="decision")
        found.append(definition)
    key = (str(found[0].deployment_id), str(found[1].deployment_id))
    with _lock:
        if key not in _cache:
            files = {}
            for definition in found:
                files.update({n: c.encode() for n, c in definition.deployment.files.items() if n.endswith(".dmn")})
            _cache[key] = Decisions.from_files(files)
        return _cache[key]


def _threshold(decisions: Decisions, year: int, size: int, benefit: str) -> dict[str, Any]:
    # Thresholds depend only on these three inputs, so one evaluation per combination and rule version.
    key = (id(decisions), year, size, benefit)
    if key not in _thresholds:
        _thresholds[key] = dict(decisions.evaluate(THRESHOLD, {"benefit_year": year, "household_size": size,
                                                                 "benefit": benefit}))
    return _thresholds[key]


def screen(session: Session, household_doc: Any, on: date) -> Screening:
    household = parse_household(household_doc)
    services = catalog.snapshot(session)
    if not services:
        raise Unavailable("the service catalog is empty (bokji catalog load)", field="catalog")
    decisions = _decisions(session)
    income = None
    income_problem = None
    try:
        income = calculate(household.means, on)
    except Invalid as exc:
        income_problem = exc.message
    screening = Screening(on.isoformat(), household.size, income.to_dict() if income else None)
    decided: dict[tuple, dict[str, Any]] = {}  # decisions are pure: one evaluation per distinct input
    for service in services:
        screening.results.append(_decide(service, household, on, income, income_problem, decisions, decided))
    order = {"eligible": 0, "needs_information": 1, "not_eligible": 2}
    screening.results.sort(key=lambda r: (order[r.status], -(r.expected_amount or 0), r.code))
    return screening


def _decide(service, household: Household, on: date, income, income_problem: str | None,
            decisions: Decisions, decided_cache: dict[tuple, dict[str, Any]]) -> ServiceResult:
    result = ServiceResult(service.code, service.name_ko, service.name_en, service.ministry, service.purpose_group,
                           "needs_information", None, [], synthetic=service.synthetic)
    rule = service.rule
    if rule["kind"] == "none":
        result.reasons.append("no eligibility rule is encoded for this service yet (unverified); ask the office")
        return result
    if income is None:
        result.reasons.append(f"recognised income cannot be computed: {income_problem}")
        return result
    if rule["kind"] == "nblss":
        benefit = rule["benefit"]
        found = _threshold(decisions, income.parameter_year, household.size, benefit)
        inputs = {"threshold": found.get("threshold"), "benefit": benefit, "recognised_income": income.total}
        key = tuple(inputs.values())
        if key not in decided_cache:
            decided_cache[key] = dict(decisions.evaluate(ELIGIBILITY, inputs))
        decided = decided_cache[key]
        result.status = decided["eligibility"]
        result.threshold = found.get("threshold")
        result.expected_amount = decided.get("monthly_amount") if result.status == "eligible" else None
        result.reasons.append(
            f"{decided['reason']}: recognised income {income.total:,} vs threshold "
            f"{result.threshold:,} ({found['percent']} % of the {income.parameter_year} median "
            f"{found['median']:,} for {household.size})" if result.threshold is not None else decided["reason"])
        if benefit == "medical" and result.status == "eligible":
            result.reasons.append("subject to the obligor (family support) rule, checked at investigation")
        return result
    # income_percent: synthetic services in load tests, a share of the median.
    params = parameters_on(on)
    median = params.median.get(household.size)
    if median is None:
        result.reasons.append(f"no {params.year} median for a household of {household.size} (unverified)")
        return result
    result.threshold = won(median * rule["percent"] / 100)
    result.status = "eligible" if income.total <= result.threshold else "not_eligible"
    source = "synthetic rule" if service.synthetic else f"percent: {rule.get('source') or 'unverified'}"
    result.reasons.append(f"recognised income {income.total:,} vs {rule['percent']} % of the {params.year} median "
                          f"({result.threshold:,}); {source}")
    return result



