"""The README's first command: the whole platform from nothing (private PostgreSQL and Redis), kept
running: whatever dies is started again while the rest keeps serving."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.conftest import DEMO_PASSWORD, ROOT, free_port, wait_for


def test_run_starts_everything_and_ctrl_c_stops_everything():
    port, pg_port, redis_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("BOKJI_")}
    # Not under pytest's tmp_path (mode 700): as root, PostgreSQL runs as `postgres`, which must reach it.
    state = tempfile.mkdtemp(prefix="bokji-run-test-")
    os.chmod(state, 0o755)
    env.update(PYTHONPATH=str(ROOT), BOKJI_STATE_DIR=state,
               BOKJI_RUN_PG_PORT=str(pg_port), BOKJI_RUN_REDIS_PORT=str(redis_port))
    log = tempfile.TemporaryFile(mode="w+")
    launcher = subprocess.Popen([sys.executable, "-m", "bokji.cli", "run", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            assert launcher.poll() is None, _read(log)
            try:
                return httpx.get(f"{url}/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=120, what="the platform to be ready")
        # SIGKILL a worker, the scheduler, the API, Redis and PostgreSQL: each is started again, the rest
        # keeps going, and a case still goes through to its end.
        for name in ("worker 1", "scheduler", "serve", "Redis"):
            pid = _pid(log, name)
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda n=name, p=pid: _pid(log, n) != p, timeout=60, what=f"{name} started again")
            assert f"{name} exited with code -9; starting it again" in _read(log) or name == "Redis"
        assert "Redis stopped; starting it again" in _read(log)
        postmaster = int((Path(state) / "platform" / "pg" / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGKILL)
        wait_for(lambda: "PostgreSQL stopped; starting it again" in _read(log), timeout=30,
                 what="the launcher to see PostgreSQL gone")
        wait_for(ready, timeout=90, what="the platform ready again")
        token = httpx.post(f"{url}/auth/token", data={"username": "caseworker", "password": DEMO_PASSWORD}
                           ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        instance = httpx.post(f"{url}/instances", headers=headers,
                              json={"key": "demo_application", "business_key": "RUN-1"}).json()
        task_id = instance["waiting"][0]["id"]
        r = httpx.post(f"{url}/tasks/{task_id}/complete", headers=headers,
                       json={"data": {"decision": "approve", "monthly_amount": 100, "comment": "ok run"}})
        assert r.status_code == 200, r.text
        # The launcher's own workers run the payment set-up.
        wait_for(lambda: httpx.get(f"{url}/instances/{instance['id']}", headers=headers).json()["status"]
                 == "completed", timeout=60, what="the demo instance completed by the launcher's workers")
    finally:
        launcher.send_signal(signal.SIGINT)  # Ctrl-C
        code = launcher.wait(60)
        shutil.rmtree(state, ignore_errors=True)
    assert code == 0, _read(log)
    for p in (port, pg_port, redis_port):  # everything it started has stopped
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still open"


def _read(log) -> str:
    log.seek(0)
    return log.read()[-8000:]


def _pid(log, name: str) -> int | None:
    """The pid of the newest start of `name` in the launcher's log."""
    log.seek(0)
    found = re.findall(rf"bokji: {re.escape(name)} started .*?\(pid (\d+)\)", log.read())
    return int(found[-1]) if found else None
