"""Basic livelihood security rules against the published figures (welfare-system-anchors.md §3).

The tables below are typed from the reference, not computed, so they check both the DMN table and
the rounding rule that produced it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bokji.config import ROOT
from bokji.errors import Invalid
from bokji.registrations import CALCULATIONS
from bokji.rules.recognised_income import HouseholdMeans, calculate, won
from processes.parsing import check_bundle
from processes.runtime import Run

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
CELLS = [(year, size, benefit) for year in PUBLISHED for size in range(1, 7)
         for benefit in ("livelihood", "medical", "housing", "education")]


@pytest.fixture(scope="module")
def specs():
    library = ROOT / "processes" / "bpmn"
    files = {p.name: p.read_bytes() for p in library.glob("nblss_*.dmn")}
    files["nblss_check.bpmn"] = (Path(__file__).parent / "fixtures/bpmn/nblss_check.bpmn").read_bytes()
    return check_bundle(files, calculations=CALCULATIONS).specs["nblss_check"]


def decide(specs, **data) -> dict:
    run = Run.start(specs, data, calculations=CALCULATIONS)
    assert run.advance().completed
    return run.data


@pytest.mark.parametrize(("year", "size", "benefit"), CELLS)
def test_every_published_threshold_cell(specs, year, size, benefit):
    out = decide(specs, benefit_year=year, household_size=size, benefit=benefit, recognised_income=0)
    assert out["threshold"] == PUBLISHED[year][benefit][size - 1]
    assert out["median"] == PUBLISHED[year]["median"][size - 1]
    assert str(year) in out["threshold_basis"]


@pytest.mark.parametrize("benefit", ["livelihood", "medical", "housing", "education"])
def test_exact_threshold_is_eligible_one_won_more_is_not(specs, benefit):
    threshold = PUBLISHED[2025][benefit][0]
    at = decide(specs, benefit_year=2025, household_size=1, benefit=benefit, recognised_income=threshold)
    above = decide(specs, benefit_year=2025, household_size=1, benefit=benefit, recognised_income=threshold + 1)
    assert at["eligibility"] == "eligible" and above["eligibility"] == "not_eligible"
    if benefit == "livelihood":
        assert at["monthly_amount"] == 0 and above["monthly_amount"] == 0


def test_unknown_year_or_size_needs_information(specs):
    out = decide(specs, benefit_year=2026, household_size=1, benefit="livelihood", recognised_income=0)
    assert out["eligibility"] == "needs_information" and out["threshold_basis"].startswith("unverified")
    out = decide(specs, benefit_year=2025, household_size=7, benefit="livelihood", recognised_income=0)
    assert out["eligibility"] == "needs_information"


def test_year_switch_follows_the_application_date_not_today(specs):
    means = HouseholdMeans(region_class="seoul", size=1, earned=1_000_000)
    for on, threshold, amount in ((date(2024, 12, 31), 713_102, 13_102), (date(2025, 1, 1), 765_444, 65_444)):
        income = calculate(means, on)
        assert income.total == 700_000 and income.parameter_year == on.year
        out = decide(specs, benefit_year=income.parameter_year, household_size=1, benefit="livelihood",
                     recognised_income=income.total)
        assert (out["threshold"], out["eligibility"], out["monthly_amount"]) == (threshold, "eligible", amount)


ON = date(2025, 3, 1)


@pytest.mark.parametrize(("means", "expected", "parts"), [
    # earned income counts at 70 %; other income in full; household expenses come off
    (HouseholdMeans("other", 2, earned=1_000_000, public_transfer=300_000, household_expenses=50_000), 950_000,
     {}),
    # residential below the cap, Seoul basic deduction 99 M: (150 M − 99 M) × 1.04 %
    (HouseholdMeans("seoul", 1, residential=150_000_000), 530_400, {"residential": 530_400}),
    # residential above the Seoul cap (172 M): 28 M becomes general; deduction from residential first
    (HouseholdMeans("seoul", 1, residential=200_000_000), 1_926_800,
     {"residential": 759_200, "general": 1_167_600}),
    # deduction order residential → general → financial (other region, 53 M)
    (HouseholdMeans("other", 3, residential=30_000_000, general=40_000_000, financial=10_000_000), 1_334_900,
     {"residential": 0, "general": 708_900, "financial": 626_000}),
    # debts after the basic deduction, same order (Gyeonggi, 80 M)
    (HouseholdMeans("gyeonggi", 2, general=150_000_000, financial=5_000_000, debts=60_000_000), 730_000,
     {"general": 417_000, "financial": 313_000}),
    # debts larger than the property: nothing negative, the rest of the debt is lost
    (HouseholdMeans("gyeonggi", 2, general=100_000_000, debts=30_000_000), 0, {"general": 0}),
    # a car counts at 100 % a month with no deduction, even when the basic deduction is unused
    (HouseholdMeans("metropolitan", 1, residential=10_000_000, car=5_000_000), 5_000_000,
     {"residential": 0, "car": 5_000_000}),
    # whole won, half up: 55,000 × 4.17 % = 2,293.5 → 2,294 (other region: 53,055,000 general)
    (HouseholdMeans("other", 1, general=53_055_000), 2_294, {"general": 2_294}),
])
def test_worked_recognised_income(means, expected, parts):
    result = calculate(means, ON)
    assert result.total == expected
    for kind, value in parts.items():
        assert result.converted[kind] == value
    assert result.calculation == "nblss.recognised_income@2025.1" and result.parameter_year == 2025
    assert result.trace[-1].result == expected  # the trace ends in the total it explains
    assert all(step.source for step in result.trace)


def test_rounding_is_half_up_to_the_won():
    assert won(1_196_006.5) == 1_196_007 and won(1_841_304.5) == 1_841_305 and won(765_444.16) == 765_444


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"region_class": "mars", "size": 1}, "region_class"),
    ({"region_class": "seoul", "size": 0}, "size"),
    ({"region_class": "seoul", "size": 1, "earned": -1}, "earned"),
    ({"region_class": "seoul", "size": 1, "car": 1.5}, "car"),
])
def test_bad_household_means_name_the_field(kwargs, field):
    with pytest.raises(Invalid) as exc:
        HouseholdMeans(**kwargs)
    assert exc.value.detail["field"] == field


def test_years_without_parameters_are_refused():
    with pytest.raises(Invalid, match="2026"):
        calculate(HouseholdMeans("seoul", 1), date(2026, 1, 1))


# ---- the calculation inside a process, deployed and run over the API --------------------------------
def _deploy_screen(client, login):
    library = ROOT / "processes" / "bpmn"
    files = [("files", (p.name, p.read_bytes())) for p in library.glob("nblss_*.dmn")]
    screen = Path(__file__).parent / "fixtures/bpmn/nblss_screen.bpmn"
    files.append(("files", (screen.name, screen.read_bytes())))
    r = client.post("/definitions", files=files, headers=login("designer"))
    assert r.status_code == 201, r.text


def test_business_rule_task_runs_the_registered_calculation(client, login):
    _deploy_screen(client, login)
    household = {"region_class": "seoul", "size": 1, "earned": 1_000_000}
    r = client.post("/instances", headers=login("caseworker"), json={
        "key": "nblss_screen", "data": {"household_means": household, "application_date": "2025-03-10",
                                        "benefit": "livelihood"}})
    assert r.status_code == 201, r.text
    from bokji.db import unit_of_work
    from bokji.instances import service as instances

    with unit_of_work() as session:
        data = instances.load_run(session, instances.get(session, r.json()["id"])).data
    assert (data["recognised_income"], data["threshold"], data["eligibility"], data["monthly_amount"]) == \
        (700_000, 765_444, "eligible", 65_444)
    assert data["recognise_calculation"] == "nblss.recognised_income@2025.1"
    assert data["recognised_income_detail"]["trace"][0]["rule"].startswith("earned income")


def test_bad_household_data_is_a_422_naming_the_field_and_starts_nothing(client, login):
    _deploy_screen(client, login)
    r = client.post("/instances", headers=login("caseworker"), json={
        "key": "nblss_screen", "data": {"household_means": {"region_class": "seoul", "size": 1, "earned": -5},
                                        "application_date": "2025-03-10", "benefit": "livelihood"}})
    assert r.status_code == 422 and r.json()["field"] == "earned"
    assert client.get("/instances", headers=login("admin")).json() == []


def test_unknown_calculation_is_refused_at_deploy(client, login):
    source = (Path(__file__).parent / "fixtures/bpmn/nblss_screen.bpmn").read_bytes()
    r = client.post("/definitions", headers=login("designer"), files=[
        ("files", ("nblss_screen.bpmn", source.replace(b"nblss.recognised_income", b"nblss.made_up")))])
    assert r.status_code == 422
    assert r.json()["element"] == "recognise" and "unknown calculation 'nblss.made_up'" in r.json()["message"]


# --- the library's other decisions and the income-limit calculation -------------------------------
@pytest.fixture(scope="module")
def decisions():
    from processes.decisions import Decisions

    library = ROOT / "processes" / "bpmn"
    return Decisions.from_files({p.name: p.read_bytes() for p in library.glob("*.dmn")})


@pytest.mark.parametrize(("income", "prop", "excluded"), [
    (0, 0, False), (8_340_000, 900_000_000, False), (8_340_001, 0, True), (0, 900_000_001, True),
    (9_000_000, 1_000_000_000, True),
])
def test_obligor_rule_at_its_limits(decisions, income, prop, excluded):
    out = decisions.evaluate("nblss_obligor", {"obligor_max_income": income, "obligor_max_property": prop})
    assert out["obligor_excluded"] is excluded
    assert "unverified" in out["obligor_source"]  # the medical criteria are not in the reference


@pytest.mark.parametrize(("inputs", "monthly", "annual"), [
    ({"service_code": "MOHW-NBLSS-HOUSING", "region_class": "seoul", "household_size": 1, "monthly_rent": 500_000},
     369_000, None),  # capped at the reference rent
    ({"service_code": "MOHW-NBLSS-HOUSING", "region_class": "other", "household_size": 9, "monthly_rent": 100_000},
     100_000, None),  # rent below it is paid as is; 7+ persons use the 6-person row
    ({"service_code": "MOHW-NBLSS-EDUCATION", "school_level": "high"}, None, 754_000),
    ({"service_code": "MOGEF-SINGLE-PARENT", "children_under_18": 2}, 420_000, None),
    ({"service_code": "MOHW-BASIC-PENSION"}, 342_510, None),
])
def test_service_amounts_are_marked_unverified(decisions, inputs, monthly, annual):
    data = {"school_level": None, "region_class": "other", "household_size": 1, "monthly_rent": None,
            "children_under_18": 0, **inputs}
    out = decisions.evaluate("service_amount", data)
    assert (out["monthly_amount"], out["annual_amount"]) == (monthly, annual)
    assert out["amount_source"] == "unverified" and "unverified" in out["amount_basis"]


def test_income_limit_is_a_share_of_the_published_median():
    limit = CALCULATIONS["bokji.income_limit"].run
    out = limit({"benefit_year": 2025, "household_size": 2, "income_limit_percent": 63,
                 "income_limit_source": "unverified"})
    assert out["threshold"] == won(3_932_658 * 63 / 100) == 2_477_575 and out["median"] == 3_932_658
    assert "2025" in out["threshold_basis"] and "unverified" in out["threshold_basis"]
    assert limit({"benefit_year": 2031, "household_size": 2, "income_limit_percent": 63})["threshold"] is None
    with pytest.raises(Invalid) as bad:
        limit({"benefit_year": 2025, "household_size": 2, "income_limit_percent": 0})
    assert bad.value.detail["field"] == "income_limit_percent"


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
