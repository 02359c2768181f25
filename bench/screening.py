"""Screening latency: one household against the synthetic full-size catalog (292 services, 17 ministries).

Measures `screen()` as the API calls it — the catalog read from PostgreSQL, recognised income, the
deployed DMN decisions — and, in the same run, the calculation alone as the baseline. Prints p50/p99
(goal: p99 < 20 ms). Uses its own database `bokji_bench` (PostgreSQL/Redis via scripts/services.sh
unless DATABASE_URL/REDIS_URL are set).

    .venv/bin/python bench/screening.py [--n 500] [--household examples/households/single_elderly_seoul.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--household", type=Path, default=ROOT / "examples/households/single_elderly_seoul.json")
    parser.add_argument("--on", default="2025-03-01")
    args = parser.parse_args()

    from bench.common import fresh_database, percentile, services_env

    os.environ.update(services_env())
    os.environ["DATABASE_URL"] = fresh_database(dict(os.environ))["DATABASE_URL"]

    from bokji.catalog import service as catalog
    from bokji.db import unit_of_work
    from bokji.rules.recognised_income import calculate
    from bokji.screening.household import parse_household
    from bokji.screening.service import screen
    from bokji.steps.service import deploy_directory

    with unit_of_work() as session:
        deploy_directory(session, ROOT / "processes" / "bpmn")
        session.add_all(catalog.parse(catalog.generate_synthetic()))
    household = json.loads(args.household.read_text())
    on = date.fromisoformat(args.on)

    def timed(fn) -> list[float]:
        fn()  # warm: parse the deployed decisions once per version, as a running API has
        out = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            fn()
            out.append(1000 * (time.perf_counter() - t0))
        return out

    def full() -> None:
        with unit_of_work() as session:
            result = screen(session, household, on)
        assert len(result.results) == 292

    base = timed(lambda: calculate(parse_household(household).means, on))
    full_ms = timed(full)
    print(f"household: {args.household.name}; catalog: 292 synthetic services, 17 ministries; n={args.n}")
    print(f"{'variant':<52} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'recognised income alone (baseline)':<52} {statistics.median(base):8.3f} {percentile(base, 99):8.3f}")
    print(f"{'screen(): catalog from PostgreSQL + rules + DMN':<52} {statistics.median(full_ms):8.2f} "
          f"{percentile(full_ms, 99):8.2f}")
    print(f"goal p99 < 20 ms: {'met' if percentile(full_ms, 99) < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
