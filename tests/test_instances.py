"""Instances through a user task (over the API) and a service task on a real `rq` worker process."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from bokji.db import unit_of_work
from bokji.instances.models import ElementHistory, ProcessInstance
from tests.conftest import FIXTURES, wait_for

VALID = {"decision": "approve", "monthly_amount": 713_102, "comment": "소득 기준 충족 (meets the threshold)"}


def _start(client, headers, key="review_and_pay", **extra) -> dict:
    r = client.post("/instances", json={"key": key, "business_key": "APP-2026-0001", "data": {"x": 1},
                                        **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("worker", ["bokji", "rq"])
def test_user_task_then_service_task_on_a_worker_process(client, login, deploy, spawn, spawn_rq, worker):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    assert instance["status"] == "running" and instance["stage"] == "decision"
    [task] = instance["waiting"]
    assert task["kind"] == "human" and task["element_id"] == "review"

    listed = client.get("/tasks", headers=cw).json()
    assert [t["id"] for t in listed] == [task["id"]]
    assert listed[0]["due_at"] is not None  # camunda:dueDate="P14D"
    detail = client.get(f"/tasks/{task['id']}", headers=cw).json()
    assert detail["form"]["id"] == "caseworker_decision"

    # One invalid submission: 422 naming every bad field; nothing advanced.
    bad = client.post(f"/tasks/{task['id']}/complete",
                      json={"data": {"decision": "perhaps", "monthly_amount": -1}}, headers=cw)
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"decision", "monthly_amount", "comment"}
    assert client.get(f"/instances/{instance['id']}", headers=cw).json()["stage"] == "decision"
    assert client.get(f"/tasks/{task['id']}", headers=cw).json()["status"] == "open"

    # One valid submission: the instance moves on to the service task, which a worker process runs.
    ok = client.post(f"/tasks/{task['id']}/complete", json={"data": VALID}, headers=cw)
    assert ok.status_code == 200, ok.text
    assert ok.json()["completed_by"] == "caseworker"
    after = client.get(f"/instances/{instance['id']}", headers=cw).json()
    assert after["stage"] == "payment" and [w["kind"] for w in after["waiting"]] == ["job"]

    # `bokji worker`, or RQ's own `rq worker` CLI on our queue: both are real worker processes.
    spawn("worker") if worker == "bokji" else spawn_rq()
    done = wait_for(lambda: (b := client.get(f"/instances/{instance['id']}", headers=cw).json())
                    ["status"] == "completed" and b, what="instance completed by the worker")
    history = {h["element_id"]: h for h in done["history"]}
    assert list(history) == ["received", "review", "approved_gw", "pay", "end_paid"]
    assert all(h["ended_at"] for h in history.values())
    assert history["review"]["actor"] == "caseworker" and history["review"]["stage"] == "decision"
    assert history["pay"]["actor"] == "worker:test.record_payment" and history["pay"]["stage"] == "payment"
    assert history["received"]["stage"] == "application"
    with unit_of_work() as session:
        effects = session.execute(text("SELECT instance_id, amount FROM test_side_effect")).all()
        assert effects == [(instance["id"], 713_102)]
        row = session.get(ProcessInstance, instance["id"])
        assert row.ended_at is not None and row.status == "completed"
        assert session.scalar(select(ElementHistory.id).where(ElementHistory.ended_at.is_(None))) is None


def test_reject_path_ends_without_payment(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    task = instance["waiting"][0]
    r = client.post(f"/tasks/{task['id']}/complete",
                    json={"data": {"decision": "reject", "comment": "소득 초과 (income too high)"}}, headers=cw)
    assert r.status_code == 200
    body = client.get(f"/instances/{instance['id']}", headers=cw).json()
    assert body["status"] == "completed"
    assert body["history"][-1]["element_id"] == "end_rejected"


def test_instances_stay_on_their_version(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw, designer = login("caseworker"), login("designer")
    old = _start(client, cw)
    v2 = (FIXTURES / "bpmn" / "review_and_pay.bpmn").read_bytes().replace(
        b'name="Caseworker review"', b'name="Caseworker review v2"')
    assert client.post("/definitions", files=[("files", ("review_and_pay.bpmn", v2))],
                       headers=designer).status_code == 201
    new = _start(client, cw)
    pinned = _start(client, cw, version=1)
    assert (old["version"], new["version"], pinned["version"]) == (1, 2, 1)
    assert new["waiting"][0]["name"] == "Caseworker review v2"
    assert pinned["waiting"][0]["name"] == "Caseworker review"
    # The old instance still completes on version 1 after version 2 exists.
    r = client.post(f"/tasks/{old['waiting'][0]['id']}/complete",
                    json={"data": {"decision": "reject", "comment": "ok v1"}}, headers=cw)
    assert r.status_code == 200
    assert client.get(f"/instances/{old['id']}", headers=cw).json()["status"] == "completed"
    assert client.post("/instances", json={"key": "review_and_pay", "version": 9}, headers=cw).status_code == 404


def test_double_completion_and_claims_conflict(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw, sup = login("caseworker"), login("supervisor")
    task = _start(client, cw)["waiting"][0]
    assert client.post(f"/tasks/{task['id']}/claim", headers=cw).status_code == 200
    # Claimed by someone else: 409 for the other person, nothing changed.
    r = client.post(f"/tasks/{task['id']}/complete", json={"data": VALID}, headers=sup)
    assert r.status_code == 409 and "(caseworker) 님이" in r.json()["message"] and "맡았습니다" in r.json()["message"]
    assert r.json()["assignee"] == "caseworker" and r.json()["status"] == "open"
    assert client.post(f"/tasks/{task['id']}/claim", headers=sup).status_code == 409
    assert client.post(f"/tasks/{task['id']}/complete", json={"data": VALID}, headers=cw).status_code == 200
    again = client.post(f"/tasks/{task['id']}/complete", json={"data": VALID}, headers=cw)
    assert again.status_code == 409 and "(caseworker) 님이" in again.json()["message"]
    assert "이 업무를 완료했습니다" in again.json()["message"] and again.json()["completed_by"] == "caseworker"


def test_concurrent_completions_have_exactly_one_winner(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    tasks = [_start(client, cw)["waiting"][0]["id"] for _ in range(10)]
    results: dict[str, list[int]] = {t: [] for t in tasks}

    def complete(task_id: str) -> None:
        r = client.post(f"/tasks/{task_id}/complete", json={"data": {**VALID, "decision": "reject"}},
                        headers=cw)
        results[task_id].append(r.status_code)

    threads = [threading.Thread(target=complete, args=(t,)) for t in tasks for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for codes in results.values():
        assert sorted(codes) == [200, 409]
    with unit_of_work() as session:
        ended = session.scalars(select(ElementHistory.element_id).where(
            ElementHistory.element_id == "end_rejected")).all()
        assert len(ended) == 10  # each instance advanced exactly once


def test_bad_start_requests_name_the_field(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    r = client.post("/instances", json={"key": "no_such_process"}, headers=cw)
    assert r.status_code == 404 and "no_such_process" in r.json()["message"]
    r = client.post("/instances", json={"key": "review_and_pay", "data": [1, 2]}, headers=cw)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "data"
    r = client.get("/instances/not-a-uuid", headers=cw)
    assert r.status_code == 404
    r = client.post("/tasks/not-a-uuid/complete", json={"data": {}}, headers=cw)
    assert r.status_code == 404
