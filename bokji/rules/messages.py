"""The texts of the rules' message ids (reasons, trace steps, what is missing, assumptions).

Results carry the id and its parameters, never only the text, so a page can show them in the
reader's language: the English texts below are the catalog's message ids (bokji/i18n.py; the Korean
is in locale/ko). Amounts are formatted with separators.
"""

from __future__ import annotations

from typing import Any

from bokji.i18n import N_, gettext

MESSAGES: dict[str, str] = {
    # reasons
    "reason.within_line": N_("income {income} won is at or below the line of {threshold} won"),
    "reason.above_line": N_("income {income} won is above the line of {threshold} won"),
    "reason.below_minimum_age": N_("the applicant is {age}; the service starts at {minimum_age}"),
    "reason.outside_age_range": N_("the applicant is {age}; the service is for ages {min}-{max}"),
    "reason.no_child": N_("no child in the household the allowance could cover"),
    "reason.no_pupil": N_("no member at elementary, middle or high school"),
    "reason.car_above_limit": N_("cars worth {value} won are above the limit of {limit} won"),
    "reason.assets_above_cap": N_("assets of {assets} won are above the cap of {cap} won"),
    "reason.obligor_rule_at_investigation": N_("subject to the obligor (family support) rule, checked at "
                                               "investigation"),
    # what is missing
    "needs.field": N_("{what} is needed to decide"),
    "needs.parameter": N_("the reference gives no {name} for {year}: the figure must be entered first"),
    "needs.age": N_("{what} (age) is needed to decide"),
    "needs.earner_age": N_("{what}: an earner's age is needed (youth and elderly deductions)"),
    "needs.car_engine": N_("{what}: the engine size of a car is needed (car rule)"),
    "needs.housing": N_("housing (tenure, rent and deposit) is needed for the housing benefit"),
    "needs.owner_repair_benefit": N_("owner-occupiers get repair support (수선유지급여), which is not encoded: the "
                                     "office decides"),
    "needs.reference_rent_size": N_("no reference rent is published for a household of 10 or more"),
    "needs.median_size": N_("no standard median income is encoded for this household size"),
    "needs.locality": N_("locality (large city, smaller city or rural county) is needed for the basic-property "
                         "deduction"),
    "needs.school_level": N_("{what}: elementary, middle or high school is needed"),
    "needs.pension_linked_reduction": N_("the national pension is above 150 % of the standard amount: the "
                                         "pension-linked reduction is not in the reference, the office decides"),
    "needs.reduction_near_line": N_("income plus the pension exceeds the selection line: the reduction near the "
                                    "line is not in the reference, the office decides"),
    "needs.no_rule": N_("no eligibility rule is encoded for this service yet: ask the office"),
    # trace steps
    "threshold.nblss": N_("selection line: {percent} % of the {year} median {median} won for a household of {size}"),
    "threshold.percent_of_median": N_("income line: {percent} % of the {year} median {median} won for a "
                                      "household of {size}"),
    "age.check": N_("age {age} against the minimum age {minimum_age}"),
    "nblss.earned.unattributed": N_("earned income {earned} won not attributed to a member counts at {counted}"),
    "nblss.earned.member": N_("member {member}: earned {earned} won less {deduction} won counts at {counted}"),
    "nblss.earned.youth_deduction": N_("member {member} (age {age}): youth deduction of {amount} won"),
    "nblss.earned.elderly_deduction": N_("member {member} (age {age}): elderly deduction of {amount} won"),
    "nblss.income_evaluation": N_("income evaluation = counted earned {counted_earned} + other income "
                                  "{other_income} - household expenses {household_expenses}"),
    "nblss.residential_cap": N_("residential property {residential} won above the {region_class} cap {cap} won "
                                "counts as general"),
    "nblss.basic_property_deduction": N_("regional basic-property deduction of {amount} won, residential → "
                                         "general → financial ({unused} won unused)"),
    "nblss.debt_deduction": N_("debts of {amount} won deducted in the same order ({unused} won unused)"),
    "nblss.car.disability": N_("car {car}: a disability car counts as general property"),
    "nblss.car.low_value": N_("car {car}: value {value} won is under {limit} won: counts as general property"),
    "nblss.car.engine": N_("car {car}: {engine_cc} cc against the {limit_cc} cc limit"),
    "nblss.converted": N_("{kind} property {base} won converted at {rate} a month"),
    "nblss.converted.car_general": N_("cars counted as general property ({base} won) converted at {rate} a month"),
    "nblss.recognised_income": N_("recognised income = income evaluation {income_evaluation} + converted "
                                  "property {property_income}"),
    "livelihood.amount": N_("livelihood benefit = line {threshold} - recognised income {income}"),
    "housing.actual_rent": N_("actual rent = rent {rent} won + deposit {deposit} won at {rate} a year ÷ 12"),
    "housing.reference_rent": N_("reference rent for {region_class}, a household of {size}"),
    "housing.self_payment": N_("self-payment = 30 % of income {income} above the livelihood line {livelihood_line}"),
    "housing.amount": N_("rent subsidy = lower of actual {actual} and reference {reference} - self-payment "
                         "{self_payment}, at least {minimum}"),
    "education.activity_support": N_("member {member}: education activity support for {level}, a year"),
    "education.high_school_extras": N_("member {member}: entrance fee, tuition and textbooks paid in full at cost"),
    "basic_pension.selection_line": N_("selection line (couple: {couple})"),
    "basic_pension.earned": N_("member {member}: earned {earned} won less {deduction} won counts at {counted}"),
    "basic_pension.other_income": N_("member {member}: business, property and public-transfer income in full"),
    "basic_pension.unattributed_income": N_("income not attributed to a member, counted as the applicant's"),
    "basic_pension.car_full": N_("car {car}: {engine_cc} cc, at or above {limit_cc} cc, counts at its full value"),
    "basic_pension.car_general": N_("car {car}: {engine_cc} cc, under {limit_cc} cc, counts as general property"),
    "basic_pension.property": N_("property income = (general {general} - basic property {basic_property} "
                                 "({locality}) + financial {financial} - {exemption} - debts {debts}) × {rate} "
                                 "÷ 12"),
    "basic_pension.recognised_income": N_("recognised income = {evaluation} + property {property} + cars {cars}"),
    "basic_pension.national_pension": N_("national pension against the full-amount limit of {limit} won (150 % "
                                         "of {standard})"),
    "basic_pension.couple_reduction": N_("couple reduction: {reduction} of the standard amount {standard}"),
    "basic_pension.amount": N_("basic pension a month (standard amount {standard})"),
    "single_parent.car_limit": N_("cars' value against the limit of {limit} won"),
    "single_parent.income_method": N_("recognised income by the basic livelihood method"),
    "single_parent.child": N_("member {member} (age {age}): child-rearing allowance"),
    "single_parent.young_parent": N_("member {member} (age {age}): young single parent's allowance"),
    "single_parent.young_infant": N_("member {member} (age {age}): young single parent's allowance for an infant"),
    "single_parent.extra_older": N_("member {member} (age {age}): extra for a grandparent or an unmarried "
                                    "parent of 35 or over"),
    "single_parent.extra_young_adult": N_("member {member} (age {age}): extra for a parent of {parent_age}"),
    "single_parent.school_supplies": N_("school supplies (93,000 won a year): who qualifies is not in the "
                                        "reference; not included"),
    "single_parent.amount": N_("allowance a month for {children} child(ren)"),
    "employment.household_income": N_("household income (all members' actual income)"),
    "employment.assets": N_("household assets against the cap of {limit} won"),
    "employment.dependants": N_("dependants (spouse, members under 18 or 65 and over)"),
    "employment.amount": N_("allowance = {monthly} + {per_dependant} × {dependants} dependants, at most {maximum}"),
    "education_cost.income_method": N_("recognised income by the basic livelihood method"),
    "income_percent.source": N_("the line's percent comes from the catalog"),
    # assumptions of ours (unverified)
    "nblss.debt_deduction_order": N_("debts are deducted in the basic-property order (an assumption of the reference)"),
    "nblss.car.disability_exemption": N_("a disability car counts as general property (exact rule to verify)"),
    "nblss.car.no_deduction": N_("cars counted as general property get no deduction"),
    "basic_pension.unattributed_counted_as_applicants": N_("income not attributed to a member is counted as the "
                                                           "applicant's"),
    "basic_pension.spouse_also_receives": N_("the couple reduction assumes the spouse also receives the basic pension"),
    "single_parent.nblss_income_method": N_("the allowance's own income rules are not in the reference: the "
                                            "basic livelihood method is used"),
    "education.high_school_extras_this_year": N_("the reference states the high-school extras for 2025 only"),
    "single_parent.school_supplies_not_included": N_("school supplies are not included"),
    "employment.assets_gross_of_debts": N_("assets are counted without deducting debts"),
    "employment.who_is_a_dependant": N_("who counts as a dependant is not in the reference"),
    "education_cost.nblss_income_method": N_("the education offices' income rules are not in the reference: the "
                                             "basic livelihood method is used"),
}


# Parameters that are counts, ages or years, not amounts: shown without separators.
NOT_AMOUNTS = {"year", "age", "member", "car", "size", "min", "max", "minimum_age", "parent_age", "children",
               "dependants", "percent", "engine_cc", "limit_cc"}
RATES = {"rate", "counted", "reduction"}  # shares, shown as percentages


# Parameters whose values are codes: shown as words in the reader's language.
CODE_WORDS: dict[str, dict[str, str]] = {
    "level": {"elementary": N_("elementary school"), "middle": N_("middle school"), "high": N_("high school")},
    "kind": {"residential": N_("residential"), "general": N_("general"), "financial": N_("financial"),
             "car": N_("car")},
    "region_class": {"seoul": N_("Seoul"), "gyeonggi": N_("Gyeonggi and Incheon"),
                     "metropolitan": N_("metropolitan cities"), "other": N_("other regions")},
    "locality": {"large_city": N_("large city"), "small_city": N_("smaller city"), "rural": N_("rural county")},
}


def _format(name: str, value: Any) -> Any:
    words = CODE_WORDS.get(name)
    if words is not None and value in words:
        return gettext(words[value])
    if name in ("member", "car") and isinstance(value, int):
        return value + 1  # indices count from 0; people count from 1
    if name in RATES:
        try:
            return f"{float(value) * 100:g} %"
        except (TypeError, ValueError):
            return value
    if isinstance(value, int) and not isinstance(value, bool) and name not in NOT_AMOUNTS:
        return f"{value:,}"
    return value


def render(message_id: str, params: dict[str, Any] | None = None) -> str:
    """A message id's text in the current language; an unknown id (or a parameter tag) is shown as it is."""
    template = MESSAGES.get(message_id)
    if template is None:
        return message_id
    template = gettext(template)
    try:
        return template.format(**{k: _format(k, v) for k, v in (params or {}).items()})
    except (KeyError, IndexError, ValueError):
        return template
