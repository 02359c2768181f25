"""Operations: GET /metrics (authenticated; figures of every process and of the database) and JSON logs.

The worker and the scheduler run as their own processes and count into the session's
PROMETHEUS_MULTIPROC_DIR (tests/conftest.py); the scrape, in this process, adds them up.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bokji import logs
from bokji.config import DEV_METRICS_TOKEN, Settings
from tests.conftest import wait_for
from tests.test_durable import FAST, _start


def scrape(client, headers) -> dict[tuple[str, frozenset], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include these."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls)


SCRAPER = {"Authorization": f"Bearer {DEV_METRICS_TOKEN}"}


def test_the_scrape_is_for_the_scrape_credential_and_administrators(client, login):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    for role in ("caseworker", "supervisor", "manager", "auditor", "designer", "integration"):
        r = client.get("/metrics", headers=login(role))
        assert r.status_code == 403, (role, r.text)
    assert "bokji_" not in client.get("/metrics", headers=login("caseworker")).text
    samples = scrape(client, SCRAPER)
    assert value(samples, "bokji_metrics_database_up") == 1
    scrape(client, login("admin"))


def test_production_refuses_the_default_scrape_credential():
    secrets = dict(secret_key="s" * 40, data_key="QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", lookup_key="k" * 20)
    with pytest.raises(ValueError, match="BOKJI_METRICS_TOKEN"):
        Settings(env="production", **secrets)
    assert Settings(env="production", metrics_token="", **secrets).metrics_token == ""  # administrators only


def test_the_http_histogram_is_by_route_template_and_status(client, login):
    admin = login("admin")
    unknown = str(uuid.uuid4())
    r = client.get(f"/instances/{unknown}", headers={**admin, "X-Request-ID": "probe-request-0001"})
    assert r.status_code == 404
    assert r.headers["X-Request-ID"] == "probe-request-0001"  # a caller's id is kept and sent back
    assert len(client.get("/health").headers["X-Request-ID"]) == 32  # else a new one
    client.get(f"/no/such/{unknown}")
    samples = scrape(client, SCRAPER)
    assert value(samples, "bokji_http_request_seconds_count", method="GET", route="/instances/{instance_id}",
                 status="404") >= 1
    assert value(samples, "bokji_http_request_seconds_count", method="GET", route="unmatched", status="404") >= 1
    assert not any(unknown in str(labels) for _, labels in samples)  # ids never become labels


def test_a_failed_job_and_its_incident_are_in_the_scrape(client, login, deploy, spawn):
    deploy("flaky_service.bpmn")
    before = scrape(client, SCRAPER)
    instance = _start(client, login("caseworker"), "flaky_service", {"fail_times": 5})
    queued = scrape(client, SCRAPER)
    assert value(queued, "bokji_job_queue_depth", status="queued", topic="test.flaky") == 1
    worker = spawn("worker", BOKJI_LOG_FORMAT="json", **FAST)
    spawn("scheduler", BOKJI_LOG_FORMAT="json", **FAST)
    admin = login("admin")
    wait_for(lambda: client.get("/incidents", headers=admin).json(), what="an incident after 3 failed attempts")

    after = scrape(client, SCRAPER)
    # From the worker process (multiprocess mode): three failed attempts, two retried, then an incident.
    failures = {o: value(after, "bokji_job_failures_total", topic="test.flaky", outcome=o)
                - value(before, "bokji_job_failures_total", topic="test.flaky", outcome=o)
                for o in ("retry", "incident")}
    assert failures == {"retry": 2, "incident": 1}
    assert value(after, "bokji_job_retries_total", topic="test.flaky", by="backoff") \
        - value(before, "bokji_job_retries_total", topic="test.flaky", by="backoff") == 2
    assert value(after, "bokji_job_executions_total", topic="test.flaky", outcome="incident") \
        - value(before, "bokji_job_executions_total", topic="test.flaky", outcome="incident") == 1
    assert value(after, "bokji_job_seconds_count", topic="test.flaky") \
        - value(before, "bokji_job_seconds_count", topic="test.flaky") == 3
    # From the database: the incident is open and the job no longer queued.
    assert value(after, "bokji_open_incidents", source="job") == 1
    assert value(after, "bokji_job_queue_depth", status="incident", topic="test.flaky") == 1
    assert value(after, "bokji_job_queue_depth", status="queued", topic="test.flaky") == 0
    assert value(after, "bokji_job_oldest_age_seconds", status="incident", topic="test.flaky") >= 0
    assert total(after, "bokji_engine_step_seconds_count", step="start") \
        > total(before, "bokji_engine_step_seconds_count", step="start")

    # The operator retries it: counted, and the incident is no longer open.
    job_id = client.get("/incidents", headers=admin).json()[0]["job_id"]
    assert client.post(f"/incidents/{job_id}/retry", json={"attempts": 1}, headers=admin).status_code == 200
    retried = scrape(client, SCRAPER)
    assert value(retried, "bokji_job_retries_total", topic="test.flaky", by="operator") \
        - value(after, "bokji_job_retries_total", topic="test.flaky", by="operator") == 1

    # The worker's log: one JSON object per line, the failure with its job id and the worker's role, and no
    # case data (the exception's text quotes the attempt: it stays in the database for operators).
    lines = [json.loads(line) for line in worker.stop().splitlines() if line.strip()]
    failed = [ln for ln in lines if "failed" in ln["message"] and ln.get("job_id") == job_id]
    assert len(failed) >= 3, lines
    assert {ln["role"] for ln in failed} == {"worker"}
    assert all({"time", "level", "logger", "message", "role", "pid"} <= set(ln) for ln in lines)
    assert not any("agency unavailable" in ln["message"] for ln in lines)
    assert instance["id"]


def test_json_log_lines_carry_what_the_code_works_on(capsys):
    handler = logging.StreamHandler()
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("bokji.test_metrics")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.bound(request_id="r-1234567"), logs.bound(job_id="j-1", instance_id=None):
            logger.warning("job %s: %s", "j-1", "홍 없음")
        logger.error("outside", exc_info=ValueError("boom"))
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["message"] == "job j-1: 홍 없음" and first["level"] == "warning"
    assert first["request_id"] == "r-1234567" and first["job_id"] == "j-1" and "instance_id" not in first
    assert first["logger"] == "bokji.test_metrics" and first["role"]
    assert "request_id" not in second and second["error"] == "ValueError" and "boom" in second["stack"]


def test_a_breached_deadline_is_in_the_scrape(client, login, library):
    """A real case through POST /applications, the platform clock moved past its deadline, the scheduler's
    sweep: the scrape counts the breach once and the case as open past its deadline. Nothing is inserted by
    hand. Runs once the legal clocks are started by applications (bokji/clocks/service.py on main)."""
    from datetime import timedelta

    from sqlalchemy import select

    from bokji import clock
    from bokji.db import unit_of_work
    from tests.test_applications import _apply, _mother_and_child

    clocks = pytest.importorskip("bokji.clocks.service")
    if not hasattr(clocks, "sweep"):
        pytest.skip("bokji.clocks.service has no sweep() yet")
    from bokji.clocks.models import CaseClock

    cw, admin = login("caseworker"), login("admin")
    mother, _child = _mother_and_child(client, cw)
    # An application of 2025 (the rule parameters are of 2024 and 2025): its 30 days have passed by today.
    application = _apply(client, cw, mother, ["MOHW-NBLSS-LIVELIHOOD"])
    [case] = application["cases"]
    with unit_of_work() as session:
        due_on = session.scalar(select(CaseClock.due_on).where(CaseClock.instance_id == uuid.UUID(case["instance_id"])))
    if due_on is None:
        pytest.skip("applications do not start a legal clock yet")
    before = scrape(client, SCRAPER)
    if clock.today() <= due_on:
        ahead = (due_on - clock.today() + timedelta(days=2)).days * 86400
        assert client.put("/admin/clock", json={"offset_seconds": ahead}, headers=admin).status_code == 200
        wait_for(lambda: clock.today() > due_on, what="the platform clock past the deadline")
    for _ in range(2):  # the sweep may run twice: the breach is counted once
        with unit_of_work() as session:
            clocks.sweep(session)
    after = scrape(client, SCRAPER)
    assert value(after, "bokji_sla_breaches_total") - value(before, "bokji_sla_breaches_total") == 1
    assert value(after, "bokji_sla_open_breached") == 1


def test_a_database_error_does_not_quote_the_statements_values():
    """What a log line or a job's last error shows of a failed statement: the SQL, never the bound values."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from bokji.db import get_engine

    with pytest.raises(DBAPIError) as failed, get_engine().connect() as conn:
        conn.execute(text("SELECT 1 / 0 WHERE CAST(:name AS text) IS NOT NULL"), {"name": "홍길동"})
    assert "division by zero" in str(failed.value) and "홍길동" not in str(failed.value)
