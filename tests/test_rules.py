"""Every catalog service's rule against the published figures (benefit-figures-2025.md,
welfare-system-anchors.md §3): the tables cell by cell, each formula on worked households at a
threshold and one won above, both years where the reference gives both, half-up rounding.

The tables below are typed from the reference, not computed, so they check the parameter file, the
rules and the rounding together. Amounts worked by hand are spelled out beside each case.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bokji.config import ROOT
from bokji.errors import Invalid
from bokji.registrations import CALCULATIONS
from bokji.rules import benefits, parameters
from bokji.rules.household import parse
from bokji.rules.messages import MESSAGES
from bokji.rules.trace import won

P = {2024: parameters.from_file(2024), 2025: parameters.from_file(2025)}

PUBLISHED = {
    2025: {
        "median": [2_392_013, 3_932_658, 5_025_353, 6_097_773, 7_108_192, 8_064_805],
        "livelihood": [765_444, 1_258_451, 1_608_113, 1_951_287, 2_274_621, 2_580_738],
        "medical": [956_805, 1_573_063, 2_010_141, 2_439_109, 2_843_277, 3_225_922],
        "housing": [1_148_166, 1_887_676, 2_412_169, 2_926_931, 3_411_932, 3_871_106],
        "education": [1_196_007, 1_966_329, 2_512_677, 3_048_887, 3_554_096, 4_032_403],
    },
    2024: {
        "median": [2_228_445, 3_682_609, 4_714_657, 5_729_913, 6_695_735, 7_618_369],
        "livelihood": [713_102, 1_178_435, 1_508_690, 1_833_572, 2_142_635, 2_437_878],
        "medical": [891_378, 1_473_044, 1_885_863, 2_291_965, 2_678_294, 3_047_348],
        "housing": [1_069_654, 1_767_652, 2_263_035, 2_750_358, 3_213_953, 3_656_817],
        "education": [1_114_223, 1_841_305, 2_357_329, 2_864_957, 3_347_868, 3_809_185],
    },
}
REFERENCE_RENT_2025 = {  # 주거급여 기준임대료, 1-6 persons
    "seoul": [352_000, 395_000, 470_000, 545_000, 564_000, 667_000],
    "gyeonggi": [281_000, 314_000, 375_000, 433_000, 448_000, 531_000],
    "metropolitan": [228_000, 254_000, 302_000, 351_000, 363_000, 428_000],
    "other": [191_000, 215_000, 256_000, 297_000, 307_000, 363_000],
}
EDUCATION = {2024: {"elementary": 461_000, "middle": 654_000, "high": 727_000},
             2025: {"elementary": 487_000, "middle": 679_000, "high": 768_000}}


def household(*members: dict, region: str = "other", **top) -> dict:
    return {"region_class": region, "members": list(members), **top}


def person(age: int, relation: str | None = None, **fields) -> dict:
    return {"age": age, **({"relation": relation} if relation else {}), **fields}


def assess(doc: dict, kind: str, year: int = 2025, **rule):
    rule = {"kind": kind, **rule}
    return benefits.assess(parse(doc), P[year], benefits.Case(on=date(year, 3, 10), rule=rule))


def nblss(doc: dict, benefit: str, year: int = 2025):
    return assess(doc, "nblss", year, benefit=benefit)


# --- the parameter file ------------------------------------------------------------------------------
def test_every_figure_names_its_source_and_confidence():
    document = json.loads(parameters.DATA_FILE.read_text())
    rows = parameters.parse(document)
    assert len(rows) > 50 and all(r.source and r.unit and r.confidence in parameters.CONFIDENCE for r in rows)
    assert all("benefit-figures-2025.md" in r.source or "welfare-system-anchors.md" in r.source for r in rows)
    # medium and low figures are unverified; the official ones are not
    assert P[2025].get("housing.reference_rent").unverified and P[2025].get("housing.minimum_payment").unverified
    assert not P[2025].get("nblss.median").unverified and not P[2025].get("basic_pension.standard_amount").unverified
    # the 2025 basic-pension earned-income deduction rests on one README: low; 2024's is official
    assert P[2025].get("basic_pension.earned_income_deduction").confidence == "low"
    assert P[2024].get("basic_pension.earned_income_deduction").confidence == "high"


@pytest.mark.parametrize(("change", "field"), [
    ({"parameters": "x"}, "parameters"),
    ({"parameters": [{"name": "nodot", "years": {"2025": 1}, "unit": "u", "source": "s", "confidence": "high"}]},
     "parameters[0].name"),
    ({"parameters": [{"name": "a.b", "years": {"20x5": 1}, "unit": "u", "source": "s", "confidence": "high"}]},
     "parameters[0].years"),
    ({"parameters": [{"name": "a.b", "years": {"2025": 1}, "unit": "u", "source": "s", "confidence": "sure"}]},
     "parameters[0].confidence"),
    ({"parameters": [{"name": "a.b", "years": {"2025": 1}, "unit": "u", "confidence": "high"}]},
     "parameters[0].source"),
])
def test_a_bad_parameter_file_names_the_field(change, field):
    with pytest.raises(Invalid) as bad:
        parameters.parse(change)
    assert bad.value.detail["field"] == field


def test_parameters_are_read_from_the_table_and_a_new_load_is_seen(tmp_path):
    from sqlalchemy import text

    from bokji.db import unit_of_work

    with unit_of_work() as session:
        assert parameters.load(session) == len(parameters.parse(json.loads(parameters.DATA_FILE.read_text())))
    with unit_of_work() as session:
        assert parameters.year_of(session, date(2025, 6, 1)) == P[2025]
        assert parameters.year_of(session, date(2031, 1, 1)).items == {}
    changed = json.loads(parameters.DATA_FILE.read_text())
    changed["parameters"] = [p for p in changed["parameters"] if p["name"] != "basic_pension.standard_amount"]
    (tmp_path / "p.json").write_text(json.dumps(changed))
    with unit_of_work() as session:
        parameters.load(session, tmp_path / "p.json")
    with unit_of_work() as session:  # no redeploy, no restart: the next read sees the new set
        assert not parameters.year_of(session, date(2025, 6, 1)).has("basic_pension.standard_amount")
        assert session.execute(text("SELECT count(*) FROM rule_parameter WHERE confidence <> 'high'")).scalar() > 10


# Every figure of benefit-figures-2025.md's table that the rules use, typed from the reference.
PUBLISHED_FIGURES = [
    ("basic_pension.selection_line", 2025, {"single": 2_280_000, "couple": 3_648_000}),
    ("basic_pension.selection_line", 2024, {"single": 2_130_000, "couple": 3_408_000}),
    ("basic_pension.standard_amount", 2025, 342_510),
    ("basic_pension.couple_reduction", 2025, 0.20),
    ("basic_pension.full_amount_pension_percent", 2025, 150),
    ("basic_pension.earned_income_deduction", 2025, {"amount": 1_120_000, "counted": 0.70}),
    ("basic_pension.earned_income_deduction", 2024, {"amount": 1_100_000, "counted": 0.70}),
    ("basic_pension.basic_property", 2025, {"large_city": 135_000_000, "small_city": 85_000_000,
                                            "rural": 72_500_000}),
    ("basic_pension.financial_exemption", 2025, 20_000_000),
    ("basic_pension.conversion_rate_yearly", 2025, 0.04),
    ("basic_pension.car_full_value_engine_cc", 2025, 3000),
    ("basic_pension.minimum_age", 2025, 65),
    ("housing.large_household", 2025, {"same_as_six_up_to": 7, "plus_percent": 10, "plus_up_to": 9}),
    ("housing.self_payment_rate", 2025, 0.30),
    ("housing.deposit_conversion_yearly", 2025, 0.04),
    ("housing.minimum_payment", 2025, 10_000),
    ("education.activity_support", 2025, EDUCATION[2025]),
    ("education.activity_support", 2024, EDUCATION[2024]),
    ("single_parent.income_percent", 2025, {"standard": 63, "young_parent": 65}),
    ("single_parent.young_parent_max_age", 2025, 24),
    ("single_parent.child_allowance", 2025, 230_000),
    ("single_parent.child_allowance", 2024, 210_000),
    ("single_parent.young_parent_allowance", 2025, 370_000),
    ("single_parent.young_parent_allowance", 2024, 350_000),
    ("single_parent.young_parent_infant_allowance", 2025, {"amount": 400_000, "under_age": 2}),
    ("single_parent.car_limit", 2025, 10_000_000),
    ("nblss.youth_deduction", 2025, {"amount": 400_000, "under_age": 30}),
    ("nblss.elderly_deduction", 2025, {"amount": 200_000, "from_age": 65}),
    ("nblss.car_general_property", 2025, {"max_engine_cc": 2000, "value_below": 5_000_000}),
    ("nblss.car_general_property", 2024, {"max_engine_cc": 1600, "value_below": 2_000_000}),
    ("nblss.obligor_exclusion", 2025, {"annual_income": 130_000_000, "general_property": 1_200_000_000}),
    ("employment.age", 2025, {"min": 15, "max": 69}),
    ("employment.asset_limit", 2025, {"standard": 400_000_000, "youth": 500_000_000}),
    ("employment.allowance", 2025, {"monthly": 500_000, "months": 6, "per_dependant": 100_000, "max_monthly": 900_000}),
    ("public_rental.asset_limit", 2024, {"assets": 345_000_000, "car": 37_080_000}),
    ("education_cost.income_percent", 2025, 60),
]


@pytest.mark.parametrize(("name", "year", "value"), PUBLISHED_FIGURES)
def test_every_published_figure_cell_by_cell(name, year, value):
    assert P[year].value(name) == value


def test_figures_the_reference_does_not_give_are_absent():
    for name, year in (("basic_pension.standard_amount", 2024), ("housing.reference_rent", 2024),
                       ("single_parent.income_percent", 2024), ("public_rental.urban_worker_income", 2025),
                       ("education_cost.amount", 2025), ("nblss.median", 2026)):
        assert not parameters.from_file(year).has(name), (name, year)


# --- basic livelihood security: thresholds cell by cell, recognised income, the amounts -------------
@pytest.mark.parametrize(("year", "size", "benefit"), [
    (year, size, benefit) for year in PUBLISHED for size in range(1, 7)
    for benefit in ("livelihood", "medical", "housing", "education")])
def test_every_published_threshold_cell(year, size, benefit):
    doc = household(*[person(40, school_level="middle")] * size, housing={"tenure": "rent", "monthly_rent": 0})
    found = nblss(doc, benefit, year)
    assert found.threshold == PUBLISHED[year][benefit][size - 1]
    median_step = next(s for s in found.trace if s.id == "threshold.nblss")
    assert median_step.params["median"] == PUBLISHED[year]["median"][size - 1]


@pytest.mark.parametrize("year", [2024, 2025])
def test_livelihood_at_the_line_pays_zero_one_won_above_is_refused(year):
    line = PUBLISHED[year]["livelihood"][0]
    at = nblss(household(person(50), income={"public_transfer": line}), "livelihood", year)
    above = nblss(household(person(50), income={"public_transfer": line + 1}), "livelihood", year)
    assert (at.status, at.amount, at.period) == ("eligible", 0, "month")
    assert (above.status, above.amount) == ("not_eligible", None)


def test_year_switch_follows_the_application_date():
    doc = household(person(50), region="seoul", income={"earned": 1_000_000})  # 1 M × 70 % = 700,000
    for year, amount in ((2024, 713_102 - 700_000), (2025, 765_444 - 700_000)):
        found = nblss(doc, "livelihood", year)
        assert (found.tested_income, found.amount, found.parameter_year) == (700_000, amount, year)


@pytest.mark.parametrize(("doc", "expected"), [
    # earned counts at 70 %; other income in full; household expenses come off
    (household(person(40), person(40), income={"earned": 1_000_000, "public_transfer": 300_000},
               household_expenses=50_000), 950_000),
    # residential below the Seoul cap, basic deduction 99 M: (150 M − 99 M) × 1.04 %
    (household(person(40), region="seoul", assets={"residential": 150_000_000}), 530_400),
    # above the Seoul cap (172 M): 28 M general; the deduction from residential first
    (household(person(40), region="seoul", assets={"residential": 200_000_000}), 759_200 + 1_167_600),
    # order residential → general → financial (other region, 53 M)
    (household(person(40), assets={"residential": 30_000_000, "general": 40_000_000, "financial": 10_000_000}),
     708_900 + 626_000),
    # debts after the basic deduction, in the same order (Gyeonggi, 80 M)
    (household(person(40), region="gyeonggi", assets={"general": 150_000_000, "financial": 5_000_000},
               debts=60_000_000), 417_000 + 313_000),
    # half up: 55,000 × 4.17 % = 2,293.5 → 2,294
    (household(person(40), assets={"general": 53_055_000}), 2_294),
    # property and income attributed to members count the same as the household's
    (household(person(40, income={"earned": 1_000_000}), person(40, assets={"general": 63_000_000})),
     700_000 + 417_000),
])
def test_worked_recognised_income(doc, expected):
    found = nblss(doc, "livelihood")
    assert found.tested_income == expected
    step = next(s for s in found.trace if s.id == "nblss.recognised_income")
    assert step.result == expected and found.calculation == "benefit.nblss@2025.1"


@pytest.mark.parametrize(("age", "earned", "counted"), [
    (25, 1_000_000, 420_000),  # youth (under 30): (1 M − 400,000) × 70 %
    (29, 300_000, 0),  # the deduction never exceeds the earnings
    (30, 1_000_000, 700_000),  # 30: no youth deduction
    (65, 500_000, 210_000),  # elderly from 65 in 2025: (500,000 − 200,000) × 70 %
    (64, 500_000, 350_000),
])
def test_youth_and_elderly_earned_income_deductions_2025(age, earned, counted):
    found = nblss(household(person(age, income={"earned": earned})), "livelihood")
    assert found.tested_income == counted
    assert any(u.startswith(("nblss.youth", "nblss.elderly")) for u in found.unverified) == (age < 30 or age >= 65)


def test_a_2024_young_earner_needs_the_missing_youth_deduction():
    found = nblss(household(person(25, income={"earned": 1_000_000})), "livelihood", 2024)
    assert found.status == "needs_information" and found.missing == ["nblss.youth_deduction@2024"]
    # an earner the deduction cannot apply to is decided with the 2024 figures
    assert nblss(household(person(40, income={"earned": 1_000_000})), "livelihood", 2024).status == "eligible"


@pytest.mark.parametrize(("year", "car", "converted"), [
    (2025, {"value": 3_000_000, "engine_cc": 1800}, won(3_000_000 * 0.0417)),  # ≤ 2,000 cc: general property
    (2025, {"value": 9_000_000, "engine_cc": 2500}, 9_000_000),  # neither limit: 100 % a month
    (2025, {"value": 4_999_999, "engine_cc": 3500}, won(4_999_999 * 0.0417)),  # under 5 M: general property
    (2024, {"value": 3_000_000, "engine_cc": 1800}, 3_000_000),  # 2024: ≤ 1,600 cc or under 2 M
    (2024, {"value": 1_999_999, "engine_cc": 1800}, won(1_999_999 * 0.0417)),
    (2025, {"value": 9_000_000, "engine_cc": 2500, "use": "disability"}, won(9_000_000 * 0.0417)),
])
def test_the_car_rule_of_each_year(year, car, converted):
    found = nblss(household(person(40), cars=[car]), "livelihood", year)
    assert found.tested_income == converted
    assert f"nblss.car_general_property@{year}" in found.unverified or car.get("use") == "disability"


def test_a_costly_car_without_its_engine_size_needs_it():
    found = nblss(household(person(40), cars=[{"value": 9_000_000}]), "livelihood")
    assert found.status == "needs_information" and found.missing == ["cars[0].engine_cc"]


def test_a_large_household_with_a_car_and_a_flat():
    # Gyeonggi, 6 persons, 2025. Earned 1.5 M (head, 45) → 1,050,000. Residential 120 M (under the
    # 151 M cap) − 80 M basic → 40 M × 1.04 % = 416,000. A 1,998 cc car of 12 M is within 2025's
    # 2,000 cc: general property, 12 M × 4.17 % = 500,400. Recognised income 1,966,400 ≤ the 6-person
    # livelihood line 2,580,738: livelihood pays 614,338 a month; four pupils 487,000 × 2 + 679,000 +
    # 768,000 = 2,421,000 a year.
    doc = household(person(45, "head", income={"earned": 1_500_000}, assets={"residential": 120_000_000},
                           cars=[{"value": 12_000_000, "engine_cc": 1998, "age_years": 6}]),
                    person(43, "spouse"),
                    *(person(age, "child", school_level=level)
                      for age, level in ((7, "elementary"), (10, "elementary"), (13, "middle"), (16, "high"))),
                    region="gyeonggi")
    livelihood = nblss(doc, "livelihood")
    assert (livelihood.tested_income, livelihood.threshold) == (1_966_400, 2_580_738)
    assert (livelihood.status, livelihood.amount, livelihood.period) == ("eligible", 614_338, "month")
    education = nblss(doc, "education")
    assert (education.amount, education.period) == (2_421_000, "year")


# --- housing benefit: rent subsidy -------------------------------------------------------------------
@pytest.mark.parametrize(("region", "size"), [(r, s) for r in REFERENCE_RENT_2025 for s in range(1, 7)])
def test_every_reference_rent_cell_2025(region, size):
    doc = household(*[person(40)] * size, region=region, housing={"tenure": "rent", "monthly_rent": 2_000_000})
    found = nblss(doc, "housing")
    assert (found.status, found.amount, found.period) == ("eligible", REFERENCE_RENT_2025[region][size - 1], "month")
    assert "housing.reference_rent@2025" in found.unverified  # medium: blogs only


def test_a_renter_with_a_deposit_above_the_livelihood_line():
    # Seoul couple: earned 2 M → recognised 1,400,000 (≤ housing line 1,887,676; above livelihood 1,258,451).
    # Actual rent 300,000 + 30 M × 4 % ÷ 12 = 400,000 → capped at the 2-person reference 395,000.
    # Self-payment (1,400,000 − 1,258,451) × 30 % = 42,464.7 → 42,465; subsidy 395,000 − 42,465 = 352,535.
    doc = household(person(50), person(48, "spouse"), region="seoul", income={"earned": 2_000_000},
                    housing={"tenure": "rent", "monthly_rent": 300_000, "deposit": 30_000_000})
    found = nblss(doc, "housing")
    assert (found.tested_income, found.amount) == (1_400_000, 352_535)
    steps = {s.id: s.result for s in found.trace}
    assert (steps["housing.actual_rent"], steps["housing.reference_rent"], steps["housing.self_payment"]) == \
        (400_000, 395_000, 42_465)


def test_housing_at_its_line_and_the_minimum_payment():
    # other region, 1 person at the housing line 1,148,166: self-payment (1,148,166 − 765,444) × 30 %
    # = 114,816.6 → 114,817, above the 100,000 rent: the minimum payment 10,000.
    doc = household(person(50), income={"public_transfer": 1_148_166},
                    housing={"tenure": "rent", "monthly_rent": 100_000})
    at = nblss(doc, "housing")
    assert (at.status, at.amount) == ("eligible", 10_000) and "housing.minimum_payment@2025" in at.unverified
    above = nblss({**doc, "income": {"public_transfer": 1_148_167}}, "housing")
    assert above.status == "not_eligible"


def test_housing_cannot_be_decided_without_what_it_needs():
    owner = nblss(household(person(50), housing={"tenure": "own"}), "housing")
    assert owner.status == "needs_information" and owner.missing == ["housing.tenure"]
    assert nblss(household(person(50)), "housing").missing == ["housing"]
    old = nblss(household(person(50), housing={"tenure": "rent", "monthly_rent": 100_000}), "housing", 2024)
    assert old.status == "needs_information" and old.missing == ["housing.reference_rent@2024"]


# --- education benefit --------------------------------------------------------------------------------
@pytest.mark.parametrize("year", [2024, 2025])
def test_education_amounts_per_school_level_and_year(year):
    doc = household(person(40), *(person(age, "child", school_level=level)
                                  for age, level in ((8, "elementary"), (13, "middle"), (16, "high"))))
    found = nblss(doc, "education", year)
    assert (found.status, found.period) == ("eligible", "year")
    assert found.amount == sum(EDUCATION[year].values())
    assert [s.result for s in found.trace if s.id == "education.activity_support"] == list(EDUCATION[year].values())
    extras = next(s for s in found.trace if s.id == "education.high_school_extras")
    assert extras.unverified == (year == 2024)  # the reference states the extras for 2025 only


def test_education_without_a_pupil_is_not_eligible():
    assert nblss(household(person(40)), "education").status == "not_eligible"


# --- basic pension -------------------------------------------------------------------------------------
def pensioner(age: int = 70, **fields) -> dict:
    return person(age, "head", **fields)


def test_basic_pension_single_full_amount():
    found = assess(household(pensioner(income={"public_transfer": 300_000}), locality="large_city"), "basic_pension")
    assert (found.status, found.amount, found.period, found.threshold) == ("eligible", 342_510, "month", 2_280_000)


def test_a_64_year_old_is_not_eligible_for_the_basic_pension():
    found = assess(household(pensioner(64), locality="large_city"), "basic_pension")
    assert found.status == "not_eligible" and found.reasons[0].id == "reason.below_minimum_age"


def test_basic_pension_couple_with_property_gets_the_couple_reduction():
    # Small city: (120 M residential − 85 M basic + 25 M financial − 20 M) × 4 % ÷ 12 = 133,333.3 → 133,333;
    # income 450,000 + 150,000 in full → recognised 733,333 ≤ couple line 3,648,000.
    # Each spouse 342,510 × (1 − 20 %) = 274,008 (couple 548,016).
    doc = json.loads((ROOT / "examples/households/elderly_couple_small_city.json").read_text())
    found = assess(doc, "basic_pension")
    assert (found.tested_income, found.threshold) == (733_333, 3_648_000)
    assert (found.status, found.amount) == ("eligible", 274_008)
    assert "basic_pension.spouse_also_receives" in found.unverified


@pytest.mark.parametrize(("locality", "basic"), [("large_city", 135_000_000), ("small_city", 85_000_000),
                                                 ("rural", 72_500_000)])
def test_basic_property_by_city_size(locality, basic):
    # general 200 M + financial 30 M: (200 M − basic + 30 M − 20 M) × 4 % ÷ 12
    doc = household(pensioner(assets={"general": 200_000_000, "financial": 30_000_000}), locality=locality)
    found = assess(doc, "basic_pension")
    assert found.tested_income == won((200_000_000 - basic + 30_000_000 - 20_000_000) * 0.04 / 12)


def test_basic_pension_at_the_selection_line_and_one_won_above():
    at = assess(household(pensioner(income={"business": 2_280_000}), locality="rural"), "basic_pension")
    above = assess(household(pensioner(income={"business": 2_280_001}), locality="rural"), "basic_pension")
    # at the line the amount would cross it: the reduction near the line is not in the reference
    assert (at.status, at.missing) == ("needs_information", ["basic_pension.reduction_near_line"])
    assert above.status == "not_eligible"


def test_basic_pension_national_pension_limit():
    limit = won(342_510 * 1.5)  # 513,765
    full = assess(household(pensioner(income={"public_transfer": limit}), locality="rural"), "basic_pension")
    over = assess(household(pensioner(income={"public_transfer": limit + 1}), locality="rural"), "basic_pension")
    assert (full.status, full.amount) == ("eligible", 342_510)
    assert over.status == "needs_information" and over.missing == ["basic_pension.national_pension_reduction"]


def test_basic_pension_cars_and_earned_income():
    big = assess(household(pensioner(cars=[{"value": 20_000_000, "engine_cc": 3342}]), locality="rural"),
                 "basic_pension")
    assert big.tested_income == 20_000_000 and big.status == "not_eligible"  # ≥ 3,000 cc: full value a month
    worker = assess(household(pensioner(income={"earned": 1_500_000}), locality="rural"), "basic_pension")
    assert worker.tested_income == won((1_500_000 - 1_120_000) * 0.7)  # 266,000
    assert "basic_pension.earned_income_deduction@2025" in worker.unverified  # low confidence


def test_basic_pension_2024_lacks_figures():
    assert P[2024].value("basic_pension.selection_line") == {"single": 2_130_000, "couple": 3_408_000}
    found = assess(household(pensioner(), locality="rural"), "basic_pension", 2024)
    assert found.status == "needs_information" and found.missing[0].endswith("@2024")
    assert found.missing == ["basic_pension.minimum_age@2024"]


def test_basic_pension_needs_the_locality():
    assert assess(household(pensioner()), "basic_pension").missing == ["locality"]


# --- single-parent allowance -----------------------------------------------------------------------------
def test_young_single_parent_with_two_children():
    # parent 23 (≤ 24): line 65 % of the 3-person median 5,025,353 = 3,266,479; a child under 2 gets 400,000
    # (one blog: unverified), the other 370,000.
    doc = json.loads((ROOT / "examples/households/young_single_parent_busan.json").read_text())
    found = assess(doc, "single_parent")
    assert (found.status, found.threshold) == ("eligible", 3_266_479)
    assert (found.amount, found.period) == (770_000, "month")
    assert "single_parent.young_parent_infant_allowance@2025" in found.unverified


@pytest.mark.parametrize(("parent", "children", "amount"), [
    (person(40, "head"), [10, 16], 460_000),  # 230,000 each
    (person(30, "head"), [4, 8], 230_000 + 100_000 + 230_000 + 50_000),  # parent 25-34: +100,000 (≤ 5), +50,000
    (person(38, "head", unmarried=True), [3], 280_000),  # unmarried parent ≥ 35, child ≤ 5: +50,000
    (person(38, "head"), [3], 230_000),
])
def test_single_parent_allowance_by_age_with_extras(parent, children, amount):
    doc = household(parent, *(person(age, "child") for age in children))
    assert assess(doc, "single_parent").amount == amount


def test_grandparent_family_extra():
    doc = household(person(62, "head"), person(5, "grandchild"))
    assert assess(doc, "single_parent").amount == 280_000


def test_single_parent_at_the_line_and_above():
    line = won(3_932_658 * 0.63)  # 2,477,575 (2 persons, 63 %)
    at = assess(household(person(40, "head", income={"business": line}), person(10, "child")), "single_parent")
    above = assess(household(person(40, "head", income={"business": line + 1}), person(10, "child")),
                   "single_parent")
    assert (at.status, at.threshold, above.status) == ("eligible", 2_477_575, "not_eligible")


def test_single_parent_car_limit_and_2024():
    doc = household(person(40, "head"), person(10, "child"), cars=[{"value": 12_000_000, "engine_cc": 1600}])
    assert assess(doc, "single_parent").status == "not_eligible"
    old = assess(household(person(40, "head"), person(10, "child")), "single_parent", 2024)
    assert old.status == "needs_information" and old.missing == ["single_parent.income_percent@2024"]
    assert P[2024].value("single_parent.child_allowance") == 210_000  # published, but no 2024 line in the reference


# --- employment support ----------------------------------------------------------------------------------
def test_employment_support_youth_on_household_income_with_a_dependant():
    # 30 years old: youth line 120 % of the 2-person median 3,932,658 = 4,719,190; household income 3 M.
    doc = household(person(30, "head", income={"earned": 3_000_000}), person(31, "spouse"))
    found = assess(doc, "employment_support")
    assert (found.status, found.tested_income, found.threshold) == ("eligible", 3_000_000, 4_719_190)
    assert (found.amount, found.period, found.duration_months) == (600_000, "month", 6)  # 500,000 + 100,000


def test_employment_support_at_the_youth_line_and_one_won_above():
    at = household(person(30, "head", income={"earned": 4_719_190}), person(31, "spouse"))
    above = household(person(30, "head", income={"earned": 4_719_191}), person(31, "spouse"))
    assert assess(at, "employment_support").status == "eligible"
    assert assess(above, "employment_support").status == "not_eligible"


@pytest.mark.parametrize("year", [2024, 2025])
def test_education_at_the_line_and_one_won_above(year):
    line = PUBLISHED[year]["education"][1]  # 2 persons
    pupil = person(10, "child", school_level="elementary")
    at = nblss(household(person(40, income={"business": line}), pupil), "education", year)
    above = nblss(household(person(40, income={"business": line + 1}), pupil), "education", year)
    assert (at.status, at.amount, above.status) == ("eligible", EDUCATION[year]["elementary"], "not_eligible")


def test_employment_support_standard_line_assets_age_and_maximum():
    adult = household(person(45, "head", income={"earned": 3_000_000}), person(44, "spouse"))
    assert assess(adult, "employment_support").status == "not_eligible"  # 60 %: 2,359,595
    rich = household(person(30, "head", assets={"general": 500_000_001}))
    assert assess(rich, "employment_support").status == "not_eligible"
    assert assess(household(person(70, "head")), "employment_support").status == "not_eligible"
    big = household(person(40, "head"), person(40, "spouse"), *(person(a, "child") for a in (3, 6, 9, 12)))
    assert assess(big, "employment_support").amount == 900_000  # 500,000 + 5 × 100,000, at most 900,000
    assert assess(household(person(40, "head")), "employment_support", 2024).missing == ["employment.age@2024"]


# --- what the reference cannot source -------------------------------------------------------------------
def test_public_rental_and_education_cost_say_what_is_missing():
    rental = assess(household(person(40)), "public_rental")
    assert rental.status == "needs_information" and rental.missing == ["public_rental.urban_worker_income@2025"]
    pupil = household(person(40), person(10, "child", school_level="elementary"))
    cost = assess(pupil, "education_cost")
    assert cost.status == "needs_information" and cost.missing == ["education_cost.amount@2025"]
    assert cost.threshold == won(3_932_658 * 0.6)  # the 60 % line is known (low confidence)


def test_every_message_id_has_a_text():
    docs = [json.loads(p.read_text()) for p in (ROOT / "examples/households").glob("*.json")]
    seen = set()
    for doc in docs:
        for kind in benefits.RULES:
            for year in (2024, 2025):
                for benefit in ("livelihood", "medical", "housing", "education"):
                    found = assess(doc, kind, year, benefit=benefit, percent=50)
                    seen |= {s.id for s in found.trace} | {r.id for r in found.reasons}
    assert len(seen) > 40
    assert not seen - set(MESSAGES)


# --- the rule inside a process, deployed and run over the API ---------------------------------------------
def _deploy_screen(client, login):
    screen = Path(__file__).parent / "fixtures/bpmn/nblss_screen.bpmn"
    r = client.post("/definitions", files=[("files", (screen.name, screen.read_bytes()))], headers=login("designer"))
    assert r.status_code == 201, r.text


def _start_data(doc: dict, rule: dict) -> dict:
    return {"household": doc, "rule": rule, "application_date": "2025-03-10", **parameters.for_task(P[2025])}


def test_business_rule_task_runs_the_registered_rule(client, login):
    _deploy_screen(client, login)
    doc = household(person(50), region="seoul", income={"earned": 1_000_000})
    r = client.post("/instances", headers=login("caseworker"), json={
        "key": "nblss_screen", "data": _start_data(doc, {"kind": "nblss", "benefit": "livelihood"})})
    assert r.status_code == 201, r.text
    from bokji.db import unit_of_work
    from bokji.instances import service as instances

    with unit_of_work() as session:
        data = instances.load_run(session, instances.get(session, r.json()["id"])).data
    assert (data["recognised_income"], data["threshold"], data["eligibility"], data["monthly_amount"]) == \
        (700_000, 765_444, "eligible", 65_444)
    assert data["recognise_calculation"] == "benefit.assess@2025.1"
    assert data["assessment"]["calculation"] == "benefit.nblss@2025.1"
    assert data["assessment"]["trace"][0]["id"] == "nblss.earned.unattributed"


def test_bad_household_data_is_a_422_naming_the_field_and_starts_nothing(client, login):
    _deploy_screen(client, login)
    doc = household(person(50, income={"earned": -5}))
    r = client.post("/instances", headers=login("caseworker"), json={
        "key": "nblss_screen", "data": _start_data(doc, {"kind": "nblss", "benefit": "livelihood"})})
    assert r.status_code == 422 and r.json()["field"] == "household.members[0].income.earned"
    assert client.get("/instances", headers=login("admin")).json() == []


def test_unknown_calculation_is_refused_at_deploy(client, login):
    source = (Path(__file__).parent / "fixtures/bpmn/nblss_screen.bpmn").read_bytes()
    r = client.post("/definitions", headers=login("designer"), files=[
        ("files", ("nblss_screen.bpmn", source.replace(b"benefit.assess", b"benefit.made_up")))])
    assert r.status_code == 422
    assert r.json()["element"] == "recognise" and "알 수 없는 계산 'benefit.made_up'" in r.json()["message"]


def test_each_rule_is_registered_under_its_name_and_version():
    for rule in benefits.RULES.values():
        assert CALCULATIONS[rule.name].version == rule.version
    forced = CALCULATIONS["benefit.basic_pension"].run(
        _start_data(household(pensioner(64), locality="rural"), {"kind": "nblss", "benefit": "livelihood"}))
    assert forced["eligibility"] == "not_eligible" and forced["assessment"]["calculation"].startswith("benefit.basic")


# --- the obligor table reads its limits from the case's parameters ------------------------------------
@pytest.fixture(scope="module")
def decisions():
    from processes.decisions import Decisions

    library = ROOT / "processes" / "bpmn"
    return Decisions.from_files({p.name: p.read_bytes() for p in library.glob("*.dmn")})


@pytest.mark.parametrize(("year", "income", "prop", "excluded"), [
    (2025, 0, 0, False), (2025, 130_000_000 // 12, 1_200_000_000, False), (2025, 10_833_334, 0, True),
    (2025, 0, 1_200_000_001, True), (2024, 8_333_334, 0, True), (2024, 0, 900_000_001, True),
    (2024, 8_333_333, 900_000_000, False),
])
def test_obligor_rule_at_its_limits(decisions, year, income, prop, excluded):
    out = decisions.evaluate("nblss_obligor", {"obligor_max_income": income, "obligor_max_property": prop,
                                               **parameters.for_task(P[year])})
    assert out["obligor_excluded"] is excluded
    assert out["obligor_source"].startswith("unverified") and f"@{year}" in out["obligor_source"]


# --- review rounds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "duration", "times", "expected"), [
    ("2025-03-10", "P6M", 1, "2025-09-10"), ("2025-03-10", "P6M", 2, "2026-03-10"),
    ("2025-03-10", "P2Y", 1, "2027-03-10"), ("2025-08-31", "P6M", 1, "2026-02-28"),
    ("2024-02-29", "P1Y", 1, "2025-02-28"), ("2025-03-10", "P2W", 1, "2025-03-24"),
    ("2025-03-10", "PT3S", 5, "2025-03-10"),  # tests' short intervals stay on the application date
])
def test_review_rounds_cover_their_own_dates(start, duration, times, expected):
    from bokji.rules.calculations import add_duration

    assert add_duration(date.fromisoformat(start), duration, times).isoformat() == expected


def test_review_round_calculation_and_bad_interval():
    next_round = CALCULATIONS["bokji.review_round"].run
    assert next_round({"review_round": 1, "review_interval": "P6M", "application_date": "2025-03-10"}) == \
        {"review_round": 2, "assessment_date": "2026-03-10"}
    with pytest.raises(Invalid) as bad:
        next_round({"review_round": 0, "review_interval": "six months", "application_date": "2025-03-10"})
    assert bad.value.detail["field"] == "review_interval"


def test_rounding_is_half_up_to_the_won():
    assert won(1_196_006.5) == 1_196_007 and won(1_841_304.5) == 1_841_305 and won(765_444.16) == 765_444
