"""The texts of the rules' message ids (reasons, trace steps, what is missing, assumptions).

Results carry the id and its parameters, never only the text, so a page can show them in the
reader's language; the English texts below are the message ids' source strings (the translation
catalog of the Korean-pages issue takes them from here). Amounts are formatted with separators.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    # reasons
    "reason.within_line": "income {income} won is at or below the line of {threshold} won",
    "reason.above_line": "income {income} won is above the line of {threshold} won",
    "reason.below_minimum_age": "the applicant is {age}; the service starts at {minimum_age}",
    "reason.outside_age_range": "the applicant is {age}; the service is for ages {min}-{max}",
    "reason.no_child": "no child in the household the allowance could cover",
    "reason.no_pupil": "no member at elementary, middle or high school",
    "reason.car_above_limit": "cars worth {value} won are above the limit of {limit} won",
    "reason.assets_above_cap": "assets of {assets} won are above the cap of {cap} won",
    "reason.obligor_rule_at_investigation": "subject to the obligor (family support) rule, checked at investigation",
    # what is missing
    "needs.field": "{what} is needed to decide",
    "needs.parameter": "the reference gives no {name} for {year}: the figure must be entered first",
    "needs.age": "{what} (age) is needed to decide",
    "needs.earner_age": "{what}: an earner's age is needed (youth and elderly deductions)",
    "needs.car_engine": "{what}: the engine size of a car is needed (car rule)",
    "needs.housing": "housing (tenure, rent and deposit) is needed for the housing benefit",
    "needs.owner_repair_benefit": "owner-occupiers get repair support (수선유지급여), which is not encoded: "
                                  "the office decides",
    "needs.reference_rent_size": "no reference rent is published for a household of 10 or more",
    "needs.median_size": "no standard median income is encoded for this household size",
    "needs.locality": "locality (large city, smaller city or rural county) is needed for the basic-property deduction",
    "needs.school_level": "{what}: elementary, middle or high school is needed",
    "needs.pension_linked_reduction": "the national pension is above 150 % of the standard amount: the "
                                      "pension-linked reduction is not in the reference, the office decides",
    "needs.reduction_near_line": "income plus the pension exceeds the selection line: the reduction near the "
                                 "line is not in the reference, the office decides",
    "needs.no_rule": "no eligibility rule is encoded for this service yet: ask the office",
    # trace steps
    "threshold.nblss": "selection line: {percent} % of the {year} median {median} won for a household of {size}",
    "threshold.percent_of_median": "income line: {percent} % of the {year} median {median} won for a household "
                                   "of {size}",
    "age.check": "age {age} against the minimum age {minimum_age}",
    "nblss.earned.unattributed": "earned income {earned} won not attributed to a member counts at {counted}",
    "nblss.earned.member": "member {member}: earned {earned} won less {deduction} won counts at {counted}",
    "nblss.earned.youth_deduction": "member {member} (age {age}): youth deduction of {amount} won",
    "nblss.earned.elderly_deduction": "member {member} (age {age}): elderly deduction of {amount} won",
    "nblss.income_evaluation": "income evaluation = counted earned {counted_earned} + other income {other_income} "
                               "- household expenses {household_expenses}",
    "nblss.residential_cap": "residential property {residential} won above the {region_class} cap {cap} won "
                             "counts as general",
    "nblss.basic_property_deduction": "regional basic-property deduction of {amount} won, residential → general → "
                                      "financial ({unused} won unused)",
    "nblss.debt_deduction": "debts of {amount} won deducted in the same order ({unused} won unused)",
    "nblss.car.disability": "car {car}: a disability car counts as general property",
    "nblss.car.low_value": "car {car}: value {value} won is under {limit} won: counts as general property",
    "nblss.car.engine": "car {car}: {engine_cc} cc against the {limit_cc} cc limit",
    "nblss.converted": "{kind} property {base} won converted at {rate} a month",
    "nblss.converted.car_general": "cars counted as general property ({base} won) converted at {rate} a month",
    "nblss.recognised_income": "recognised income = income evaluation {income_evaluation} + converted property "
                               "{property_income}",
    "livelihood.amount": "livelihood benefit = line {threshold} - recognised income {income}",
    "housing.actual_rent": "actual rent = rent {rent} won + deposit {deposit} won at {rate} a year ÷ 12",
    "housing.reference_rent": "reference rent for {region_class}, a household of {size}",
    "housing.self_payment": "self-payment = 30 % of income {income} above the livelihood line {livelihood_line}",
    "housing.amount": "rent subsidy = lower of actual {actual} and reference {reference} - self-payment "
                      "{self_payment}, at least {minimum}",
    "education.activity_support": "member {member}: education activity support for {level} school, a year",
    "education.high_school_extras": "member {member}: entrance fee, tuition and textbooks paid in full at cost",
    "basic_pension.selection_line": "selection line (couple: {couple})",
    "basic_pension.earned": "member {member}: earned {earned} won less {deduction} won counts at {counted}",
    "basic_pension.other_income": "member {member}: business, property and public-transfer income in full",
    "basic_pension.unattributed_income": "income not attributed to a member, counted as the applicant's",
    "basic_pension.car_full": "car {car}: {engine_cc} cc, at or above {limit_cc} cc, counts at its full value",
    "basic_pension.car_general": "car {car}: {engine_cc} cc, under {limit_cc} cc, counts as general property",
    "basic_pension.property": "property income = (general {general} - basic property {basic_property} ({locality}) "
                              "+ financial {financial} - {exemption} - debts {debts}) × {rate} ÷ 12",
    "basic_pension.recognised_income": "recognised income = {evaluation} + property {property} + cars {cars}",
    "basic_pension.national_pension": "national pension against the full-amount limit of {limit} won "
                                      "(150 % of {standard})",
    "basic_pension.couple_reduction": "couple reduction: {reduction} of the standard amount {standard}",
    "basic_pension.amount": "basic pension a month (standard amount {standard})",
    "single_parent.car_limit": "cars' value against the limit of {limit} won",
    "single_parent.income_method": "recognised income by the basic livelihood method",
    "single_parent.child": "member {member} (age {age}): child-rearing allowance",
    "single_parent.young_parent": "member {member} (age {age}): young single parent's allowance",
    "single_parent.young_infant": "member {member} (age {age}): young single parent's allowance for an infant",
    "single_parent.extra_older": "member {member} (age {age}): extra for a grandparent or an unmarried parent "
                                 "of 35 or over",
    "single_parent.extra_young_adult": "member {member} (age {age}): extra for a parent of {parent_age}",
    "single_parent.school_supplies": "school supplies (93,000 won a year): who qualifies is not in the reference; "
                                     "not included",
    "single_parent.amount": "allowance a month for {children} child(ren)",
    "employment.household_income": "household income (all members' actual income)",
    "employment.assets": "household assets against the cap of {limit} won",
    "employment.dependants": "dependants (spouse, members under 18 or 65 and over)",
    "employment.amount": "allowance = {monthly} + {per_dependant} × {dependants} dependants, at most {maximum}",
    "education_cost.income_method": "recognised income by the basic livelihood method",
    "income_percent.source": "the line's percent comes from the catalog",
    # assumptions of ours (unverified)
    "nblss.debt_deduction_order": "debts are deducted in the basic-property order (an assumption of the reference)",
    "nblss.car.disability_exemption": "a disability car counts as general property (exact rule to verify)",
    "nblss.car.no_deduction": "cars counted as general property get no deduction",
    "basic_pension.unattributed_counted_as_applicants": "income not attributed to a member is counted as the "
                                                        "applicant's",
    "basic_pension.spouse_also_receives": "the couple reduction assumes the spouse also receives the basic pension",
    "single_parent.nblss_income_method": "the allowance's own income rules are not in the reference: the basic "
                                         "livelihood method is used",
    "education.high_school_extras_this_year": "the reference states the high-school extras for 2025 only",
    "single_parent.school_supplies_not_included": "school supplies are not included",
    "employment.assets_gross_of_debts": "assets are counted without deducting debts",
    "employment.who_is_a_dependant": "who counts as a dependant is not in the reference",
    "education_cost.nblss_income_method": "the education offices' income rules are not in the reference: the "
                                          "basic livelihood method is used",
}


# Parameters that are counts, ages or years, not amounts: shown without separators.
NOT_AMOUNTS = {"year", "age", "member", "car", "size", "min", "max", "minimum_age", "parent_age", "children",
               "dependants", "percent", "engine_cc", "limit_cc"}
RATES = {"rate", "counted", "reduction"}  # shares, shown as percentages


def _format(name: str, value: Any) -> Any:
    if name in RATES:
        try:
            return f"{float(value) * 100:g} %"
        except (TypeError, ValueError):
            return value
    if isinstance(value, int) and not isinstance(value, bool) and name not in NOT_AMOUNTS:
        return f"{value:,}"
    return value


def render(message_id: str, params: dict[str, Any] | None = None) -> str:
    """The English text of a message id; an unknown id (or a parameter tag) is shown as it is."""
    template = MESSAGES.get(message_id)
    if template is None:
        return message_id
    try:
        return template.format(**{k: _format(k, v) for k, v in (params or {}).items()})
    except (KeyError, IndexError, ValueError):
        return template
