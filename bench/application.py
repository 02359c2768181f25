"""One application for several services: what the shared investigation costs and saves.

Households of two apply, through the application service (as `POST /applications` does), either for
one service (livelihood: the baseline, run in the same run) or for three (livelihood, education,
single-parent allowance). The agency simulator answers after 50 ms; two workers and the scheduler
run as processes. Prints, per variant: submit latency (storing the application and starting its cases; the first one
cold, then p50/p99), collect jobs and agency calls per application, and how long until every case of every
application is past its investigation (cases per second). Uses its own database `bokji_bench`.

    .venv/bin/python bench/application.py [--applications 40] [--latency-ms 50] [--workers 2]
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

from bench.common import fresh_database, percentile, platform_env, services_env, start_simulator, stop  # noqa: E402

THREE = ["MOHW-NBLSS-LIVELIHOOD", "MOHW-NBLSS-EDUCATION", "MOGEF-SINGLE-PARENT"]
ONE = ["MOHW-NBLSS-LIVELIHOOD"]


def _rrn(n: int, child: bool) -> str:
    if child:
        return f"12{1 + n // 28 % 12:02d}{1 + n % 28:02d}-3{n % 1000000:06d}"
    return f"{60 + n // 10000 % 30:02d}{1 + n // 28 % 12:02d}{1 + n % 28:02d}-2{n % 1000000:06d}"


def submit(count: int, services: list[str]) -> None:
    """Child process: register the households and submit the applications; prints submit times (ms)."""
    from datetime import date

    from sqlalchemy import select

    from bokji.db import unit_of_work
    from bokji.identity.models import User
    from bokji.identity.service import Principal
    from bokji.registry import service as registry
    from bokji.steps import service as steps

    with unit_of_work() as session:
        who = Principal.of(session.scalar(select(User).where(User.username == "caseworker")))
    times = []
    for n in range(count):
        with unit_of_work() as session:
            parent, _ = registry.register_person(session, registration_number=_rrn(n, False), name=f"p{n}",
                                                 office=who.office, actor="bench")
            child, _ = registry.register_person(session, registration_number=_rrn(n, True), name=f"c{n}",
                                                office=who.office, actor="bench")
            registry.create_household(session, members=[{"person_id": str(parent.id), "role": "head"},
                                                        {"person_id": str(child.id), "role": "member",
                                                         "relation": "child"}],
                                      address="bench", region_class="other", office=who.office,
                                      valid_from=date(2024, 1, 1), actor="bench")
        t0 = time.perf_counter()
        with unit_of_work() as session:
            steps.apply(session, {
                "applicant_id": str(parent.id), "application_date": "2025-03-10", "services": services,
                "consents": {"deposits": f"CONSENT-{n}"},
                "details": {"school_levels": {str(child.id): "middle"}}}, actor=who)
        times.append((time.perf_counter() - t0) * 1000)
    print(" ".join(f"{t:.3f}" for t in times))


def run(services: list[str], *, count: int, workers: int, env: dict[str, str], sim: str) -> dict[str, float]:
    import httpx
    import redis
    from sqlalchemy import create_engine, text

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    env = fresh_database(env)
    subprocess.run([sys.executable, "-m", "bokji.cli", "seed-demo"], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([sys.executable, __file__, "--submit", str(count), *services], check=True, cwd=ROOT,
                         env=env, stdout=subprocess.PIPE, text=True).stdout
    cold, *submit_ms = [float(x) for x in out.split()]  # the first parses and caches the specs
    calls0 = sum(httpx.get(f"{sim}/admin/calls").json().values())
    db = create_engine(env["DATABASE_URL"])
    past = text("SELECT count(*) FROM process_instance WHERE stage IN ('decision', 'payment', 'review') "
                "OR status <> 'running'")
    cases = count * len(services)
    procs = [subprocess.Popen([sys.executable, "-m", "bokji.cli", *cmd], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
             for cmd in [["worker"]] * workers + [["scheduler"]]]
    t0 = time.perf_counter()
    try:
        while True:
            with db.connect() as conn:
                done = conn.execute(past).scalar()
            if done >= cases:
                break
            if time.perf_counter() - t0 > 1800:
                raise SystemExit(f"only {done} of {cases} cases past investigation after 30 min")
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
        with db.connect() as conn:
            jobs = conn.execute(text("SELECT count(*) FROM job WHERE topic = 'linkage.collect'")).scalar()
            evidence = conn.execute(text("SELECT count(*) FROM evidence")).scalar()
    finally:
        stop(procs)
        db.dispose()
    calls = sum(httpx.get(f"{sim}/admin/calls").json().values()) - calls0
    return {"submit_cold": cold, "submit_p50": percentile(submit_ms, 50), "submit_p99": percentile(submit_ms, 99),
            "jobs": jobs / count, "calls": calls / count, "evidence": evidence / count, "seconds": elapsed,
            "cases_per_s": cases / elapsed, "apps_per_s": count / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--submit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("services", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.submit is not None:
        submit(args.submit, args.services)
        return

    os.environ.update(services_env())
    simulator, sim = start_simulator(args.latency_ms)
    env = platform_env(sim, BOKJI_SCHEDULER_POLL="0.2")
    try:
        print(f"{args.applications} applications per variant, households of 2, simulator latency "
              f"{args.latency_ms} ms, {args.workers} workers, {os.cpu_count()} cores")
        print(f"{'variant':<26} {'submit cold, p50/p99 ms':>24} {'jobs/app':>9} {'calls/app':>10} {'evid/app':>9} "
              f"{'cases/s':>8} {'apps/s':>7}")
        results = {}
        for label, services in (("1 service (baseline)", ONE), ("3 services, shared", THREE)):
            r = results[label] = run(services, count=args.applications, workers=args.workers, env=env, sim=sim)
            print(f"{label:<26} {r['submit_cold']:>7.0f}, {r['submit_p50']:>6.1f} /{r['submit_p99']:>6.1f} "
                  f"{r['jobs']:>9.1f} "
                  f"{r['calls']:>10.1f} {r['evidence']:>9.1f} {r['cases_per_s']:>8.2f} {r['apps_per_s']:>7.2f}")
        one, three = results["1 service (baseline)"], results["3 services, shared"]
        print(f"three services cost {three['seconds'] / one['seconds']:.2f}x the time of one and "
              f"{three['calls'] / one['calls']:.2f}x the agency calls (without sharing: "
              f"{three['jobs'] / one['jobs']:.2f}x, one call per collect job)")
    finally:
        stop([simulator])


if __name__ == "__main__":
    main()
