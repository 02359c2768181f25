"""The refresh of the dashboard's summary tables (bokji/monitor/models.py), run by the monitor process.

One transaction under an advisory lock (two monitors never refresh at once; the one that finds it taken skips):
1. the calendar as a table (`monitor_day`), rewritten when its version or the span needed changes;
2. the cases changed since the last refresh (process_instance / case_clock updated after its watermark less
   `monitor_overlap`), and every open case on a new day or a new calendar: their stage durations, figures,
   elements (subtracted from and added to the heatmap) and applications are recounted — incremental, so a million
   cases cost what changed;
3. the stage p90s per service (decided cases, else the clock's stage targets) and every open case's forecast and
   SLA state (rows written only where they change); the caseload per caseworker;
4. `as_of`: when this refresh began (the platform clock).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bokji import clock
from bokji.calendar import service as calendar
from bokji.calendar.models import Closure
from bokji.config import get_settings
from bokji.db import utcnow
from bokji.monitor.models import MonitorState

log = logging.getLogger("bokji.monitor")
LOCK_KEY = 7_415_001  # pg advisory lock of the refresh
FORECAST_STAGES = ("application", "investigation", "decision")  # the stages up to the decision
DAYS_BEFORE = 366  # the calendar table reaches this far before the earliest case and after today (forecasts)
DAYS_AFTER = 3 * 366


@dataclass
class Refreshed:
    skipped: bool = False  # another monitor was refreshing
    recounted: int = 0  # cases whose figures were recounted
    duration_ms: int = 0


def refresh(session: Session) -> Refreshed:
    """One refresh, in the caller's unit of work (which commits it)."""
    began = time.monotonic()
    if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}):
        return Refreshed(skipped=True)
    session.execute(text("SET LOCAL statement_timeout = 0"))
    settings = get_settings()
    now, today = utcnow(), clock.today()
    state = session.get(MonitorState, 1) or MonitorState(id=1, cases_recounted=0, duration_ms=0)
    session.add(state)
    cal = calendar.load(session)
    new_calendar = _days(session, state, cal, today)
    everything_open = new_calendar or state.today != today
    since = state.watermark - timedelta(seconds=settings.monitor_overlap) if state.watermark else None

    session.execute(text("CREATE TEMP TABLE monitor_changed (instance_id uuid PRIMARY KEY) ON COMMIT DROP"))
    if since is None:
        session.execute(text("INSERT INTO monitor_changed SELECT id FROM process_instance"))
    else:
        session.execute(text("""
            INSERT INTO monitor_changed
            SELECT id FROM process_instance WHERE updated_at > :since
            UNION SELECT instance_id FROM case_clock WHERE updated_at > :since
        """ + ("""
            UNION SELECT instance_id FROM case_clock WHERE state <> 'stopped'
            UNION SELECT id FROM process_instance WHERE status IN ('running', 'suspended')
        """ if everything_open else "")), {"since": since})
    recounted = session.scalar(text("SELECT count(*) FROM monitor_changed")) or 0
    specific = bool(session.scalar(text("SELECT EXISTS (SELECT 1 FROM monitor_day WHERE office <> '*')")))
    params = {"today": today, "specific": specific}
    if recounted:
        session.execute(text("ANALYZE monitor_changed"))
        _stages(session, params)
        _cases(session, params)
        _elements(session, params)
        _applications(session, params)
    _p90(session)
    _forecast(session, params)
    _caseload(session, now)
    state.as_of, state.watermark, state.today = now, now, today
    state.calendar_version = cal.version
    state.cases_recounted = recounted
    state.duration_ms = int((time.monotonic() - began) * 1000)
    session.flush()
    return Refreshed(recounted=recounted, duration_ms=state.duration_ms)


def _days(session: Session, state: MonitorState, cal: calendar.BusinessCalendar, today: date) -> bool:
    """Rewrite monitor_day when the calendar or the span needed changed; True when it was rewritten."""
    earliest = session.scalar(text("SELECT min(started_on) FROM case_clock")) or today
    start, end = min(earliest, today) - timedelta(days=DAYS_BEFORE), today + timedelta(days=DAYS_AFTER)
    if (state.calendar_version == cal.version and state.days_from is not None and state.days_from <= start
            and state.days_to is not None and state.days_to >= end - timedelta(days=366)):
        return False
    start, end = start - timedelta(days=366), end + timedelta(days=366)  # room, so it is rarely rewritten
    offices = sorted(o for o in session.scalars(select(Closure.office).distinct().where(
        Closure.office.is_not(None), Closure.withdrawn_at.is_(None))) if o)
    rows = []
    for office in ["*", *offices]:
        n = 0
        for k in range((end - start).days + 1):
            day = start + timedelta(days=k)
            business = cal.is_business_day(day, None if office == "*" else office)
            n += business
            rows.append({"office": office, "day": day, "n": n, "business": business})
    session.execute(text("DELETE FROM monitor_day"))
    session.execute(text("INSERT INTO monitor_day (office, day, n, business) VALUES (:office, :day, :n, :business)"),
                    rows)
    state.days_from, state.days_to, state.calendar_version = start, end, cal.version
    return True


def _days_of(source: str, office: str, *columns: str, specific: bool) -> tuple[str, dict[str, str]]:
    """Joins that read each date column's business-day ordinal n from monitor_day (hash joins: a million rows
    look their days up in one pass), and the expression of each ordinal: the office's own rows when some office
    has closures of its own, else every office's ('*')."""
    joins, n = [], {}
    for column in columns:
        joins.append(f"LEFT JOIN monitor_day s_{column} ON s_{column}.office = '*' "
                     f"AND s_{column}.day = {source}.{column}")
        n[column] = f"s_{column}.n"
        if specific:
            joins.append(f"LEFT JOIN monitor_day o_{column} ON o_{column}.office = {source}.{office} "
                         f"AND o_{column}.day = {source}.{column}")
            n[column] = f"COALESCE(o_{column}.n, s_{column}.n)"
    return "\n".join(joins), n


def _stages(session: Session, params: dict) -> None:
    session.execute(text("DELETE FROM monitor_case_stage s USING monitor_changed c "
                         "WHERE s.instance_id = c.instance_id"))
    joins, n = _days_of("d", "office", "entered_on", "left_on", specific=params["specific"])
    session.execute(text(f"""
        WITH firsts AS (
            SELECT h.instance_id, h.stage, min(h.started_at) AS first_at
            FROM element_history h JOIN monitor_changed c ON c.instance_id = h.instance_id
            WHERE h.stage IS NOT NULL
            GROUP BY h.instance_id, h.stage
        ), ordered AS (
            SELECT f.*, lead(f.first_at) OVER (PARTITION BY f.instance_id ORDER BY f.first_at) AS next_at FROM firsts f
        ), dated AS (
            SELECT o.instance_id, o.stage, cc.service_code, cc.office, cc.decided,
                   (o.first_at AT TIME ZONE 'Asia/Seoul')::date AS entered_on,
                   COALESCE((o.next_at AT TIME ZONE 'Asia/Seoul')::date,
                            CASE WHEN cc.state = 'stopped' THEN cc.stopped_on END) AS left_on
            FROM ordered o JOIN case_clock cc ON cc.instance_id = o.instance_id
            WHERE o.stage IN ('application', 'investigation', 'decision')
        )
        INSERT INTO monitor_case_stage (instance_id, stage, service_code, decided, entered_on, left_on, days)
        SELECT d.instance_id, d.stage, d.service_code, d.decided, d.entered_on, d.left_on,
               CASE WHEN d.left_on IS NOT NULL THEN GREATEST(0, {n["left_on"]} - {n["entered_on"]}) END
        FROM dated d {joins}
    """), params)


def _cases(session: Session, params: dict) -> None:
    joins, n = _days_of("b", "office", "started_on", "end_on", "paused_since", "first_payment_on", "due_on",
                        "today_on", specific=params["specific"])
    session.execute(text(f"""
        WITH base AS (
            SELECT cc.*, pi.definition_key, pi.definition_version, pi.business_key, pi.stage AS current_stage,
                   a.applicant_id, COALESCE(cc.stopped_on, :today) AS end_on, CAST(:today AS date) AS today_on
            FROM case_clock cc
            JOIN monitor_changed c ON c.instance_id = cc.instance_id
            JOIN process_instance pi ON pi.id = cc.instance_id
            LEFT JOIN application a ON a.id = cc.application_id
        ), counted AS (
            SELECT b.*,
                   GREATEST(0, {n["end_on"]} - {n["started_on"]}) AS gross_days,
                   b.paused_business_days + CASE WHEN b.paused_since IS NOT NULL
                       THEN GREATEST(0, {n["end_on"]} - {n["paused_since"]}) ELSE 0 END AS paused_days,
                   CASE WHEN b.first_payment_on IS NOT NULL
                        THEN GREATEST(0, {n["first_payment_on"]} - {n["started_on"]}) END AS pay_days,
                   {n["due_on"]} - {n["today_on"]} AS days_left
            FROM base b {joins}
        )
        INSERT INTO monitor_case AS m (instance_id, application_id, applicant_id, business_key, definition_key,
            definition_version, service_code, ministry, office, month, stage, stage_since, clock_state, started_on,
            due_on, stopped_on, decided, first_payment_on, warn_before, gross, net, pay_days, days_left, forecast_on,
            breach_in, sla_state)
        SELECT k.instance_id, k.application_id, k.applicant_id, k.business_key, k.definition_key,
               k.definition_version, k.service_code, k.ministry, k.office, to_char(k.started_on, 'YYYY-MM'),
               k.current_stage, COALESCE(s.entered_on, k.started_on),
               k.state, k.started_on, k.due_on, k.stopped_on, k.decided, k.first_payment_on,
               COALESCE((k.rule ->> 'warn_before')::int, 0), k.gross_days, GREATEST(0, k.gross_days - k.paused_days),
               k.pay_days, k.days_left, NULL, NULL,
               CASE WHEN k.state = 'stopped' THEN (CASE WHEN k.stopped_on > k.due_on THEN 'breached' ELSE 'closed' END)
                    WHEN k.state = 'paused' THEN 'paused'
                    WHEN :today > k.due_on THEN 'breached' ELSE 'on_time' END
        FROM counted k
        LEFT JOIN monitor_case_stage s ON s.instance_id = k.instance_id AND s.stage = k.current_stage
        ON CONFLICT (instance_id) DO UPDATE SET
            business_key = excluded.business_key, definition_version = excluded.definition_version,
            office = excluded.office, ministry = excluded.ministry, stage = excluded.stage,
            stage_since = excluded.stage_since, clock_state = excluded.clock_state, due_on = excluded.due_on,
            stopped_on = excluded.stopped_on, decided = excluded.decided, first_payment_on = excluded.first_payment_on,
            warn_before = excluded.warn_before, gross = excluded.gross, net = excluded.net,
            pay_days = excluded.pay_days, days_left = excluded.days_left, sla_state = excluded.sla_state,
            forecast_on = NULL, breach_in = NULL
    """), params)


def _elements(session: Session, params: dict) -> None:
    _element_totals(session, sign=-1)
    session.execute(text("DELETE FROM monitor_case_element e USING monitor_changed c "
                         "WHERE e.instance_id = c.instance_id"))
    joins, n = _days_of("x", "office", "started_on", "ended_on", specific=params["specific"])
    session.execute(text(f"""
        WITH x AS (
            SELECT h.instance_id, h.element_id, pi.definition_key, pi.definition_version, pi.office, pi.ministry,
                   h.outcome = 'open' AS is_open, (h.started_at AT TIME ZONE 'Asia/Seoul')::date AS started_on,
                   COALESCE((h.ended_at AT TIME ZONE 'Asia/Seoul')::date, :today) AS ended_on
            FROM element_history h
            JOIN monitor_changed c ON c.instance_id = h.instance_id
            JOIN process_instance pi ON pi.id = h.instance_id
            WHERE h.parent_task_id IS NULL
        )
        INSERT INTO monitor_case_element (instance_id, element_id, definition_key, definition_version, office,
                                          ministry, open, days)
        SELECT x.instance_id, x.element_id, x.definition_key, x.definition_version, x.office, x.ministry,
               bool_or(x.is_open), sum(GREATEST(0, {n["ended_on"]} - {n["started_on"]}))
        FROM x {joins}
        GROUP BY x.instance_id, x.element_id, x.definition_key, x.definition_version, x.office, x.ministry
    """), params)
    _element_totals(session, sign=1)
    session.execute(text("DELETE FROM monitor_element WHERE cases = 0"))


def _element_totals(session: Session, *, sign: int) -> None:
    """Add (sign 1) or take away (-1) the changed instances' passages to or from the heatmap's totals."""
    session.execute(text("""
        INSERT INTO monitor_element AS t (definition_key, definition_version, element_id, office, ministry, cases,
                                          open, days)
        SELECT e.definition_key, e.definition_version, e.element_id, e.office, e.ministry,
               :sign * count(*), :sign * count(*) FILTER (WHERE e.open), :sign * sum(e.days)
        FROM monitor_case_element e JOIN monitor_changed c ON c.instance_id = e.instance_id
        GROUP BY e.definition_key, e.definition_version, e.element_id, e.office, e.ministry
        ON CONFLICT (definition_key, definition_version, element_id, office, ministry) DO UPDATE SET
            cases = t.cases + excluded.cases, open = t.open + excluded.open, days = t.days + excluded.days
    """), {"sign": sign})


def _applications(session: Session, params: dict) -> None:
    joins, n = _days_of("f", "office", "started_on", "end_on", specific=params["specific"])
    session.execute(text(f"""
        WITH touched AS (
            SELECT DISTINCT m.application_id FROM monitor_case m JOIN monitor_changed c ON c.instance_id = m.instance_id
        ), figures AS (
            SELECT a.id AS application_id, a.number, a.office, a.application_date AS started_on,
                   count(*) AS cases, count(*) FILTER (WHERE m.decided) AS decided_cases,
                   bool_and(m.clock_state = 'stopped') AS all_decided, max(m.stopped_on) AS last_on, max(m.net) AS net,
                   CASE WHEN bool_and(m.clock_state = 'stopped') THEN max(m.stopped_on) ELSE :today END AS end_on
            FROM touched t JOIN application a ON a.id = t.application_id
            JOIN monitor_case m ON m.application_id = a.id
            GROUP BY a.id, a.number, a.office, a.application_date
        )
        INSERT INTO monitor_application AS x (application_id, number, office, started_on, cases, decided_cases,
                                              all_decided, last_decision_on, gross, net)
        SELECT f.application_id, f.number, f.office, f.started_on, f.cases, f.decided_cases, f.all_decided,
               CASE WHEN f.all_decided THEN f.last_on END, GREATEST(0, {n["end_on"]} - {n["started_on"]}), f.net
        FROM figures f {joins}
        ON CONFLICT (application_id) DO UPDATE SET cases = excluded.cases, decided_cases = excluded.decided_cases,
            all_decided = excluded.all_decided, last_decision_on = excluded.last_decision_on, gross = excluded.gross,
            net = excluded.net
    """), params)


def _p90(session: Session) -> None:
    """Per service and stage: the p90 of the decided cases' stage durations, else the clock's stage target."""
    found = {(s, st): (float(p), n) for s, st, p, n in session.execute(text("""
        SELECT service_code, stage, percentile_cont(0.9) WITHIN GROUP (ORDER BY days), count(*)
        FROM monitor_case_stage WHERE decided AND days IS NOT NULL GROUP BY service_code, stage
    """))}
    targets = dict(session.execute(text("""
        SELECT DISTINCT ON (service_code) service_code, rule -> 'stages' FROM case_clock
        ORDER BY service_code, updated_at DESC
    """)).all())
    rows = []
    for service, stages in sorted(targets.items()):
        p90s = []
        for stage in FORECAST_STAGES:
            value, cases = found.get((service, stage), (float((stages or {}).get(stage) or 0), 0))
            p90s.append((stage, value, cases))
        for i, (stage, value, cases) in enumerate(p90s):
            rows.append({"service_code": service, "stage": stage, "p90": value, "cases": cases,
                         "later": sum(v for _s, v, _n in p90s[i + 1:])})
    session.execute(text("DELETE FROM monitor_stage_p90"))
    if rows:
        session.execute(text("INSERT INTO monitor_stage_p90 (service_code, stage, p90, later, cases) "
                             "VALUES (:service_code, :stage, :p90, :later, :cases)"), rows)


def _forecast(session: Session, params: dict) -> None:
    """Every open case: today + what is left of its stage's p90 + the later stages' p90s (rounded up to whole
    business days) is the forecast decision day; after due_on it is at risk ("will breach in N business days", N
    from today to due_on), as it is when due within the clock's warn_before business days."""
    specific = params["specific"]
    joins, n = _days_of("m", "office", "stage_since", "today_on", specific=specific)
    target = "o.today_n + o.remaining"
    forecast_day = ("COALESCE(ft_own.day, ft_all.day)" if specific else "ft_all.day")
    own = (f"LEFT JOIN monitor_day ft_own ON ft_own.office = o.office AND ft_own.business AND ft_own.n = {target}"
           if specific else "")
    session.execute(text(f"""
        WITH m AS (
            SELECT m.*, CAST(:today AS date) AS today_on FROM monitor_case m WHERE m.clock_state <> 'stopped'
        ), open_cases AS (
            SELECT m.instance_id, m.office, m.due_on, m.clock_state, m.days_left, m.warn_before,
                   {n["today_on"]} AS today_n,
                   CEIL(COALESCE(GREATEST(0, p.p90 - ({n["today_on"]} - {n["stage_since"]})) + p.later, 0)
                        - 1e-9)::int AS remaining
            FROM m {joins}
            LEFT JOIN monitor_stage_p90 p ON p.service_code = m.service_code AND p.stage = m.stage
        ), forecast AS (
            SELECT o.instance_id, o.due_on, o.clock_state, o.days_left, o.warn_before,
                   CASE WHEN o.remaining <= 0 THEN CAST(:today AS date) ELSE {forecast_day} END AS forecast_on
            FROM open_cases o
            LEFT JOIN monitor_day ft_all ON ft_all.office = '*' AND ft_all.business AND ft_all.n = {target}
            {own}
        ), judged AS (
            SELECT f.instance_id, f.forecast_on,
                   CASE WHEN :today <= f.due_on AND f.forecast_on > f.due_on THEN f.days_left END AS breach_in,
                   CASE WHEN f.clock_state = 'paused' THEN 'paused'
                        WHEN :today > f.due_on THEN 'breached'
                        WHEN f.forecast_on > f.due_on OR f.days_left <= f.warn_before THEN 'at_risk'
                        ELSE 'on_time' END AS sla_state
            FROM forecast f
        )
        UPDATE monitor_case m SET forecast_on = j.forecast_on, breach_in = j.breach_in, sla_state = j.sla_state
        FROM judged j
        WHERE m.instance_id = j.instance_id AND (m.forecast_on IS DISTINCT FROM j.forecast_on
              OR m.breach_in IS DISTINCT FROM j.breach_in OR m.sla_state IS DISTINCT FROM j.sla_state)
    """), params)


def _caseload(session: Session, now) -> None:
    session.execute(text("DELETE FROM monitor_caseload"))
    session.execute(text("""
        INSERT INTO monitor_caseload (username, office, ministry, open, overdue, warned, breached)
        SELECT t.assignee, t.office, pi.ministry, count(*), count(*) FILTER (WHERE t.due_at < :now),
               count(*) FILTER (WHERE t.sla_flag = 'warned'), count(*) FILTER (WHERE t.sla_flag = 'breached')
        FROM human_task t JOIN process_instance pi ON pi.id = t.instance_id
        WHERE t.status = 'open' AND t.assignee IS NOT NULL
        GROUP BY t.assignee, t.office, pi.ministry
    """), {"now": now})


def ceil_days(value: float) -> int:
    """Whole business days a fractional p90 sum makes (what the forecast counts)."""
    return max(0, math.ceil(value - 1e-9))
