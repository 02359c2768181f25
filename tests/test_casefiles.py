"""The case timeline over the API (issue 14, case view): elements passed, who completed the task, and
scope (another office's case is answered 404)."""

from __future__ import annotations

import uuid

from tests.test_instances import _start
from tests.test_scope import _busan


def test_timeline_names_who_completed_the_task_and_ends_at_the_end(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    before = client.get(f"/instances/{instance['id']}/timeline", headers=cw)
    assert before.status_code == 200
    open_task = instance["waiting"][0]
    assert [e["outcome"] for e in before.json() if e["element_id"] == open_task["element_id"]] == ["open"]
    r = client.post(f"/tasks/{open_task['id']}/complete",
                    json={"data": {"decision": "reject", "comment": "소득 초과"}}, headers=cw)
    assert r.status_code == 200, r.text
    entries = client.get(f"/instances/{instance['id']}/timeline", headers=cw).json()
    task_entry = next(e for e in entries if e["element_id"] == open_task["element_id"])
    assert task_entry["outcome"] == "completed" and task_entry["by"] == "caseworker"
    assert not task_entry["automated"]
    assert entries[-1]["element_id"] == "end_rejected"
    started = [e["started_at"] for e in entries]
    assert started == sorted(started)  # oldest first


def test_timeline_of_another_office_or_unknown_case_is_not_found(client, login, deploy):
    deploy("review_and_pay.bpmn")
    instance = _start(client, login("caseworker"))
    _busan()
    r = client.get(f"/instances/{instance['id']}/timeline", headers=login("busan.cw"))
    assert r.status_code == 404 and "instance_id" in r.text
    assert client.get(f"/instances/{uuid.uuid4()}/timeline", headers=login("caseworker")).status_code == 404
