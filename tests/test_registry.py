"""The registry: protected registration numbers, households with history, corrections, access log."""

from __future__ import annotations

from sqlalchemy import select, text

from bokji.db import unit_of_work
from bokji.privacy import protection
from bokji.privacy.access_log import AccessLog
from bokji.registry.models import Person

PURPOSE = {"purpose": "consultation"}


def rrn(front: str, gender: str, serial: str = "23456") -> str:
    """A number with a correct check digit."""
    digits = front + gender + serial
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    check = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 10
    return f"{front}-{gender}{serial}{check}"


def _household_on(client, headers, household_id: str, day: str) -> dict:
    r = client.get(f"/registry/households/{household_id}", params={"on": day, **PURPOSE}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _register(client, headers, number: str, name: str) -> dict:
    r = client.post("/registry/persons", json={"registration_number": number, "name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_registration_numbers_are_protected(client, login):
    cw = login("caseworker")
    number = rrn("850315", "2")
    person = _register(client, cw, number, "이영희")
    assert person["registration_number"] == "850315-2******" and person["warnings"] == []
    assert person["birth_date"] == "1985-03-15" and person["sex"] == "F" and not person["foreigner"]
    with unit_of_work() as session:
        row = session.get(Person, person["id"])
        assert number.replace("-", "").encode() not in row.rrn_ciphertext
        assert protection.reveal(row.rrn_ciphertext) == number.replace("-", "")
        raw = session.execute(text("SELECT row_to_json(p)::text FROM person p")).scalar()
    assert number.replace("-", "")[7:] not in raw  # the serial part is stored nowhere in clear
    again = client.post("/registry/persons", json={"registration_number": number.replace("-", ""), "name": "x"},
                        headers=cw)
    # The answer says the person exists and how to look them up, never their id (they may be another office's).
    assert again.status_code == 409 and "person_id" not in again.json() and person["id"] not in again.text
    assert "/registry/persons/find" in again.json()["message"]
    found = client.post("/registry/persons/find", json={"registration_number": number, **PURPOSE}, headers=cw)
    assert found.json()["id"] == person["id"]


def test_check_digit_only_warns_and_foreigners_are_accepted(client, login):
    cw = login("caseworker")
    good = rrn("010203", "3")
    bad_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    person = _register(client, cw, bad_check, "신규번호")  # numbers issued from October 2020 have no check digit
    assert person["warnings"] and person["birth_date"] == "2001-02-03" and person["sex"] == "M"
    foreigner = _register(client, cw, rrn("900101", "5"), "John Smith")
    assert foreigner["foreigner"] is True and foreigner["birth_date"] == "1990-01-01"


def test_bad_registration_numbers_are_422_and_store_nothing(client, login):
    cw = login("caseworker")
    for number in ("12345", "85031X-1234567", "990231-1234567", "850315-12345678", ""):
        r = client.post("/registry/persons", json={"registration_number": number, "name": "누구"}, headers=cw)
        assert r.status_code == 422, number
        assert r.json()["field"] == "registration_number"
    r = client.post("/registry/persons", json={"registration_number": rrn("850315", "1"), "name": " "}, headers=cw)
    assert r.status_code == 422 and r.json()["field"] == "name"
    with unit_of_work() as session:
        assert session.scalar(text("SELECT count(*) FROM person")) == 0


def test_household_membership_residence_and_corrections_over_time(client, login):
    cw = login("caseworker")
    head = _register(client, cw, rrn("600101", "1"), "박부모")
    spouse = _register(client, cw, rrn("620202", "2"), "최배우")
    child = _register(client, cw, rrn("100303", "3"), "박자녀")
    r = client.post("/registry/households", headers=cw, json={
        "members": [{"person_id": head["id"], "role": "head"}, {"person_id": spouse["id"]}],
        "address": "서울특별시 종로구 1", "region_class": "seoul", "office": "seoul-jongno",
        "valid_from": "2024-01-01"})
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    assert client.post(f"/registry/households/{hid}/join", headers=cw,
                       json={"person_id": child["id"], "valid_from": "2024-06-01"}).status_code == 201
    assert client.post(f"/registry/households/{hid}/moves", headers=cw, json={
        "address": "경기도 수원시 2", "region_class": "gyeonggi", "valid_from": "2025-01-15"}).status_code == 201
    assert client.post(f"/registry/households/{hid}/leave", headers=cw,
                       json={"person_id": spouse["id"], "valid_to": "2025-03-01"}).status_code == 200
    assert client.post(f"/registry/households/{hid}/head", headers=cw,
                       json={"person_id": child["id"], "valid_from": "2025-04-01"}).status_code == 200

    def on(day: str) -> dict:
        return _household_on(client, cw, hid, day)

    def members(view: dict) -> dict:
        return {m["name"]: m["role"] for m in view["members"]}

    assert members(on("2024-03-01")) == {"박부모": "head", "최배우": "member"}
    assert members(on("2024-07-01")) == {"박부모": "head", "최배우": "member", "박자녀": "member"}
    assert members(on("2025-03-15")) == {"박부모": "head", "박자녀": "member"}
    assert members(on("2025-05-01")) == {"박부모": "member", "박자녀": "head"}
    assert on("2024-12-31")["residence"]["region_class"] == "seoul"
    assert on("2025-02-01")["residence"]["address"] == "경기도 수원시 2"  # the move keeps the old row
    assert all("******" in m["masked"] for m in on("2024-07-01")["members"])

    # A correction: the child actually joined on 2024-05-01. A new row; the old one stays, superseded.
    history = on("2025-05-01")["history"]
    child_row = next(h for h in history if h.get("person_id") == child["id"] and h["valid_from"] == "2024-06-01"
                     and not h["superseded"])
    r = client.post(f"/registry/memberships/{child_row['membership_id']}/corrections", headers=cw,
                    json={"valid_from": "2024-05-01", "reason": "가족관계증명서 확인 (certificate checked)"})
    assert r.status_code == 201, r.text
    assert members(on("2024-05-15")) == {"박부모": "head", "최배우": "member", "박자녀": "member"}
    history = on("2025-05-01")["history"]
    old = next(h for h in history if h.get("membership_id") == child_row["membership_id"])
    new = next(h for h in history if h.get("corrects") == child_row["membership_id"])
    assert old["superseded"] and new["recorded_by"] == "caseworker" and new["recorded_at"]
    assert new["reason"].startswith("가족관계증명서")


def test_one_household_at_a_time_and_bad_households(client, login):
    cw = login("caseworker")
    a = _register(client, cw, rrn("700101", "1"), "한사람")
    body = {"members": [{"person_id": a["id"], "role": "head"}], "address": "부산 1", "region_class": "metropolitan",
            "valid_from": "2025-01-01"}
    assert client.post("/registry/households", json=body, headers=cw).status_code == 201
    r = client.post("/registry/households", json=body, headers=cw)
    assert r.status_code == 409 and r.json()["field"] == "person_id"
    assert client.post("/registry/households", json={**body, "members": []}, headers=cw).json()["field"] == "members"
    r = client.post("/registry/households", json={**body, "region_class": "atlantis"}, headers=cw)
    assert r.status_code == 422


def test_reads_need_a_purpose_and_are_logged(client, login):
    cw = login("caseworker")
    person = _register(client, cw, rrn("550505", "1"), "홍길동")
    r = client.get(f"/registry/persons/{person['id']}", headers=cw)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"
    r = client.get(f"/registry/persons/{person['id']}", params=PURPOSE, headers=cw)
    assert r.status_code == 200 and r.json()["registration_number"] == "550505-1******"
    assert client.get(f"/registry/persons/{person['id']}", params=PURPOSE, headers=login("designer")).status_code == 403
    with unit_of_work() as session:
        logs = session.scalars(select(AccessLog)).all()
    assert [(log.actor, log.action, str(log.person_id)) for log in logs] == \
        [("caseworker", "read_person", person["id"])]
    assert logs[0].purpose == PURPOSE["purpose"]


def test_relations_and_locality_are_recorded_and_kept(client, login):
    cw = login("caseworker")
    head = _register(client, cw, rrn("480101", "1"), "김할배")
    spouse = _register(client, cw, rrn("500202", "2"), "이할매")
    grandchild = _register(client, cw, rrn("120303", "3"), "김손자")
    lodger = _register(client, cw, rrn("800404", "1"), "박동거")
    r = client.post("/registry/households", headers=cw, json={
        "members": [{"person_id": head["id"], "role": "head"},
                    {"person_id": spouse["id"], "relation": "spouse"},
                    {"person_id": grandchild["id"], "relation": "grandchild"}],
        "address": "전라남도 해남군 1", "region_class": "other", "locality": "rural", "valid_from": "2024-01-01"})
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    # Joining without a relation (callers that predate relations) records "other".
    assert client.post(f"/registry/households/{hid}/join", headers=cw,
                       json={"person_id": lodger["id"], "valid_from": "2024-02-01"}).status_code == 201

    def on(day: str) -> dict:
        return _household_on(client, cw, hid, day)

    def relations(view: dict) -> dict:
        return {m["name"]: m["relation"] for m in view["members"]}

    view = on("2024-03-01")
    assert relations(view) == {"김할배": "head", "이할매": "spouse", "김손자": "grandchild", "박동거": "other"}
    assert view["residence"]["locality"] == "rural" and view["residence"]["region_class"] == "other"

    # A correction keeps the relation; a move records the new locality, or none when not known.
    row = next(h for h in view["history"] if h.get("person_id") == grandchild["id"])
    assert client.post(f"/registry/memberships/{row['membership_id']}/corrections", headers=cw,
                       json={"valid_from": "2024-01-05", "reason": "전입일 확인"}).status_code == 201
    assert relations(on("2024-03-01"))["김손자"] == "grandchild"
    assert client.post(f"/registry/households/{hid}/moves", headers=cw, json={
        "address": "광주광역시 1", "region_class": "metropolitan", "locality": "large_city",
        "valid_from": "2024-06-01"}).status_code == 201
    assert client.post(f"/registry/households/{hid}/moves", headers=cw, json={
        "address": "광주광역시 2", "region_class": "metropolitan", "valid_from": "2024-09-01"}).status_code == 201
    assert on("2024-07-01")["residence"]["locality"] == "large_city"
    assert on("2024-10-01")["residence"]["locality"] is None  # never guessed from the region class
    assert relations(on("2024-10-01"))["이할매"] == "spouse"  # moves leave the members as they are

    # A head change: the new head is "head", the old one "other"; the others keep theirs.
    r = client.post(f"/registry/households/{hid}/head", headers=cw,
                    json={"person_id": spouse["id"], "valid_from": "2025-01-01"})
    assert r.status_code == 200 and "other" in r.json()["note"]
    assert relations(on("2025-02-01")) == {"김할배": "other", "이할매": "head", "김손자": "grandchild",
                                            "박동거": "other"}
    assert relations(on("2024-12-31"))["김할배"] == "head"  # the past is as it was


def test_bad_relations_and_localities_are_422_naming_the_field(client, login):
    cw = login("caseworker")
    a = _register(client, cw, rrn("700101", "1"), "한사람")
    b = _register(client, cw, rrn("720101", "2"), "두사람")
    body = {"members": [{"person_id": a["id"], "role": "head"}, {"person_id": b["id"], "relation": "cousin"}],
            "address": "부산 1", "region_class": "metropolitan", "valid_from": "2025-01-01"}

    def refused(r, field: str) -> None:
        assert r.status_code == 422 and r.json()["field"] == field, r.text

    refused(client.post("/registry/households", json=body, headers=cw), "members[1].relation")
    members = [{"person_id": a["id"], "role": "head"}, {"person_id": b["id"], "relation": "head"}]
    refused(client.post("/registry/households", json={**body, "members": members}, headers=cw),
            "members[1].relation")  # one head only
    members = [{"person_id": a["id"], "role": "head", "relation": "spouse"}, {"person_id": b["id"]}]
    refused(client.post("/registry/households", json={**body, "members": members}, headers=cw),
            "members[0].relation")
    members = [{"person_id": a["id"], "role": "head"}]
    refused(client.post("/registry/households", json={**body, "members": members, "locality": "village"},
                        headers=cw), "locality")
    with unit_of_work() as session:
        assert session.scalar(text("SELECT count(*) FROM household")) == 0  # nothing of the refused ones stays
    r = client.post("/registry/households", json={**body, "members": members}, headers=cw)
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    refused(client.post(f"/registry/households/{hid}/join", headers=cw,
                        json={"person_id": b["id"], "valid_from": "2025-02-01", "relation": "boss"}), "relation")
    refused(client.post(f"/registry/households/{hid}/join", headers=cw,
                        json={"person_id": b["id"], "valid_from": "2025-02-01", "relation": "head"}), "relation")
    refused(client.post(f"/registry/households/{hid}/moves", headers=cw, json={
        "address": "부산 2", "region_class": "metropolitan", "locality": "metropolis",
        "valid_from": "2025-03-01"}), "locality")


def test_a_household_read_is_logged_naming_every_member_it_shows(client, login):
    cw = login("caseworker")
    head = _register(client, cw, rrn("600101", "1"), "박부모")
    child = _register(client, cw, rrn("100303", "3"), "박자녀")
    r = client.post("/registry/households", headers=cw, json={
        "members": [{"person_id": head["id"], "role": "head"}, {"person_id": child["id"]}],
        "address": "서울특별시 종로구 1", "region_class": "seoul", "valid_from": "2024-01-01"})
    assert r.status_code == 201, r.text
    with unit_of_work() as session:
        session.execute(AccessLog.__table__.delete())
    shown = _household_on(client, cw, r.json()["id"], "2025-01-01")
    assert {m["name"] for m in shown["members"]} == {"박부모", "박자녀"}
    with unit_of_work() as session:
        logs = session.scalars(select(AccessLog)).all()
    assert [(log.action, str(log.household_id)) for log in logs] == [("read_household", r.json()["id"])]
    assert sorted(map(str, logs[0].subject_ids)) == sorted([head["id"], child["id"]])
