"""GET /metrics: the figures of every process plus the system's state, read from the database at scrape time.

Two sources (README "Operations: metrics and logs"):
- **from the processes** (bokji/metrics.py, prometheus_client's multiprocess mode): HTTP latency, engine
  step latency, job attempts, durations, failures and retries — counted where they happen, in the API,
  the workers and the scheduler, and added up here from PROMETHEUS_MULTIPROC_DIR;
- **from the database** (this module, one short read-only transaction per scrape): job queue depth and
  oldest age, open incidents, open human tasks per queue, SLA breaches and warnings, open breached clocks.
  They are the state of the system, the same whichever process is asked, so they are never counted in
  a process (which would lose them at a restart and count them twice across processes).
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bokji import clock
from bokji import metrics as _process_metrics  # noqa: F401 - defines the process metrics before a scrape
from bokji.db import get_engine

log = logging.getLogger("bokji.metrics")

# Every query below reads an index and only the rows that are not finished: unfinished jobs (a small share
# of the table) through ix_job_status_next_run_at; open element incidents through ix_incident_status_created_at;
# open tasks through the queues' partial indexes on open tasks (ix_human_task_open_office_* and
# ix_human_task_open_team_id_*, index-only counts); clock events through ix_clock_event_kind_at; open clocks
# past their deadline through the partial ix_case_clock_open_due_on (only the overdue ones are read).
JOBS = text("""
    SELECT status, topic, count(*) AS depth,
           min(CASE status WHEN 'queued' THEN next_run_at WHEN 'incident' THEN finished_at ELSE created_at END)
             FILTER (WHERE status <> 'queued' OR next_run_at <= :now) AS since
    FROM job WHERE status IN ('queued', 'running', 'incident') GROUP BY status, topic""")
ELEMENT_INCIDENTS = text("SELECT count(*) FROM incident WHERE status = 'open'")
TASKS_BY_OFFICE = text("SELECT office, count(*) FROM human_task WHERE status = 'open' GROUP BY office")
TASKS_BY_TEAM = text("""
    SELECT t.office, t.name, open.n FROM (
        SELECT team_id, count(*) AS n FROM human_task WHERE status = 'open' AND team_id IS NOT NULL GROUP BY team_id
    ) open JOIN team t ON t.id = open.team_id""")
CLOCK_EVENTS = text("SELECT kind, count(*) FROM clock_event WHERE kind IN ('warn', 'breach') GROUP BY kind")
OPEN_BREACHED = text("SELECT count(*) FROM case_clock WHERE state <> 'stopped' AND due_on < :today "
                     "AND state = 'running'")


class DatabaseFigures(Collector):
    """The gauges (and the breach and warning totals) read from the database when Prometheus scrapes."""

    def collect(self):
        up = GaugeMetricFamily("bokji_metrics_database_up", "1 if the database figures below could be read")
        try:
            families = self._read()
        except SQLAlchemyError as exc:  # the database is away: the process figures are still served
            log.warning("metrics: database figures not read (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list:
        now, today = clock.now(), clock.today()
        depth = GaugeMetricFamily("bokji_job_queue_depth", "Unfinished automated-task jobs, by status and topic",
                                  labels=["status", "topic"])
        age = GaugeMetricFamily("bokji_job_oldest_age_seconds",
                                "Age of the oldest unfinished job by status and topic: queued, since it became due "
                                "(0 when none is due); running, since it was created; incident, since it failed",
                                labels=["status", "topic"])
        incidents = GaugeMetricFamily("bokji_open_incidents", "Open incidents: jobs that failed every attempt and "
                                      "elements whose model code or calculation failed", labels=["source"])
        by_office = GaugeMetricFamily("bokji_open_tasks", "Open human tasks per office (its queue)",
                                      labels=["office"])
        by_team = GaugeMetricFamily("bokji_open_team_tasks", "Open human tasks routed to a team, per team",
                                    labels=["office", "team"])
        breaches = CounterMetricFamily("bokji_sla_breaches", "Legal deadlines breached (clock events of kind "
                                       "breach: one per case and deadline)")
        warnings = CounterMetricFamily("bokji_sla_warnings", "Warnings before a legal deadline (clock events of "
                                       "kind warn)")
        breached = GaugeMetricFamily("bokji_sla_open_breached", "Open cases whose clock runs past its deadline "
                                     "(breached and not yet decided; paused clocks excluded)")
        with get_engine().connect() as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            conn.execute(text("SET LOCAL statement_timeout = 5000"))
            job_incidents = 0
            for row in conn.execute(JOBS, {"now": now}):
                depth.add_metric([row.status, row.topic], row.depth)
                waited = (now - row.since).total_seconds() if row.since is not None else 0.0
                age.add_metric([row.status, row.topic], max(waited, 0.0))
                job_incidents += row.depth if row.status == "incident" else 0
            incidents.add_metric(["job"], job_incidents)
            incidents.add_metric(["element"], conn.execute(ELEMENT_INCIDENTS).scalar_one())
            for office, count in conn.execute(TASKS_BY_OFFICE):
                by_office.add_metric([office], count)
            for office, team, count in conn.execute(TASKS_BY_TEAM):
                by_team.add_metric([office, team], count)
            events = dict(conn.execute(CLOCK_EVENTS).all())
            breaches.add_metric([], events.get("breach", 0))
            warnings.add_metric([], events.get("warn", 0))
            breached.add_metric([], conn.execute(OPEN_BREACHED, {"today": today}).scalar_one())
            conn.rollback()
        return [depth, age, incidents, by_office, by_team, breaches, warnings, breached]


def render() -> tuple[bytes, str]:
    """The scrape's body and content type: every process's figures, then the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:  # one process: its own registry (with the process and platform collectors)
        processes = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseFigures())
    return generate_latest(processes) + generate_latest(database), CONTENT_TYPE_LATEST
