"""Data linkage with the agency simulator as a real process, workers and the scheduler as processes."""

from __future__ import annotations

from sqlalchemy import text

from bokji.db import unit_of_work
from tests.conftest import RUNNING, calls, start_case, switch, wait_for
from tests.test_registry import rrn

DATA_TYPES = ["earned_income", "pension", "property", "vehicles", "deposits"]
PURPOSE = {"purpose": "decision"}


def _agency(number: str, agency: str, data_type: str) -> dict:
    from simulator.app import Query, answer

    query = Query(registration_number=number, period="2024", request_id="probe", consent_reference="probe")
    return answer(agency, data_type, query)["value"]


def test_simulator_cars_have_engine_size_age_and_use():
    # What these numbers were answered before cars had details: the values (and who has no car) stay.
    before = {"520101-1234507": [2_000_000, 9_000_000], "520101-1234512": [], "520101-1234533": [4_000_000]}
    for number, values in before.items():
        assert [c["value"] for c in _agency(number, "vehicle", "vehicles")["cars"]] == values
    assert _agency("520101-1234507", "nts", "earned_income") == {"monthly": 850_000}
    assert _agency("520101-1234554", "finance", "deposits") == {"financial": 18_000_000}
    cars = [c for serial in range(10_000, 10_300)
            for c in _agency(rrn("600101", "1", str(serial)), "vehicle", "vehicles")["cars"]]
    assert cars and all(set(c) == {"value", "engine_cc", "age_years", "use"} for c in cars)
    assert {c["engine_cc"] for c in cars} == {998, 1598, 1999, 2497, 3342}
    assert {c["use"] for c in cars} == {"private", "business", "disability"}
    assert all(0 <= c["age_years"] <= 20 for c in cars) and len({c["age_years"] for c in cars}) > 10
    number = rrn("600101", "1", "10001")
    assert _agency(number, "vehicle", "vehicles") == _agency(number, "vehicle", "vehicles")  # deterministic



def _household(client, cw) -> list[str]:
    ids = []
    for front, gender, name in (("520101", "1", "최가장"), ("550505", "2", "김배우")):
        r = client.post("/registry/persons", json={"registration_number": rrn(front, gender), "name": name}, headers=cw)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _apply(client, cw, members, *, consents=None, deadline="PT30S", key="APP-L1") -> str:
    return start_case("nblss_livelihood", business_key=key, data={
        "member_ids": members, "data_types": DATA_TYPES, "consents": consents or {},
        "application_date": "2025-03-10", "region_class": "other", "linkage_deadline": deadline})


def _decided(instance_id: str) -> bool:
    """Past the investigation: at the caseworker's decision, or already refused as not eligible."""
    with unit_of_work() as session:
        return bool(session.execute(text(
            "SELECT 1 FROM element_history WHERE instance_id = :i AND element_id IN ('review', 'notice_refused')"
        ), {"i": instance_id}).scalar())


def _open_task(instance_id: str, element: str):
    with unit_of_work() as session:
        return session.execute(text("SELECT id::text FROM human_task WHERE instance_id = :i AND element_id = :e "
                                     "AND status = 'open'"), {"i": instance_id, "e": element}).scalar()


def _evidence(client, cw, instance_id) -> list[dict]:
    r = client.get(f"/instances/{instance_id}/evidence", params=PURPOSE, headers=cw)
    assert r.status_code == 200, r.text
    return r.json()


def test_happy_path_evidence_with_provenance_feeds_the_decision(client, login, platform):
    cw = login("caseworker")
    members = _household(client, cw)
    instance_id = _apply(client, cw, members, consents={"deposits": "CONSENT-2025-0001"})
    wait_for(lambda: _decided(instance_id) or _open_task(instance_id, "missing_data"), timeout=60,
             what="the investigation to finish")
    assert _decided(instance_id), "nothing should be missing"
    rows = _evidence(client, cw, instance_id)
    assert sorted((r["person_id"], r["data_type"]) for r in rows) == sorted(
        (m, t) for m in members for t in DATA_TYPES)
    for row in rows:
        assert row["source"] == "agency" and row["source_agency"] and row["request_id"]
        assert row["legal_basis"] == "unverified" and row["asked_by_case"] == instance_id
        assert row["reference_period"] in ("2025-02", "2024")
        assert "investigation" in row["used_in"]
    fed = {r["data_type"] for r in rows if "means" in r["used_in"]}
    assert fed == {"earned_income", "pension", "property", "vehicles", "deposits"}  # which facts fed the decision
    with unit_of_work() as session:
        logs = session.execute(text("SELECT count(*) FROM access_log WHERE action LIKE 'linkage:%'")).scalar()
        effects = session.execute(text("SELECT count(*) FROM evidence")).scalar()
    assert logs == len(members) * len(DATA_TYPES) and effects == logs

    # A second application of the same household within the freshness window reuses the evidence.
    before = sum(calls(platform).values())
    second = _apply(client, cw, members, consents={"deposits": "CONSENT-2025-0001"}, key="APP-L2")
    wait_for(lambda: _decided(second), timeout=60, what="the second investigation")
    assert sum(calls(platform).values()) == before  # no agency was asked again
    assert len(_evidence(client, cw, second)) == len(members) * len(DATA_TYPES)


def test_missing_consent_means_no_query_and_a_missing_data_task(client, login, platform):
    cw = login("caseworker")
    members = _household(client, cw)
    instance_id = _apply(client, cw, members, consents={})
    # Intake notices the missing consent first; the caseworker could not get it.
    followup = wait_for(lambda: _open_task(instance_id, "consent_followup"), timeout=30, what="consent follow-up")
    assert sum(calls(platform).values()) == 0  # nobody asked any agency before intake was done
    r = client.post(f"/tasks/{followup}/complete", json={"data": {"consent_reference": "",
                                                                  "consent_note": "신청인 부재"}}, headers=cw)
    assert r.status_code == 200, r.text
    task = wait_for(lambda: _open_task(instance_id, "missing_data"), timeout=60, what="missing-data task")
    assert calls(platform)["finance"] == 0
    with unit_of_work() as session:
        from bokji.instances import service as instances

        data = instances.load_run(session, instances.get(session, instance_id)).wf.get_task_from_id(
            __import__("uuid").UUID(task)).data
    assert {(m["person_id"], m["data_type"]) for m in data["missing_evidence"]} == {(m, "deposits") for m in members}

    # The caseworker takes the deposits from bank statements, then confirms.
    for member in members:
        r = client.post(f"/instances/{instance_id}/evidence", headers=cw,
                        data={"person_id": member, "data_type": "deposits", "period": "2025-02",
                              "value": '{"financial": 1200000}'},
                        files={"file": ("bank-statement.pdf", b"%PDF-1.4 statement", "application/pdf")})
        assert r.status_code == 201, r.text
    bad = client.post(f"/instances/{instance_id}/evidence", headers=cw,
                      data={"person_id": members[0], "data_type": "deposits", "period": "2025-02",
                            "value": '{"jewels": 1}'}, files={"file": ("x.pdf", b"x", "application/pdf")})
    assert bad.status_code == 422 and bad.json()["field"] == "value"
    r = client.post(f"/tasks/{task}/complete", json={"data": {"documents_checked": True}}, headers=cw)
    assert r.status_code == 200, r.text
    wait_for(lambda: _decided(instance_id), timeout=30, what="the decision after the documents")
    documents = [r for r in _evidence(client, cw, instance_id) if r["source"] == "document"]
    assert len(documents) == 2 and all("means" in d["used_in"] for d in documents)


def test_slow_and_failing_agencies_then_missing_data(client, login, platform):
    switch(platform, "vehicle", latency_ms=400)
    switch(platform, "nps", error_rate=1.0)
    cw = login("caseworker")
    members = _household(client, cw)
    instance_id = _apply(client, cw, members, consents={"deposits": "C-1"}, deadline="PT6S")
    wait_for(lambda: _open_task(instance_id, "missing_data"), timeout=60, what="deadline, then missing data")
    rows = _evidence(client, cw, instance_id)
    assert {r["data_type"] for r in rows} == {"earned_income", "property", "vehicles", "deposits"}  # slow one came
    assert calls(platform)["nps"] >= 2  # retried (then its breaker opened: 3 failures here)
    with unit_of_work() as session:
        attempts = session.execute(text(
            "SELECT max(attempts) FROM job WHERE topic = 'linkage.collect' "
            "AND input->'request'->>'data_type' = 'pension'")).scalar()
        assert attempts >= 2  # the job itself was retried with backoff before the deadline
        open_jobs = session.execute(text(
            "SELECT count(*) FROM job WHERE status IN ('queued', 'running') AND topic = 'linkage.collect'")).scalar()
    assert open_jobs == 0  # the deadline cancelled the failing agency's remaining attempts


def test_outage_trips_the_breaker_and_recovers(client, login, platform):
    switch(platform, "nts", outage=True)
    cw = login("caseworker")
    members = _household(client, cw)
    instance_id = _apply(client, cw, members, consents={"deposits": "C-1"}, deadline="PT60S")
    wait_for(lambda: calls(platform)["nts"] >= 3, what="failures reaching the breaker threshold")
    from bokji.linkage import client as agency

    wait_for(lambda: agency.breaker_state("nts") == "open", what="the breaker to open")
    tripped = calls(platform)["nts"]
    switch(platform, "nts", outage=False)
    wait_for(lambda: _decided(instance_id), timeout=60, what="recovery after the outage")
    assert calls(platform)["nts"] > tripped  # asked again once the breaker let a call through
    assert {r["data_type"] for r in _evidence(client, cw, instance_id)} >= {"earned_income"}


def _exactly_once(instance_id: str, expected: int) -> None:
    with unit_of_work() as session:
        per_pair = session.execute(text(
            "SELECT e.person_id, e.data_type, count(*) FROM evidence e JOIN evidence_use u ON u.evidence_id = e.id "
            "WHERE u.instance_id = :i AND u.element_id = 'investigation' GROUP BY 1, 2"), {"i": instance_id}).all()
    assert len(per_pair) == expected and all(n == 1 for *_, n in per_pair)


def test_worker_sigkilled_mid_linkage_job(client, login, platform, spawn):
    import signal

    for agency in ("nts", "nps", "property", "vehicle", "finance"):
        switch(platform, agency, latency_ms=700)
    cw = login("caseworker")
    members = _household(client, cw)
    instance_id = _apply(client, cw, members, consents={"deposits": "C-1"}, deadline="PT120S")
    with unit_of_work() as session:
        wait_for(lambda: session.execute(text("SELECT count(*) FROM job WHERE status = 'running'")).scalar(),
                 what="a linkage job in flight")
    for worker in RUNNING["workers"]:
        worker.stop(signal.SIGKILL)  # both die mid-call; their attempts never commit
    spawn("worker", **RUNNING["env"])
    wait_for(lambda: _decided(instance_id), timeout=90, what="the investigation after the kill")
    _exactly_once(instance_id, len(members) * len(DATA_TYPES))


def test_redis_flushed_mid_investigation(client, login, platform):
    from bokji.queue import redis_connection

    switch(platform, "nts", latency_ms=500)
    switch(platform, "property", latency_ms=500)
    cw = login("caseworker")
    members = _household(client, cw)
    instance_id = _apply(client, cw, members, consents={"deposits": "C-1"}, deadline="PT120S")
    with unit_of_work() as session:
        wait_for(lambda: session.execute(text(
            "SELECT count(*) FROM job WHERE status = 'done' AND topic = 'linkage.collect'")).scalar() >= 1,
            what="part of the investigation done")
    redis_connection().flushall()
    wait_for(lambda: _decided(instance_id), timeout=90, what="the investigation after FLUSHALL")
    _exactly_once(instance_id, len(members) * len(DATA_TYPES))


def _item(person_id: str, data_type: str, value: dict):
    import uuid

    from bokji.linkage.models import Evidence

    return Evidence(id=uuid.uuid4(), person_id=uuid.UUID(person_id), data_type=data_type, value=value)


def test_the_household_document_attributes_each_fact_to_its_member():
    import pytest

    from bokji.errors import Invalid
    from bokji.linkage.household import MemberFacts, from_evidence

    head, child = "f0000000-0000-4000-8000-000000000000", "10000000-0000-4000-8000-000000000000"
    members = [MemberFacts(child, 15, "child"), MemberFacts(head, 44, "head")]
    items = [
        _item(head, "earned_income", {"monthly": 1_800_000}), _item(head, "pension", {"monthly": 0}),
        _item(head, "property", {"residential": 95_000_000, "general": 12_000_000}),
        _item(head, "vehicles", {"cars": [{"value": 4_000_000, "engine_cc": 1598, "age_years": 7, "use": "private"}]}),
        _item(head, "deposits", {"financial": 2_500_000}),
        _item(child, "business_income", {"monthly": 400_000}),
        # Recorded before cars had details, or from a document: unknown, never made up.
        _item(child, "vehicles", {"cars": [{"value": 900_000}], "document": "등록원부.pdf"}),
        _item(child, "insured_wage", {"insured": True, "monthly_wage": 1_500_000}),  # not part of the document
    ]
    case = {"monthly_rent": 0, "rental_deposit": 30_000_000, "school_levels": {child: "middle"}}
    doc = from_evidence(items, members=members, region_class="seoul", locality="large_city", case=case)
    assert doc == {
        "region_class": "seoul", "locality": "large_city",
        "members": [
            {"person_id": head, "age": 44, "relation": "head", "school_level": None,
             "income": {"earned": 1_800_000, "business": 0, "property_income": 0, "public_transfer": 0,
                        "other_income": 0},
             "assets": {"residential": 95_000_000, "general": 12_000_000, "financial": 2_500_000},
             "cars": [{"value": 4_000_000, "engine_cc": 1598, "age_years": 7, "use": "private"}]},
            {"person_id": child, "age": 15, "relation": "child", "school_level": "middle",
             "income": {"earned": 0, "business": 400_000, "property_income": 0, "public_transfer": 0,
                        "other_income": 0},
             "assets": {"residential": 0, "general": 0, "financial": 0},
             "cars": [{"value": 900_000, "engine_cc": None, "age_years": None, "use": None}]}],
        "debts": 0, "household_expenses": 0,
        "housing": {"tenure": "rent", "monthly_rent": 0, "deposit": 30_000_000}}  # 전세: a deposit, no rent

    # No evidence at all: every member still appears, with zeros; no rent or deposit: own.
    bare = from_evidence([], members=members, region_class="other", locality=None, case={"monthly_rent": None})
    assert [(m["person_id"], m["income"]["earned"], m["cars"]) for m in bare["members"]] == [(head, 0, []),
                                                                                               (child, 0, [])]
    assert bare["housing"] == {"tenure": "own", "monthly_rent": 0, "deposit": 0} and bare["locality"] is None
    with pytest.raises(Invalid) as outsider:
        from_evidence([_item("20000000-0000-4000-8000-000000000000", "earned_income", {"monthly": 1})],
                      members=members, region_class="other", locality=None, case={})
    assert outsider.value.detail["field"] == "evidence"


def test_household_means_gives_the_household_document_from_evidence(client, login, platform):
    cw = login("caseworker")
    head, spouse = _household(client, cw)
    r = client.post("/registry/households", headers=cw, json={
        "members": [{"person_id": head, "role": "head"}, {"person_id": spouse, "relation": "spouse"}],
        "address": "서울특별시 종로구 1", "region_class": "seoul", "locality": "large_city",
        "valid_from": "2024-01-01"})
    assert r.status_code == 201, r.text
    instance_id = start_case("nblss_livelihood", business_key="APP-L-DOC", data={
        "member_ids": [head, spouse], "applicant_id": spouse, "data_types": DATA_TYPES,
        "consents": {"deposits": "C-1"}, "application_date": "2025-03-10", "region_class": "seoul",
        "linkage_deadline": "PT60S", "monthly_rent": 300_000})

    def result():
        with unit_of_work() as session:
            return session.execute(text("SELECT result FROM job WHERE instance_id = :i AND status = 'done' "
                                        "AND topic = 'linkage.household_means'"), {"i": instance_id}).scalar()

    out = wait_for(result, timeout=60, what="the household means")
    doc = out["household"]
    assert (doc["region_class"], doc["locality"]) == ("seoul", "large_city")
    assert [(m["person_id"], m["relation"], m["age"]) for m in doc["members"]] == \
        [(head, "head", 73), (spouse, "spouse", 69)]  # born 1952-01-01 and 1955-05-05; on 2025-03-10
    assert doc["housing"] == {"tenure": "rent", "monthly_rent": 300_000, "deposit": 0}
    rows = {(r["person_id"], r["data_type"]): r["value"] for r in _evidence(client, cw, instance_id)}
    for member in doc["members"]:
        person = member["person_id"]
        assert member["income"]["earned"] == rows[(person, "earned_income")]["monthly"]
        assert member["income"]["public_transfer"] == rows[(person, "pension")]["monthly"]
        assert member["assets"] == {"residential": rows[(person, "property")]["residential"],
                                    "general": rows[(person, "property")]["general"],
                                    "financial": rows[(person, "deposits")]["financial"]}
        assert member["cars"] == rows[(person, "vehicles")]["cars"]  # with engine size, age and use
    # and the parameters of the assessment date, for every rule and table after it
    assert out["parameter_year"] == 2025 and out["parameters"]["nblss.median"]["2"] == 3_932_658
    assert out["parameter_basis"]["housing.reference_rent"]["confidence"] == "medium"
    with unit_of_work() as session:
        read = session.execute(text("SELECT count(*) FROM access_log WHERE action = 'read_household' "
                                    "AND purpose = :i AND actor = 'worker:caseworker'"), {"i": instance_id}).scalar()
    assert read >= 1  # the registry read for the case is logged, with the case as its purpose
