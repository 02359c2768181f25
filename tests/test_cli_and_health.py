"""The `bokji` command line and the health endpoints."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES, free_port


def _run(spawn, *args: str, expect: int = 0) -> str:
    proc = spawn(*args)
    code = proc.popen.wait(60)
    out = proc.stop()
    assert code == expect, out
    return out


def test_deploy_list_start_and_show(spawn):
    out = _run(spawn, "deploy", str(FIXTURES / "bpmn" / "review_and_pay.bpmn"), "--actor", "designer")
    assert '"created": true' in out
    listed = json.loads(_run(spawn, "definitions"))
    assert [(d["key"], d["version"]) for d in listed] == [("review_and_pay", 1)]
    started = json.loads(_run(spawn, "start", "review_and_pay", "--as", "caseworker",
                              "--business-key", "CLI-1", "--data", '{"household_size": 2}'))
    assert started["status"] == "running" and started["stage"] == "decision"
    shown = json.loads(_run(spawn, "instance", started["id"]))
    assert [h["element"] for h in shown["history"]] == ["received", "review"]


def test_cli_bad_input_exit_codes(spawn):
    out = _run(spawn, "start", "review_and_pay", "--as", "caseworker", "--data", "{nope", expect=2)
    assert "--data가 올바른 JSON이 아닙니다" in out
    out = _run(spawn, "deploy", "/no/such/file.bpmn", expect=2)
    assert "파일이 없습니다" in out
    out = _run(spawn, "start", "no_such_key", "--as", "caseworker", expect=1)
    assert "no_such_key" in out and "Traceback" not in out
    out = _run(spawn, "instance", "0b5c1b8e-0000-4000-8000-000000000000", expect=1)
    assert "찾을 수 없습니다" in out


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] and ready.json()["checks"]["redis"]["ok"]


def test_ready_is_503_when_redis_is_gone(spawn):
    import httpx

    from tests.conftest import wait_for

    port = free_port()
    proc = spawn("serve", "--port", str(port), REDIS_URL="redis://127.0.0.1:1/0")
    url = f"http://127.0.0.1:{port}"

    def answer():
        assert proc.popen.poll() is None, proc.stop()
        try:
            return httpx.get(f"{url}/ready", timeout=5)
        except httpx.HTTPError:
            return None

    r = wait_for(answer, what="API answering")
    assert r.status_code == 503 and r.json()["checks"]["redis"]["ok"] is False
    assert httpx.get(f"{url}/health").status_code == 200
