"""The work queues at a million open tasks (issue 14): a caseworker's and a supervisor's queues, as queries
and as HTTP pages.

Fills its own database `bokji_bench_inbox` with INSERT … SELECT: 250 offices, 35,000 caseworkers (140 an
office) in four teams an office, and N open review tasks (default 1,000,000: 4,000 an office, 1,000 a team)
each with its instance, application, application case, applicant and household; 60 % are claimed by a
caseworker of the office (about 17 each), due dates spread over ±30 days (about half overdue). Then times, in one run:
- the queue service (`bokji.queues.service.page`: a page of 50 plus the tab counts plus its access-log row)
  for a caseworker's own queue, their team's, a supervisor's office queue, each sorted by due date, and the
  office queue filtered by an applicant's exact name and by overdue; a deep keyset page (page 20);
- the baseline in the same run: the queue as it was read before (`tasks.list_for`: candidate groups by a GIN
  array overlap within the office, sorted by due date, 100 rows, no counts);
- the same views as HTTP pages (`GET /queue?...`, the HTML page) and as the JSON API (`GET /queues/...`)
  against the API running as its own process;
and prints p50/p99 in ms with the indexes each plan uses. Goal (issue 14): p99 < 50 ms for the queries,
< 100 ms for the pages. Figures vary ±30 % on this VM.

    .venv/bin/python bench/inbox.py [--tasks 1000000] [--runs 200]
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
CASEWORKERS = 35_000
TEAMS_PER_OFFICE = 4
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "하은", "주원", "지민", "영수", "순자", "정숙", "영호"]


def fill(session, tasks: int) -> None:
    from sqlalchemy import text

    from bench.common import fill_offices_and_definition
    from bokji.identity.passwords import hash_password

    run = session.execute
    fill_offices_and_definition(session, OFFICES)
    run(text("SET LOCAL synchronous_commit = off"))
    run(text("SET LOCAL maintenance_work_mem = '512MB'"))
    # Secondary indexes are built once after the fill (much faster than kept up row by row); the ones
    # behind constraints (primary keys, unique, foreign-key targets) stay.
    indexes = run(text("""SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
                          AND tablename IN ('human_task', 'person', 'household', 'process_instance', 'application',
                                            'application_case')
                          AND indexname NOT IN (SELECT conname FROM pg_constraint)""")).all()
    for name, _ in indexes:
        run(text(f'DROP INDEX "{name}"'))
    # Every caseworker gets the same (real) password hash: the page timings sign two of them in.
    run(text("""INSERT INTO app_user (id, username, display_name, password_hash, roles, office, ministry, grants,
                                      active, created_at, token_generation, locale)
                SELECT gen_random_uuid(), 'cw-' || g, '담당자 ' || g, :hash,
                       CASE WHEN g <= :offices THEN '{supervisor,caseworker}'::varchar[] ELSE '{caseworker}' END,
                       'office-' || (1 + g % :offices), 'MOHW', '{}', true, now(), 0, 'ko'
                FROM generate_series(1, :n) g"""),
        {"n": CASEWORKERS, "offices": OFFICES, "hash": hash_password("bench-password")})
    run(text("""INSERT INTO team (id, office, name, services, created_at)
                SELECT gen_random_uuid(), 'office-' || o, '팀 ' || t, '{}', now()
                FROM generate_series(1, :offices) o, generate_series(1, :teams) t"""),
        {"offices": OFFICES, "teams": TEAMS_PER_OFFICE})
    run(text("""INSERT INTO team_member (team_id, username, lead)
                SELECT t.id, u.username, u.username = 'cw-' || substr(u.office, 8)
                FROM app_user u JOIN LATERAL (
                    SELECT id FROM team WHERE team.office = u.office
                    ORDER BY name OFFSET (substr(u.username, 4)::int / :offices) % :teams LIMIT 1) t ON true"""),
        {"offices": OFFICES, "teams": TEAMS_PER_OFFICE})
    # One row per task: its office, applicant, instance and application, made once and joined below.
    run(text("""CREATE TEMP TABLE seed ON COMMIT DROP AS
                SELECT g, 'office-' || (1 + g % CAST(:offices AS int)) AS office, gen_random_uuid() AS person_id,
                       gen_random_uuid() AS household_id, gen_random_uuid() AS instance_id,
                       gen_random_uuid() AS application_id,
                       substr(CAST(:surnames AS text), 1 + g % length(CAST(:surnames AS text)), 1)
                       || (CAST(:given AS text[]))[1 + (g / 7) % cardinality(CAST(:given AS text[]))]
                       || (g % 97) AS name
                FROM generate_series(1, CAST(:n AS int)) g"""),
        {"n": tasks, "offices": OFFICES, "surnames": SURNAMES, "given": GIVEN})
    run(text("""INSERT INTO person (id, rrn_ciphertext, rrn_hash, rrn_masked, name, birth_date, sex, foreigner, office,
                                    recorded_at, recorded_by)
                SELECT person_id, '\\x00'::bytea, md5(g::text) || md5((g + 1)::text), '500101-1******', name,
                       date '1950-01-01' + (g % 20000), 'M', false, office, now(), 'bench' FROM seed"""))
    run(text("INSERT INTO household (id, office, recorded_at, recorded_by) "
             "SELECT household_id, office, now(), 'bench' FROM seed"))
    run(text("""INSERT INTO process_instance (id, definition_id, definition_key, definition_version, business_key,
                    status, stage, office, ministry, started_by, started_at, updated_at, waiting_messages, state)
                SELECT instance_id, (SELECT id FROM definition), 'bench', 1, 'A20250101-' || lpad(to_hex(g), 8, '0'),
                       'running', 'decision', office, 'MOHW', 'bench', now() - g * interval '1 second', now(), '{}', ''
                FROM seed"""))
    run(text("""INSERT INTO application (id, number, applicant_id, household_id, member_ids, region_class,
                    application_date, consents, details, office, created_by, created_at)
                SELECT application_id, 'A20250101-' || upper(lpad(to_hex(g), 8, '0')), person_id, household_id,
                       ARRAY[person_id], 'seoul', date '2025-01-01', '{}', '{}', office, 'bench', now() FROM seed"""))
    run(text("""INSERT INTO application_case (application_id, service_code, instance_id)
                SELECT application_id, 'MOHW-NBLSS-LIVELIHOOD', instance_id FROM seed"""))
    run(text("""INSERT INTO human_task (id, instance_id, element_id, name, candidate_groups, candidate_users, assignee,
                    stage, office, status, due_at, created_at, claimed_at, service_code, application_number,
                    applicant_id, team_id)
                SELECT gen_random_uuid(), s.instance_id, 'review', '보장 결정', '{caseworker,supervisor}', '{}',
                       CASE WHEN (s.g / :offices) % 10 < 6
                            THEN 'cw-' || (s.g % :offices + :offices * (1 + (s.g / 7) % 139)) END,
                       'decision', s.office, 'open', now() + ((s.g % 61) - 30) * interval '1 day',
                       now() - (s.g % 90) * interval '1 day', NULL, 'MOHW-NBLSS-LIVELIHOOD',
                       'A20250101-' || upper(lpad(to_hex(s.g), 8, '0')), s.person_id,
                       (SELECT id FROM team WHERE team.office = s.office ORDER BY name
                        OFFSET s.g % :teams LIMIT 1)
                FROM seed s"""), {"offices": OFFICES, "teams": TEAMS_PER_OFFICE})
    for _, definition in indexes:
        run(text(definition))
    run(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    from bench.common import fresh_database, plan, services_env, start_service, stop, timed

    os.environ.update(services_env())
    os.environ["DATABASE_URL"] = fresh_database(dict(os.environ), "bokji_bench_inbox")["DATABASE_URL"]

    import httpx
    from sqlalchemy import select, text

    from bokji.db import get_engine, unit_of_work
    from bokji.identity.models import User
    from bokji.identity.service import Principal
    from bokji.queues import service as queues
    from bokji.queues.service import QueueFilter, QueueName
    from bokji.tasks import service as tasks
    from bokji.tasks.models import HumanTask

    t0 = time.perf_counter()
    with unit_of_work() as session:
        fill(session, args.tasks)
    # An index-only count needs the visibility map, as autovacuum leaves it on a table that is mostly read.
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE human_task")
    print(f"filled {args.tasks:,} open tasks (with instances, applications, persons) over {OFFICES} offices, "
          f"{CASEWORKERS:,} caseworkers, {OFFICES * TEAMS_PER_OFFICE:,} teams in {time.perf_counter() - t0:.0f} s")

    # The caseworker measured: one with claimed tasks (office-8); the supervisor of office-8 (cw-7: the first
    # 250 users supervise their office, user g is in office-(1 + g % 250)).
    with unit_of_work() as session:
        worker = session.scalar(select(User).where(User.username == "cw-257"))
        boss = session.scalar(select(User).where(User.username == "cw-7"))
        caseworker, supervisor = Principal.of(worker), Principal.of(boss)
        someone = session.scalar(select(text("p.name")).select_from(text("person p")).where(
            text("p.office = :o")).params(o=caseworker.office).limit(1))
        mine = session.scalar(select(text("count(*)")).select_from(text("human_task")).where(
            text("assignee = :u")).params(u=caseworker.username))
    print(f"caseworker {caseworker.username} ({caseworker.office}): {mine} claimed tasks; name searched: {someone}")

    views = [
        ("caseworker: my tasks", caseworker, QueueName.MINE, QueueFilter()),
        ("caseworker: my team", caseworker, QueueName.TEAM, QueueFilter()),
        ("supervisor: office", supervisor, QueueName.OFFICE, QueueFilter()),
        ("supervisor: office, overdue", supervisor, QueueName.OFFICE, QueueFilter(due="overdue")),
        ("supervisor: office, by name", supervisor, QueueName.OFFICE, QueueFilter(name=someone)),
        ("caseworker: team, by age", caseworker, QueueName.TEAM, QueueFilter(sort="age")),
    ]
    print(f"\n{'query (page of 50 + tab counts + log row)':46} {'p50 ms':>8} {'p99 ms':>8}  index")
    with unit_of_work() as session:
        for name, who, queue, wanted in views:
            def one(who=who, queue=queue, wanted=wanted):
                queues.page(session, who, queue, wanted)
                session.rollback()  # the access-log row is written, not kept: the table stays as it was
            one()
            p50, p99 = timed(one, args.runs, (50, 99))
            order = HumanTask.due_key if wanted.sort == "due" else HumanTask.created_at
            shown = plan(session, queues._filtered(session, who, queue, wanted)
                         .order_by(order, HumanTask.id).limit(51))
            print(f"{name:46} {p50:8.2f} {p99:8.2f}  {shown}")
        # A deep page: the 20th, by its keyset cursor.
        cursor = None
        for _ in range(19):
            cursor = queues.page(session, supervisor, QueueName.OFFICE, QueueFilter(), after=cursor).next_cursor
        session.rollback()

        def deep():
            queues.page(session, supervisor, QueueName.OFFICE, QueueFilter(), after=cursor)
            session.rollback()
        p50, p99 = timed(deep, args.runs, (50, 99))
        print(f"{'supervisor: office, page 20 (keyset)':46} {p50:8.2f} {p99:8.2f}")

        def before():
            tasks.list_for(session, caseworker)
            session.rollback()
        before()
        p50, p99 = timed(before, args.runs, (50, 99))
        print(f"{'baseline: the queue before (list_for, 100)':46} {p50:8.2f} {p99:8.2f}  (GIN overlap in office)")

    api, base = start_service("serve", "/ready", BOKJI_DEPLOY_ON_START="false")
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            tokens = {}
            for who in (caseworker, supervisor):
                r = http.post("/auth/token", data={"username": who.username, "password": "bench-password"})
                r.raise_for_status()
                tokens[who.username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            print(f"\n{'HTTP (API process, keep-alive)':46} {'p50 ms':>8} {'p99 ms':>8}")
            for name, who, queue, wanted in views:
                params = {"queue": queue.value, **wanted.model_dump(mode="json", exclude_none=True)}
                for kind, path, query in (("page", "/queue", params),
                                          ("json", f"/queues/{queue.value}", {k: v for k, v in params.items()
                                                                               if k != "queue"})):
                    def get(path=path, query=query, who=who):
                        r = http.get(path, params=query, headers=tokens[who.username])
                        assert r.status_code == 200, r.text[:300]
                    get()
                    p50, p99 = timed(get, args.runs, (50, 99))
                    print(f"{name + ' (' + kind + ')':46} {p50:8.2f} {p99:8.2f}")
    finally:
        stop([api])


if __name__ == "__main__":
    main()
