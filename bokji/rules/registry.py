"""The calculations business rule tasks may call, registered with the engine under name and version.

Imported wherever processes are deployed or run (definitions, instances), so API, workers and the
scheduler all know the same calculations.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bokji.errors import Invalid
from bokji.rules import parameters, recognised_income
from processes.calculations import register


def _recognised_income(data: dict[str, Any]) -> dict[str, Any]:
    """Task data: `household_means` (see HouseholdMeans) and `application_date` (ISO date)."""
    means = data.get("household_means")
    if not isinstance(means, dict):
        raise Invalid("household_means must be an object with region_class, size and the amounts",
                      field="household_means")
    try:
        on = date.fromisoformat(str(data.get("application_date")))
    except ValueError:
        raise Invalid("application_date must be an ISO date (YYYY-MM-DD)", field="application_date") from None
    unknown = set(means) - set(recognised_income.HouseholdMeans.__dataclass_fields__)
    if unknown:
        raise Invalid(f"unknown household_means fields: {', '.join(sorted(unknown))}", field="household_means")
    result = recognised_income.calculate(recognised_income.HouseholdMeans(**means), on)
    return {"recognised_income": result.total, "benefit_year": result.parameter_year,
            "household_size": means.get("size"), "recognised_income_detail": result.to_dict()}


INCOME_LIMIT = "bokji.income_limit"
INCOME_LIMIT_VERSION = "2025.1"


def _income_limit(data: dict[str, Any]) -> dict[str, Any]:
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


register(INCOME_LIMIT, INCOME_LIMIT_VERSION, _income_limit)
register(recognised_income.NAME, recognised_income.VERSION, _recognised_income)
