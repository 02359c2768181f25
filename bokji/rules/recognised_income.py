"""Recognised income (소득인정액) = income evaluation (소득평가액) + property converted to income.

A registered, versioned calculation: processes call it by name and version, and its result carries
a trace of every step with the figures and the parameter year used. The order of the property
deductions is procedural, which is why this is code and not a decision table:

1. the regional basic-property deduction comes off residential property first, then general, then
   financial; what is left of it is lost;
2. residential property above the regional cap counts as general property;
3. debts come off in the same order (an assumption of the reference, marked `unverified`);
4. cars count at 100 % a month and get neither deduction;
5. every converted amount is rounded to the whole won, half up; the total is their sum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bokji.errors import Invalid
from bokji.rules.parameters import REFERENCE, REGION_CLASSES, parameters_on

NAME = "nblss.recognised_income"
VERSION = "2025.1"  # bump when the procedure (not the parameters) changes

INCOME_KINDS = ("earned", "business", "property_income", "public_transfer", "other_income")
ASSET_KINDS = ("residential", "general", "financial", "car")


def won(value: Decimal | int | float) -> int:
    """Whole won, half up, as the published tables round."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def whole_won(value: Any, field: str) -> int:
    """An amount from outside (a form, a file): a whole, non-negative number of won, or a 422 naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be a whole number of won", field=field)
    if value < 0:
        raise Invalid(f"{field} must not be negative", field=field)
    return value


@dataclass(frozen=True)
class HouseholdMeans:
    """A household's monthly incomes and its assets and debts, in KRW."""

    region_class: str
    size: int
    earned: int = 0
    business: int = 0
    property_income: int = 0
    public_transfer: int = 0
    other_income: int = 0
    household_expenses: int = 0  # 가구특성별 지출비용 recognised by the caseworker
    residential: int = 0
    general: int = 0
    financial: int = 0
    car: int = 0
    debts: int = 0

    def __post_init__(self) -> None:
        if self.region_class not in REGION_CLASSES:
            raise Invalid(f"region_class must be one of {', '.join(REGION_CLASSES)}", field="region_class")
        if not isinstance(self.size, int) or self.size < 1:
            raise Invalid("household size must be at least 1", field="size")
        for name in (*INCOME_KINDS, "household_expenses", *ASSET_KINDS, "debts"):
            whole_won(getattr(self, name), name)


@dataclass
class Step:
    rule: str
    figures: dict[str, Any]
    result: int
    source: str = REFERENCE


@dataclass
class RecognisedIncome:
    total: int
    income_evaluation: int
    property_income: int
    converted: dict[str, int]
    parameter_year: int
    calculation: str = f"{NAME}@{VERSION}"
    trace: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calculate(means: HouseholdMeans, on: date) -> RecognisedIncome:
    params = parameters_on(on)
    trace: list[Step] = []

    # Income evaluation: actual income − household expenses − the earned-income deduction.
    counted_earned = won(Decimal(means.earned) * params.earned_income_counted)
    trace.append(Step("earned income counts at 70 % (30 % deduction)", {"earned": means.earned,
                      "rate": str(params.earned_income_counted)}, counted_earned))
    actual_other = means.business + means.property_income + means.public_transfer + means.other_income
    evaluation = max(counted_earned + actual_other - means.household_expenses, 0)
    trace.append(Step("income evaluation = counted earned + other income − household expenses",
                      {"counted_earned": counted_earned, "other_income": actual_other,
                       "household_expenses": means.household_expenses}, evaluation))

    # Property: cap, then deductions in order, then conversion.
    region = params.region[means.region_class]
    residential = min(means.residential, region.residential_cap)
    general = means.general + max(means.residential - region.residential_cap, 0)
    trace.append(Step("residential property above the regional cap counts as general",
                      {"residential": means.residential, "cap": region.residential_cap,
                       "region_class": means.region_class}, residential))
    amounts = {"residential": residential, "general": general, "financial": means.financial}
    for deduction, amount, rule in (
        ("basic_property", region.basic_property,
         "regional basic-property deduction, residential → general → financial"),
        ("debts", means.debts, "debts deducted in the same order (order unverified)"),
    ):
        left = amount
        for kind in ("residential", "general", "financial"):
            taken = min(left, amounts[kind])
            amounts[kind] -= taken
            left -= taken
        trace.append(Step(rule, {deduction: amount, "unused": left, **{k: v for k, v in amounts.items()}},
                          amount - left))
    converted = {kind: won(Decimal(amounts[kind]) * params.conversion[kind]) for kind in amounts}
    converted["car"] = won(Decimal(means.car) * params.conversion["car"])
    for kind, value in converted.items():
        trace.append(Step(f"{kind} property converted at {params.conversion[kind] * 100:.2f} % a month",
                          {"base": amounts.get(kind, means.car), "rate": str(params.conversion[kind])}, value))
    property_income = sum(converted.values())
    total = evaluation + property_income
    trace.append(Step("recognised income = income evaluation + property converted to income",
                      {"income_evaluation": evaluation, "property_income": property_income}, total))
    return RecognisedIncome(total, evaluation, property_income, converted, params.year, trace=trace)
