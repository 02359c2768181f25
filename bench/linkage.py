"""Data-linkage throughput: 1, 2 and 4 workers on a preloaded queue of household investigations.

The agency simulator answers after 50 ms (`--latency-ms`). For each worker count the queue is
preloaded with investigations (the investigation module started directly), the workers start, and
linkage jobs finished in a `--seconds` window are counted. Prints jobs/s, evidence rows/s and the
scaling ratio from 1 to 2 workers (goal ≥ 1.8×), once with one query per job and once with the bulk
interface (one job per data type for the whole household). Uses its own database `bokji_bench`.

    .venv/bin/python bench/linkage.py [--seconds 60] [--latency-ms 50] [--households 400]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database, platform_env, services_env, start_simulator, stop  # noqa: E402

DATA_TYPES = ["earned_income", "business_income", "pension", "property", "vehicles"]


def _rrn(n: int) -> str:
    front = f"{50 + n // 10000 % 50:02d}{1 + n // 28 % 12:02d}{1 + n % 28:02d}"
    return f"{front}-1{n % 1000000:06d}"


def run(workers: int, *, bulk: bool, seconds: float, households: int, env: dict[str, str]) -> tuple[float, float]:
    import redis
    from sqlalchemy import create_engine, text

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # no job ids left over from the previous run
    env = fresh_database(env)
    subprocess.run([sys.executable, "-m", "bokji.cli", "seed-demo"], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)
    # Preload in a child process so this one keeps no connection settings of another database.
    subprocess.run([sys.executable, __file__, "--preload", str(households), *(["--bulk"] if bulk else [])],
                   check=True, cwd=ROOT, env=env)
    procs = [subprocess.Popen([sys.executable, "-m", "bokji.cli", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for _ in range(workers)]
    db = create_engine(env["DATABASE_URL"])
    count = text("SELECT (SELECT count(*) FROM job WHERE topic = 'linkage.collect' AND status = 'done'),"
                 " (SELECT count(*) FROM evidence)")
    try:
        time.sleep(3)  # workers import and connect; the window starts once they are running
        with db.connect() as conn:
            jobs0, ev0 = conn.execute(count).one()
        t0 = time.perf_counter()
        time.sleep(seconds)
        with db.connect() as conn:
            jobs1, ev1 = conn.execute(count).one()
        elapsed = time.perf_counter() - t0
    finally:
        stop(procs)
        db.dispose()
    return (jobs1 - jobs0) / elapsed, (ev1 - ev0) / elapsed


def preload(households: int, bulk: bool) -> None:
    from sqlalchemy import select

    from bokji.db import unit_of_work
    from bokji.identity.models import User
    from bokji.identity.service import Principal
    from bokji.registry import service as registry
    from bokji.steps import service as steps

    with unit_of_work() as session:
        who = Principal.of(session.scalar(select(User).where(User.username == "caseworker")))
    n = 0
    for h in range(households):
        with unit_of_work() as session:
            members = []
            for _ in range(2):
                n += 1
                person, _ = registry.register_person(session, registration_number=_rrn(n), name=f"bench-{n}",
                                                     office=who.office, actor="bench")
                members.append(str(person.id))
            requests = ([{"person_ids": members, "data_type": t} for t in DATA_TYPES] if bulk else
                        [{"person_id": m, "data_type": t} for m in members for t in DATA_TYPES])
            steps.start(session, key="module_investigation", business_key=f"BENCH-{h}", actor=who, data={
                "linkage_requests": requests, "member_ids": members, "application_date": "2025-03-10",
                "region_class": "other", "consents": {}, "linkage_deadline": "P1D"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--households", type=int, default=400)
    parser.add_argument("--preload", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bulk", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.preload is not None:
        preload(args.preload, args.bulk)
        return

    os.environ.update(services_env())
    simulator, sim = start_simulator(args.latency_ms)
    env = platform_env(sim)
    try:
        print(f"simulator latency {args.latency_ms} ms; window {args.seconds:.0f} s per run; "
              f"{os.cpu_count()} cores")
        print(f"{'interface':<10} {'workers':>7} {'jobs/s':>8} {'evidence/s':>11}")
        for bulk in (False, True):
            rates = {}
            for workers in (1, 2, 4):
                jobs, evidence = run(workers, bulk=bulk, seconds=args.seconds, households=args.households, env=env)
                rates[workers] = evidence
                print(f"{'bulk' if bulk else 'single':<10} {workers:>7} {jobs:8.1f} {evidence:11.1f}")
            if rates[1]:
                print(f"{'':<10} scaling 1→2 workers: {rates[2] / rates[1]:.2f}x, 1→4: {rates[4] / rates[1]:.2f}x "
                      f"(evidence rows/s; goal ≥ 1.8x from 1 to 2)")
    finally:
        stop([simulator])


if __name__ == "__main__":
    main()
