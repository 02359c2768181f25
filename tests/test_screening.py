"""Screening a household against the catalog: API, CLI, reasons, order, bad input; the catalog file."""

from __future__ import annotations

import json

import pytest

from bokji.catalog import service as catalog
from bokji.config import ROOT
from bokji.db import unit_of_work
from bokji.errors import Invalid

EXAMPLES = ROOT / "examples" / "households"


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def test_single_elderly_person_in_seoul(client, login, library):
    r = client.post("/screening", json={"household": _example("single_elderly_seoul.json"), "on": "2025-03-01"},
                    headers=login("caseworker"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recognised_income"]["total"] == 300_000  # financial 3 M is under Seoul's 99 M deduction
    assert body["recognised_income"]["parameter_year"] == 2025 and body["household_size"] == 1
    first = body["results"][0]
    assert (first["code"], first["status"], first["expected_amount"], first["threshold"]) == \
        ("MOHW-NBLSS-LIVELIHOOD", "eligible", 465_444, 765_444)
    statuses = {r["code"]: r["status"] for r in body["results"]}
    assert {statuses[c] for c in ("MOHW-NBLSS-MEDICAL", "MOHW-NBLSS-HOUSING", "MOHW-NBLSS-EDUCATION")} == {"eligible"}
    rental = next(r for r in body["results"] if r["code"] == "MOLIT-PUBLIC-RENTAL")
    assert rental["status"] == "eligible" and "unverified" in rental["reasons"][0]  # 70 % is not in the reference
    order = [r["status"] for r in body["results"]]
    assert order == sorted(order, key=["eligible", "needs_information", "not_eligible"].index)
    medical = next(r for r in body["results"] if r["code"] == "MOHW-NBLSS-MEDICAL")
    assert any("obligor" in reason for reason in medical["reasons"])
    assert "765,444" in first["reasons"][0] and "2025 median 2,392,013" in first["reasons"][0]


def test_family_of_four_with_property_and_a_car(client, login, library):
    r = client.post("/screening", json={"household": _example("family_of_four_gyeonggi.json"), "on": "2024-06-01"},
                    headers=login("caseworker"))
    body = r.json()
    income = body["recognised_income"]
    assert income["income_evaluation"] == 1_640_000  # 2.2 M earned at 70 % + 100,000 transfers
    assert income["converted"] == {"residential": 114_400, "general": 375_300, "financial": 313_000,
                                   "car": 4_000_000}
    assert income["total"] == 6_442_700
    nblss = [r for r in body["results"] if r["code"].startswith("MOHW-NBLSS")]
    assert {r["status"] for r in nblss} == {"not_eligible"}
    assert nblss[0]["threshold"] in (1_833_572, 2_291_965, 2_750_358, 2_864_957)  # 2024, 4 persons


@pytest.mark.parametrize(("change", "field"), [
    ({"region_class": "mars"}, "region_class"),
    ({"members": []}, "members"),
    ({"income": {"earned": -1}}, "income.earned"),
    ({"income": {"lottery": 5}}, "income.lottery"),
    ({"members": [{"age": 300}]}, "members[0].age"),
    ({"cars": [{"value": "cheap"}]}, "cars[0].value"),
])
def test_bad_households_are_422_naming_the_field(client, login, library, change, field):
    household = {**_example("single_elderly_seoul.json"), **change}
    r = client.post("/screening", json={"household": household, "on": "2025-03-01"}, headers=login("caseworker"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_a_year_without_parameters_needs_information(client, login, library):
    r = client.post("/screening", json={"household": _example("single_elderly_seoul.json"), "on": "2027-01-05"},
                    headers=login("caseworker"))
    body = r.json()
    assert body["recognised_income"] is None
    assert {x["status"] for x in body["results"]} == {"needs_information"}


def test_cli_screen_prints_json(spawn, library):
    proc = spawn("screen", str(EXAMPLES / "single_elderly_seoul.json"), "--on", "2025-03-01")
    assert proc.popen.wait(60) == 0
    out = json.loads(proc.stop())
    assert out["results"][0]["code"] == "MOHW-NBLSS-LIVELIHOOD"
    bad = spawn("screen", str(EXAMPLES / "single_elderly_seoul.json"), "--on", "03/01/2025")
    assert bad.popen.wait(60) == 2 and "--on" in bad.stop()


def test_catalog_rows_and_validation(library):
    with unit_of_work() as session:
        rows = catalog.all_services(session)
    assert len(rows) >= 8 and len({r.ministry for r in rows}) >= 5
    assert all(r.legal_basis == "unverified" or r.synthetic for r in rows)
    document = json.loads(catalog.DATA_FILE.read_text())
    document["services"].append(dict(document["services"][0]))
    with pytest.raises(Invalid) as exc:
        catalog.parse(document)
    assert exc.value.detail["field"] == f"services[{len(document['services']) - 1}].code"
    document = json.loads(catalog.DATA_FILE.read_text())
    document["services"][2]["rule"] = {"kind": "nblss", "benefit": "luxury"}
    with pytest.raises(Invalid) as exc:
        catalog.parse(document)
    assert exc.value.detail["field"] == "services[2].rule.benefit"
    for path, value, field in (
        (("required_evidence",), ["earned_income", "horoscope"], "services[0].required_evidence[1]"),
        (("case", "application_fields"), ["shoe_size"], "services[0].case.application_fields[0]"),
        (("case", "payment_kind"), "bitcoin", "services[0].case.payment_kind"),
        (("case", "review_interval"), "6 months", "services[0].case.review_interval"),
        (("case", "approval_limit"), -1, "services[0].case.approval_limit"),
        (("unit",), "family", "services[0].unit"),
        (("unit",), None, "services[0].unit"),
    ):
        document = json.loads(catalog.DATA_FILE.read_text())
        target = document["services"][0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(Invalid) as exc:
            catalog.parse(document)
        assert exc.value.detail["field"] == field


def test_synthetic_full_size_catalog(client, login, library):
    document = catalog.generate_synthetic()
    assert len(document["services"]) == 292 and len(document["ministries"]) == 17 and document["synthetic"]
    rows = catalog.parse(document)
    assert all(r.synthetic for r in rows)
    # The real entries keep their units; the synthetic ones declare none and are a household's.
    units = {r.code: r.unit for r in rows}
    assert (units["MOHW-BASIC-PENSION"], units["MOE-EDUCATION-COST"], units["SYN-100"]) == ("person", "child",
                                                                                            "household")
    with unit_of_work() as session:
        session.execute(catalog.delete(catalog.CatalogService))
        session.add_all(rows)
    r = client.post("/screening", json={"household": _example("single_elderly_seoul.json"), "on": "2025-03-01"},
                    headers=login("caseworker"))
    assert len(r.json()["results"]) == 292
