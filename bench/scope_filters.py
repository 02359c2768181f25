"""Scope filters at a million rows: an office's task queue and case list, as the API asks for them.

Fills its own database `bokji_bench_scope` with N instances (one open or completed human task each)
spread over 250 offices and five ministries, then times, in the same run:
- the caseworker's queue (`tasks.list_for`: the scope filter `office IN (their offices)`) against the
  baseline of the same query with no scope filter (what the queue cost before scope);
- the case list (`instances.list_instances`) for a caseworker (office filter), a ministry officer
  (ministry filter) and an admin (no filter: everything aggregated);
and prints p50/p95 in ms with the plan's index for each. Figures vary ±30 % on this VM.

    .venv/bin/python bench/scope_filters.py [--rows 1000000] [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFFICES = 250
MINISTRIES = ["MOHW", "MOEL", "MOE", "MOGEF", "MOLIT"]


def fill(session, rows: int) -> None:
    from sqlalchemy import text

    from bench.common import fill_offices_and_definition

    fill_offices_and_definition(session, OFFICES)
    session.execute(text("""
        INSERT INTO process_instance (id, definition_id, definition_key, definition_version, business_key, status,
            stage, office, ministry, started_by, started_at, updated_at, waiting_messages, state)
        SELECT gen_random_uuid(), (SELECT id FROM definition), 'bench', 1, 'B-' || g,
               CASE WHEN g % 3 = 0 THEN 'completed' ELSE 'running' END, 'decision', 'office-' || (1 + g % :offices),
               (ARRAY['MOHW','MOEL','MOE','MOGEF','MOLIT'])[1 + g % 5], 'bench',
               now() - g * interval '1 second', now(), '{}', ''
        FROM generate_series(1, :n) g"""), {"n": rows, "offices": OFFICES})
    session.execute(text("""
        INSERT INTO human_task (id, instance_id, element_id, name, candidate_groups, candidate_users, office, status,
            due_at, created_at)
        SELECT gen_random_uuid(), i.id, 'review', 'review', '{caseworker}', '{}', i.office,
               CASE WHEN i.status = 'running' THEN 'open' ELSE 'completed' END,
               i.started_at + interval '14 days', i.started_at
        FROM process_instance i"""))
    session.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from bench.common import fresh_database, plan, services_env, timed

    os.environ.update(services_env())
    os.environ["DATABASE_URL"] = fresh_database(dict(os.environ), "bokji_bench_scope")["DATABASE_URL"]

    from sqlalchemy import or_, select

    from bokji.db import unit_of_work
    from bokji.identity.service import Principal
    from bokji.instances import service as instances
    from bokji.tasks import service as tasks
    from bokji.tasks.models import HumanTask, TaskStatus

    t0 = time.perf_counter()
    with unit_of_work() as session:
        fill(session, args.rows)
    print(f"filled {args.rows:,} instances and tasks over {OFFICES} offices in {time.perf_counter() - t0:.0f} s")

    caseworker = Principal("cw", "cw", frozenset({"caseworker"}), "office-7", "MOHW")
    officer = Principal("mo", "mo", frozenset({"ministry_officer"}), None, "MOEL")
    admin = Principal("ad", "ad", frozenset({"admin"}), None, None)

    def unscoped_queue(session):
        return (select(HumanTask).where(HumanTask.status == TaskStatus.OPEN)
                .where(or_(HumanTask.candidate_groups.overlap(["caseworker"]), HumanTask.assignee == "cw"))
                .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.created_at).limit(100))

    with unit_of_work() as session:
        cases = [
            ("queue, caseworker (scope filter)", lambda: tasks.list_for(session, caseworker)),
            ("queue, no scope filter (baseline)", lambda: list(session.scalars(unscoped_queue(session)))),
            ("cases, caseworker (office filter)", lambda: instances.list_instances(session, caseworker)),
            ("cases, ministry officer (ministry)", lambda: instances.list_instances(session, officer)),
            ("cases, admin (no filter)", lambda: instances.list_instances(session, admin)),
        ]
        print(f"{'query (100 rows)':38} {'p50 ms':>8} {'p95 ms':>8}")
        for name, fn in cases:
            fn()  # warm the office cache and the plan
            p50, p95 = timed(fn, args.runs)
            print(f"{name:38} {p50:8.2f} {p95:8.2f}")
        from bokji.instances.models import ProcessInstance
        from bokji.scope import policy

        queue = unscoped_queue(session).where(
            policy.visible(session, caseworker, policy.Kind.CASE, policy.Grade.CHANGE, HumanTask.office))
        office_cases = (select(ProcessInstance).where(policy.visible(
            session, caseworker, policy.Kind.CASE, policy.Grade.AGGREGATE, ProcessInstance.office,
            ProcessInstance.ministry)).order_by(ProcessInstance.started_at.desc()).limit(100))
        print("plan, queue with scope:", plan(session, queue))
        print("plan, office's cases:  ", plan(session, office_cases))


if __name__ == "__main__":
    main()
