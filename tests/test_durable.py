"""Durable execution: retries and incidents, external tasks, messages, timers, suspend/resume/cancel.

Workers and the scheduler run as their own processes with short intervals (settings, not sleeps).
"""

from __future__ import annotations

from sqlalchemy import select, text

from bokji.db import unit_of_work
from bokji.instances import service as instances
from bokji.jobs.models import Job
from bokji.queue import redis_connection
from tests.conftest import wait_for

FAST = {"BOKJI_RETRY_BACKOFF_BASE": "0.2", "BOKJI_RETRY_JITTER": "0.1", "BOKJI_SCHEDULER_POLL": "0.2",
        "BOKJI_SWEEPER_INTERVAL": "0.5", "BOKJI_JOB_ENQUEUE_GRACE": "1"}


def _instance(client, headers, instance_id) -> dict:
    return client.get(f"/instances/{instance_id}", headers=headers).json()


def _completed(client, headers, instance_id, what="instance completed", timeout=30) -> dict:
    return wait_for(lambda: (b := _instance(client, headers, instance_id))["status"] == "completed" and b,
                    timeout=timeout, what=what)


def _effects() -> list[tuple]:
    with unit_of_work() as session:
        return session.execute(text("SELECT job_id, instance_id, amount FROM test_side_effect ORDER BY at")).all()


def _start(client, headers, key, data=None, business_key=None) -> dict:
    r = client.post("/instances", json={"key": key, "data": data or {}, "business_key": business_key},
                    headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_retries_then_incident_then_operator_retry(client, login, deploy, spawn):
    deploy("flaky_service.bpmn")
    cw, admin = login("caseworker"), login("admin")
    instance = _start(client, cw, "flaky_service", {"fail_times": 5})
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)

    def incident():
        found = client.get("/incidents", headers=admin).json()
        return found[0] if found else None

    found = wait_for(incident, what="an incident after 3 failed attempts")
    assert found["attempts"] == 3 and found["element_id"] == "call_agency"
    assert "agency unavailable (attempt 3)" in found["last_error"]
    assert "Traceback" in found["error_stack"] and "ConnectionError" in found["error_stack"]
    assert client.get("/incidents", headers=cw).status_code == 403  # stacks are for operators only
    assert _instance(client, cw, instance["id"])["status"] == "running"
    assert _effects() == []  # failed attempts left nothing behind

    r = client.post(f"/incidents/{found['job_id']}/retry", json={"attempts": 3, "reason": "agency fixed"},
                    headers=admin)
    assert r.status_code == 200, r.text
    done = _completed(client, cw, instance["id"])
    assert done["history"][-1]["element_id"] == "end"
    assert [(e.instance_id, e.amount) for e in _effects()] == [(instance["id"], 6)]  # once, on attempt 6
    actions = client.get(f"/instances/{instance['id']}/actions", headers=admin).json()
    assert [(a["action"], a["actor"], a["reason"]) for a in actions] == [("retry_incident", "admin", "agency fixed")]
    again = client.post(f"/incidents/{found['job_id']}/retry", json={}, headers=admin)
    assert again.status_code == 409


def test_a_retry_that_succeeds_needs_no_operator(client, login, deploy, spawn):
    deploy("flaky_service.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw, "flaky_service", {"fail_times": 2})
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)
    _completed(client, cw, instance["id"])
    assert [e.amount for e in _effects()] == [3]
    assert client.get("/incidents", headers=login("admin")).json() == []


def test_external_task_fetch_lock_fail_and_complete(client, login, deploy):
    result = deploy("external_task.bpmn")
    assert any("camunda:class is not evaluated" in w for w in result["warnings"])
    assert any("'bank_transfer'" in w and "external task" in w for w in result["warnings"])
    cw, bank = login("caseworker"), login("integration")
    instance = _start(client, cw, "external_task", {"amount": 400_000}, business_key="PAY-1")

    fetch = {"workerId": "bank-1", "maxTasks": 5, "topics": [{"topicName": "bank.transfer", "lockDuration": 60000}]}
    [task] = client.post("/external-tasks/fetch-and-lock", json=fetch, headers=bank).json()
    assert task["businessKey"] == "PAY-1" and task["variables"]["amount"] == 400_000
    assert task["activityId"] == "bank_transfer"
    # Locked: another worker gets nothing, and may not complete it.
    assert client.post("/external-tasks/fetch-and-lock", json={**fetch, "workerId": "bank-2"},
                       headers=bank).json() == []
    r = client.post(f"/external-tasks/{task['id']}/complete", json={"workerId": "bank-2"}, headers=bank)
    assert r.status_code == 409 and "bank-2" in r.json()["message"]

    # A failure with retries left: back in the queue after the retry timeout.
    r = client.post(f"/external-tasks/{task['id']}/failure",
                    json={"workerId": "bank-1", "errorMessage": "bank offline", "retries": 2, "retryTimeout": 0},
                    headers=bank)
    assert r.status_code == 204
    [task] = client.post("/external-tasks/fetch-and-lock", json={**fetch, "workerId": "bank-2"}, headers=bank).json()
    r = client.post(f"/external-tasks/{task['id']}/complete",
                    json={"workerId": "bank-2", "variables": {"transfer_id": "TX-77"}}, headers=bank)
    assert r.status_code == 204, r.text
    done = _instance(client, cw, instance["id"])
    assert done["status"] == "completed" and done["history"][-1]["element_id"] == "end_paid"
    assert client.post(f"/external-tasks/{task['id']}/complete", json={"workerId": "bank-2"},
                       headers=bank).status_code == 409
    # Caseworkers are not integration clients.
    assert client.post("/external-tasks/fetch-and-lock", json=fetch, headers=cw).status_code == 403


def test_external_failure_without_retries_is_an_incident(client, login, deploy):
    deploy("external_task.bpmn")
    bank = login("integration")
    _start(client, login("caseworker"), "external_task")
    fetch = {"workerId": "bank-1", "topics": [{"topicName": "bank.transfer", "lockDuration": 1000}]}
    [task] = client.post("/external-tasks/fetch-and-lock", json=fetch, headers=bank).json()
    client.post(f"/external-tasks/{task['id']}/failure",
                json={"workerId": "bank-1", "errorMessage": "account closed", "retries": 0}, headers=bank)
    [incident] = client.get("/incidents", headers=login("admin")).json()
    assert incident["job_id"] == task["id"] and incident["last_error"] == "account closed"
    bad = client.post("/external-tasks/fetch-and-lock", json={"workerId": "", "topics": []}, headers=bank)
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"workerId", "topics"}


def test_messages_reach_receive_task_catch_event_and_event_subprocess(client, login, deploy):
    deploy("messages.bpmn")
    cw, system = login("caseworker"), login("integration")
    first = _start(client, cw, "await_messages", business_key="APP-100")
    second = _start(client, cw, "await_messages", business_key="APP-200")

    def send(name, key, payload=None):
        return client.post("/messages", json={"messageName": name, "correlationKey": key, "payload": payload or {}},
                           headers=system)

    # Not waited for (yet): 404 naming the key; nothing changes.
    r = send("bank_result", "APP-100")
    assert r.status_code == 404 and "APP-100" in r.json()["message"] and r.json()["correlation_key"] == "APP-100"
    assert send("documents_received", "APP-999").status_code == 404

    assert send("documents_received", "APP-100", {"documents": 3}).json()["delivered_to"] == [first["id"]]
    assert send("bank_result", "APP-100", {"paid": True}).status_code == 200
    done = _instance(client, cw, first["id"])
    assert done["status"] == "completed"
    assert [h["element_id"] for h in done["history"]][-3:] == ["await_docs", "await_bank", "end"]
    with unit_of_work() as session:
        data = instances.load_run(session, instances.get(session, first["id"])).data
    assert data["documents"] == 3 and data["paid"] is True  # payloads merged into the process data

    # The interrupting event sub-process: withdrawal ends the other instance wherever it is.
    assert send("application_withdrawn", "APP-200").status_code == 200
    withdrawn = _instance(client, cw, second["id"])
    assert withdrawn["status"] == "completed"
    outcomes = {h["element_id"]: h["outcome"] for h in withdrawn["history"]}
    assert outcomes["await_docs"] == "cancelled" and outcomes["end_withdrawn"] == "completed"
    assert send("documents_received", "APP-200").status_code == 404


def test_suspend_resume_cancel_are_enforced_and_recorded(client, login, deploy, spawn):
    deploy("review_and_pay.bpmn", "slow_service.bpmn")
    cw, sup = login("caseworker"), login("supervisor")
    instance = _start(client, cw, "review_and_pay")
    task_id = instance["waiting"][0]["id"]

    r = client.post(f"/instances/{instance['id']}/suspend", json={"reason": "민원 조사 (complaint)"}, headers=sup)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    blocked = client.post(f"/tasks/{task_id}/complete",
                          json={"data": {"decision": "reject", "comment": "no no"}}, headers=cw)
    assert blocked.status_code == 409 and "일시 중지" in blocked.json()["message"]
    assert client.post(f"/instances/{instance['id']}/suspend", json={}, headers=sup).status_code == 409
    assert client.post(f"/instances/{instance['id']}/suspend", json={}, headers=cw).status_code == 403

    assert client.post(f"/instances/{instance['id']}/resume", json={}, headers=sup).json()["status"] == "running"
    assert client.post(f"/tasks/{task_id}/complete", json={"data": {"decision": "reject", "comment": "ok"}},
                       headers=cw).status_code == 200

    # A suspended instance's job does not run; after resume it does.
    slow = _start(client, cw, "slow_service", {"sleep": 0})
    client.post(f"/instances/{slow['id']}/suspend", json={}, headers=sup)
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)
    with unit_of_work() as session:
        job_id = str(session.scalar(select(Job.id).where(Job.instance_id == slow["id"])))
    rq_status = lambda: redis_connection().hget(f"rq:job:bokji-{job_id}", "status")  # noqa: E731
    wait_for(lambda: rq_status() == b"finished", what="the worker took the job from Redis")
    with unit_of_work() as session:  # ... and left it untouched: queued, no attempt counted
        assert session.get(Job, job_id).status == "queued" and session.get(Job, job_id).attempts == 0
    assert _instance(client, cw, slow["id"])["status"] == "suspended" and _effects() == []
    client.post(f"/instances/{slow['id']}/resume", json={}, headers=sup)
    _completed(client, cw, slow["id"])
    assert len(_effects()) == 2  # test.slow and test.record_payment, once each

    # Cancel: open tasks and jobs cancelled, history closed, recorded.
    third = _start(client, cw, "review_and_pay")
    r = client.post(f"/instances/{third['id']}/cancel", json={"reason": "duplicate application"}, headers=sup)
    assert r.json()["status"] == "cancelled"
    assert client.get(f"/tasks/{third['waiting'][0]['id']}", headers=cw).json()["status"] == "cancelled"
    assert all(h["ended_at"] for h in r.json()["history"])
    assert client.post(f"/instances/{third['id']}/resume", json={}, headers=sup).status_code == 409
    actions = client.get(f"/instances/{instance['id']}/actions", headers=sup).json()
    assert [(a["action"], a["actor"]) for a in actions] == [("suspend", "supervisor"), ("resume", "supervisor")]
    assert actions[0]["reason"] == "민원 조사 (complaint)"


def test_intermediate_and_boundary_timers_fire_from_the_scheduler(client, login, deploy, spawn):
    deploy("timers.bpmn")
    cw = login("caseworker")
    wait = _start(client, cw, "wait_then_pay", {"wait": "PT1S"})
    deadline = _start(client, cw, "review_with_deadline", {"remind_after": "PT1S", "deadline_after": "PT2S"})
    answered = _start(client, cw, "review_with_deadline", {"remind_after": "PT30S", "deadline_after": "PT60S"})
    assert _instance(client, cw, wait["id"])["status"] == "running"
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)

    done = _completed(client, cw, wait["id"], what="intermediate timer fired")
    assert [h["element_id"] for h in done["history"]] == ["w_start", "w_wait", "w_pay", "w_end"]

    done = _completed(client, cw, deadline["id"], what="boundary timers fired")
    outcomes = {h["element_id"]: h["outcome"] for h in done["history"]}
    assert outcomes["r_remind"] == "completed" and outcomes["r_escalate"] == "completed"  # non-interrupting
    assert outcomes["r_review"] == "cancelled" and outcomes["r_end_timeout"] == "completed"  # interrupting
    assert client.get(f"/tasks/{deadline['waiting'][0]['id']}", headers=cw).json()["status"] == "cancelled"

    # Completed in time: the timers never fire and are cleared.
    r = client.post(f"/tasks/{answered['waiting'][0]['id']}/complete", json={"data": {}}, headers=cw)
    assert r.status_code == 200
    body = _instance(client, cw, answered["id"])
    assert body["status"] == "completed" and body["history"][-1]["element_id"] == "r_end_done"
    with unit_of_work() as session:
        assert session.get(instances.ProcessInstance, answered["id"]).next_timer_at is None


def test_timer_start_event_starts_the_process(client, login, deploy, spawn):
    deploy("timer_start.bpmn")
    admin = login("admin")
    [waiting] = client.get("/instances", params={"key": "nightly_batch"}, headers=admin).json()
    assert waiting["started_by"] == "system:timer-start" and waiting["status"] == "running"
    spawn("scheduler", **FAST)
    done = _completed(client, admin, waiting["id"], what="timer start fired")
    assert [h["element_id"] for h in done["history"]] == ["at_time", "batch", "end"]
    # A new version replaces the waiting one of the old version.
    source = (__import__("pathlib").Path(__file__).parent / "fixtures/bpmn/timer_start.bpmn").read_bytes()
    client.post("/definitions", files=[("files", ("timer_start.bpmn", source.replace(b"PT2S", b"PT1H")))],
                headers=login("designer"))
    client.post("/definitions", files=[("files", ("timer_start.bpmn", source.replace(b"PT2S", b"PT2H")))],
                headers=login("designer"))
    rows = client.get("/instances", params={"key": "nightly_batch"}, headers=admin).json()
    assert sorted((r["version"], r["status"]) for r in rows) == [(1, "completed"), (2, "cancelled"), (3, "running")]


def test_jobs_carry_the_retries_property(client, login, deploy):
    deploy("flaky_service.bpmn")
    _start(client, login("caseworker"), "flaky_service")
    with unit_of_work() as session:
        assert session.scalar(select(Job.max_attempts)) == 3
