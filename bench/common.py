"""What the benchmarks share: services, a fresh database, percentiles, stopping processes."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def services_env() -> dict[str, str]:
    """DATABASE_URL/REDIS_URL as set, else from scripts/services.sh (which starts them)."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return {}
    subprocess.run([str(ROOT / "scripts/services.sh"), "up"], check=True)
    out = subprocess.run([str(ROOT / "scripts/services.sh"), "env"], check=True, capture_output=True,
                         text=True).stdout
    env = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    return env


def fresh_database(env: dict[str, str], name: str = "bokji_bench") -> dict[str, str]:
    """Drop and create the benchmark database, migrate it; returns env pointing at it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(env["DATABASE_URL"]).set(database=name)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    env = dict(env, DATABASE_URL=url.render_as_string(hide_password=False), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "bokji.cli", "migrate"], check=True, cwd=ROOT, env=env)
    return env


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def stop(procs: list[subprocess.Popen], timeout: float = 30) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(command: str, check: str, **env: str) -> tuple[subprocess.Popen, str]:
    """`bokji <command>` as its own process on a free port, once `check` answers 200: the process and its URL."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bokji.cli", command, "--port", str(port)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), **env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}{check}", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return proc, url


def start_simulator(latency_ms: int) -> tuple[subprocess.Popen, str]:
    """The agency simulator as its own process, every agency answering after `latency_ms`."""
    import httpx

    proc, url = start_service("simulator", "/health")
    from simulator.app import AGENCIES

    for agency in AGENCIES:
        httpx.put(f"{url}/admin/agencies/{agency}", json={"latency_ms": latency_ms})
    return proc, url


def platform_env(simulator: str, **extra: str) -> dict[str, str]:
    """Settings for the platform processes a benchmark starts: the simulator as every agency."""
    return dict(os.environ, PYTHONPATH=str(ROOT), BOKJI_AGENCY_BASE_URL=simulator, BOKJI_DEPLOY_ON_START="false",
                BOKJI_AGENCY_RATE_PER_SECOND="100000", BOKJI_ENV="demo", **extra)


def timed(fn, runs: int, quantiles: tuple[float, ...] = (50, 95)) -> tuple[float, ...]:
    """The `quantiles` (p50 and p95 unless asked) of `runs` calls, in ms."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return tuple(percentile(times, q) for q in quantiles)


def plan(session, query) -> str:
    from sqlalchemy.dialects import postgresql

    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True})
    lines = [r[0] for r in session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)]
    return ", ".join(sorted({w for line in lines for w in line.split() if w.startswith(("ix_", "pk_"))})) or \
        "no index (" + lines[0].split("(")[0].strip() + ")"


def fill_offices_and_definition(session, offices: int) -> None:
    """`offices` offices office-1 … office-N and one deployed definition `bench` for the instances a benchmark
    makes (in the caller's transaction, with no statement timeout: a million-row fill outlasts a request)."""
    from sqlalchemy import text

    session.execute(text("SET LOCAL statement_timeout = 0"))
    session.execute(text("INSERT INTO office (code, name, region) SELECT 'office-' || g, '사무소 ' || g, 'bench' "
                         "FROM generate_series(1, :n) g"), {"n": offices})
    session.execute(text("INSERT INTO deployment (id, checksum, files, warnings, source, deployed_by, deployed_at) "
                         "VALUES (gen_random_uuid(), 'bench', '{}', '[]', 'cli', 'bench', now())"))
    session.execute(text("INSERT INTO definition (id, kind, key, version, deployment_id, deployed_at, process_kind, "
                         "ministry) SELECT gen_random_uuid(), 'process', 'bench', 1, id, now(), 'process', 'MOHW' "
                         "FROM deployment"))
