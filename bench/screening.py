"""Screening latency: one household against the synthetic full-size catalog (292 services, 17 ministries).

Measures `screen()` as the API calls it — the catalog and the year's parameters read from PostgreSQL
(re-read only when they change), every service's own rule (the synthetic catalog cycles through every
rule kind) — and, in the same run, each rule kind alone and the basic livelihood rule as the baseline.
Prints p50/p99 (goal: p99 < 5 ms). Uses its own database `bokji_bench` (PostgreSQL/Redis via scripts/services.sh
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
    from bokji.rules import benefits, parameters
    from bokji.rules.household import parse
    from bokji.screening.service import screen

    with unit_of_work() as session:
        session.add_all(catalog.parse(catalog.generate_synthetic()))
        parameters.load(session)
    household = json.loads(args.household.read_text())
    on = date.fromisoformat(args.on)

    def timed(fn) -> list[float]:
        fn()  # warm: the catalog and parameter snapshots are read once, as in a running API
        out = []
        for _ in range(args.n):
            t0 = time.perf_counter()
            fn()
            out.append(1000 * (time.perf_counter() - t0))
        return out

    def full() -> None:
        with unit_of_work() as session:
            result = screen(session, household, on).to_dict()  # as the API answers it
        assert len(result["results"]) == 292

    params = parameters.from_file(on.year)
    parsed = parse(household)

    def rule(kind: str):
        spec = {"kind": kind, "benefit": "livelihood", "percent": 50}
        return lambda: benefits.assess(parse(household), params, benefits.Case(on=on, rule=spec))

    rows = [(f"rule alone: {kind}", timed(rule(kind))) for kind in sorted(benefits.RULES)]
    rows.insert(0, ("household parse alone", timed(lambda: parse(household))))
    rows.append(("screen() + to_dict(): catalog, parameters from PostgreSQL, 292", timed(full)))
    kinds = {}
    for entry in catalog.generate_synthetic()["services"]:
        kinds[entry["rule"]["kind"]] = kinds.get(entry["rule"]["kind"], 0) + 1
    print(f"household: {args.household.name} ({parsed.size} members); catalog: 292 synthetic services, 17 ministries, "
          f"rule kinds {dict(sorted(kinds.items()))}; n={args.n}")
    print(f"{'variant':<62} {'p50 ms':>8} {'p99 ms':>8}")
    for name, times in rows:
        print(f"{name:<62} {statistics.median(times):8.3f} {percentile(times, 99):8.3f}")
    p99 = percentile(rows[-1][1], 99)
    print(f"goal p99 < 5 ms: {'met' if p99 < 5 else 'NOT met'} ({p99:.2f} ms)")


if __name__ == "__main__":
    main()
