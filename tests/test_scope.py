"""Who may start what, what a message may set, and serving another office's person at the counter."""

from __future__ import annotations

from sqlalchemy import text

from bokji.db import unit_of_work
from bokji.identity import service as identity
from tests.conftest import DEMO_PASSWORD
from tests.test_registry import rrn

PURPOSE = "consultation"
UNDECLARED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="undeclared" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/><bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def _count(table: str) -> int:
    with unit_of_work() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def _busan(username: str = "busan.cw") -> None:
    with unit_of_work() as session:
        identity.create_user(session, username=username, password=DEMO_PASSWORD, roles=["caseworker"],
                             office="busan-haeundae", ministry="MOHW")


def _registered(client, cw, front: str = "500101") -> tuple[str, str]:
    number = rrn(front, "1")
    person = client.post("/registry/persons", json={"registration_number": number, "name": "박종로"}, headers=cw)
    assert person.status_code == 201, person.text
    household = client.post("/registry/households", headers=cw, json={
        "members": [{"person_id": person.json()["id"], "role": "head"}], "address": "서울특별시 종로구 1",
        "region_class": "seoul", "valid_from": "2024-01-01"})
    assert household.status_code == 201, household.text
    return person.json()["id"], number


def _apply(client, headers, person: str):
    return client.post("/applications", headers=headers, json={
        "applicant_id": person, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-LIVELIHOOD"],
        "consents": {"deposits": "C-1"}})


def test_a_module_cannot_be_started(client, login, library):
    before = (_count("process_instance"), _count("payment_schedule"))
    for role in ("caseworker", "admin"):
        r = client.post("/instances", headers=login(role), json={
            "key": "module_payment_setup", "office": "seoul-jongno",
            "data": {"monthly_amount": 99_999_999, "payment_kind": "cash"}})
        assert r.status_code == 403 and "module" in r.json()["message"] and r.json()["field"] == "key", r.text
    assert (_count("process_instance"), _count("payment_schedule")) == before


def test_a_service_variant_starts_only_through_an_application(client, login, library):
    cw = login("caseworker")
    r = client.post("/instances", headers=cw, json={"key": "nblss_livelihood", "data": {}})
    assert r.status_code == 403 and "POST /applications" in r.json()["message"]
    assert _count("process_instance") == 0
    person, _ = _registered(client, cw)
    application = _apply(client, cw, person)
    assert application.status_code == 201, application.text
    with unit_of_work() as session:
        office, ministry = session.execute(text("SELECT office, ministry FROM process_instance")).one()
    assert (office, ministry) == ("seoul-jongno", "MOHW")  # the residence's office, the catalog's ministry


def test_an_undeclared_process_starts_for_admins_only_with_the_data_it_declares(client, login, deploy):
    r = client.post("/definitions", files=[("files", ("undeclared.bpmn", UNDECLARED))], headers=login("designer"))
    assert r.status_code == 201, r.text
    cw, admin = login("caseworker"), login("admin")
    refused = client.post("/instances", headers=cw, json={"key": "undeclared"})
    assert refused.status_code == 403 and "관리자" in refused.json()["message"]
    no_office = client.post("/instances", headers=admin, json={"key": "undeclared"})
    assert no_office.status_code == 422 and no_office.json()["field"] == "office"
    extra = client.post("/instances", headers=admin, json={"key": "undeclared", "office": "busan-haeundae",
                                                           "data": {"amount": 1}})
    assert extra.status_code == 422 and extra.json()["field"] == "data.amount"
    unknown = client.post("/instances", headers=admin, json={"key": "undeclared", "office": "nowhere"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "office"
    assert _count("process_instance") == 0
    started = client.post("/instances", headers=admin, json={"key": "undeclared", "office": "busan-haeundae"})
    assert started.status_code == 201 and started.json()["office"] == "busan-haeundae"
    # A caseworker names only their own office (or one under it).
    deploy("review_and_pay.bpmn")
    other = client.post("/instances", headers=cw, json={"key": "review_and_pay", "office": "busan-haeundae"})
    assert other.status_code == 422 and other.json()["field"] == "office"
    mine = client.post("/instances", headers=cw, json={"key": "review_and_pay", "office": "seoul-jongno-cheongun"})
    assert mine.status_code == 201 and mine.json()["office"] == "seoul-jongno-cheongun"


def test_a_message_sets_only_what_its_catching_element_declares(client, login, deploy):
    from bokji.instances import service as instances

    deploy("messages.bpmn")
    cw, system = login("caseworker"), login("integration")
    started = client.post("/instances", headers=cw, json={"key": "await_messages", "business_key": "M-1"}).json()

    def send(headers, name, payload):
        return client.post("/messages", headers=headers, json={"messageName": name, "correlationKey": "M-1",
                                                                 "payload": payload})

    def data():
        with unit_of_work() as session:
            return instances.load_run(session, instances.get(session, started["id"])).data

    r = send(system, "documents_received", {"documents": 3, "approved": False})
    assert r.status_code == 422 and r.json()["field"] == "payload.approved", r.text
    assert "approved" not in data() and "documents" not in data()  # nothing changed
    assert send(cw, "documents_received", {"documents": 3}).status_code == 200  # caseworkers are declared senders
    assert send(cw, "bank_result", {"paid": True}).status_code == 403  # only integration systems send this one
    r = send(system, "bank_result", {"paid": True, "date": "2025-03-20"})
    assert r.status_code == 200, r.text
    assert {k: data()[k] for k in ("documents", "paid", "paid_at")} == {"documents": 3, "paid": True,
                                                                        "paid_at": "2025-03-20"}
    assert "date" not in data()


def test_an_integration_system_reaches_only_its_grants(client, login, deploy):
    deploy("messages.bpmn", "external_task.bpmn")
    with unit_of_work() as session:
        identity.create_user(session, username="other.system", password=DEMO_PASSWORD, roles=["integration"])
    other = login("other.system")
    cw = login("caseworker")
    client.post("/instances", headers=cw, json={"key": "await_messages", "business_key": "M-2"})
    r = client.post("/messages", headers=other, json={"messageName": "documents_received", "correlationKey": "M-2"})
    assert r.status_code == 403 and "허용된 권한에 없습니다" in r.json()["message"]
    client.post("/instances", headers=cw, json={"key": "external_task", "data": {"amount": 1}})
    fetch = {"workerId": "w", "topics": [{"topicName": "bank.transfer"}]}
    r = client.post("/external-tasks/fetch-and-lock", headers=other, json=fetch)
    assert r.status_code == 403 and r.json()["field"] == "topics[0].topicName"
    [task] = client.post("/external-tasks/fetch-and-lock", headers=login("integration"), json=fetch).json()
    done = client.post(f"/external-tasks/{task['id']}/complete", headers=other, json={"workerId": "w"})
    assert done.status_code == 404


def test_another_office_person_is_served_through_the_logged_look_up_and_nothing_else(client, login, library):
    seoul = login("caseworker")
    person, number = _registered(client, seoul)
    _busan()
    busan = login("busan.cw")
    assert client.get(f"/registry/persons/{person}", params={"purpose": PURPOSE}, headers=busan).status_code == 404
    assert _apply(client, busan, person).status_code == 404
    duplicate = client.post("/registry/persons", json={"registration_number": number, "name": "박종로"}, headers=busan)
    assert duplicate.status_code == 409 and person not in duplicate.text
    assert "/registry/persons/find" in duplicate.json()["message"]

    found = client.post("/registry/persons/find", headers=busan, json={"registration_number": number,
                                                                         "purpose": PURPOSE})
    assert found.status_code == 200 and found.json()["id"] == person
    assert found.json()["registration_number"].endswith("******")
    with unit_of_work() as session:
        logged = session.execute(text("SELECT actor, purpose FROM access_log WHERE action = 'find_person'")).all()
    assert logged == [("busan.cw", PURPOSE)]

    application = _apply(client, busan, person)
    assert application.status_code == 201, application.text
    with unit_of_work() as session:
        row = session.execute(text("SELECT office, received_by_office FROM application")).one()
    assert tuple(row) == ("seoul-jongno", "busan-haeundae")  # the case is the residence office's
    # The grant was for that one application: nothing else of the person opens up.
    assert _apply(client, busan, person).status_code == 404
    assert client.get(f"/registry/persons/{person}", params={"purpose": PURPOSE}, headers=busan).status_code == 404
    assert client.get(f"/applications/{application.json()['id']}", params={"purpose": PURPOSE},
                      headers=busan).status_code == 404
    case = application.json()["cases"][0]["instance_id"]
    assert client.get(f"/instances/{case}", headers=busan).status_code == 404
    assert client.get(f"/instances/{case}", headers=seoul).status_code == 200


def test_a_timer_start_declares_its_office(client, login, deploy):
    deploy("timer_start.bpmn")
    with unit_of_work() as session:
        assert session.execute(text("SELECT office, ministry FROM process_instance")).one() == ("seoul-jongno",
                                                                                                 "MOHW")
    undeclared = UNDECLARED.replace(b'<bpmn:startEvent id="s"/>', b'<bpmn:startEvent id="s"><bpmn:timerEventDefinition>'
                                    b'<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                                    b'</bpmn:startEvent>')
    r = client.post("/definitions", files=[("files", ("undeclared.bpmn", undeclared))], headers=login("designer"))
    assert r.status_code == 422 and r.json()["field"] == "office" and "타이머" in r.json()["message"]
