"""One failure rule for model code at run time: the step commits up to the failing element, which
becomes an incident an operator sees and retries; requests answer with the instance and its incident."""

from __future__ import annotations

import pytest

from bokji.db import unit_of_work
from bokji.instances.models import Incident


@pytest.fixture
def incidents_deployed(deploy) -> None:
    deploy("incidents.bpmn")


def _start(client, headers, key: str, data: dict) -> dict:
    r = client.post("/instances", json={"key": key, "data": data}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _history(instance: dict, element: str) -> list[str]:
    return [h["outcome"] for h in instance["history"] if h["element_id"] == element]


def test_a_failing_script_stops_there_and_an_operator_retries_it(client, login, incidents_deployed):
    cw, admin = login("caseworker"), login("admin")
    instance = _start(client, cw, "divide_then_review", {"total": 10, "d": 0})
    # The start answered with the instance, stopped at the script: what failed and how, no value.
    [incident] = instance["incidents"]
    assert instance["status"] == "running" and incident["element_id"] == "divide"
    assert incident["element_name"] == "Divide"  # as the model names it, for the people who read it
    assert incident["kind"] == "error" and "ZeroDivisionError" in incident["message"]
    assert "divide" in incident["message"] and "10" not in incident["message"]
    assert _history(instance, "divide") == ["error"] and instance["waiting"] == []

    [listed] = [i for i in client.get("/incidents", headers=admin).json() if i["kind"] == "element"]
    assert listed["id"] == incident["id"] and listed["failure"] == "error" and listed["job_id"] is None
    assert client.get("/incidents", headers=cw).status_code == 403

    # Retried as it is, it fails again: the old incident is closed, a new one is open.
    again = client.post(f"/incidents/{incident['id']}/retry", json={"reason": "try again"}, headers=admin)
    assert again.status_code == 200, again.text
    [second] = client.get(f"/instances/{instance['id']}", headers=admin).json()["incidents"]
    assert second["id"] != incident["id"] and second["element_id"] == "divide"
    # A closed incident cannot be retried twice.
    assert client.post(f"/incidents/{incident['id']}/retry", json={}, headers=admin).status_code == 409

    # Set the variable that was wrong, and retry: the script runs, the case goes on to the task.
    bad = client.post(f"/incidents/{second['id']}/retry", json={"variables": {"_x": 1}}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "variables._x"
    fixed = client.post(f"/incidents/{second['id']}/retry", json={"variables": {"d": 2}, "reason": "d from the form"},
                        headers=admin)
    assert fixed.status_code == 200, fixed.text
    after = client.get(f"/instances/{instance['id']}", headers=admin).json()
    assert after["incidents"] == [] and _history(after, "divide") == ["completed"]
    assert [w["element_id"] for w in after["waiting"]] == ["review"]
    actions = client.get(f"/instances/{instance['id']}/actions", headers=admin).json()
    assert [(a["action"], a["reason"]) for a in actions] == [("retry_incident", "try again"),
                                                             ("retry_incident", "d from the form")]
    assert actions[-1]["detail"]["variables"] == ["d"]  # the names, not the values
    with unit_of_work() as session:
        statuses = sorted(i.status for i in session.query(Incident).all())
    assert statuses == ["retried", "retried"]


def test_a_completion_that_hits_a_failure_is_done_and_says_so(client, login, incidents_deployed):
    cw = login("caseworker")
    instance = _start(client, cw, "review_then_divide", {"total": 10, "d": 0})
    task_id = instance["waiting"][0]["id"]
    r = client.post(f"/tasks/{task_id}/complete", json={}, headers=cw)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    [incident] = r.json()["incidents"]
    assert incident["element_id"] == "rd_divide" and incident["kind"] == "error"
    # The completion was kept: the task cannot be completed twice.
    assert client.post(f"/tasks/{task_id}/complete", json={}, headers=cw).status_code == 409


def test_the_page_tells_the_caseworker_the_next_step_stopped(client, login, incidents_deployed):
    cw = login("caseworker")
    instance = _start(client, cw, "review_then_divide", {"total": 10, "d": 0})
    task_id = instance["waiting"][0]["id"]
    assert client.get(f"/tasks/{task_id}/form", headers=cw).status_code == 200
    r = client.post(f"/tasks/{task_id}/form", data={}, headers=cw)
    assert r.status_code == 200, r.text
    assert "rd_divide" in r.text and "운영자" in r.text


def test_a_bad_timer_value_is_an_incident_not_a_500(client, login, incidents_deployed):
    cw, admin = login("caseworker"), login("admin")
    instance = _start(client, cw, "wait_for", {"wait": 5})  # before, the library's AttributeError: a 500
    [incident] = instance["incidents"]
    assert incident["element_id"] == "wf_wait" and "ISO-8601 기간(P14D)이어야" in incident["message"]
    assert client.post(f"/incidents/{incident['id']}/retry", json={"variables": {"wait": "PT0S"}},
                       headers=admin).status_code == 200
    after = client.get(f"/instances/{instance['id']}", headers=admin).json()
    assert after["incidents"] == [] and [w["element_id"] for w in after["waiting"]] == ["wf_review"]


def test_the_rest_of_the_instance_runs_on(client, login, incidents_deployed):
    cw = login("caseworker")
    instance = _start(client, cw, "two_branches", {"total": 10, "d": 0})
    assert [i["element_id"] for i in instance["incidents"]] == ["tb_divide"]
    assert [w["element_id"] for w in instance["waiting"]] == ["tb_other"]  # the other branch reached its task
    r = client.post(f"/tasks/{instance['waiting'][0]['id']}/complete", json={}, headers=cw)
    assert r.status_code == 200
    after = client.get(f"/instances/{instance['id']}", headers=cw).json()
    assert after["status"] == "running" and len(after["incidents"]) == 1  # the join waits for the failed branch


def test_an_outside_completion_is_kept_and_the_failure_after_it_is_an_incident(client, login, incidents_deployed):
    cw, bank = login("caseworker"), login("integration")
    instance = _start(client, cw, "external_then_divide", {"total": 10, "d": 0})
    fetch = {"workerId": "bank-1", "topics": [{"topicName": "bank.transfer", "lockDuration": 10_000}]}
    [task] = client.post("/external-tasks/fetch-and-lock", json=fetch, headers=bank).json()
    r = client.post(f"/external-tasks/{task['id']}/complete", json={"workerId": "bank-1"}, headers=bank)
    assert r.status_code == 204, r.text
    after = client.get(f"/instances/{instance['id']}", headers=cw).json()
    assert [i["element_id"] for i in after["incidents"]] == ["ed_divide"]
    assert _history(after, "ed_transfer") == ["completed"]


def test_cancelling_the_instance_closes_its_incidents(client, login, incidents_deployed):
    cw, supervisor = login("caseworker"), login("supervisor")
    instance = _start(client, cw, "divide_then_review", {"total": 10, "d": 0})
    r = client.post(f"/instances/{instance['id']}/cancel", json={"reason": "withdrawn"}, headers=supervisor)
    assert r.status_code == 200 and r.json()["incidents"] == []
    assert [i for i in client.get("/incidents", headers=login("admin")).json() if i["kind"] == "element"] == []
