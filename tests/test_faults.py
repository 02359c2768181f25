"""Nothing lost, nothing twice: kill workers, flush Redis, restart PostgreSQL, kill the scheduler.

Handlers write a side-effect row keyed by their job id in the job's own transaction (tests/handlers.py);
after each fault every instance must reach its right end and every side effect exist exactly once.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bokji.db import unit_of_work
from bokji.queue import redis_connection
from tests.conftest import DATABASE_URL, start_api, wait_for
from workers.scheduler import HEARTBEAT

# Short retry and polling intervals; leases and the sweeper keep their defaults (10 s, renewed by a
# heartbeat; swept every 5 s), the settings a platform runs with.
FAST = {"BOKJI_RETRY_BACKOFF_BASE": "0.2", "BOKJI_SCHEDULER_POLL": "0.2", "BOKJI_JOB_ENQUEUE_GRACE": "1",
        "BOKJI_JOB_MAX_ATTEMPTS": "10"}


def _start_many(client, headers, key: str, n: int, data: dict) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post("/instances", json={"key": key, "business_key": f"F-{i}", "data": data}, headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _statuses(ids: list[str]) -> Counter:
    with unit_of_work() as session:
        rows = session.execute(text("SELECT status FROM process_instance WHERE id = ANY(:ids)"),
                               {"ids": ids}).scalars()
        return Counter(rows)


def _all_completed(ids: list[str]) -> bool:
    return _statuses(ids) == Counter({"completed": len(ids)})


def _assert_exactly_once(ids: list[str], jobs_per_instance: int) -> None:
    with unit_of_work() as session:
        effects = session.execute(text("SELECT job_id, instance_id FROM test_side_effect")).all()
        done_jobs = session.execute(text("SELECT id::text FROM job WHERE status = 'done'")).scalars().all()
    per_instance = Counter(e.instance_id for e in effects)
    assert per_instance == Counter({i: jobs_per_instance for i in ids})
    assert sorted(e.job_id for e in effects) == sorted(done_jobs)  # one effect per job, from its winning run
    assert len({e.job_id for e in effects}) == len(effects)


def _running_jobs() -> int:
    with unit_of_work() as session:
        return session.scalar(text("SELECT count(*) FROM job WHERE status = 'running'"))


def test_sigkill_of_a_worker_mid_job(client, login, deploy, spawn):
    deploy("slow_service.bpmn")
    ids = _start_many(client, login("caseworker"), "slow_service", 6, {"sleep": 1.0})
    victim = spawn("worker", **FAST)
    wait_for(lambda: _running_jobs() > 0, what="a job running in the victim worker")
    victim.stop(signal.SIGKILL)
    killed = time.monotonic()
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)  # takes the dead worker's lease back when it runs out
    # With the default lease (10 s, no heartbeat any more) and sweep (5 s): back and finished within 30 s.
    wait_for(lambda: _all_completed(ids), timeout=30, what="every instance completed within 30 s of the kill")
    print(f"\nall {len(ids)} instances completed {time.monotonic() - killed:.1f} s after the worker was killed")
    _assert_exactly_once(ids, jobs_per_instance=2)
    with unit_of_work() as session:  # the killed attempt was counted, then retried
        assert session.scalar(text("SELECT max(attempts) FROM job")) >= 2


def test_a_handler_running_three_leases_keeps_its_lease_and_completes_once(client, login, deploy, spawn):
    from bokji.config import get_settings

    lease = get_settings().job_lease
    deploy("slow_service.bpmn")
    [instance] = _start_many(client, login("caseworker"), "slow_service", 1, {"sleep": 3 * lease})
    spawn("worker", **FAST)
    spawn("worker", **FAST)  # a second worker, idle, that would take the job if its lease ran out
    spawn("scheduler", **FAST)
    wait_for(lambda: _all_completed([instance]), timeout=3 * lease + 30, what="the long job to complete")
    _assert_exactly_once([instance], jobs_per_instance=2)
    with unit_of_work() as session:
        attempts = session.execute(text("SELECT element_id, attempts FROM job ORDER BY created_at")).all()
    assert all(a == 1 for _, a in attempts), attempts  # never taken back, never run twice


def test_redis_flushall_mid_run(client, login, deploy, spawn):
    deploy("slow_service.bpmn")
    ids = _start_many(client, login("caseworker"), "slow_service", 20, {"sleep": 0.2})
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)
    wait_for(lambda: _statuses(ids)["completed"] >= 2, what="some instances done before the flush")
    redis_connection().flushall()
    flushed_at = time.monotonic()
    wait_for(lambda: _all_completed(ids), timeout=60, what="recovery after FLUSHALL")
    assert time.monotonic() - flushed_at < 60
    _assert_exactly_once(ids, jobs_per_instance=2)


def _postgres_control():
    """The test cluster's data directory and a pg_ctl that may run it (as `postgres` when we are root)."""
    engine = create_engine(DATABASE_URL)
    with engine.connect() as conn:
        data_dir = conn.execute(text("SHOW data_directory")).scalar()
        major = int(conn.execute(text("SHOW server_version_num")).scalar()) // 10000
    engine.dispose()
    pg_ctl = shutil.which("pg_ctl") or f"/usr/lib/postgresql/{major}/bin/pg_ctl"
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    opts = shlex.split(Path(data_dir, "postmaster.opts").read_text())[1:]  # drop the binary
    at = opts.index("-D")
    server_opts = opts[:at] + opts[at + 2:]  # every option but the data directory
    return data_dir, [*as_owner, pg_ctl], " ".join(shlex.quote(o) for o in server_opts)


def test_postgres_restart_mid_run(client, login, deploy, spawn):
    deploy("slow_service.bpmn")
    cw = login("caseworker")
    _, url = start_api(spawn, **FAST)
    ids = _start_many(client, cw, "slow_service", 12, {"sleep": 0.3})
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)
    wait_for(lambda: _statuses(ids)["completed"] >= 1, what="some progress before the restart")

    data_dir, pg_ctl, opts = _postgres_control()
    subprocess.run([*pg_ctl, "stop", "-D", data_dir, "-m", "fast", "-w"], check=True, capture_output=True)
    try:
        token = cw["Authorization"]
        during = _get(f"{url}/instances/{ids[0]}", headers={"Authorization": token})
        ready = _get(f"{url}/ready")
    finally:
        subprocess.run([*pg_ctl, "start", "-D", data_dir, "-w", "-l", f"{data_dir}/restart.log", "-o", opts],
                       check=True, capture_output=True)
    assert during == 503 and ready == 503
    wait_for(lambda: _get(f"{url}/ready") == 200, what="API ready again")
    wait_for(lambda: _all_completed(ids), timeout=90, what="every instance completed after the restart")
    _assert_exactly_once(ids, jobs_per_instance=2)
    assert _get(f"{url}/instances/{ids[0]}", headers={"Authorization": cw["Authorization"]}) == 200


def _get(url: str, headers: dict | None = None) -> int:
    try:
        return httpx.get(url, headers=headers, timeout=10).status_code
    except httpx.HTTPError:
        return 0


def test_sigkill_of_the_scheduler_with_timers_pending(client, login, deploy, spawn):
    deploy("timers.bpmn")
    cw = login("caseworker")
    ids = _start_many(client, cw, "wait_then_pay", 5, {"wait": "PT2S"})
    with unit_of_work() as session:
        due = session.execute(text("SELECT max(next_timer_at) FROM process_instance")).scalar()
    spawn("worker", **FAST)
    redis_connection().delete(HEARTBEAT)
    doomed = spawn("scheduler", **FAST)
    wait_for(lambda: redis_connection().get(HEARTBEAT), what="the scheduler's first round")
    doomed.stop(signal.SIGKILL)  # killed before any timer is due
    wait_for(lambda: _db_now() > due, timeout=10, what="the timers' due time to pass")
    assert _statuses(ids) == Counter({"running": 5})  # nobody fired them meanwhile
    spawn("scheduler", **FAST)
    wait_for(lambda: _all_completed(ids), timeout=30, what="timers fired by the restarted scheduler")
    _assert_exactly_once(ids, jobs_per_instance=1)


def _db_now():
    with unit_of_work() as session:
        return session.scalar(text("SELECT now()"))


def test_sigkill_of_the_api_mid_completion(client, login, deploy, spawn):
    """The API dies while a completion waits inside its transaction: nothing of it stays, and the task is
    completed once when a caseworker tries again on a new API process; the payment runs once."""
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    [instance_id] = _start_many(client, cw, "review_and_pay", 1, {})
    task_id = client.get(f"/instances/{instance_id}", headers=cw).json()["waiting"][0]["id"]
    decision = {"data": {"decision": "approve", "monthly_amount": 400_000, "comment": "verified"}}
    engine = create_engine(DATABASE_URL)
    holder = engine.connect()
    holder.execute(text("BEGIN"))
    holder.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"instance:{instance_id}"})
    victim = _Api(spawn)
    with httpx.Client(base_url=victim.url, timeout=60) as http:
        import threading

        threading.Thread(target=lambda: _swallow(http.post, f"/tasks/{task_id}/complete", json=decision,
                                                  headers=victim.headers("caseworker")), daemon=True).start()
        wait_for(lambda: _waiting_on_the_lock(engine), what="the completion inside the API, waiting for the lock")
        victim.proc.stop(signal.SIGKILL)
    holder.execute(text("ROLLBACK"))
    holder.close()
    with unit_of_work() as session:  # the dead API's transaction left nothing behind
        assert session.execute(text("SELECT status FROM human_task WHERE id = :t"), {"t": task_id}).scalar() == "open"
    spawn("worker", **FAST)
    again = _Api(spawn)
    r = httpx.post(f"{again.url}/tasks/{task_id}/complete", json=decision, headers=again.headers("caseworker"),
                   timeout=60)
    assert r.status_code == 200, r.text
    wait_for(lambda: _all_completed([instance_id]), timeout=30, what="the case paid")
    _assert_exactly_once([instance_id], jobs_per_instance=1)
    engine.dispose()


class _Api:
    def __init__(self, spawn) -> None:
        self.proc, self.url = start_api(spawn, **FAST)

    def headers(self, username: str) -> dict[str, str]:
        r = httpx.post(f"{self.url}/auth/token", data={"username": username, "password": "bokji-demo-2026"})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _waiting_on_the_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND application_name LIKE 'bokji-serve-%'")).scalar())


def _swallow(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except httpx.HTTPError:
        pass  # the API died under the request: that is the point
