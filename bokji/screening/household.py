"""The household JSON format used by screening (and documented in the README).

    {
      "region_class": "seoul" | "gyeonggi" | "metropolitan" | "other",
      "members": [{"name": "홍길동", "age": 67, "relation": "head"}, ...],
      "income":  {"earned": 0, "business": 0, "property_income": 0, "public_transfer": 0, "other_income": 0},
      "assets":  {"residential": 0, "general": 0, "financial": 0},
      "cars":    [{"value": 5000000}],
      "debts": 0,
      "household_expenses": 0
    }

Amounts are whole won: incomes per month, assets and debts as values. Every error names the field
by its path (`members[1].age`), so a counter clerk sees what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bokji.errors import Invalid
from bokji.rules.parameters import REGION_CLASSES
from bokji.rules.recognised_income import HouseholdMeans, whole_won

INCOME_KEYS = ("earned", "business", "property_income", "public_transfer", "other_income")
ASSET_KEYS = ("residential", "general", "financial")
TOP_KEYS = {"region_class", "members", "income", "assets", "cars", "debts", "household_expenses", "name"}


@dataclass(frozen=True)
class Household:
    region_class: str
    members: list[dict[str, Any]]
    means: HouseholdMeans

    @property
    def size(self) -> int:
        return len(self.members)


def _amounts(section: Any, keys: tuple[str, ...], name: str) -> dict[str, int]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise Invalid(f"{name} must be an object", field=name)
    unknown = sorted(set(section) - set(keys))
    if unknown:
        raise Invalid(f"{name}.{unknown[0]} is not a known {name} kind (known: {', '.join(keys)})",
                      field=f"{name}.{unknown[0]}")
    return {k: whole_won(v, f"{name}.{k}") for k, v in section.items()}


def parse_household(doc: Any) -> Household:
    if not isinstance(doc, dict):
        raise Invalid("the household must be a JSON object", field="household")
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise Invalid(f"{unknown[0]} is not a household field", field=unknown[0])
    region = doc.get("region_class")
    if region not in REGION_CLASSES:
        raise Invalid(f"region_class must be one of {', '.join(REGION_CLASSES)}", field="region_class")
    members = doc.get("members")
    if not isinstance(members, list) or not members:
        raise Invalid("a household has at least one member", field="members")
    for i, member in enumerate(members):
        if not isinstance(member, dict):
            raise Invalid(f"members[{i}] must be an object", field=f"members[{i}]")
        age = member.get("age")
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
            raise Invalid(f"members[{i}].age must be a whole number 0-130", field=f"members[{i}].age")
    income = _amounts(doc.get("income"), INCOME_KEYS, "income")
    assets = _amounts(doc.get("assets"), ASSET_KEYS, "assets")
    cars = doc.get("cars") or []
    if not isinstance(cars, list):
        raise Invalid("cars must be a list", field="cars")
    car_total = sum(whole_won((c or {}).get("value") if isinstance(c, dict) else c, f"cars[{i}].value")
                    for i, c in enumerate(cars))
    means = HouseholdMeans(
        region_class=region, size=len(members), **income, **assets, car=car_total,
        debts=whole_won(doc.get("debts", 0), "debts"),
        household_expenses=whole_won(doc.get("household_expenses", 0), "household_expenses"),
    )
    return Household(region, members, means)
