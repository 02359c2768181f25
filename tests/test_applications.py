"""One application → one case per service; shared investigation; the library's modules end to end.

Workers, the scheduler and the agency simulator run as processes (the `platform` fixture).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from bokji.calendar.service import BusinessCalendar, Unit
from bokji.db import unit_of_work
from simulator.app import Query, answer
from tests.conftest import calls, start_case, wait_for
from tests.test_registry import rrn

PURPOSE = {"purpose": "intake"}
PERSON_TYPES = {"earned_income": "nts", "business_income": "nts", "pension": "nps", "property": "property",
                "vehicles": "vehicle", "deposits": "finance"}
AGENCY_TYPE = {"earned_income": "earned_income", "business_income": "business_income", "pension": "pension",
               "property": "holdings", "vehicles": "vehicles", "deposits": "deposits"}


def _poor(front: str, gender: str) -> str:
    """A registration number whose synthetic agency data is a household without income or property:
    the simulator answers deterministically per number, so the test can pick one."""
    for serial in range(10_000, 20_000):
        number = rrn(front, gender, str(serial))
        query = Query(registration_number=number, period="2025-02", request_id="probe", consent_reference="probe")
        values = {t: answer(PERSON_TYPES[t], AGENCY_TYPE[t], query)["value"] for t in PERSON_TYPES}
        if (values["earned_income"]["monthly"] == values["business_income"]["monthly"] == 0
                and values["pension"]["monthly"] == 0 and values["vehicles"]["cars"] == []
                and values["property"] == {"residential": 0, "general": 0}):
            return number
    raise AssertionError("no poor synthetic person found")


def _person(client, cw, number: str, name: str) -> str:
    r = client.post("/registry/persons", json={"registration_number": number, "name": name}, headers=cw)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _household(client, cw, *people: str, region: str = "other", relations: tuple[str, ...] = (),
               locality: str | None = "small_city") -> str:  # 목포시: a smaller city
    """The first person heads it; `relations` are the others' relations to the head (default other)."""
    r = client.post("/registry/households", headers=cw, json={
        "members": [{"person_id": people[0], "role": "head"},
                    *({"person_id": p, "relation": relations[i] if relations else None}
                      for i, p in enumerate(people[1:]))],
        "address": "전라남도 목포시 1", "region_class": region, "locality": locality, "valid_from": "2024-01-01"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _mother_and_child(client, cw) -> tuple[str, str]:
    mother = _person(client, cw, _poor("850315", "2"), "김엄마")
    child = _person(client, cw, _poor("120420", "4"), "김아이")  # 12 on the application date
    _household(client, cw, mother, child, relations=("child",), locality="small_city")
    return mother, child


def _apply(client, cw, applicant: str, services: list[str], **extra) -> dict:
    r = client.post("/applications", headers=cw, json={
        "applicant_id": applicant, "application_date": "2025-03-10", "services": services,
        "consents": {"deposits": "CONSENT-2025-0101"}, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _task(instance_id: str, element: str) -> str | None:
    with unit_of_work() as session:
        return session.execute(text("SELECT id::text FROM human_task WHERE instance_id = :i AND element_id = :e "
                                     "AND status = 'open'"), {"i": instance_id, "e": element}).scalar()


def _complete(client, who: dict, instance_id: str, element: str, data: dict, timeout: float = 60) -> None:
    task = wait_for(lambda: _task(instance_id, element), timeout=timeout, what=f"task {element}")
    r = client.post(f"/tasks/{task}/complete", json={"data": data}, headers=who)
    assert r.status_code == 200, r.text


def _stage_reached(instance_id: str, stage: str) -> bool:
    with unit_of_work() as session:
        return bool(session.execute(text("SELECT 1 FROM process_instance WHERE id = :i AND stage = :s"),
                                    {"i": instance_id, "s": stage}).scalar())


def _read(client, cw, application_id: str) -> dict:
    r = client.get(f"/applications/{application_id}", params=PURPOSE, headers=cw)
    assert r.status_code == 200, r.text
    return r.json()


APPROVE = {"decision": "approve", "decision_comment": "소득·재산 조사 결과 선정기준 이하 (within the threshold)"}


def test_one_application_three_services_shared_investigation(client, login, platform):
    cw, sv = login("caseworker"), login("supervisor")
    mother, child = _mother_and_child(client, cw)
    services = ["MOHW-NBLSS-LIVELIHOOD", "MOHW-NBLSS-EDUCATION", "MOGEF-SINGLE-PARENT"]
    application = _apply(client, cw, mother, services, details={"school_levels": {child: "middle"}})
    assert application["number"].startswith("A20250310-") and application["region_class"] == "other"
    assert sorted(application["member_ids"]) == sorted([mother, child])
    case = {c["service_code"]: c["instance_id"] for c in application["cases"]}
    assert sorted(case) == sorted(services)
    assert all(c["business_key"] == f"{application['number']}/{c['service_code']}" for c in application["cases"])

    # Single parent: the family check comes after eligibility, before the decision.
    _complete(client, cw, case["MOGEF-SINGLE-PARENT"], "family_check",
              {"single_parent_confirmed": "yes", "family_comment": "가족관계증명서 확인 (certificate checked)"})
    for code in services:
        _complete(client, cw, case[code], "review", APPROVE)
    # Livelihood pays the whole threshold for a household without income (1,258,451 for two in
    # 2025): above the approval limit, so a supervisor approves; a caseworker may not.
    task = wait_for(lambda: _task(case["MOHW-NBLSS-LIVELIHOOD"], "supervisor_approval"), what="supervisor task")
    denied = client.post(f"/tasks/{task}/complete", headers=cw,
                         json={"data": {"supervisor_decision": "approve", "supervisor_comment": "ok"}})
    assert denied.status_code == 403
    _complete(client, sv, case["MOHW-NBLSS-LIVELIHOOD"], "supervisor_approval",
              {"supervisor_decision": "approve", "supervisor_comment": "결재합니다 (approved)"})
    for code in services:  # granted, paid, noticed: the case now waits for its periodic review
        wait_for(lambda code=code: _stage_reached(case[code], "review"), timeout=60, what=f"{code} granted")

    body = _read(client, cw, application["id"])
    got = {c["service_code"]: c for c in body["cases"]}
    assert {c["status"] for c in got.values()} == {"running"}
    listed = client.get("/applications", params={"person_id": child, **PURPOSE}, headers=cw)
    assert listed.status_code == 200 and [a["number"] for a in listed.json()] == [application["number"]]
    assert client.get("/applications", params={"person_id": child}, headers=cw).status_code == 422  # no purpose
    livelihood, education, single = (got[c] for c in services)
    assert (livelihood["payment"]["kind"], livelihood["payment"]["amount"], livelihood["payment"]["period"],
            livelihood["payment"]["pay_day"], livelihood["payment"]["first_month"]) == \
        ("cash", 1_258_451, "month", 20, "2025-03")
    assert (education["payment"]["amount"], education["payment"]["period"]) == (679_000, "year")
    assert "중학교 교육활동지원비" in education["payment"]["amount_basis"]  # sourced (high); in Korean by default
    assert (single["payment"]["amount"], single["payment"]["period"]) == (230_000, "month")  # one child, 2025
    for c in got.values():
        (notice,) = c["notices"]
        assert notice["outcome"] == "granted"
        # 90 days from the day after issue, on the offices' calendar (a day off rolls forward)
        assert date.fromisoformat(notice["appeal_deadline"]) == BusinessCalendar().deadline(
            date.fromisoformat(notice["issued_on"]), 90, Unit.DAYS)
        assert "not in the reference" in notice["appeal_basis"] and "이의신청" in notice["text_ko"]
    assert "1,258,451" in livelihood["notices"][0]["text_ko"] and "선정기준" in livelihood["notices"][0]["text_ko"]
    assert "결재합니다" in " ".join(r["text"] for r in livelihood["notices"][0]["reasons"])

    with unit_of_work() as session:
        # Each case went through every stage of the standard process.
        for code in services:
            stages = {s for (s,) in session.execute(text(
                "SELECT DISTINCT stage FROM element_history WHERE instance_id = :i"), {"i": case[code]})}
            assert {"application", "investigation", "decision", "payment", "review"} <= stages, code
        # Evidence collected once: one row per (person, data type) across all three cases…
        facts = session.execute(text("SELECT person_id::text, data_type, count(*) FROM evidence GROUP BY 1, 2")).all()
        used = session.execute(text(
            "SELECT u.instance_id::text, e.person_id::text, e.data_type, e.id::text FROM evidence_use u "
            "JOIN evidence e ON e.id = u.evidence_id WHERE u.element_id = 'investigation'")).all()
    union = {"earned_income", "business_income", "pension", "property", "vehicles", "deposits", "household"}
    assert {(p, t) for p, t, _ in facts} == {(p, t) for p in (mother, child) for t in union}
    assert all(n == 1 for *_, n in facts)
    # …each asked of an agency exactly once: one bulk query per data type for both members…
    assert sum(calls(platform).values()) == len(union)
    by_case: dict[str, dict] = {}
    for instance_id, person, data_type, evidence_id in used:
        by_case.setdefault(instance_id, {})[(person, data_type)] = evidence_id
    assert set(by_case) == set(case.values())
    shared = by_case[case["MOHW-NBLSS-LIVELIHOOD"]]
    for code in services:  # …and used by every case that needed it (the same evidence ids)
        mine = by_case[case[code]]
        assert all(shared.get(k, v) == v for k, v in mine.items()), code
    assert {t for _, t in by_case[case["MOGEF-SINGLE-PARENT"]]} == \
        {"earned_income", "business_income", "property", "vehicles", "household"}
    assert len(by_case[case["MOHW-NBLSS-LIVELIHOOD"]]) == 12


def test_supervisor_returns_and_caseworker_adjusts_then_rejection_notice(client, login, platform):
    cw, sv = login("caseworker"), login("supervisor")
    mother, child = _mother_and_child(client, cw)
    application = _apply(client, cw, mother, ["MOHW-NBLSS-LIVELIHOOD", "MOE-EDUCATION-COST"],
                         details={"school_levels": {child: "middle"}})
    case = {c["service_code"]: c["instance_id"] for c in application["cases"]}
    livelihood = case["MOHW-NBLSS-LIVELIHOOD"]
    _complete(client, sv, livelihood, "review", APPROVE)  # the supervisor decided this case as caseworker…
    task = wait_for(lambda: _task(livelihood, "supervisor_approval"), what="supervisor task")
    own = client.post(f"/tasks/{task}/complete", headers=sv,
                      json={"data": {"supervisor_decision": "approve", "supervisor_comment": "ok"}})
    assert own.status_code == 403 and "4안 원칙" in own.json()["message"]  # …so cannot approve it too
    with unit_of_work() as session:
        from bokji.identity.service import create_user

        create_user(session, username="team.lead", password="bokji-test-2026", roles=["supervisor"],
                    office="seoul-jongno")
    r = client.post("/auth/token", data={"username": "team.lead", "password": "bokji-test-2026"})
    lead = {"Authorization": f"Bearer {r.json()['access_token']}"}
    _complete(client, lead, livelihood, "supervisor_approval",
              {"supervisor_decision": "return", "supervisor_comment": "공제 항목 재확인 바람 (check deductions)"})
    # Back at the caseworker, who adjusts the amount below the limit: no second approval needed.
    _complete(client, cw, livelihood, "review", {**APPROVE, "amount_override": 900_000,
                                                 "decision_comment": "근로 예정 소득 반영 (expected earnings)"})
    wait_for(lambda: _stage_reached(livelihood, "review"), timeout=60, what="livelihood granted")
    # The other service is rejected by the caseworker: a notice with the reason and the deadline.
    _complete(client, cw, case["MOE-EDUCATION-COST"], "review",
              {"decision": "reject", "decision_comment": "타 급여와 중복 (duplicate benefit)"})
    wait_for(lambda: _read(client, cw, application["id"])["cases"][0]["status"] == "completed", timeout=60,
             what="the rejected case to end")
    got = {c["service_code"]: c for c in _read(client, cw, application["id"])["cases"]}
    assert got["MOHW-NBLSS-LIVELIHOOD"]["payment"]["amount"] == 900_000
    assert "caseworker adjustment" in got["MOHW-NBLSS-LIVELIHOOD"]["payment"]["amount_basis"]
    rejected = got["MOE-EDUCATION-COST"]
    assert rejected["payment"] is None and [n["outcome"] for n in rejected["notices"]] == ["rejected"]
    assert "duplicate benefit" in rejected["notices"][0]["text_ko"]
    with unit_of_work() as session:
        approvals = session.execute(text(
            "SELECT count(*) FROM element_history WHERE instance_id = :i AND element_id = 'supervisor_approval'"),
            {"i": livelihood}).scalar()
    assert approvals == 1


def test_public_rental_qualification_and_medical_with_obligor(client, login, platform):
    cw = login("caseworker")
    mother, _child = _mother_and_child(client, cw)
    grandmother = _person(client, cw, rrn("550101", "2"), "김할머니")  # lives elsewhere: an obligor
    _household(client, cw, grandmother)
    application = _apply(client, cw, mother, ["MOLIT-PUBLIC-RENTAL", "MOHW-NBLSS-MEDICAL"],
                         details={"obligor_ids": [grandmother]})
    case = {c["service_code"]: c["instance_id"] for c in application["cases"]}
    for code in case:
        _complete(client, cw, case[code], "review", APPROVE)
    _complete(client, cw, case["MOLIT-PUBLIC-RENTAL"], "allocation",
              {"complex_name": "목포 하당 행복주택", "unit": "101동 1203호", "move_in_date": "2025-05-01"})
    for code in case:
        wait_for(lambda code=code: _stage_reached(case[code], "review"), timeout=60, what=f"{code} granted")
    got = {c["service_code"]: c for c in _read(client, cw, application["id"])["cases"]}
    assert (got["MOLIT-PUBLIC-RENTAL"]["payment"]["kind"], got["MOLIT-PUBLIC-RENTAL"]["payment"]["amount"]) == \
        ("qualification", None)
    assert got["MOHW-NBLSS-MEDICAL"]["payment"]["kind"] == "in_kind"
    with unit_of_work() as session:
        rental_timer = session.execute(text("SELECT next_timer_at FROM process_instance WHERE id = :i"),
                                       {"i": case["MOLIT-PUBLIC-RENTAL"]}).scalar()
        medical_timer = session.execute(text("SELECT next_timer_at FROM process_instance WHERE id = :i"),
                                        {"i": case["MOHW-NBLSS-MEDICAL"]}).scalar()
        obligor_facts = session.execute(text(
            "SELECT e.person_id::text, e.data_type FROM evidence_use u JOIN evidence e ON e.id = u.evidence_id "
            "WHERE u.instance_id = :i AND u.element_id = 'obligor'"), {"i": case["MOHW-NBLSS-MEDICAL"]}).all()
        steps = {e for (e,) in session.execute(text(
            "SELECT element_id FROM element_history WHERE instance_id = :i"), {"i": case["MOHW-NBLSS-MEDICAL"]})}
    now = datetime.now(UTC)
    assert timedelta(days=729) < rental_timer - now < timedelta(days=732)  # re-qualification in 2 years
    assert timedelta(days=180) < medical_timer - now < timedelta(days=185)  # NBLSS: twice a year
    assert sorted(obligor_facts) == sorted((grandmother, t) for t in ("earned_income", "business_income",
                                                                        "property"))
    assert {"obligor_collect", "obligor_means", "obligor_rule"} <= steps


def test_periodic_review_ends_the_benefit(client, login, platform):
    """A recipient starts earning: the next review finds them above the threshold, the caseworker
    confirms, the payment stops and a notice says why."""
    cw = login("caseworker")
    person = _person(client, cw, _poor("700101", "1"), "이수급")
    _household(client, cw, person)
    instance_id = start_case("nblss_livelihood", business_key="REVIEW-1", data={
        "service_code": "MOHW-NBLSS-LIVELIHOOD", "applicant_id": person, "member_ids": [person],
        "region_class": "other", "application_date": "2025-03-10", "consents": {"deposits": "C-1"},
        "review_interval": "PT3S"})
    _complete(client, cw, instance_id, "review", APPROVE)
    wait_for(lambda: _stage_reached(instance_id, "review"), timeout=60, what="granted")
    # New evidence: a wage slip (newer than the agency's answer, so the review uses it).
    r = client.post(f"/instances/{instance_id}/evidence", headers=cw,
                    data={"person_id": person, "data_type": "earned_income", "period": "2025-08",
                          "value": '{"monthly": 2500000}'},
                    files={"file": ("wage-slip.pdf", b"%PDF-1.4 wage", "application/pdf")})
    assert r.status_code == 201, r.text
    _complete(client, cw, instance_id, "review_outcome",
              {"review_decision": "terminate", "review_comment": "취업으로 소득 증가 (now employed)"})

    def ended():
        with unit_of_work() as session:
            return session.execute(text("SELECT status FROM process_instance WHERE id = :i"),
                                   {"i": instance_id}).scalar() == "completed"

    wait_for(ended, timeout=60, what="the case to end")
    with unit_of_work() as session:
        payment = session.execute(text("SELECT status, stopped_reason FROM payment_schedule WHERE instance_id = :i"),
                                  {"i": instance_id}).one()
        notices = session.execute(text("SELECT outcome FROM decision_notice WHERE instance_id = :i "
                                       "ORDER BY created_at"), {"i": instance_id}).scalars().all()
        rounds = session.execute(text("SELECT count(*) FROM element_history WHERE instance_id = :i "
                                      "AND element_id = 'begin_round'"), {"i": instance_id}).scalar()
    assert payment == ("stopped", "취업으로 소득 증가 (now employed)")
    assert notices == ["granted", "terminated"] and rounds >= 1


@pytest.mark.parametrize(("change", "field"), [
    ({"services": ["MOHW-NBLSS-LIVELIHOOD", "NO-SUCH-SERVICE"]}, "services[1]"),
    ({"services": []}, "services"),
    ({"services": ["MOHW-NBLSS-LIVELIHOOD", "MOHW-NBLSS-LIVELIHOOD"]}, "services[1]"),
    ({"applicant_id": "not-an-id"}, "applicant_id"),
    ({"application_date": "10/03/2025"}, "application_date"),
    ({"application_date": "2026-11-28"}, "application_date"),  # no 2026 figures in the reference yet
    ({"services": ["MOHW-NBLSS-EDUCATION"]}, "details.school_levels"),
    ({"services": ["MOHW-NBLSS-EDUCATION"], "details": {"school_levels": {}}}, "details.school_levels"),
    ({"details": {"school_levels": ["middle"]}}, "details.school_levels"),
    ({"details": {"school_levels": {"pupil-1": "middle"}}}, "details.school_levels.pupil-1"),
    ({"details": {"school_level": "middle"}}, "details.school_level"),  # the old question is gone
    ({"services": ["MOHW-NBLSS-HOUSING"], "details": {"monthly_rent": -5}}, "details.monthly_rent"),
    ({"services": ["MOHW-NBLSS-HOUSING"], "details": {"monthly_rent": 0, "rental_deposit": -1}},
     "details.rental_deposit"),
    ({"details": {"rental_deposit": "5백만원"}}, "details.rental_deposit"),
    ({"details": {"rental_deposit": 1.5}}, "details.rental_deposit"),
    ({"details": {"favourite_colour": "blue"}}, "details.favourite_colour"),
    ({"consents": {"jewels": "C-1"}}, "consents.jewels"),
    ({"consents": {"deposits": ""}}, "consents.deposits"),
])
def test_bad_applications_are_refused_naming_the_field(client, login, library, change, field):
    cw = login("caseworker")
    person = _person(client, cw, rrn("800101", "1"), "박신청")
    _household(client, cw, person)
    body = {"applicant_id": person, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-LIVELIHOOD"],
            **change}
    r = client.post("/applications", json=body, headers=cw)
    # An applicant that names nobody answers like another office's person: 404 (bokji/scope).
    assert r.status_code == (404 if field == "applicant_id" else 422), r.text
    assert r.json()["field"] == field and "Traceback" not in r.text
    with unit_of_work() as session:
        assert session.execute(text("SELECT count(*) FROM application")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM process_instance")).scalar() == 0


def test_school_levels_name_members_of_the_household_and_deposits_are_optional(client, login, library):
    cw = login("caseworker")
    mother = _person(client, cw, rrn("800101", "2"), "박엄마")
    son, daughter = _person(client, cw, rrn("120101", "3"), "박아들"), _person(client, cw, rrn("140101", "4"), "박딸")
    neighbour = _person(client, cw, rrn("130101", "3"), "이웃집")
    household = _household(client, cw, mother, son, daughter, relations=("child", "child"))
    # The daughter left before the application date: no longer a member then.
    assert client.post(f"/registry/households/{household}/leave", headers=cw,
                       json={"person_id": daughter, "valid_to": "2025-01-01"}).status_code == 200
    body = {"applicant_id": mother, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-EDUCATION"]}
    for pupil in (neighbour, daughter):
        r = client.post("/applications", headers=cw, json={**body, "details": {"school_levels": {
            son: "middle", pupil: "elementary"}}})
        assert r.status_code == 422 and r.json()["field"] == f"details.school_levels.{pupil}", r.text
        assert "가구원이 아닙니다" in r.json()["message"]
    r = client.post("/applications", headers=cw, json={**body, "details": {"school_levels": {son: "university"}}})
    assert r.status_code == 422 and r.json()["field"] == f"details.school_levels.{son}"
    with unit_of_work() as session:
        assert session.execute(text("SELECT count(*) FROM application")).scalar() == 0

    # Housing asks for the deposit but does not need it; the case data carries both answers, and the
    # one school level the amount table reads until it reads school_levels.
    r = client.post("/applications", headers=cw, json={**body, "services": ["MOHW-NBLSS-HOUSING"],
                                                       "details": {"monthly_rent": 150_000}})
    assert r.status_code == 201, r.text
    r = client.post("/applications", headers=cw, json={
        **body, "services": ["MOHW-NBLSS-EDUCATION"],
        "details": {"school_levels": {son.upper(): "middle"}, "monthly_rent": 0, "rental_deposit": 30_000_000}})
    assert r.status_code == 201, r.text
    with unit_of_work() as session:
        details = session.execute(text("SELECT details FROM application WHERE id = :i"),
                                  {"i": r.json()["id"]}).scalar()
    assert details == {"school_levels": {son: "middle"}, "monthly_rent": 0, "rental_deposit": 30_000_000}


def test_the_case_data_carries_each_pupils_level(library):
    """Intake gives the case each pupil's level (`school_levels`): the household document takes them."""
    from bokji.applications.handlers import register
    from bokji.jobs.handlers import HandlerContext
    from bokji.registry import service as registry

    with unit_of_work() as session:
        ids = sorted(str(registry.register_person(session, registration_number=rrn(front, "3"), name=front,
                                                  actor="test", office="central")[0].id)
                     for front in ("120101", "140101", "100101"))
    data = {"member_ids": ids, "application_date": "2025-03-10"}
    instance_id = start_case("nblss_education", data)
    levels = {ids[2]: "high", ids[1]: "elementary"}  # the first member is no pupil
    with unit_of_work() as session:
        out = register(HandlerContext(session=session, job_id="j", instance_id=instance_id, business_key=None,
                                      element_id="register", topic="intake.register", attempt=1,
                                      input={**data, "school_levels": levels, "rental_deposit": 5_000_000}))
    assert out["school_levels"] == levels and "school_level" not in out
    assert out["rental_deposit"] == 5_000_000 and out["service_code"] == "MOHW-NBLSS-EDUCATION"


def test_applicant_without_household_and_obligor_inside_it(client, login, library):
    cw = login("caseworker")
    alone = _person(client, cw, rrn("800101", "1"), "박혼자")
    r = client.post("/applications", headers=cw, json={"applicant_id": alone, "application_date": "2025-03-10",
                                                       "services": ["MOHW-NBLSS-LIVELIHOOD"]})
    assert r.status_code == 422 and r.json()["field"] == "applicant_id" and "가구" in r.json()["message"]
    spouse = _person(client, cw, rrn("820101", "2"), "박배우")
    _household(client, cw, alone, spouse)
    r = client.post("/applications", headers=cw, json={
        "applicant_id": alone, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-MEDICAL"],
        "details": {"obligor_ids": [spouse]}})
    assert r.status_code == 422 and r.json()["field"] == "details.obligor_ids[0]"
    r = client.post("/applications", headers=login("manager"), json={})
    assert r.status_code == 403
    r = client.post("/applications", headers=cw, json=["not", "an", "object"])
    assert r.status_code == 422 and "Traceback" not in r.text


def test_two_cases_asking_for_one_fact_at_once_ask_the_agency_once(client, login, simulator, library, monkeypatch):
    """The collect step of two cases of one application, at the same moment, for the same fact (the
    agency is slow, so both are in flight together): one agency call, one evidence row, two uses."""
    import threading
    import uuid

    from bokji.config import get_settings
    from bokji.jobs.handlers import HandlerContext
    from bokji.linkage.handlers import collect
    from tests.conftest import switch

    monkeypatch.setenv("BOKJI_AGENCY_BASE_URL", simulator)
    get_settings.cache_clear()
    cw = login("caseworker")
    person = _person(client, cw, rrn("700101", "1"), "정동시")
    _household(client, cw, person)
    cases = []
    for n in range(2):  # two cases (no workers run: only the collect step below does anything)
        cases.append(start_case("nblss_livelihood", business_key=f"SAME-{n}", data={"member_ids": [person]}))
    switch(simulator, "nts", latency_ms=500)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(instance_id: str) -> None:
        try:
            with unit_of_work() as session:
                start.wait()
                collect(HandlerContext(session=session, job_id=str(uuid.uuid4()), instance_id=instance_id,
                                       business_key=None, element_id="collect", topic="linkage.collect",
                                       input={"request": {"person_id": person, "data_type": "earned_income"},
                                              "application_date": "2025-03-10", "consents": {}}, attempt=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    get_settings.cache_clear()
    assert not errors, errors
    assert calls(simulator)["nts"] == 1
    with unit_of_work() as session:
        assert session.execute(text("SELECT count(*) FROM evidence")).scalar() == 1
        users = session.execute(text("SELECT DISTINCT instance_id::text FROM evidence_use")).scalars().all()
    assert sorted(users) == sorted(cases)


def test_housing_survey_basic_pension_age_check_and_employment_plan(client, login, platform):
    cw = login("caseworker")
    elder = _person(client, cw, _poor("500101", "1"), "최어르신")  # 75 on the application date
    _household(client, cw, elder)
    application = _apply(client, cw, elder, ["MOHW-NBLSS-HOUSING", "MOHW-BASIC-PENSION", "MOEL-EMPLOYMENT-SUPPORT"],
                         details={"monthly_rent": 300_000})
    young = _person(client, cw, _poor("900101", "1"), "최청년")  # 35: employment support, too young for a pension
    _household(client, cw, young)
    second = _apply(client, cw, young, ["MOHW-BASIC-PENSION", "MOEL-EMPLOYMENT-SUPPORT"])["cases"]
    too_young, job_seeker = (next(c["instance_id"] for c in second if c["service_code"] == code)
                             for code in ("MOHW-BASIC-PENSION", "MOEL-EMPLOYMENT-SUPPORT"))
    case = {c["service_code"]: c["instance_id"] for c in application["cases"]}
    # The surveyor finds a lower rent than declared; it is paid up to the reference rent.
    _complete(client, cw, case["MOHW-NBLSS-HOUSING"], "housing_survey",
              {"monthly_rent": 250_000, "dwelling_condition": "needs_repair", "survey_comment": "누수 (leak)"})
    _complete(client, cw, job_seeker, "counselling",
              {"plan_agreed": "no", "plan_summary": "구직 의사 없음 (not seeking work)"})
    for code in ("MOHW-NBLSS-HOUSING", "MOHW-BASIC-PENSION"):
        _complete(client, cw, case[code], "review", APPROVE)

    def ended(instance_id: str) -> bool:
        with unit_of_work() as session:
            return session.execute(text("SELECT status FROM process_instance WHERE id = :i"),
                                   {"i": instance_id}).scalar() == "completed"

    for instance_id in (case["MOHW-BASIC-PENSION"], case["MOEL-EMPLOYMENT-SUPPORT"], too_young, job_seeker):
        wait_for(lambda instance_id=instance_id: ended(instance_id), timeout=60, what="case ended")
    wait_for(lambda: _stage_reached(case["MOHW-NBLSS-HOUSING"], "review"), timeout=60, what="housing granted")
    got = {c["service_code"]: c for c in _read(client, cw, application["id"])["cases"]}
    assert got["MOHW-NBLSS-HOUSING"]["payment"]["amount"] == 191_000  # 2025 reference rent, 1 person, 4급지
    assert got["MOHW-BASIC-PENSION"]["payment"]["amount"] == 342_510
    # 75 is outside employment support's 15-69: refused by its rule, no counselling
    assert [n["outcome"] for n in got["MOEL-EMPLOYMENT-SUPPORT"]["notices"]] == ["not_eligible"]
    assert "15~69세" in got["MOEL-EMPLOYMENT-SUPPORT"]["notices"][0]["text_ko"]
    with unit_of_work() as session:
        plan = session.execute(text("SELECT outcome, text_ko FROM decision_notice WHERE instance_id = :i"),
                               {"i": job_seeker}).one()
    assert plan[0] == "not_eligible" and "not seeking work" in plan[1]
    with unit_of_work() as session:
        notice = session.execute(text("SELECT outcome, text_ko FROM decision_notice WHERE instance_id = :i"),
                                 {"i": too_young}).one()
        asked = session.execute(text("SELECT count(*) FROM job WHERE instance_id = :i AND topic = 'linkage.collect'"),
                                {"i": too_young}).scalar()
    assert notice[0] == "not_eligible" and "65세" in notice[1]
    assert asked == 0  # refused on age before any agency was asked


def test_benefits_of_one_purpose_are_flagged_for_the_caseworker(client, login, platform):
    """중복수급: a household granted the NBLSS education benefit applies again, for it, for education cost
    support and for housing: the two education cases are flagged, naming what they overlap; housing not."""
    from bokji.applications import summary
    from bokji.identity.service import Principal
    from bokji.tasks.models import HumanTask

    cw = login("caseworker")
    # Two children: the same child's education benefit twice is refused (one per child and service, see
    # tests/test_entitlements.py), so the second application is for the other child.
    mother = _person(client, cw, _poor("850315", "2"), "김엄마")
    child = _person(client, cw, _poor("120420", "4"), "김아이")
    younger = _person(client, cw, _poor("150901", "3"), "김둘째")
    _household(client, cw, mother, child, younger)
    first = _apply(client, cw, mother, ["MOHW-NBLSS-EDUCATION"], details={"school_levels": {child: "middle"},
                                                                          "child_ids": [child]})
    education = first["cases"][0]["instance_id"]
    _complete(client, cw, education, "review", APPROVE)
    wait_for(lambda: _stage_reached(education, "review"), timeout=60, what="education granted")
    second = _apply(client, cw, mother, ["MOE-EDUCATION-COST", "MOHW-NBLSS-HOUSING", "MOHW-NBLSS-EDUCATION"],
                    details={"school_levels": {younger: "middle"}, "monthly_rent": 200_000, "child_ids": [younger]})
    case = {c["service_code"]: c["instance_id"] for c in second["cases"]}
    _complete(client, cw, case["MOHW-NBLSS-HOUSING"], "housing_survey",
              {"monthly_rent": 200_000, "dwelling_condition": "good", "survey_comment": ""})
    seen = {}
    for code, instance_id in case.items():
        task_id = wait_for(lambda instance_id=instance_id: _task(instance_id, "review"), timeout=60,
                           what=f"{code} decision task")
        with unit_of_work() as session:
            who = Principal("x", "caseworker", frozenset({"caseworker"}), "seoul-jongno", None)
            seen[code] = summary.for_task(session, session.get(HumanTask, task_id), who).overlaps
    assert seen["MOHW-NBLSS-HOUSING"] == []
    assert [o["reason"].split(" ")[0] + " " + o["service_code"] for o in seen["MOE-EDUCATION-COST"]] == \
        ["already MOHW-NBLSS-EDUCATION", "also MOHW-NBLSS-EDUCATION"]  # receives it, and asks for it again
    assert [o["service_code"] for o in seen["MOHW-NBLSS-EDUCATION"]] == ["MOHW-NBLSS-EDUCATION",
                                                                        "MOE-EDUCATION-COST"]


def test_workers_killed_mid_payment_setup(client, login, platform, spawn):
    """Nothing twice: both workers die in the middle of setting up payments — inside the job's
    transaction, the schedule row written but not committed (the test holds a lock on the table so
    they stop exactly there). After new workers take the jobs back, each case has exactly one payment
    schedule and one notice."""
    import signal

    from sqlalchemy import create_engine

    from tests.conftest import DATABASE_URL, RUNNING

    cw, sv = login("caseworker"), login("supervisor")
    mother, child = _mother_and_child(client, cw)
    services = ["MOHW-NBLSS-LIVELIHOOD", "MOHW-NBLSS-EDUCATION", "MOGEF-SINGLE-PARENT"]
    case = {c["service_code"]: c["instance_id"]
            for c in _apply(client, cw, mother, services, details={"school_levels": {child: "middle"}})["cases"]}
    _complete(client, cw, case["MOGEF-SINGLE-PARENT"], "family_check",
              {"single_parent_confirmed": "yes", "family_comment": "확인 (checked)"})
    blocker = create_engine(DATABASE_URL).connect()
    blocker.execute(text("LOCK TABLE payment_schedule IN SHARE ROW EXCLUSIVE MODE"))  # inserts wait
    try:
        for code in services:
            _complete(client, cw, case[code], "review", APPROVE)
        _complete(client, sv, case["MOHW-NBLSS-LIVELIHOOD"], "supervisor_approval",
                  {"supervisor_decision": "approve", "supervisor_comment": "결재 (approved)"})

        def stuck() -> int:
            with unit_of_work() as session:
                return session.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE 'INSERT INTO payment_schedule%'")).scalar()

        wait_for(lambda: stuck() == 2, timeout=60, what="both workers inside payment set-up")
        for worker in RUNNING["workers"]:
            worker.stop(signal.SIGKILL)
    finally:
        blocker.rollback()
        blocker.close()
    for _ in range(2):
        spawn("worker", **RUNNING["env"])
    for code in services:
        wait_for(lambda code=code: _stage_reached(case[code], "review"), timeout=90, what=f"{code} granted")
    with unit_of_work() as session:
        per_case = session.execute(text(
            "SELECT i.id::text, (SELECT count(*) FROM payment_schedule p WHERE p.instance_id = i.id), "
            "(SELECT count(*) FROM decision_notice n WHERE n.instance_id = i.id) FROM process_instance i")).all()
        attempts = session.execute(text("SELECT attempts FROM job WHERE topic = 'payment.setup' "
                                        "ORDER BY attempts")).scalars().all()
    assert sorted(per_case) == sorted((case[c], 1, 1) for c in services)
    assert len(attempts) == 3 and attempts.count(1) == 1 and all(a >= 2 for a in attempts[1:])  # two were cut


def test_payment_setup_of_a_zero_amount_and_twice_for_one_case(client, login, library):
    """Recognised income exactly at the livelihood threshold: eligible, amount 0 — recorded and
    flagged, not an error; running the set-up again (a retried job) keeps one schedule."""
    import uuid

    from bokji.jobs.handlers import HandlerContext
    from bokji.payments.handlers import setup

    cw = login("caseworker")
    person = _person(client, cw, rrn("700101", "1"), "영급여")
    _household(client, cw, person)
    instance_id = start_case("nblss_livelihood", {"member_ids": [person]})
    data = {"payment_kind": "cash", "monthly_amount": 0, "annual_amount": None, "application_date": "2025-03-10",
            "service_code": "MOHW-NBLSS-LIVELIHOOD", "applicant_id": person, "pay_day": 20,
            "reason": "recognised income at or below the livelihood threshold; pays the difference"}
    for attempt in (1, 2):
        with unit_of_work() as session:
            out = setup(HandlerContext(session=session, job_id=str(uuid.uuid4()), instance_id=instance_id,
                                       business_key=None, element_id="setup", topic="payment.setup", input=data,
                                       attempt=attempt))
    with unit_of_work() as session:
        rows = session.execute(text("SELECT id::text, amount, amount_basis FROM payment_schedule")).all()
    assert len(rows) == 1 and rows[0][0] == out["payment_schedule_id"] and rows[0][1] == 0
    assert rows[0][2].startswith("zero amount (policy for zero or small amounts unverified)")


def test_a_rule_that_needs_information_leaves_the_amount_to_the_caseworker(client, login, platform):
    """MOE education cost: the income line is known, the amount is not (each education office sets it):
    the case comes to the caseworker saying so; approving without an amount sends the task back, an
    amount with its reason grants it."""
    cw = login("caseworker")
    mother, child = _mother_and_child(client, cw)
    application = _apply(client, cw, mother, ["MOE-EDUCATION-COST"], details={"school_levels": {child: "middle"}})
    instance_id = application["cases"][0]["instance_id"]
    task = wait_for(lambda: _task(instance_id, "review"), timeout=60, what="the decision task")
    with unit_of_work() as session:
        from bokji.instances import service as instances

        data = instances.load_run(session, instances.get(session, instance_id)).human_task_data(task)
    assert data["eligibility"] == "needs_information"
    assert data["missing_information"] == ["education_cost.amount@2025"]
    r = client.post(f"/tasks/{task}/complete", headers=cw, json={"data": APPROVE})
    assert r.status_code == 200, r.text
    again = wait_for(lambda: _task(instance_id, "review"), timeout=60, what="the task back")
    assert again != task  # a new task: approving cash needs an amount
    _complete(client, cw, instance_id, "review", {**APPROVE, "amount_override": 300_000,
                                                  "decision_comment": "교육청 지원액 (the office's amount)"})
    wait_for(lambda: _read(client, cw, application["id"])["cases"][0]["status"] == "completed", timeout=60,
             what="the case to end")
    case = _read(client, cw, application["id"])["cases"][0]
    assert case["payment"]["amount"] == 300_000 and "caseworker adjustment" in case["payment"]["amount_basis"]
    assert [n["outcome"] for n in case["notices"]] == ["granted"]
