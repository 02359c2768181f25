"""What the platform costs over the bare engine, on the reference welfare model, in one run.

(a) raw SpiffWorkflow in memory, automated tasks completed inline;
(b) raw SpiffWorkflow, automated tasks completed as outside work, with a state-only JSON round trip
    at every wait point (RESULTS.md's "4d");
(c) the platform end to end: the API and 2 RQ workers as processes on PostgreSQL and Redis, instances
    started and the caseworker task completed over HTTP, agency calls run by the workers; a closed
    loop keeps `--in-flight` applications in progress, so latency is not queueing behind a backlog.

Prints instances/s of each, c/a, c/b, c as a multiple of SpiffArena's 4.3/s on the same model, and
p50/p99 start-to-end latency. Every variant runs its model code in the sandbox (processes/sandbox):
the run also prints what one sandbox round trip costs — a constant (the transport floor), one
expression, one script, one whole decision table — and how many of each one instance needs.
Needs PostgreSQL and Redis: it starts them with scripts/services.sh unless DATABASE_URL / REDIS_URL
are set, and uses its own database `bokji_bench`.

    .venv/bin/python bench/engine_overhead.py [--n 200] [--model bench/models] [--in-flight 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIFFARENA_PER_S = 4.3  # reference/spiffworkflow-and-spiffarena.md: SpiffArena on the same model
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database, percentile, services_env, stop  # noqa: E402


# ---- (a) and (b): the engine alone -----------------------------------------------------------------
def engine_only(model_dir: Path, n: int, *, roundtrips: bool) -> tuple[float, list[float]]:
    from bench.handlers import APPROVE, agency, application
    from processes import baseline
    from processes.parsing import build_specs, check_bundle

    files = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.suffix in (".bpmn", ".dmn", ".form")}
    bundle = check_bundle(files, find_form=lambda k: files.get(f"{k}.form"))
    process_key = next(iter(bundle.processes))
    specs = build_specs(bundle)[process_key]
    latencies = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        assert baseline.run(specs, application(i), agency, APPROVE, roundtrips=roundtrips)
        latencies.append(time.perf_counter() - s)
    return n / (time.perf_counter() - t0), latencies


# ---- the sandbox: what one evaluation costs, and how many an instance needs -----------------------
class _Counting:
    def __init__(self, real) -> None:
        self.real, self.calls = real, {"eval": 0, "exec": 0, "decide": 0}

    def evaluate(self, *args, **kwargs):
        self.calls["eval"] += 1
        return self.real.evaluate(*args, **kwargs)

    def execute(self, *args, **kwargs):
        self.calls["exec"] += 1
        return self.real.execute(*args, **kwargs)

    def decide(self, *args, **kwargs):
        self.calls["decide"] += 1
        return self.real.decide(*args, **kwargs)


def sandbox_costs(model_dir: Path, n: int) -> tuple[list[tuple[str, list[float]]], dict[str, int]]:
    from bench.handlers import APPROVE, agency, application
    from processes import baseline, evaluator
    from processes.decisions import Decisions
    from processes.parsing import build_specs, check_bundle

    box = evaluator.sandbox()
    now = "2026-12-01T00:00:00+00:00"
    files = {p.name: p.read_bytes() for p in model_dir.iterdir() if p.suffix in (".bpmn", ".dmn", ".form")}
    decisions = Decisions.from_files({k: v for k, v in files.items() if k.endswith(".dmn")})
    decision = next(iter(decisions._engines))
    script = ("household_size = len(applicant['household'])\n"
              "monthly_income = int(tax_income['annual_income'] / 12) + int(employment['monthly_wage'])\n"
              "total_assets = int(property['assessed_value']) + int(vehicle['value'])")
    data = {"applicant": {"household": [1, 2]}, "tax_income": {"annual_income": 3_600_000},
            "employment": {"monthly_wage": 150_000}, "property": {"assessed_value": 40_000_000},
            "vehicle": {"value": 2_500_000}}
    inputs = {"household_size": 2, "monthly_income": 450_000, "total_assets": 42_500_000}
    incomes = itertools.count(450_001)  # a value not seen before, so the memo cannot answer
    cases = [
        ("round trip, constant 1 (the transport floor)", lambda: box.evaluate("1", {}, now=now)),
        ("expression 'household_size > 2 and monthly_income <= 1178435'",
         lambda: box.evaluate("household_size > 2 and monthly_income <= 1178435", inputs, now=now)),
        ("script derive_rule_inputs (3 lines, 5 variables in)", lambda: box.execute(script, data, now=now)),
        (f"decision table {decision} (13 rules), whole, new inputs each call",
         lambda: decisions.evaluate(decision, {**inputs, "monthly_income": next(incomes)})),
        ("the same table, inputs seen before (answered by the memo)", lambda: decisions.evaluate(decision, inputs)),
    ]
    timings = []
    for name, call in cases:
        call()  # the first call starts the child and compiles the source
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t)
        timings.append((name, samples))
    # What one instance of the model asks of the sandbox.
    counting = _Counting(box)
    real = evaluator.sandbox
    evaluator.sandbox = lambda: counting
    try:
        bundle = check_bundle(files, find_form=lambda k: files.get(f"{k}.form"))
        specs = build_specs(bundle)[next(iter(bundle.processes))]
        assert baseline.run(specs, application(0), agency, APPROVE, roundtrips=False)
    finally:
        evaluator.sandbox = real
    return timings, counting.calls


# ---- (c): the platform ----------------------------------------------------------------------------------
def platform(model_dir: Path, n: int, in_flight: int, workers: int) -> tuple[float, list[float], dict]:
    import httpx
    from sqlalchemy import create_engine, text

    from bench.handlers import APPROVE, application

    env = fresh_database(dict(os.environ, BOKJI_HANDLER_MODULES="bench.handlers", BOKJI_DEPLOY_ON_START="false",
                              BOKJI_ENV="demo"))
    subprocess.run([sys.executable, "-m", "bokji.cli", "seed-demo"], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    files = [str(p) for p in model_dir.iterdir() if p.suffix in (".bpmn", ".dmn", ".form")]
    subprocess.run([sys.executable, "-m", "bokji.cli", "deploy", *files], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logs = open(ROOT / "bench" / "engine_overhead.log", "w")  # noqa: SIM115 - closed below
    procs = [subprocess.Popen([sys.executable, "-m", "bokji.cli", "serve", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True)]
    procs += [subprocess.Popen([sys.executable, "-m", "bokji.cli", "worker"], env=env, cwd=ROOT, stdout=logs,
                               stderr=subprocess.STDOUT, start_new_session=True) for _ in range(workers)]
    url = f"http://127.0.0.1:{port}"
    db = create_engine(env["DATABASE_URL"])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the API did not become ready; see bench/engine_overhead.log")
            time.sleep(0.1)
        http = httpx.Client(base_url=url, timeout=60,
                            limits=httpx.Limits(max_connections=in_flight * 2, max_keepalive_connections=in_flight * 2))
        key = "welfare_standard_process"
        r = http.post("/auth/token", data={"username": "caseworker", "password": "bokji-demo-2026"})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def one(i: int) -> float:
            """One application from start to end, the caseworker task completed over the API."""
            t_start = time.perf_counter()
            r = http.post("/instances", json={"key": key, "business_key": f"B-{i}", "data": application(i)},
                          headers=headers)
            r.raise_for_status()
            instance_id = r.json()["id"]
            task_id = _poll(db, "SELECT id::text FROM human_task WHERE instance_id = :i AND status = 'open'",
                            instance_id)
            http.post(f"/tasks/{task_id}/complete", json={"data": APPROVE}, headers=headers).raise_for_status()
            _poll(db, "SELECT id FROM process_instance WHERE id = :i AND status = 'completed'", instance_id)
            return time.perf_counter() - t_start

        one(0)  # warm the API's and the workers' spec caches (the first instance parses the version)

        # Closed loop: `in_flight` drivers, each takes one application from start to end, then the next.
        latencies: list[float] = []
        lock = threading.Lock()
        counter = iter(range(1, n + 1))

        def drive() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                latency = one(i)
                with lock:
                    latencies.append(latency)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            for future in [pool.submit(drive) for _ in range(in_flight)]:
                future.result()
        elapsed = time.perf_counter() - t0
        with db.connect() as conn:
            stats = {
                "jobs": conn.execute(text("SELECT count(*) FROM job WHERE status = 'done'")).scalar(),
                "history_rows": conn.execute(text("SELECT count(*) FROM element_history")).scalar(),
                "state_bytes_avg": int(conn.execute(text("SELECT avg(length(state)) FROM process_instance")).scalar()),
            }
        return n / elapsed, latencies, stats
    finally:
        stop(procs)
        logs.close()
        db.dispose()


def _poll(db, sql: str, instance_id: str, timeout: float = 120) -> object:
    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.connect() as conn:
            value = conn.execute(text(sql), {"i": instance_id}).scalar()
        if value is not None:
            return value
        time.sleep(0.05)  # the drivers' polling is load on the same two cores: keep it light
    raise SystemExit(f"instance {instance_id} did not get there in {timeout}s: {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="instances per variant")
    parser.add_argument("--model", type=Path, default=ROOT / "bench" / "models",
                        help="folder with the BPMN/DMN/form files (bokji vocabulary)")
    parser.add_argument("--in-flight", type=int, default=8, help="applications in progress at once in (c)")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes in (c)")
    args = parser.parse_args()
    os.environ.update(services_env())
    os.environ.setdefault("BOKJI_HANDLER_MODULES", "bench.handlers")

    costs, per_instance = sandbox_costs(args.model, 2000)
    a_rate, a_lat = engine_only(args.model, args.n, roundtrips=False)
    b_rate, b_lat = engine_only(args.model, args.n, roundtrips=True)
    c_rate, c_lat, stats = platform(args.model, args.n, args.in_flight, args.workers)

    print(f"model: {args.model} ({args.n} instances per variant; {os.cpu_count()} cores)")
    print(f"{'variant':<58} {'inst/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate, lat in (
        ("(a) SpiffWorkflow in memory, services inline", a_rate, a_lat),
        ("(b) SpiffWorkflow + state-only JSON at every wait (4d)", b_rate, b_lat),
        (f"(c) platform: API + {args.workers} workers, PG, Redis; {args.in_flight} in flight", c_rate, c_lat),
    ):
        print(f"{name:<58} {rate:8.1f} {1000 * statistics.median(lat):8.1f} {1000 * percentile(lat, 99):8.1f}")
    print(f"c/a = {c_rate / a_rate:.3f}   c/b = {c_rate / b_rate:.3f}   "
          f"c vs SpiffArena ({SPIFFARENA_PER_S}/s) = {c_rate / SPIFFARENA_PER_S:.1f}x")
    print(f"platform: {stats['jobs']} jobs done, {stats['history_rows']} history rows, "
          f"average saved state {stats['state_bytes_avg']} bytes")
    print(f"\n{'sandbox, one warm child, 2000 calls each':<66} {'p50 µs':>8} {'p99 µs':>8}")
    for name, samples in costs:
        print(f"{name:<66} {1e6 * statistics.median(samples):8.0f} {1e6 * percentile(samples, 99):8.0f}")
    floor = statistics.median(costs[0][1])
    calls = per_instance["eval"] + per_instance["exec"] + per_instance["decide"]
    print(f"one instance of the model: {per_instance['eval']} expressions, {per_instance['exec']} scripts, "
          f"{per_instance['decide']} decision tables = {calls} round trips, "
          f"~{1000 * calls * floor:.1f} ms of transport")


if __name__ == "__main__":
    main()
