"""The calculations business rule tasks call by name: plain functions of task data.

They are listed with their names and versions in bokji/registrations.py; nothing here registers
itself. Each must be deterministic and do no I/O (processes/calculations.py).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Any

from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.rules import benefits, parameters
from bokji.rules.household import Household, parse


def assessment_date(data: dict[str, Any]) -> date:
    """The date whose parameters and reference periods apply: the application date, or in a periodic
    review the date that review round covers (never today's date)."""
    name = "assessment_date" if data.get("assessment_date") else "application_date"
    try:
        return date.fromisoformat(str(data.get(name)))
    except ValueError:
        raise Invalid(_("%(field)s must be an ISO date (YYYY-MM-DD).") % {"field": name}, field=name) from None


ASSESS = "benefit.assess"
ASSESS_VERSION = "2025.1"
AMOUNT = "benefit.amount"
AMOUNT_VERSION = "2025.1"


def _case_of(data: dict[str, Any], household: Household) -> benefits.Case:
    rule = data.get("rule")
    if not isinstance(rule, dict) or rule.get("kind") not in benefits.RULES:
        raise Invalid(_("rule must be the catalog service's rule (kinds: %(kinds)s).") % {
            "kinds": ", ".join(sorted(benefits.RULES))}, field="rule")
    index = {m.person_id: i for i, m in enumerate(household.members) if m.person_id}
    applicant = index.get(str(data.get("applicant_id"))) if data.get("applicant_id") else None
    children = None
    if data.get("child_ids") is not None:
        missing = [c for c in data["child_ids"] if str(c) not in index]
        if missing:
            raise Invalid(_("Child %(id)s is not a member of the household.") % {"id": missing[0]},
                          field="child_ids")
        children = tuple(index[str(c)] for c in data["child_ids"])
    return benefits.Case(on=assessment_date(data), rule=rule, applicant=applicant, children=children)


def _household_of(data: dict[str, Any]) -> Household:
    doc = data.get("household")
    if not isinstance(doc, dict):
        raise Invalid(_("household must be the household document the investigation builds."), field="household")
    household = parse(doc, prefix="household")
    # The housing survey may correct the rent and deposit the application stated.
    rent, deposit = data.get("monthly_rent"), data.get("rental_deposit")
    if household.housing is not None and (rent is not None or deposit is not None):
        household = household.model_copy(update={"housing": household.housing.model_copy(update={
            **({"monthly_rent": rent} if rent is not None else {}),
            **({"deposit": deposit} if deposit is not None else {})})})
    return household


def _basis(found: benefits.Assessment) -> tuple[str | None, str]:
    """The amount's basis as a sentence (the step that produced it) and where its figures come from."""
    step = next((s for s in reversed(found.trace) if s.result == found.amount), None) if found.amount else None
    source = (f"parameters {found.parameter_year}" if not found.unverified
              else "unverified: " + ", ".join(found.unverified))
    return (step.text if step else None), source


def _threshold_basis(found: benefits.Assessment) -> str:
    """The line's basis: unverified only if a figure of the line itself is (not the amount's)."""
    step = next((s for s in found.trace if s.id.startswith("threshold.") or s.id.endswith("selection_line")), None)
    basis = f"{found.calculation}, parameters {found.parameter_year}"
    return basis + (f"; unverified: {', '.join(step.parameters)}" if step is not None and step.unverified else "")


def assess(data: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    """The service's rule on the case's household (task data: `household`, the year's `parameters`,
    `rule`, `applicant_id`, `child_ids`, the application or assessment date). `kind` forces one rule
    (each rule is also registered under its own name)."""
    household = _household_of(data)
    case = _case_of(data if kind is None else {**data, "rule": {**(data.get("rule") or {}), "kind": kind}}, household)
    found = benefits.assess(household, parameters.from_task(data), case)
    basis, source = _basis(found)
    reason = found.reasons[0].text if found.reasons else None
    return {
        "eligibility": found.status, "reason": reason, "reasons": [r.text for r in found.reasons],
        "recognised_income": found.tested_income, "threshold": found.threshold, "benefit_year": found.parameter_year,
        "household_size": household.size,
        "threshold_basis": _threshold_basis(found),
        "monthly_amount": found.amount if found.period == "month" else None,
        "annual_amount": found.amount if found.period == "year" else None,
        "amount_basis": basis, "amount_source": source, "benefit_duration_months": found.duration_months,
        "missing_information": list(found.missing), "assessment": found.to_dict(),
    }


def amount(data: dict[str, Any]) -> dict[str, Any]:
    """The amount again, after a step that may have changed its inputs (the housing survey's rent, a
    review's new figures): the same rule as `assess`, only its amount fields."""
    out = assess(data)
    return {k: out[k] for k in ("monthly_amount", "annual_amount", "amount_basis", "amount_source",
                                 "benefit_duration_months", "assessment")}


REVIEW_ROUND = "bokji.review_round"
REVIEW_ROUND_VERSION = "2025.1"
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T[\d.HMS]*)?")


def add_duration(start: date, duration: str, times: int = 1) -> date:
    """`start` plus `times` × an ISO-8601 duration's date part (months clamp to the month's last day)."""
    match = _DURATION.fullmatch(str(duration or ""))
    if not match or duration == "P":
        raise Invalid(_("review_interval '%(duration)s' is not an ISO-8601 duration like P6M.") % {
            "duration": duration}, field="review_interval")
    years, months, weeks, days = (int(g or 0) * times for g in match.groups())
    month_index = start.month - 1 + months + 12 * years
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(weeks=weeks, days=days)


def review_round(data: dict[str, Any]) -> dict[str, Any]:
    """The next periodic-review round and the date it covers: the application date plus round ×
    interval, so each round uses the parameters and reference periods of its own date."""
    round_ = int(data.get("review_round") or 0) + 1
    try:
        applied = date.fromisoformat(str(data.get("application_date")))
    except ValueError:
        raise Invalid(_("%(field)s must be an ISO date (YYYY-MM-DD).") % {"field": "application_date"},
                      field="application_date") from None
    return {"review_round": round_,
            "assessment_date": add_duration(applied, data.get("review_interval"), round_).isoformat()}

