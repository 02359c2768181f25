"""One open case or active entitlement per beneficiary unit and service (bokji/entitlements).

Most tests need no workers: a submission takes the units at once, and the life cycle after it is driven
through the payment handlers and the operator's cancel. One test runs a case to its refusal for real.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from bokji.db import unit_of_work
from tests.conftest import DATABASE_URL, wait_for
from tests.test_applications import _complete, _household, _mother_and_child, _person, _poor
from tests.test_registry import rrn

LIVELIHOOD, PENSION, EDUCATION = "MOHW-NBLSS-LIVELIHOOD", "MOHW-BASIC-PENSION", "MOHW-NBLSS-EDUCATION"
TRIPLE = [LIVELIHOOD, EDUCATION, "MOGEF-SINGLE-PARENT"]


def _post(client, cw, applicant: str, services: list[str], on: str = "2025-03-10", **details: Any):
    if EDUCATION in services and "school_levels" not in details:
        # The levels only need to name members here: these tests are about who may apply.
        details["school_levels"] = {c: "middle" for c in details.get("child_ids", [])} or {applicant: "middle"}
    return client.post("/applications", headers=cw, json={
        "applicant_id": applicant, "application_date": on, "services": services,
        "consents": {"deposits": "CONSENT-2025-0101"}, "details": details})


def _count(table: str, where: str = "true") -> int:
    with unit_of_work() as session:
        return session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar()


def _rows(where: str = "true") -> list[tuple]:
    with unit_of_work() as session:
        return [tuple(r) for r in session.execute(text(
            "SELECT service_code, unit, unit_id::text, status, lower(benefit_months), upper(benefit_months), "
            f"closed_reason FROM entitlement WHERE {where} ORDER BY opened_at, service_code, unit_id"))]


def _start_data(instance_id: str) -> dict[str, Any]:
    """What the case started with, as its first step (intake, inside a call activity) is handed it."""
    with unit_of_work() as session:
        return session.execute(text("SELECT input FROM job WHERE instance_id = :i AND topic = 'intake.register'"),
                               {"i": instance_id}).scalar_one()


def _refused(r, field: str = "services[0]") -> dict[str, Any]:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "Conflict" and body["field"] == field and "Traceback" not in r.text
    assert "진행 중인 사례 또는 수급권이 있습니다" in body["message"]
    return body


def _family(client, cw) -> tuple[str, str, str]:
    """A mother and two children (12 and 9 on the application date)."""
    mother = _person(client, cw, rrn("850315", "2"), "김엄마")
    first = _person(client, cw, rrn("120420", "4"), "김첫째")
    second = _person(client, cw, rrn("150901", "3"), "김둘째")
    _household(client, cw, mother, first, second)
    return mother, first, second


def test_the_same_application_three_times_is_taken_once(client, login, library):
    cw = login("caseworker")
    mother, child = _mother_and_child(client, cw)
    first = _post(client, cw, mother, TRIPLE)
    assert first.status_code == 201, first.text
    number = first.json()["number"]
    for _ in range(2):
        body = _refused(_post(client, cw, mother, TRIPLE))
        assert body["application_number"] == number and f"신청번호 {number}" in body["message"]
        assert body["service_code"] == LIVELIHOOD and body["unit"] == "household"
        assert "이 가구" in body["message"] and "국민기초생활보장 생계급여" in body["message"]
    # Nothing of the refused ones: one application, its three cases, and its units.
    assert (_count("application"), _count("application_case"), _count("process_instance")) == (1, 3, 3)
    household = first.json()["household_id"]
    assert sorted(r[:4] for r in _rows()) == sorted([
        (LIVELIHOOD, "household", household, "open"), (EDUCATION, "child", child, "open"),
        ("MOGEF-SINGLE-PARENT", "child", child, "open")])
    cases = {c["service_code"]: c["instance_id"] for c in first.json()["cases"]}
    livelihood, education = _start_data(cases[LIVELIHOOD]), _start_data(cases[EDUCATION])
    assert (livelihood["unit"], livelihood["unit_ids"]) == ("household", [household])
    assert livelihood.get("child_ids") is None  # only a child benefit's case covers children
    assert (education["unit"], education["unit_ids"], education["child_ids"]) == ("child", [child], [child])


def test_another_member_of_the_household_is_refused_the_household_benefit(client, login, library):
    cw = login("caseworker")
    husband = _person(client, cw, rrn("800101", "1"), "박남편")
    wife = _person(client, cw, rrn("820101", "2"), "박아내")
    _household(client, cw, husband, wife)
    assert _post(client, cw, husband, [LIVELIHOOD]).status_code == 201
    body = _refused(_post(client, cw, wife, [LIVELIHOOD]))
    assert "이 가구" in body["message"]
    assert _count("application") == 1


def test_person_units_are_each_member_and_child_units_each_child(client, login, library):
    cw = login("caseworker")
    grandpa = _person(client, cw, rrn("500101", "1"), "최할배")
    grandma = _person(client, cw, rrn("520101", "2"), "최할매")
    _household(client, cw, grandpa, grandma)
    assert _post(client, cw, grandpa, [PENSION]).status_code == 201
    assert _post(client, cw, grandma, [PENSION]).status_code == 201  # another person: another unit
    body = _refused(_post(client, cw, grandpa, [LIVELIHOOD, PENSION]), field="services[1]")
    assert "이 사람" in body["message"] and body["unit"] == "person"

    mother, first, second = _family(client, cw)
    one = _post(client, cw, mother, [EDUCATION], child_ids=[first])
    assert one.status_code == 201, one.text
    assert _start_data(one.json()["cases"][0]["instance_id"])["child_ids"] == [first]
    assert _post(client, cw, mother, [EDUCATION], child_ids=[second]).status_code == 201
    again = _refused(_post(client, cw, mother, [EDUCATION], child_ids=[first]))
    assert "자녀 김첫째" in again["message"] and again["application_number"] == one.json()["number"]
    # Without child_ids a child benefit covers every member under 18: both are held now.
    assert "자녀" in _refused(_post(client, cw, mother, [EDUCATION]))["message"]
    assert _count("entitlement", "unit = 'child'") == 2

    outsider = _person(client, cw, rrn("130303", "4"), "이웃아이")
    _household(client, cw, outsider)
    r = _post(client, cw, mother, [EDUCATION], child_ids=[second, outsider], school_levels={second: "middle"})
    assert r.status_code == 422 and r.json()["field"] == "details.child_ids[1]", r.text
    r = _post(client, cw, mother, [EDUCATION], child_ids=[second, second])
    assert r.status_code == 422 and r.json()["field"] == "details.child_ids[1]", r.text
    r = _post(client, cw, grandpa, [LIVELIHOOD, EDUCATION])  # nobody under 18 in that household
    assert r.status_code == 422 and r.json()["field"] == "services[1]" and "만 18세 미만" in r.json()["message"]
    assert _count("application") == 4


def _handler_context(session, instance_id: str, topic: str, data: dict[str, Any]):
    from bokji.jobs.handlers import HandlerContext

    return HandlerContext(session=session, job_id=str(uuid.uuid4()), instance_id=instance_id, business_key=None,
                          element_id=topic.split(".")[1], topic=topic, input=data, attempt=1)


def _setup(instance_id: str, applicant: str, service: str, **extra: Any) -> None:
    from bokji.payments.handlers import setup

    with unit_of_work() as session:
        setup(_handler_context(session, instance_id, "payment.setup", {
            "payment_kind": "cash", "monthly_amount": 100_000, "application_date": "2025-03-10",
            "service_code": service, "applicant_id": applicant, "pay_day": 20, **extra}))


def _stop(instance_id: str) -> None:
    from bokji.payments.handlers import stop

    with unit_of_work() as session:
        stop(_handler_context(session, instance_id, "payment.stop", {"review_comment": "소득 증가 (now earning)"}))


def _first_month(instance_id: str) -> str:
    with unit_of_work() as session:
        return session.execute(text("SELECT first_month FROM payment_schedule WHERE instance_id = :i"),
                               {"i": instance_id}).scalar()


def test_granted_then_stopped_then_applied_for_again(client, login, library):
    """Set-up makes the units active from the month of application; while active a new application is
    refused; the stop ends them after the platform's current month; the next one is taken and starts
    in the month after that (its payment schedule too)."""
    cw = login("caseworker")
    person = _person(client, cw, rrn("700101", "1"), "이수급")
    household = _household(client, cw, person)
    first = _post(client, cw, person, [LIVELIHOOD]).json()["cases"][0]["instance_id"]
    _setup(first, person, LIVELIHOOD)
    assert _rows() == [(LIVELIHOOD, "household", household, "active", date(2025, 3, 1), None, None)]
    assert _first_month(first) == "2025-03"
    _setup(first, person, LIVELIHOOD)  # a set-up run again changes nothing
    assert [r[3:6] for r in _rows()] == [("active", date(2025, 3, 1), None)]
    _refused(_post(client, cw, person, [LIVELIHOOD]))

    _stop(first)
    seoul_today = (datetime.now(UTC) + timedelta(hours=9)).date()  # the tests' platform clock is not moved
    next_month = date(seoul_today.year + seoul_today.month // 12, seoul_today.month % 12 + 1, 1)
    assert _rows() == [(LIVELIHOOD, "household", household, "ended", date(2025, 3, 1), next_month,
                        "소득 증가 (now earning)")]
    again = _post(client, cw, person, [LIVELIHOOD])
    assert again.status_code == 201, again.text
    second = again.json()["cases"][0]["instance_id"]
    _setup(second, person, LIVELIHOOD)  # applied for March 2025 again: those months were paid already
    assert _rows(f"instance_id = '{second}'") == [(LIVELIHOOD, "household", household, "active", next_month, None,
                                                   None)]
    assert _first_month(second) == f"{next_month:%Y-%m}"

    # A benefit for a number of months (employment support: the lead sets 6) ends by itself.
    case = _post(client, cw, person, ["MOEL-EMPLOYMENT-SUPPORT"]).json()["cases"][0]["instance_id"]
    _setup(case, person, "MOEL-EMPLOYMENT-SUPPORT", benefit_duration_months=6)
    assert [r[3:6] for r in _rows(f"instance_id = '{case}'")] == [("active", date(2025, 3, 1), date(2025, 9, 1))]


def test_a_cancelled_case_frees_its_units(client, login, library):
    cw, sv = login("caseworker"), login("supervisor")
    mother, child = _mother_and_child(client, cw)
    first = _post(client, cw, mother, [EDUCATION]).json()
    r = client.post(f"/instances/{first['cases'][0]['instance_id']}/cancel", headers=sv,
                    json={"reason": "신청 철회 (withdrawn)"})
    assert r.status_code == 200, r.text
    assert [r[3:] for r in _rows()] == [("released", None, None, "cancelled")]
    assert _post(client, cw, mother, [EDUCATION]).status_code == 201
    assert [r[3] for r in _rows()] == ["released", "open"]


def test_after_a_refusal_the_household_may_apply_again(client, login, platform):
    """The real flow: the caseworker refuses, the case ends with its notice, the unit is free."""
    cw = login("caseworker")
    person = _person(client, cw, _poor("700101", "1"), "박거절")
    _household(client, cw, person)
    case = _post(client, cw, person, [LIVELIHOOD]).json()["cases"][0]["instance_id"]
    _refused(_post(client, cw, person, [LIVELIHOOD]))
    _complete(client, cw, case, "review", {"decision": "reject", "decision_comment": "재산 기준 초과 (assets)"})
    wait_for(lambda: _rows() and _rows()[0][3] == "released", timeout=60, what="the refused case to free its unit")
    assert _rows()[0][6] == "ended without a grant"
    assert _count("process_instance", f"id = '{case}' AND status = 'completed'") == 1
    assert _post(client, cw, person, [LIVELIHOOD]).status_code == 201


def _principal(username: str = "caseworker"):
    from bokji.identity.models import User
    from bokji.identity.service import Principal

    with unit_of_work() as session:
        return Principal.of(session.query(User).filter_by(username=username).one())


def _submit_in_thread(body: dict, results: list, barrier: threading.Barrier | None = None) -> threading.Thread:
    from bokji.steps import service as steps

    actor = _principal()

    def run() -> None:
        try:
            with unit_of_work() as session:
                if barrier is not None:
                    barrier.wait()
                results.append(steps.apply(session, body, actor=actor).number)
        except Exception as exc:  # noqa: BLE001 - the test looks at what came back
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_two_submissions_at_once_one_is_taken_the_other_refused(client, login, library):
    from bokji.errors import Conflict

    cw = login("caseworker")
    person = _person(client, cw, rrn("700101", "1"), "정동시")
    _household(client, cw, person)
    body = {"applicant_id": person, "application_date": "2025-03-10", "services": [LIVELIHOOD]}
    results: list = []
    barrier = threading.Barrier(2)
    threads = [_submit_in_thread(body, results, barrier) for _ in range(2)]
    for t in threads:
        t.join(60)
    numbers = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(numbers) == 1 and len(refused) == 1, results
    assert refused[0].detail["field"] == "services[0]" and numbers[0] in refused[0].message
    assert _count("entitlement", "status IN ('open', 'active')") == 1 and _count("application") == 1


def test_the_unique_index_refuses_what_gets_past_the_lock_as_the_same_409(client, login, library):
    """A writer that takes no lock inserts an open row for the unit while a submission is between its
    check and its insert: the submission's insert waits for it, then fails on the unique index — and
    comes back as the same refusal, not a database error."""
    from bokji.errors import Conflict

    cw = login("caseworker")
    other = _person(client, cw, rrn("600101", "1"), "김다른")
    _household(client, cw, other)
    earlier = _post(client, cw, other, [LIVELIHOOD]).json()
    person = _person(client, cw, rrn("700101", "1"), "정동시")
    household = _household(client, cw, person)
    blocker = create_engine(DATABASE_URL).connect()
    results: list = []
    try:
        blocker.execute(text(
            "INSERT INTO entitlement (id, service_code, unit, unit_id, application_id, instance_id, office, status, "
            "opened_at) VALUES (gen_random_uuid(), :s, 'household', :u, :a, :i, 'seoul-jongno', 'open', now())"),
            {"s": LIVELIHOOD, "u": household, "a": earlier["id"], "i": earlier["cases"][0]["instance_id"]})
        thread = _submit_in_thread({"applicant_id": person, "application_date": "2025-03-10",
                                    "services": [LIVELIHOOD]}, results)

        def waiting() -> int:
            with unit_of_work() as session:
                return session.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE 'INSERT INTO entitlement%'")).scalar()

        wait_for(lambda: waiting() == 1, timeout=60, what="the submission's insert waiting on the index")
        blocker.commit()
    finally:
        blocker.close()
    thread.join(60)
    [refused] = results
    assert isinstance(refused, Conflict), refused
    assert refused.detail["field"] == "services[0]" and earlier["number"] in refused.message
    assert _count("application") == 1 and _count("entitlement") == 2  # the earlier one's and the blocker's


def test_no_two_entitlements_of_a_unit_cover_one_month(client, login, library):
    cw = login("caseworker")
    person = _person(client, cw, rrn("700101", "1"), "한달씩")
    household = _household(client, cw, person)
    application = _post(client, cw, person, [LIVELIHOOD]).json()
    ids = {"a": application["id"], "i": application["cases"][0]["instance_id"], "u": household, "s": LIVELIHOOD}

    def insert(status: str, months: str | None) -> None:
        with unit_of_work() as session:
            session.execute(text(
                "INSERT INTO entitlement (id, service_code, unit, unit_id, application_id, instance_id, office, "
                "status, benefit_months, opened_at) VALUES (gen_random_uuid(), :s, 'household', :u, :a, :i, "
                "'seoul-jongno', :status, CAST(:m AS daterange), now())"), {**ids, "status": status, "m": months})

    insert("ended", "[2025-01-01,2025-07-01)")
    with pytest.raises(IntegrityError, match="ex_entitlement_benefit_months"):
        insert("ended", "[2025-06-01,2025-08-01)")
    insert("released", "[2025-03-01,)")  # released rows cover no month
    insert("ended", "[2025-07-01,2025-09-01)")  # right after: no month twice
    with pytest.raises(IntegrityError, match="uq_entitlement_open_unit"):
        insert("active", "[2025-09-01,)")  # the submission's open row still holds the unit
    with unit_of_work() as session:
        session.execute(text("UPDATE entitlement SET status = 'released' WHERE status = 'open'"))
    with pytest.raises(IntegrityError, match="ex_entitlement_benefit_months"):
        insert("active", "[2025-08-01,)")
    insert("active", "[2025-09-01,)")
    assert _count("entitlement", "status IN ('active', 'ended')") == 3


def test_another_office_earlier_application_is_not_named(client, login, library):
    """The household applied in Busan, then moved to Seoul: the Seoul caseworker is refused without the
    Busan application's number or office."""
    from tests.test_scope import _busan

    _busan()
    busan, seoul = login("busan.cw"), login("caseworker")
    person = _person(client, busan, rrn("700101", "1"), "부산댁")
    household = _household(client, busan, person)
    earlier = _post(client, busan, person, [LIVELIHOOD])
    assert earlier.status_code == 201 and earlier.json()["office"] == "busan-haeundae", earlier.text
    r = client.post(f"/registry/households/{household}/moves", headers=busan, json={
        "address": "서울특별시 종로구 2", "region_class": "seoul", "office": "seoul-jongno",
        "valid_from": "2025-04-01"})
    assert r.status_code == 201, r.text
    r = _post(client, seoul, person, [LIVELIHOOD], on="2025-05-10")
    body = _refused(r)
    assert "다른 기관에서 관리 중" in body["message"] and "application_number" not in body
    assert earlier.json()["number"] not in r.text and "busan" not in r.text.lower() and "부산" not in r.text
    assert _count("application") == 1
