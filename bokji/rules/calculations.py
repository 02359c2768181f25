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
from bokji.rules import parameters, recognised_income


def assessment_date(data: dict[str, Any]) -> date:
    """The date whose parameters and reference periods apply: the application date, or in a periodic
    review the date that review round covers (never today's date)."""
    name = "assessment_date" if data.get("assessment_date") else "application_date"
    try:
        return date.fromisoformat(str(data.get(name)))
    except ValueError:
        raise Invalid(f"{name} must be an ISO date (YYYY-MM-DD)", field=name) from None


def recognised_income_of(data: dict[str, Any]) -> dict[str, Any]:
    """Task data: `household_means` (see HouseholdMeans) and the application or assessment date."""
    means = data.get("household_means")
    if not isinstance(means, dict):
        raise Invalid("household_means must be an object with region_class, size and the amounts",
                      field="household_means")
    on = assessment_date(data)
    unknown = set(means) - set(recognised_income.HouseholdMeans.__dataclass_fields__)
    if unknown:
        raise Invalid(f"unknown household_means fields: {', '.join(sorted(unknown))}", field="household_means")
    result = recognised_income.calculate(recognised_income.HouseholdMeans(**means), on)
    return {"recognised_income": result.total, "benefit_year": result.parameter_year,
            "household_size": means.get("size"), "recognised_income_detail": result.to_dict()}


INCOME_LIMIT = "bokji.income_limit"
INCOME_LIMIT_VERSION = "2025.1"


def income_limit(data: dict[str, Any]) -> dict[str, Any]:
    """A service's income limit as a share of the standard median income (percent from the catalog).

    Task data: `benefit_year` and `household_size` (from recognised income), `income_limit_percent` and
    `income_limit_source` (from intake). The median is published; the percent usually is not.
    """
    percent = data.get("income_limit_percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 200:
        raise Invalid("income_limit_percent must be a whole percent 1-200", field="income_limit_percent")
    year, size = data.get("benefit_year"), data.get("household_size")
    median = parameters.STANDARD_MEDIAN_INCOME.get(year, {}).get(size)
    source = str(data.get("income_limit_source") or "unverified")
    if median is None:
        return {"threshold": None, "median": None, "percent": percent,
                "threshold_basis": f"unverified: no {year} median for a household of {size}"}
    return {"threshold": recognised_income.won(median * percent / 100), "median": median, "percent": percent,
            "threshold_basis": f"{percent} % of the {year} standard median income ({parameters.REFERENCE}); "
                               f"percent: {source}"}


REVIEW_ROUND = "bokji.review_round"
REVIEW_ROUND_VERSION = "2025.1"
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T[\d.HMS]*)?")


def add_duration(start: date, duration: str, times: int = 1) -> date:
    """`start` plus `times` × an ISO-8601 duration's date part (months clamp to the month's last day)."""
    match = _DURATION.fullmatch(str(duration or ""))
    if not match or duration == "P":
        raise Invalid(f"review_interval {duration!r} is not an ISO-8601 duration like P6M", field="review_interval")
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
        raise Invalid("application_date must be an ISO date (YYYY-MM-DD)", field="application_date") from None
    return {"review_round": round_,
            "assessment_date": add_duration(applied, data.get("review_interval"), round_).isoformat()}

