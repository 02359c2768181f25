"""Recognised income (소득인정액) = income evaluation (소득평가액) + property converted to income.

The NBLSS procedure (welfare-system-anchors.md §3.3, benefit-figures-2025.md), as a traced function of
a household and the year's parameters. The order of the property deductions is procedural, which is
why this is code and not a decision table:

1. earned income counts at 70 % (the 30 % deduction), after a flat deduction for young (under 30)
   and elderly (65 or over, 2025) earners, per earner;
2. the regional basic-property deduction comes off residential property first, then general, then
   financial; what is left of it is lost; residential property above the regional cap counts as general;
3. debts come off in the same order (an assumption of the reference, marked unverified);
4. a car within the year's engine-size or value limit (or a disability car) counts as general property
   at the general rate, any other car at 100 % a month; cars get neither deduction;
5. every converted amount is rounded to the whole won, half up; the total is their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.rules.household import ASSET_KINDS, Car, Household
from bokji.rules.trace import Tracer, won

NAME = "nblss.recognised_income"
VERSION = "2025.2"  # bump when the procedure (not the parameters) changes


class NeedsField(Exception):
    """The household lacks a field the rule needs (e.g. an earner's age): the case needs information."""

    def __init__(self, field: str, message: str = "needs.field") -> None:
        super().__init__(field)
        self.field, self.message = field, message


def whole_won(value: Any, field: str) -> int:
    """An amount from outside (a form, a file): a whole, non-negative number of won, or a 422 naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(_("%(field)s must be a whole number of won.") % {"field": field}, field=field)
    if value < 0:
        raise Invalid(_("%(field)s must not be negative.") % {"field": field}, field=field)
    return value


@dataclass
class RecognisedIncome:
    total: int
    income_evaluation: int
    property_income: int
    converted: dict[str, int]


def _counted_earned(t: Tracer, household: Household) -> int:
    counted = Decimal(str(t.value("nblss.earned_income_counted")))
    total = 0
    if household.income.earned:
        total += t.step("nblss.earned.unattributed", won(household.income.earned * counted),
                        earned=household.income.earned, counted=str(counted))
    for i, member in enumerate(household.members):
        earned = member.income.earned
        if not earned:
            continue
        if member.age is None:
            raise NeedsField(f"members[{i}].age", "needs.earner_age")
        deduction = 0
        # The parameters are read only for an earner they could apply to (youth under 30 since 2023, the
        # elderly from 65 at the lowest): a year without them then needs information only for that earner.
        youth = t.value("nblss.youth_deduction") if member.age < 30 else None
        if youth is not None and member.age < youth["under_age"]:
            deduction = min(earned, youth["amount"])
            t.step("nblss.earned.youth_deduction", deduction, member=i, age=member.age, amount=youth["amount"])
        elif member.age >= 65:
            elderly = t.value("nblss.elderly_deduction")
            if member.age >= elderly["from_age"]:
                deduction = min(earned, elderly["amount"])
                t.step("nblss.earned.elderly_deduction", deduction, member=i, age=member.age,
                       amount=elderly["amount"])
        total += t.step("nblss.earned.member", won((earned - deduction) * counted), member=i, earned=earned,
                        deduction=deduction, counted=str(counted))
    return total


def _car_counts_as_general(t: Tracer, car: Car, index: int) -> bool:
    if car.use == "disability":
        t.step("nblss.car.disability", car.value, assumption="nblss.car.disability_exemption", car=index)
        return True
    limits = t.value("nblss.car_general_property")
    if car.value < limits["value_below"]:
        t.step("nblss.car.low_value", car.value, car=index, value=car.value, limit=limits["value_below"])
        return True
    if car.engine_cc is None:
        raise NeedsField(f"cars[{index}].engine_cc", "needs.car_engine")
    within = car.engine_cc <= limits["max_engine_cc"]
    t.step("nblss.car.engine", car.value, car=index, engine_cc=car.engine_cc, limit_cc=limits["max_engine_cc"],
           general=within)
    return within


def calculate(t: Tracer, household: Household) -> RecognisedIncome:
    """The household's recognised income, every step in `t`'s trace."""
    counted_earned = _counted_earned(t, household)
    other = sum(m.income.total() - m.income.earned for m in household.members) + \
        household.income.total() - household.income.earned
    evaluation = t.step("nblss.income_evaluation", max(counted_earned + other - household.household_expenses, 0),
                        counted_earned=counted_earned, other_income=other,
                        household_expenses=household.household_expenses)

    held = {kind: getattr(household.assets, kind) + sum(getattr(m.assets, kind) for m in household.members)
            for kind in ASSET_KINDS}
    debts = household.debts + sum(m.debts for m in household.members)
    region = t.value("nblss.region_amounts")[household.region_class]
    amounts = {"residential": min(held["residential"], region["residential_cap"]),
               "general": held["general"] + max(held["residential"] - region["residential_cap"], 0),
               "financial": held["financial"]}
    t.step("nblss.residential_cap", amounts["residential"], residential=held["residential"],
           cap=region["residential_cap"], region_class=household.region_class)
    for amount, message, assumption in (
        (region["basic_property"], "nblss.basic_property_deduction", None),
        (debts, "nblss.debt_deduction", "nblss.debt_deduction_order" if debts else None),
    ):
        left = amount
        for kind in ("residential", "general", "financial"):
            taken = min(left, amounts[kind])
            amounts[kind] -= taken
            left -= taken
        t.step(message, amount - left, assumption=assumption, amount=amount, unused=left, **amounts)

    rates = t.value("nblss.conversion_rate")
    general_cars = full_cars = 0
    for k, car in enumerate(household.all_cars()):
        if _car_counts_as_general(t, car, k):
            general_cars += car.value
        else:
            full_cars += car.value
    converted = {kind: t.step("nblss.converted", won(Decimal(amounts[kind]) * Decimal(str(rates[kind]))),
                              kind=kind, base=amounts[kind], rate=str(rates[kind]))
                 for kind in ("residential", "general", "financial")}
    if general_cars:
        converted["general"] += t.step("nblss.converted.car_general",
                                       won(Decimal(general_cars) * Decimal(str(rates["general"]))),
                                       assumption="nblss.car.no_deduction", base=general_cars,
                                       rate=str(rates["general"]))
    converted["car"] = t.step("nblss.converted", won(Decimal(full_cars) * Decimal(str(rates["car"]))),
                              kind="car", base=full_cars, rate=str(rates["car"]))
    property_income = sum(converted.values())
    total = t.step("nblss.recognised_income", evaluation + property_income, income_evaluation=evaluation,
                   property_income=property_income)
    return RecognisedIncome(total, evaluation, property_income, converted)
