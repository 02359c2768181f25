"""The calculations business rule tasks may call, registered with the engine under name and version.

Imported wherever processes are deployed or run (definitions, instances), so API, workers and the
scheduler all know the same calculations.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bokji.errors import Invalid
from bokji.rules import recognised_income
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


register(recognised_income.NAME, recognised_income.VERSION, _recognised_income)
