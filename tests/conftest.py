"""Test fixtures: real PostgreSQL and Redis (started by scripts/services.sh), schema by Alembic.

Many tests run workers or the API as separate processes, which only see committed rows; so instead
of per-test rollback every test starts from truncated tables and a flushed Redis database.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _service_env() -> dict[str, str]:
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return {}
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "up"], check=True)
    out = subprocess.run([str(ROOT / "scripts" / "services.sh"), "env"], check=True, capture_output=True,
                         text=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    return env


os.environ.update(_service_env())
os.environ["BOKJI_ENV"] = "test"
os.environ["BOKJI_HANDLER_MODULES"] = "tests.handlers"
os.environ["BOKJI_DEPLOY_ON_START"] = "false"
os.environ.setdefault("BOKJI_SWEEPER_INTERVAL", "0.5")
# One directory of process metrics per test session (prometheus_client's multiprocess mode; GET /metrics adds
# up the files of every process it started), set before anything imports prometheus_client.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bokji-metrics-")
atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
DEMO_PASSWORD = "bokji-demo-2026"
# Tables the models declare (bokji/models.py imports them all), plus two without a model: the clock's
# offset and the tests' side-effect rows.
TABLES_WITHOUT_MODEL = ["platform_clock", "test_side_effect"]


def _recreate_database() -> None:
    url = make_url(DATABASE_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": url.database})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[None]:
    _recreate_database()
    from bokji.cli import main

    assert main(["migrate"]) == 0
    from bokji.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("CREATE TABLE test_side_effect (job_id text PRIMARY KEY, instance_id text, "
                          "amount bigint, at timestamptz DEFAULT now())"))
    yield


@pytest.fixture(autouse=True)
def clean_state(database) -> Iterator[None]:
    import bokji.models  # noqa: F401 - every model's table in Base.metadata
    from bokji import clock
    from bokji.db import Base, get_engine, unit_of_work
    from bokji.identity.service import seed_demo_users
    from bokji.offices import service as offices
    from bokji.queue import redis_connection
    from bokji.teams.service import seed_demo_teams
    from processes import cache
    from processes.evaluator import MEMO

    tables = [t.name for t in Base.metadata.sorted_tables] + TABLES_WITHOUT_MODEL
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    clock.forget()  # back in step with the system clock (platform_clock is truncated above)
    redis_connection().flushdb()
    cache.clear()
    MEMO.clear()
    with unit_of_work() as session:
        offices.load(session)
        seed_demo_users(session)
        seed_demo_teams(session)
    yield


@pytest.fixture
def client():
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def login(client) -> Callable[[str], dict[str, str]]:
    """Bearer headers for a demo user. One sign-in per username per test: each is an argon2 run."""
    tokens: dict[str, str] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in tokens:
            r = client.post("/auth/token", data={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {tokens[username]}"}

    return headers


def fixture_files(*names: str) -> list[tuple[str, tuple[str, bytes]]]:
    out = []
    for name in names:
        path = FIXTURES / "bpmn" / name
        out.append(("files", (path.name, path.read_bytes())))
    return out


@pytest.fixture
def deploy(client, login) -> Callable[..., dict]:
    def do(*names: str, expect: int = 201) -> dict:
        r = client.post("/definitions", files=fixture_files(*names), headers=login("designer"))
        assert r.status_code == expect, r.text
        return r.json()

    return do


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Proc:
    """A bokji CLI command (or another command) running as its own process group.

    Output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the child mid-write.
    """

    def __init__(self, *args: str, command: list[str] | None = None, **env: str) -> None:
        self.args = args
        self.output = tempfile.TemporaryFile(mode="w+")
        self.popen = subprocess.Popen(
            (command or [sys.executable, "-m", "bokji.cli"]) + list(args), cwd=ROOT,
            env=subprocess_env(**env), stdout=self.output, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> str:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.output.seek(0)
        return self.output.read()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []

    def start(*args: str, **env: str) -> Proc:
        proc = Proc(*args, **env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


@pytest.fixture
def spawn_rq(spawn) -> Callable[[], Proc]:
    """RQ's own `rq worker` command on bokji's queue (SimpleWorker, see workers/worker.py)."""

    def start() -> Proc:
        rq = str(Path(sys.executable).parent / "rq")
        return spawn("worker", "-w", "rq.worker.SimpleWorker", "--url", REDIS_URL, "bokji",
                     command=[rq])

    return start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
    """Poll until `condition()` is truthy; tests wait on conditions, never on fixed sleeps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_api(spawn: Callable[..., Proc], **env: str) -> tuple[Proc, str]:
    """The API as its own process (`bokji serve`) on a free port, once /ready answers: its Proc and URL."""
    port = free_port()
    proc = spawn("serve", "--port", str(port), **env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.popen.poll() is None, proc.stop()[-3000:]
        try:
            return httpx.get(f"{url}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, what="an API process ready")
    return proc, url


# --- the platform with the agency simulator (data linkage, applications) ----------------------------
@pytest.fixture
def simulator(spawn):
    port = free_port()
    proc = spawn("simulator", "--port", str(port))
    url = f"http://127.0.0.1:{port}"

    def up():
        assert proc.popen.poll() is None, proc.stop()
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, what="simulator up")
    return url


@pytest.fixture
def library() -> None:
    """The process library deployed, the service catalog and the rule parameters loaded, as at every start-up."""
    from bokji.catalog import service as catalog
    from bokji.db import unit_of_work
    from bokji.rules import parameters
    from bokji.steps.service import deploy_directory

    with unit_of_work() as session:
        deploy_directory(session, ROOT / "processes" / "bpmn")
        catalog.load(session)
        parameters.load(session)


@pytest.fixture
def platform(simulator, spawn, library):
    """Workers and the scheduler pointed at the simulator, with short intervals."""
    env = {"BOKJI_AGENCY_BASE_URL": simulator, "BOKJI_BREAKER_FAILURES": "3", "BOKJI_BREAKER_OPEN_SECONDS": "2",
           "BOKJI_LINKAGE_RETRIES": "1", "BOKJI_LINKAGE_BACKOFF": "0.05", "BOKJI_RETRY_BACKOFF_BASE": "0.3",
           "BOKJI_RETRY_JITTER": "0.1", "BOKJI_SCHEDULER_POLL": "0.2", "BOKJI_SWEEPER_INTERVAL": "0.5",
           "BOKJI_JOB_ENQUEUE_GRACE": "1", "BOKJI_JOB_MAX_ATTEMPTS": "20"}
    RUNNING["workers"] = [spawn("worker", **env) for _ in range(2)]
    RUNNING["env"] = env
    spawn("scheduler", **env)
    spawn("monitor", BOKJI_MONITOR_INTERVAL="1", **env)
    return simulator


RUNNING: dict = {}  # the current test's workers and their environment, for the fault tests


def switch(simulator: str, agency: str, **settings) -> None:
    assert httpx.put(f"{simulator}/admin/agencies/{agency}", json=settings).status_code == 200


def calls(simulator: str) -> dict[str, int]:
    return httpx.get(f"{simulator}/admin/calls").json()


def start_case(key: str, data: dict, *, business_key: str | None = None, username: str = "caseworker") -> str:
    """Start a service's process directly, as the platform does for an application's case (a person's
    request cannot: variants start through POST /applications). For tests that drive one module's
    handlers with data of their own."""
    from bokji.db import unit_of_work
    from bokji.identity.models import User
    from bokji.identity.service import Principal
    from bokji.steps import service as steps

    with unit_of_work() as session:
        user = session.query(User).filter_by(username=username).one()
        instance = steps.start(session, key=key, data=data, actor=Principal.of(user), business_key=business_key)
        return str(instance.id)
