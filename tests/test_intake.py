"""Intake at the counter: finding a person by name and birth date, only within scope, logged."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from bokji.consents import service as consents
from bokji.db import unit_of_work
from bokji.privacy.access_log import AccessLog
from tests.test_registry import rrn
from tests.test_scope import _busan


def _register(client, headers, number: str, name: str) -> dict:
    r = client.post("/registry/persons", json={"registration_number": number, "name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _search(client, headers, **params):
    return client.get("/registry/persons", params={"purpose": "intake", **params}, headers=headers)


def test_search_by_name_and_birth_date_only_within_scope(client, login):
    _busan()
    here, there = login("caseworker"), login("busan.cw")
    mine = _register(client, here, rrn("640101", "1"), "김철수")
    _register(client, here, rrn("640102", "1"), "김철수")  # another birth date: not a match
    theirs = _register(client, there, rrn("640101", "1", "34567"), "김철수")  # same name and birth date, Busan

    r = _search(client, here, name="김철수", birth_date="1964-01-01")
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()] == [mine["id"]]  # Busan's namesake is not revealed
    assert r.json()[0]["registration_number"] == "640101-1******"  # masked
    assert [p["id"] for p in _search(client, there, name="김철수", birth_date="1964-01-01").json()] == [theirs["id"]]
    assert _search(client, here, name="김철수", birth_date="1964-01-03").json() == []

    with unit_of_work() as session:
        logs = session.scalars(select(AccessLog).where(AccessLog.action == "search_person")
                               .order_by(AccessLog.id)).all()
    assert [(str(log.person_id) if log.person_id else None, log.purpose) for log in logs] == [
        (mine["id"], "intake"), (theirs["id"], "intake"), (None, "intake")]  # a search finding nobody is logged


def test_search_refuses_bad_input_naming_the_field(client, login):
    cw = login("caseworker")
    for params, field in (({"name": "김철수", "birth_date": "1964-13-01"}, "birth_date"),
                          ({"name": "", "birth_date": "1964-01-01"}, "name"),
                          ({"name": "김철수", "birth_date": "1964-01-01", "purpose": "curiosity"}, "purpose")):
        r = _search(client, cw, **params)
        assert r.status_code == 422 and field in r.text, (params, r.text)
    assert _search(client, login("manager"), name="김철수", birth_date="1964-01-01").status_code == 403


def test_consents_are_recorded_in_scope_and_read_as_an_applications_consents(client, login):
    _busan("busan.cw2")
    cw = login("caseworker")
    person = _register(client, cw, rrn("720304", "2"), "이동의")
    url = f"/registry/persons/{person['id']}/consents"
    r = client.post(url, json={"data_type": "deposits", "reference": "C-2025-001", "given_on": "2025-03-01",
                               "scope": "household"}, headers=cw)
    assert r.status_code == 201, r.text
    assert r.json()["reference"] == "C-2025-001" and r.json()["given_on"] == "2025-03-01"
    for body, field in (({"data_type": "horoscope"}, "data_type"), ({"reference": " "}, "reference"),
                        ({"given_on": "2999-01-01"}, "given_on"), ({"scope": "world"}, "scope")):
        bad = client.post(url, json={"data_type": "deposits", "reference": "C-2", "given_on": "2025-03-01",
                                     "scope": "person", **body}, headers=cw)
        assert bad.status_code == 422 and bad.json().get("field", field) == field and field in bad.text, bad.text
    other = client.post(url, json={"data_type": "deposits", "reference": "C-3", "given_on": "2025-03-01"},
                        headers=login("busan.cw2"))
    assert other.status_code == 404  # another office's person: as if unknown
    with unit_of_work() as session:
        assert consents.for_application(session, uuid.UUID(person["id"])) == {"deposits": "C-2025-001"}
