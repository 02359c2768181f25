"""Each catalog service's own rule: eligibility, amount, unit and period, with a full trace.

One set of calculations for screening, the eligibility module of every case, the decision form, the
notice and the periodic review: all call `assess` with a household (bokji/rules/household.py), the
year's parameters and the case (who applies, which children it covers). Every figure comes from the
parameter set; a rule of ours that the reference does not confirm is an `assumption` in the trace
(unverified); a figure or field the rule cannot do without makes the result `needs_information`
naming it. Rules are registered by name and version in bokji/registrations.py (`RULES` below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bokji.rules import recognised_income
from bokji.rules.household import Household
from bokji.rules.parameters import MissingParameter, ParameterSet
from bokji.rules.recognised_income import NeedsField
from bokji.rules.trace import ELIGIBLE, NEEDS_INFORMATION, NOT_ELIGIBLE, Assessment, Tracer, won


@dataclass(frozen=True)
class Case:
    """What one service's decision is about."""

    on: date  # application date, or the date a review round covers
    rule: dict[str, Any]  # the catalog entry's rule ({"kind": ..., "benefit"/"percent": ...})
    applicant: int | None = None  # member index; None = the household's applicant or head
    children: tuple[int, ...] | None = None  # member indices the case covers; None = the rule's default


@dataclass(frozen=True)
class Rule:
    name: str
    version: str
    decide: Callable[[Tracer, Household, Case], None]

    @property
    def calculation(self) -> str:
        return f"{self.name}@{self.version}"


def _median(t: Tracer, size: int) -> int:
    medians = t.value("nblss.median")
    if str(size) not in medians:
        raise NeedsField("nblss.median", "needs.median_size")
    return medians[str(size)]


def _line(t: Tracer, size: int, percent: int | float, message: str = "threshold.percent_of_median") -> int:
    median = _median(t, size)
    return t.step(message, won(Decimal(median) * Decimal(str(percent)) / 100), median=median, percent=percent,
                  size=size, year=t.params.year)


def _compare(t: Tracer, income: int, threshold: int) -> bool:
    t.result.tested_income, t.result.threshold = income, threshold
    within = income <= threshold
    t.result.status = ELIGIBLE if within else NOT_ELIGIBLE
    t.reason("reason.within_line" if within else "reason.above_line", income=income, threshold=threshold)
    return within


def _applicant(household: Household, case: Case) -> int:
    return household.applicant if case.applicant is None else case.applicant


def _age(household: Household, index: int) -> int:
    age = household.members[index].age
    if age is None:
        raise NeedsField(f"members[{index}].age", "needs.age")
    return age


# --- basic livelihood security (국민기초생활보장): livelihood, medical, housing, education ----------

def _housing_amount(t: Tracer, household: Household, income: int) -> None:
    housing = household.housing
    if housing is None:
        raise NeedsField("housing", "needs.housing")
    if housing.tenure != "rent":
        raise NeedsField("housing.tenure", "needs.owner_repair_benefit")
    table = t.value("housing.reference_rent")[household.region_class]
    rate = t.value("housing.deposit_conversion_yearly")
    deposit_monthly = won(Decimal(housing.deposit) * Decimal(str(rate)) / 12)
    actual = t.step("housing.actual_rent", housing.monthly_rent + deposit_monthly,
                    rent=housing.monthly_rent, deposit=housing.deposit, rate=rate)
    large = t.value("housing.large_household")
    size = household.size
    if size <= len(table):
        reference = table[size - 1]
    elif size <= large["same_as_six_up_to"]:
        reference = table[-1]
    elif size <= large["plus_up_to"]:
        reference = won(Decimal(table[-1]) * (100 + large["plus_percent"]) / 100)
    else:
        raise NeedsField("housing.reference_rent", "needs.reference_rent_size")
    t.step("housing.reference_rent", reference, region_class=household.region_class, size=size)
    livelihood_line = won(Decimal(_median(t, size)) * t.value("nblss.threshold_percent")["livelihood"] / 100)
    share = t.value("housing.self_payment_rate")
    self_payment = t.step("housing.self_payment", won(Decimal(max(income - livelihood_line, 0)) * Decimal(str(share))),
                          income=income, livelihood_line=livelihood_line, rate=share)
    amount = min(actual, reference) - self_payment
    minimum = t.value("housing.minimum_payment")
    t.result.amount = t.step("housing.amount", max(amount, minimum), actual=actual, reference=reference,
                             self_payment=self_payment, minimum=minimum)
    t.result.period = "month"


def _pupils(household: Household, case: Case) -> list[int]:
    if case.children is not None:
        return list(case.children)
    return [i for i, m in enumerate(household.members) if m.school_level in ("elementary", "middle", "high")]


def _education_amount(t: Tracer, household: Household, case: Case) -> None:
    pupils = _pupils(household, case)
    support = t.value("education.activity_support")
    total = 0
    for i in pupils:
        level = household.members[i].school_level
        if level not in support:
            raise NeedsField(f"members[{i}].school_level", "needs.school_level")
        total += t.step("education.activity_support", support[level], member=i, level=level)
        if level == "high":  # paid by the school at cost: no figure, but the letter must say it
            known = t.params.has("education.high_school_extras")
            if known:
                t.value("education.high_school_extras")
            t.step("education.high_school_extras", None, member=i,
                   assumption=None if known else "education.high_school_extras_this_year")
    t.result.amount, t.result.period = total, "year"


def nblss(t: Tracer, household: Household, case: Case) -> None:
    benefit = case.rule["benefit"]
    if benefit == "education" and not _pupils(household, case):
        t.result.status = NOT_ELIGIBLE
        t.reason("reason.no_pupil")
        return
    income = recognised_income.calculate(t, household).total
    threshold = _line(t, household.size, t.value("nblss.threshold_percent")[benefit], "threshold.nblss")
    if not _compare(t, income, threshold):
        return
    if benefit == "livelihood":
        t.result.amount = t.step("livelihood.amount", threshold - income, threshold=threshold, income=income)
        t.result.period = "month"
    elif benefit == "medical":
        t.result.payment = "in_kind"
        t.reason("reason.obligor_rule_at_investigation")
    elif benefit == "housing":
        _housing_amount(t, household, income)
    else:
        _education_amount(t, household, case)


# --- basic pension (기초연금) ------------------------------------------------------------------------

def basic_pension(t: Tracer, household: Household, case: Case) -> None:
    me = _applicant(household, case)
    age = _age(household, me)
    minimum_age = t.value("basic_pension.minimum_age")
    if age < minimum_age:
        t.result.status = NOT_ELIGIBLE
        t.step("age.check", age, age=age, minimum_age=minimum_age)
        t.reason("reason.below_minimum_age", age=age, minimum_age=minimum_age)
        return
    spouse = household.spouse(me)
    unit = [me] if spouse is None else [me, spouse]
    lines = t.value("basic_pension.selection_line")
    line = t.step("basic_pension.selection_line", lines["single" if spouse is None else "couple"],
                  couple=spouse is not None)

    deduction = t.value("basic_pension.earned_income_deduction")
    evaluation = 0
    for i in unit:
        earned = household.members[i].income.earned
        if earned:
            evaluation += t.step("basic_pension.earned", won(Decimal(max(earned - deduction["amount"], 0))
                                                             * Decimal(str(deduction["counted"]))),
                                 member=i, earned=earned, deduction=deduction["amount"], counted=deduction["counted"])
        other = household.members[i].income.total() - earned
        if other:
            evaluation += t.step("basic_pension.other_income", other, member=i)
    unattributed = household.income.total()
    if unattributed:
        evaluation += t.step("basic_pension.unattributed_income", unattributed,
                             assumption="basic_pension.unattributed_counted_as_applicants" if household.size > 1
                             else None)

    if household.locality is None:
        raise NeedsField("locality", "needs.locality")
    basic = t.value("basic_pension.basic_property")[household.locality]
    general = sum(household.members[i].assets.residential + household.members[i].assets.general for i in unit)
    financial = sum(household.members[i].assets.financial for i in unit)
    debts = sum(household.members[i].debts for i in unit) + household.debts
    general += household.assets.residential + household.assets.general
    financial += household.assets.financial
    full_value_cc = t.value("basic_pension.car_full_value_engine_cc")
    cars = [*household.cars, *(c for i in unit for c in household.members[i].cars)]
    full_cars = 0
    for k, car in enumerate(cars):
        if car.engine_cc is None:
            raise NeedsField(f"cars[{k}].engine_cc", "needs.car_engine")
        if car.engine_cc >= full_value_cc:
            full_cars += t.step("basic_pension.car_full", car.value, car=k, engine_cc=car.engine_cc,
                                limit_cc=full_value_cc)
        else:
            general += t.step("basic_pension.car_general", car.value, car=k, engine_cc=car.engine_cc,
                              limit_cc=full_value_cc)
    exemption = t.value("basic_pension.financial_exemption")
    rate = t.value("basic_pension.conversion_rate_yearly")
    base = max(general - basic + financial - exemption - debts, 0)
    converted = t.step("basic_pension.property", won(Decimal(base) * Decimal(str(rate)) / 12), general=general,
                       basic_property=basic, locality=household.locality, financial=financial, exemption=exemption,
                       debts=debts, rate=rate)
    income = t.step("basic_pension.recognised_income", evaluation + converted + full_cars, evaluation=evaluation,
                    property=converted, cars=full_cars)
    if not _compare(t, income, line):
        return

    standard = t.value("basic_pension.standard_amount")
    pension = household.members[me].income.public_transfer
    limit = won(Decimal(standard) * t.value("basic_pension.full_amount_pension_percent") / 100)
    t.step("basic_pension.national_pension", pension, limit=limit, standard=standard)
    if pension > limit:
        raise NeedsField("basic_pension.national_pension_reduction", "needs.pension_linked_reduction")
    amount = standard
    both = spouse is not None and (household.members[spouse].age or 0) >= minimum_age
    if both:
        reduction = t.value("basic_pension.couple_reduction")
        amount = t.step("basic_pension.couple_reduction", won(Decimal(standard) * (1 - Decimal(str(reduction)))),
                        assumption="basic_pension.spouse_also_receives", standard=standard, reduction=reduction)
    paid_to_unit = amount * (2 if both else 1)
    if income + paid_to_unit > line:
        raise NeedsField("basic_pension.reduction_near_line", "needs.reduction_near_line")
    t.result.amount = t.step("basic_pension.amount", amount, standard=standard)
    t.result.period = "month"


# --- single-parent family child-rearing allowance (한부모가족 아동양육비) -----------------------------

def _children(t: Tracer, household: Household, case: Case) -> list[int]:
    if case.children is not None:
        return list(case.children)
    limits = t.value("single_parent.child_age_limit")
    found = []
    for i, member in enumerate(household.members):
        if household.relation(i) not in ("child", "grandchild"):
            continue
        age = _age(household, i)
        if age < limits["under"] or (age < limits["in_school_under"] and member.school_level is not None):
            found.append(i)
    return found


def single_parent(t: Tracer, household: Household, case: Case) -> None:
    percents = t.value("single_parent.income_percent")
    parent = _applicant(household, case)
    parent_age = _age(household, parent)
    children = _children(t, household, case)
    if not children:
        t.result.status = NOT_ELIGIBLE
        t.reason("reason.no_child")
        return
    young = parent_age <= t.value("single_parent.young_parent_max_age")
    threshold = _line(t, household.size, percents["young_parent" if young else "standard"])
    car_value = sum(c.value for c in household.all_cars())
    car_limit = t.value("single_parent.car_limit")
    t.step("single_parent.car_limit", car_value, limit=car_limit)
    if car_value > car_limit:
        t.result.status = NOT_ELIGIBLE
        t.reason("reason.car_above_limit", value=car_value, limit=car_limit)
        return
    income = recognised_income.calculate(t, household).total
    t.step("single_parent.income_method", income, assumption="single_parent.nblss_income_method")
    if not _compare(t, income, threshold):
        return
    grandparent_family = any(household.relation(i) == "grandchild" for i in children)
    unmarried = household.members[parent].unmarried
    total = 0
    for i in children:
        age = _age(household, i)
        if young:
            infant = t.params.has("single_parent.young_parent_infant_allowance") and \
                t.value("single_parent.young_parent_infant_allowance")
            if infant and age < infant["under_age"]:
                base = t.step("single_parent.young_infant", infant["amount"], member=i, age=age)
            else:
                base = t.step("single_parent.young_parent", t.value("single_parent.young_parent_allowance"),
                              member=i, age=age)
        else:
            base = t.step("single_parent.child", t.value("single_parent.child_allowance"), member=i, age=age)
            extras = t.value("single_parent.extras")
            if (grandparent_family or (unmarried and parent_age >= extras["older_parent_min_age"])) \
                    and age <= extras["infant_max_age"]:
                base += t.step("single_parent.extra_older", extras["older_parent_infant"], member=i, age=age)
            elif extras["young_adult_min_age"] <= parent_age <= extras["young_adult_max_age"]:
                extra = extras["young_adult_infant"] if age <= extras["infant_max_age"] else \
                    extras["young_adult_child"] if age <= extras["child_max_age"] else 0
                if extra:
                    base += t.step("single_parent.extra_young_adult", extra, member=i, age=age,
                                   parent_age=parent_age)
        total += base
    t.step("single_parent.school_supplies", None, assumption="single_parent.school_supplies_not_included")
    t.result.amount = t.step("single_parent.amount", total, children=len(children))
    t.result.period = "month"


# --- national employment support (국민취업지원제도 I유형) ---------------------------------------------

def employment_support(t: Tracer, household: Household, case: Case) -> None:
    me = _applicant(household, case)
    age = _age(household, me)
    ages = t.value("employment.age")
    if not ages["min"] <= age <= ages["max"]:
        t.result.status = NOT_ELIGIBLE
        t.reason("reason.outside_age_range", age=age, min=ages["min"], max=ages["max"])
        return
    percents = t.value("employment.income_percent")
    youth = percents["youth_min_age"] <= age <= percents["youth_max_age"]
    income = t.step("employment.household_income",
                    household.income.total() + sum(m.income.total() for m in household.members), youth=youth)
    threshold = _line(t, household.size, percents["youth" if youth else "standard"])
    holdings = (household.assets, *(m.assets for m in household.members))
    assets = sum(a.residential + a.general + a.financial for a in holdings) + sum(c.value for c in household.all_cars())
    cap = t.value("employment.asset_limit")["youth" if youth else "standard"]
    t.step("employment.assets", assets, assumption="employment.assets_gross_of_debts", limit=cap)
    if assets > cap:
        t.result.status = NOT_ELIGIBLE
        t.result.tested_income, t.result.threshold = income, threshold
        t.reason("reason.assets_above_cap", assets=assets, cap=cap)
        return
    if not _compare(t, income, threshold):
        return
    allowance = t.value("employment.allowance")
    dependants = sum(1 for i, m in enumerate(household.members) if i != me and (
        household.relation(i) == "spouse" or (m.age is not None and (m.age < 18 or m.age >= 65))))
    t.step("employment.dependants", dependants, assumption="employment.who_is_a_dependant")
    t.result.amount = t.step("employment.amount", min(allowance["monthly"] + allowance["per_dependant"] * dependants,
                                                      allowance["max_monthly"]),
                             monthly=allowance["monthly"], per_dependant=allowance["per_dependant"],
                             dependants=dependants, maximum=allowance["max_monthly"])
    t.result.period, t.result.duration_months = "month", allowance["months"]


# --- public rental housing (국민임대) and the MOE education cost support -----------------------------

def public_rental(t: Tracer, household: Household, case: Case) -> None:
    t.result.payment = "qualification"
    t.value("public_rental.urban_worker_income")  # not in the reference: needs_information naming it


def education_cost(t: Tracer, household: Household, case: Case) -> None:
    if not _pupils(household, case):
        t.result.status = NOT_ELIGIBLE
        t.reason("reason.no_pupil")
        return
    income = recognised_income.calculate(t, household).total
    t.step("education_cost.income_method", income, assumption="education_cost.nblss_income_method")
    threshold = _line(t, household.size, t.value("education_cost.income_percent"))
    if _compare(t, income, threshold):
        t.value("education_cost.amount")  # each education office sets it; not in the reference


def income_percent(t: Tracer, household: Household, case: Case) -> None:
    """Synthetic services of load tests (and any service whose percent the catalog gives)."""
    income = recognised_income.calculate(t, household).total
    threshold = _line(t, household.size, case.rule["percent"])
    t.step("income_percent.source", None, assumption=f"catalog.percent: {case.rule.get('source') or 'unverified'}")
    _compare(t, income, threshold)


def no_rule(t: Tracer, household: Household, case: Case) -> None:
    raise NeedsField("rule", "needs.no_rule")


RULES: dict[str, Rule] = {r.name.removeprefix("benefit."): r for r in (
    Rule("benefit.nblss", "2025.1", nblss),
    Rule("benefit.basic_pension", "2025.1", basic_pension),
    Rule("benefit.single_parent", "2025.1", single_parent),
    Rule("benefit.employment_support", "2025.1", employment_support),
    Rule("benefit.public_rental", "2025.1", public_rental),
    Rule("benefit.education_cost", "2025.1", education_cost),
    Rule("benefit.income_percent", "2025.1", income_percent),
    Rule("benefit.none", "2025.1", no_rule),
)}


def assess(household: Household, params: ParameterSet, case: Case) -> Assessment:
    """The service's rule (by the catalog rule's kind) on this household and case."""
    rule = RULES[case.rule["kind"]]
    t = Tracer(rule.calculation, params)
    try:
        rule.decide(t, household, case)
    except NeedsField as exc:
        t.needs(exc.field, exc.message)
    except MissingParameter as exc:
        t.needs(f"{exc.name}@{exc.year}", "needs.parameter", name=exc.name, year=exc.year)
    result = t.result
    if result.status == NEEDS_INFORMATION:
        result.amount = result.period = None
    elif result.status == NOT_ELIGIBLE:
        result.amount = result.period = result.duration_months = None
    return result
