"""The service-specific questions an application may answer (`details`), each with its check.

A catalog service lists the ones it needs in `case.application_fields`; the catalog loader refuses
names not declared here, and an application for that service without the answer gets a 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bokji.errors import Invalid
from bokji.rules.recognised_income import whole_won

SCHOOL_LEVELS = ("elementary", "middle", "high")


def _school_level(value: Any, field: str) -> str:
    if value not in SCHOOL_LEVELS:
        raise Invalid(f"{field} must be one of {', '.join(SCHOOL_LEVELS)}", field=field)
    return value


def _person_ids(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field} must be a list of person ids (registered first)", field=field)
    return value


FIELDS: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "school_level": ("school level of the pupil (elementary, middle, high)", _school_level),
    "monthly_rent": ("monthly rent paid, whole won", whole_won),
    "obligor_ids": ("persons liable to support the household (first-degree relatives outside it)", _person_ids),
    # Which children a child benefit's case is for; without it, every member under 18 (bokji/applications).
    "child_ids": ("the children the child benefits are for (household members)", _person_ids),
}
OPTIONAL = ("obligor_ids", "child_ids")  # a household may have no obligors; children default to those under 18


def clean(details: Any, needed: dict[str, list[str]]) -> dict[str, Any]:
    """Check `details` against the declared questions; `needed` maps a field to the services needing it."""
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise Invalid("details must be an object", field="details")
    for name in details:
        if name not in FIELDS:
            raise Invalid(f"details.{name} is not a known question (known: {', '.join(sorted(FIELDS))})",
                          field=f"details.{name}")
    for name, services in needed.items():
        if name in OPTIONAL:
            continue
        if details.get(name) is None:
            raise Invalid(f"details.{name} ({FIELDS[name][0]}) is needed by {', '.join(services)}",
                          field=f"details.{name}")
    return {name: FIELDS[name][1](value, f"details.{name}") for name, value in details.items()}
