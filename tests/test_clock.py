"""One platform clock: moved once, it moves for the API, the workers, the scheduler, the engine's
timers and the sandbox alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bokji import clock
from bokji.db import unit_of_work
from bokji.errors import Forbidden
from tests.conftest import DEMO_PASSWORD, start_api, wait_for

FAST = {"BOKJI_SCHEDULER_POLL": "0.2"}


def test_moving_the_clock_45_days_fires_a_timer_in_the_scheduler_and_every_process_sees_it(deploy, spawn):
    deploy("month_later.bpmn")
    _, url = start_api(spawn, **FAST)
    spawn("worker", **FAST)
    spawn("scheduler", **FAST)
    http = httpx.Client(base_url=url, timeout=30)
    admin = _sign_in(http, "admin")
    r = http.post("/instances", headers=_sign_in(http, "caseworker"), json={"key": "month_later", "data": {}})
    assert r.status_code == 201, r.text
    instance_id = r.json()["id"]
    assert r.json()["status"] == "running"  # waiting thirty days

    r = http.put("/admin/clock", headers=admin, json={"offset_seconds": 45 * 86400})
    assert r.status_code == 200, r.text
    expected = datetime.now(UTC) + timedelta(days=45)

    def completed() -> dict | None:
        found = http.get(f"/instances/{instance_id}", headers=admin).json()
        return found if found["status"] == "completed" else None

    done = wait_for(completed, timeout=60, what="the scheduler to fire the 30-day timer")
    [timer] = [h for h in done["history"] if h["element_id"] == "thirty_days"]
    assert timer["actor"] == "system:timer"  # fired by the scheduler process
    # Every process sees a move within clock.REFRESH of its commit; the timer may fire sooner than that.
    api_now = datetime.fromisoformat(wait_for(
        lambda: (c := http.get("/admin/clock", headers=admin).json())["offset_seconds"] and c["now"],
        timeout=10, what="the API's clock to follow"))
    with unit_of_work() as session:
        result = session.execute(_RESULT, {"i": instance_id}).scalar()
    worker_now = datetime.fromisoformat(result["worker_now"])
    for seen in (api_now, worker_now):
        assert abs((seen - expected).total_seconds()) < 60, (seen, expected)
    # The sandbox saw it too: the script's today() is 45 days on, in Seoul.
    with unit_of_work() as session:
        state = session.execute(_STATE, {"i": instance_id}).scalar()
    assert (datetime.now(UTC) + timedelta(days=45, hours=9)).date().isoformat() in state
    assert http.put("/admin/clock", headers=_sign_in(http, "caseworker"), json={"offset_seconds": 0}).status_code == 403


def test_the_clock_cannot_move_in_production(monkeypatch):
    class Production:
        env = "production"
        demo = False

    monkeypatch.setattr(clock, "get_settings", lambda: Production())
    assert clock.offset() == timedelta(0) and not clock.movable()
    with unit_of_work() as session, pytest.raises(Forbidden):
        clock.move(session, offset_seconds=86400, actor="test")


def _sign_in(http: httpx.Client, username: str) -> dict[str, str]:
    r = http.post("/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


from sqlalchemy import text  # noqa: E402

_RESULT = text("SELECT result FROM job WHERE instance_id = :i AND element_id = 'what_time'")
_STATE = text("SELECT state FROM process_instance WHERE id = :i")
