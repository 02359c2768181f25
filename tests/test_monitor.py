"""The dashboard's data against a hand-computed data set (issue 15 parts 4-5).

Eight cases of two services (basic livelihood L = MOHW-NBLSS-LIVELIHOOD, employment support E =
MOEL-EMPLOYMENT-SUPPORT) in two offices (jongno J, gangnam G), over Chuseok 2025 (Oct 3, 5-9 off: National
Foundation Day, Chuseok, its substitute on the 8th, Hangul Day) and Seollal 2026 (Feb 16-18), with Christmas and New
Year's Day, and the 2026-03-02 substitute for Independence Movement Day. Today is Friday 2026-02-20. The history is
written as rows (process_instance, case_clock, element_history), a fixture of what happened; the figures come from
the real refresh (workers/monitor.py `once`, and the monitor process itself for freshness).

Business days after a up to and including b, counted by hand:
  C1 L J  A1  2025-09-30 → decided 10-15 (due 10-30): Oct 1, 2, 10, 13, 14, 15 = 6; stages application 09-30→10-01 = 1,
          investigation 10-01→10-13 = 3 (Oct 2, 10, 13), decision 10-13→10-15 = 2; first payment 10-20: 9.
  C2 E J  A1  2025-09-30 → decided 10-16 (due 10-14, late): gross 7, 1 paused day → net 6; stages 2, 3, 2.
  C3 L G  A3  2026-02-09, open, investigation since 02-10, due 02-27: gross 6 (Feb 10-13, 19, 20); 5 days in stage.
  C4 L J  A4  2026-02-12, paused since 02-19, investigation since 02-13, due 03-13: gross 3 (13, 19, 20), net 2.
  C5 E G  A5  2026-01-26, open, decision since 02-11, due 02-13: gross 16; breached; 2 days past (19, 20).
  C6 L J  A6  2025-12-22 → decided 2026-01-07 (due 01-30): 10 (Dec 25 and Jan 1 off), 2 paused → net 8; stages 1, 7,
          2; first payment 01-20: 19.
  C7 L J  A7  2026-02-02, open, investigation since 02-03, due 02-23: gross 11; 10 days in stage.
  C8 L G  A8  2025-11-03 → decided 11-18 (due 12-15): 11; stages 1, 8, 2; no payment.
Percentiles are percentile_cont (linear): of n sorted values at q the value at position q·(n-1), interpolated.
  L decided gross [6, 10, 11]: mean 9, p50 10, p90 10 + 0.8·1 = 10.8, p99 10.98;
    net [6, 8, 11]: mean 8.33, p50 8, p90 8 + 0.8·3 = 10.4, p99 8 + 0.98·3 = 10.94;
    to payment [9, 19]: mean 14, p50 14, p90 9 + 0.9·10 = 18, p99 18.9.
  Stage p90s, L: application 1, investigation [3, 7, 8] → 7.8, decision 2; E (C2 only): 2, 3, 2.
Forecast (today + what is left of the stage's p90 + the later stages', rounded up):
  C3: (7.8 - 5) + 2 = 4.8 → 5 → 02-27 = due: on time (5 days left > warn_before 3).
  C7: max(0, 7.8 - 10) + 2 = 2 → 02-24 > due 02-23: at risk, will breach in 1 business day.
  C4: (7.8 - 2) + 2 = 7.8 → 8 → 03-05 (Feb 23-27, Mar 2 off, Mar 3-5): paused.
  C5: max(0, 2 - 4) = 0 → 02-20, already breached.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bokji import clock
from bokji.applications.models import Application
from bokji.calendar import service as calendar
from bokji.calendar.models import Closure
from bokji.clocks.models import CaseClock
from bokji.db import unit_of_work
from bokji.definitions.models import Definition
from bokji.identity import service as identity
from bokji.instances.models import ElementHistory, ProcessInstance
from bokji.monitor.models import MonitorCase, MonitorState
from bokji.privacy.access_log import AccessLog
from bokji.registry.models import Household, Person
from bokji.tasks.models import HumanTask
from tests.conftest import DEMO_PASSWORD, wait_for
from workers.monitor import once

TODAY = date(2026, 2, 20)
L, E = "MOHW-NBLSS-LIVELIHOOD", "MOEL-EMPLOYMENT-SUPPORT"
J, G = "seoul-jongno", "seoul-gangnam"
KEYS = {L: ("nblss_livelihood", "MOHW"), E: ("moel_employment_support", "MOEL")}
STAGE_ELEMENT = {"application": "receive", "investigation": "investigate", "decision": "decide", "payment": "pay"}
RULE = {"limit": 30, "unit": "days", "first_day_counts": False, "roll_forward": True, "verified": False,
        "source": "test", "stages": {"application": 1, "investigation": 10, "decision": 5, "payment": 5},
        "pause_on": [], "warn_before": 3}
D = date.fromisoformat

# case: service, office, application, started, stages (stage, entered), stopped_on, due_on, state, paused days,
# paused_since, first payment, current stage
CASES = {
    "C1": (L, J, "A1", "2025-09-30", [("application", "2025-09-30"), ("investigation", "2025-10-01"),
                                       ("decision", "2025-10-13"), ("payment", "2025-10-15")],
           "2025-10-15", "2025-10-30", "stopped", 0, None, "2025-10-20"),
    "C2": (E, J, "A1", "2025-09-30", [("application", "2025-09-30"), ("investigation", "2025-10-02"),
                                       ("decision", "2025-10-14")],
           "2025-10-16", "2025-10-14", "stopped", 1, None, None),
    "C3": (L, G, "A3", "2026-02-09", [("application", "2026-02-09"), ("investigation", "2026-02-10")],
           None, "2026-02-27", "running", 0, None, None),
    "C4": (L, J, "A4", "2026-02-12", [("application", "2026-02-12"), ("investigation", "2026-02-13")],
           None, "2026-03-13", "paused", 0, "2026-02-19", None),
    "C5": (E, G, "A5", "2026-01-26", [("application", "2026-01-26"), ("investigation", "2026-01-27"),
                                       ("decision", "2026-02-11")], None, "2026-02-13", "running", 0, None, None),
    "C6": (L, J, "A6", "2025-12-22", [("application", "2025-12-22"), ("investigation", "2025-12-23"),
                                       ("decision", "2026-01-05"), ("payment", "2026-01-07")],
           "2026-01-07", "2026-01-30", "stopped", 2, None, "2026-01-20"),
    "C7": (L, J, "A7", "2026-02-02", [("application", "2026-02-02"), ("investigation", "2026-02-03")],
           None, "2026-02-23", "running", 0, None, None),
    "C8": (L, G, "A8", "2025-11-03", [("application", "2025-11-03"), ("investigation", "2025-11-04"),
                                       ("decision", "2025-11-14"), ("payment", "2025-11-18")],
           "2025-11-18", "2025-12-15", "stopped", 0, None, None),
}
NAMES = {"A1": "김민수", "A3": "이서연", "A4": "박지훈", "A5": "최유진", "A6": "정우성", "A7": "강하늘", "A8": "윤아름"}


def at(day: str) -> datetime:
    """10:00 in Seoul on `day`."""
    return datetime.combine(D(day), time(10, 0), tzinfo=clock.SEOUL).astimezone(UTC)


def _move_clock_to(day: date) -> None:
    noon = datetime.combine(day, time(12, 0), tzinfo=clock.SEOUL)
    with unit_of_work() as session:
        clock.move(session, offset_seconds=(noon - datetime.now(UTC)).total_seconds(), actor="test")
    clock.forget()
    assert clock.today() == day


@pytest.fixture
def history(library) -> dict[str, str]:
    """The eight cases as rows; returns case name -> instance id."""
    _move_clock_to(TODAY)
    ids: dict[str, str] = {}
    with unit_of_work() as session:
        definitions = {key: session.scalar(select(Definition).where(Definition.key == key)
                                           .order_by(Definition.version.desc()).limit(1))
                       for key, _m in KEYS.values()}
        applications: dict[str, Application] = {}
        for n, (app_name, person_name) in enumerate(NAMES.items()):
            office = next(c[1] for c in CASES.values() if c[2] == app_name)
            started = next(c[3] for c in CASES.values() if c[2] == app_name)
            person = Person(rrn_ciphertext=b"-", rrn_hash=f"monitor-{n}", rrn_masked="800101-1******",
                            name=person_name, birth_date=date(1980, 1, 1), sex="M", office=office, recorded_by="test")
            household = Household(office=office, recorded_by="test")
            session.add_all([person, household])
            session.flush()
            application = Application(number=f"A{started.replace('-', '')}-{n:08X}", applicant_id=person.id,
                                      household_id=household.id, member_ids=[person.id], region_class="seoul",
                                      application_date=D(started), office=office, created_by="caseworker")
            session.add(application)
            session.flush()
            applications[app_name] = application
        for name, (service, office, app_name, started, stages, stopped, due, state, paused, since, paid) in \
                CASES.items():
            key, ministry = KEYS[service]
            definition = definitions[key]
            application = applications[app_name]
            instance = ProcessInstance(definition_id=definition.id, definition_key=key,
                                       definition_version=definition.version,
                                       business_key=f"{application.number}/{service}",
                                       status="completed" if stopped else "running", stage=stages[-1][0],
                                       office=office, ministry=ministry, started_by="caseworker",
                                       started_at=at(started), state="{}")
            session.add(instance)
            session.flush()
            ids[name] = str(instance.id)
            for i, (stage, entered) in enumerate(stages):
                ended = stages[i + 1][1] if i + 1 < len(stages) else (stopped if stopped else None)
                session.add(ElementHistory(instance_id=instance.id, task_id=str(uuid.uuid4()),
                                           element_id=STAGE_ELEMENT[stage], element_type="userTask", stage=stage,
                                           outcome="completed" if ended else "open", started_at=at(entered),
                                           ended_at=at(ended) if ended else None))
            session.add(CaseClock(instance_id=instance.id, application_id=application.id, service_code=service,
                                  office=office, ministry=ministry, rule=RULE, started_on=D(started), due_on=D(due),
                                  calendar_version="test", state=state, paused_since=D(since) if since else None,
                                  paused_business_days=paused, extended_days=0,
                                  stopped_on=D(stopped) if stopped else None, decided=bool(stopped),
                                  first_payment_on=D(paid) if paid else None))
        session.flush()
        for case, assignee, due, flag in (("C7", "caseworker", "2026-02-19", "warned"),
                                          ("C4", "caseworker", "2026-03-01", None),
                                          ("C3", "caseworker2", "2026-02-27", None)):
            instance = session.get(ProcessInstance, uuid.UUID(ids[case]))
            session.add(HumanTask(id=uuid.uuid4(), instance_id=instance.id, element_id="investigate",
                                  office=instance.office, status="open", assignee=assignee, stage="investigation",
                                  due_at=at(due), sla_flag=flag))
        identity.create_user(session, username="manager.busan", password=DEMO_PASSWORD, roles=["manager"],
                             office="busan-haeundae")
    done = once()
    assert not done.skipped and done.recounted == 8
    return ids


def data(client, login, name: str, user: str = "admin", **params) -> dict:
    r = client.get(f"/monitor/data/{name}", params=params, headers=login(user))
    assert r.status_code == 200, r.text
    return r.json()


def by(rows: list[dict], key: str = "group") -> dict:
    return {r[key]: r for r in rows}


def test_durations_by_service_with_percentiles(client, login, history):
    rows = by(data(client, login, "durations", by="service")["rows"])
    assert set(rows) == {L, E}
    lv = rows[L]
    assert (lv["cases"], lv["decided"]) == (6, 3)
    assert (lv["gross_mean"], lv["gross_p50"], lv["gross_p90"], lv["gross_p99"]) == (9.0, 10.0, 10.8, 10.98)
    assert (lv["net_mean"], lv["net_p50"], lv["net_p90"], lv["net_p99"]) == (8.33, 8.0, 10.4, 10.94)
    assert (lv["payment_mean"], lv["payment_p50"], lv["payment_p90"], lv["payment_p99"]) == (14.0, 14.0, 18.0, 18.9)
    em = rows[E]
    assert (em["cases"], em["decided"], em["gross_p50"], em["net_p90"], em["payment_p50"]) == (2, 1, 7.0, 6.0, None)
    offices = by(data(client, login, "durations", by="office")["rows"])
    assert (offices[J]["cases"], offices[J]["decided"], offices[G]["cases"], offices[G]["decided"]) == (5, 3, 3, 1)
    # J decided: C1 6, C2 7, C6 10 (gross) → p50 7, p90 7 + 0.8·3 = 9.4
    assert (offices[J]["gross_p50"], offices[J]["gross_p90"]) == (7.0, 9.4)
    months = by(data(client, login, "durations", by="month")["rows"])
    assert {m: r["cases"] for m, r in months.items()} == {"2025-09": 2, "2025-11": 1, "2025-12": 1, "2026-01": 1,
                                                          "2026-02": 3}


def test_the_calendar_counts_as_the_clocks_do(history):
    """The figures' business days are the calendar's (bokji/calendar): spot checks against it."""
    with unit_of_work() as session:
        cal = calendar.load(session)
        for name, (_s, office, _a, started, _st, stopped, *_rest) in CASES.items():
            row = session.get(MonitorCase, uuid.UUID(history[name]))
            assert row.gross == max(0, cal.business_days_between(D(started), D(stopped) if stopped else TODAY, office))


def test_sla_and_compliance(client, login, history):
    rows = by(data(client, login, "sla")["rows"])
    assert {k: rows[L][k] for k in ("on_time", "at_risk", "breached", "paused", "closed", "open", "decided",
                                    "compliance")} == {"on_time": 1, "at_risk": 1, "breached": 0, "paused": 1,
                                                       "closed": 3, "open": 3, "decided": 3, "compliance": 1.0}
    assert {k: rows[E][k] for k in ("breached", "open", "decided", "compliance")} == \
        {"breached": 2, "open": 1, "decided": 1, "compliance": 0.0}


def test_forecast_in_the_cases_list(client, login, history):
    listed = data(client, login, "cases")
    assert listed["total"] == 8
    rows = {r["instance_id"]: r for r in listed["rows"]}
    c3, c4, c5, c7 = (rows[history[c]] for c in ("C3", "C4", "C5", "C7"))
    assert (c3["state"], c3["forecast_on"], c3["breach_in"], c3["business_days_left"]) == \
        ("on_time", "2026-02-27", None, 5)
    assert (c7["state"], c7["forecast_on"], c7["breach_in"], c7["business_days_left"]) == \
        ("at_risk", "2026-02-24", 1, 1)
    assert "1" in c7["forecast"] and c7["forecast"] != c3["forecast"]
    assert (c4["state"], c4["forecast_on"], c4["gross"], c4["net"]) == ("paused", "2026-03-05", 3, 2)
    assert (c5["state"], c5["forecast_on"], c5["business_days_left"], c5["gross"]) == ("breached", "2026-02-20", -2, 16)
    at_risk = data(client, login, "cases", state="at_risk")
    assert [r["instance_id"] for r in at_risk["rows"]] == [history["C7"]]
    assert all(r["applicant"] is None for r in listed["rows"])  # an administrator sees no names


def test_an_office_closure_counts_for_that_office_only(client, login, history):
    """A closure of gangnam on Thursday 2026-02-26 (entered later): C3 (gangnam) now needs until 03-03 (Feb 23, 24,
    25, 27, Mar 3): after its due day 02-27, so at risk, breaching in 4 business days (23, 24, 25, 27); C7 (jongno)
    keeps its forecast."""
    with unit_of_work() as session:
        session.add(Closure(day=date(2026, 2, 26), office=G, reason="청사 이전", recorded_by="admin"))
    assert once().recounted >= 4  # a new calendar: every open case is recounted
    rows = {r["instance_id"]: r for r in data(client, login, "cases")["rows"]}
    c3, c7 = rows[history["C3"]], rows[history["C7"]]
    assert (c3["state"], c3["forecast_on"], c3["breach_in"], c3["business_days_left"]) == \
        ("at_risk", "2026-03-03", 4, 4)
    assert (c7["state"], c7["forecast_on"], c7["breach_in"]) == ("at_risk", "2026-02-24", 1)


def test_applications_clock(client, login, history):
    rows = by(data(client, login, "applications")["rows"], "number")
    a1 = next(r for r in rows.values() if r["cases"] == 2)
    assert (a1["all_decided"], a1["last_decision_on"], a1["gross"], a1["net"], a1["decided_cases"]) == \
        (True, "2025-10-16", 7, 6, 2)
    a3 = next(r for r in rows.values() if r["started_on"] == "2026-02-09")
    assert (a3["all_decided"], a3["last_decision_on"], a3["gross"], a3["net"]) == (False, None, 6, 6)


def test_heatmap_backlog_trend_caseload(client, login, history):
    heat = by(data(client, login, "heatmap", definition_key="nblss_livelihood")["rows"], "element_id")
    assert {k: (v["count"], v["open"], v["mean_days"]) for k, v in heat.items()} == {
        "receive": (6, 0, 1.0), "investigate": (6, 3, 5.83), "decide": (3, 0, 2.0), "pay": (3, 0, 0.0)}
    backlog = by(data(client, login, "backlog")["rows"], "stage")
    assert {k: {b: v[b] for b in ("0-5", "6-10", "11-20", "21-30", ">30", "open")} for k, v in backlog.items()} == {
        "investigation": {"0-5": 1, "6-10": 1, "11-20": 1, "21-30": 0, ">30": 0, "open": 3},
        "decision": {"0-5": 0, "6-10": 0, "11-20": 1, "21-30": 0, ">30": 0, "open": 1}}
    trend = by(data(client, login, "trend")["rows"], "month")
    assert len(trend) == 12 and min(trend) == "2025-03" and max(trend) == "2026-02"
    assert (trend["2026-02"]["applications"], trend["2025-09"]["applications"]) == (3, 1)
    assert (trend["2025-10"]["decided"], trend["2025-10"]["p50_net"], trend["2025-10"]["compliance"]) == (2, 6.0, 0.5)
    assert (trend["2026-01"]["decided"], trend["2026-01"]["p90_net"], trend["2026-01"]["compliance"]) == (1, 8.0, 1.0)
    load = by(data(client, login, "caseload")["rows"], "username")
    assert {k: (v["open"], v["overdue"], v["warned"], v["breached"]) for k, v in load.items()} == {
        "caseworker": (2, 1, 1, 0), "caseworker2": (1, 0, 0, 0)}


def test_scope(client, login, history):
    mine = by(data(client, login, "durations", "manager", by="office")["rows"])
    assert set(mine) == {J} and mine[J]["cases"] == 5
    assert data(client, login, "cases", "manager")["total"] == 5
    assert all(r["applicant"] is None for r in data(client, login, "cases", "manager")["rows"])
    assert set(by(data(client, login, "caseload", "manager")["rows"], "username")) == {"caseworker"}
    for name in ("durations", "sla", "cases", "applications", "backlog", "caseload"):
        assert data(client, login, name, "manager.busan")["rows"] == [], name
    assert data(client, login, "heatmap", "manager.busan", definition_key="nblss_livelihood")["rows"] == []
    ministry = data(client, login, "cases", "ministry")
    assert ministry["total"] == 6 and {r["service"] for r in ministry["rows"]} == {L}
    assert all(r["applicant"] and "*" in r["applicant"] for r in ministry["rows"])  # masked names
    with unit_of_work() as session:
        logged = session.scalars(select(AccessLog).where(AccessLog.actor == "ministry")).all()
        assert [(r.purpose, len(r.subject_ids)) for r in logged] == [("monitoring", 6)]
    assert set(by(data(client, login, "sla", "ministry")["rows"])) == {L}
    for user in ("caseworker", "supervisor", "auditor", "designer"):
        assert client.get("/monitor/data/sla", headers=login(user)).status_code == 403


@pytest.mark.parametrize("params, field", [({"month": "2026-13"}, "month"), ({"month": "26-01"}, "month"),
                                           ({"service": "NOPE"}, "service"), ({"office": "atlantis"}, "office"),
                                           ({"state": "late"}, "state"), ({"by": "color"}, "by"),
                                           ({"format": "pdf"}, "format"), ({"stage": "x"}, "stage"),
                                           ({"ministry": "MOX"}, "ministry"), ({"version": 0}, "version")])
def test_bad_filters_are_422_naming_the_parameter(client, login, params, field):
    r = client.get("/monitor/data/durations", params=params, headers=login("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_heatmap_needs_its_process(client, login):
    r = client.get("/monitor/data/heatmap", headers=login("admin"))
    assert r.status_code == 422 and r.json()["field"] == "definition_key"


def test_csv_and_xlsx_hold_the_same_rows(client, login, history):
    table = data(client, login, "durations", by="service")
    labels = [c["label"] for c in table["columns"]]
    expected = [[r[c["key"]] for c in table["columns"]] for r in table["rows"]]
    r = client.get("/monitor/data/durations", params={"format": "csv", "by": "service"}, headers=login("admin"))
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == labels
    assert lines[1:] == [["" if v is None else str(v) for v in row] for row in expected]
    r = client.get("/monitor/data/durations", params={"format": "xlsx", "by": "service"}, headers=login("admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == labels and cells[1:] == expected


def test_the_monitor_process_keeps_the_figures_fresh(client, login, history, spawn):
    """A case decided after the last refresh shows once the monitor process has run again, with a newer as_of."""
    before = data(client, login, "sla")
    assert before["age_seconds"] is not None and before["age_seconds"] < 60
    with unit_of_work() as session:
        row = session.get(CaseClock, uuid.UUID(history["C3"]))
        row.state, row.stopped_on, row.decided, row.updated_at = "stopped", TODAY, True, clock.now()
    spawn("monitor", BOKJI_MONITOR_INTERVAL="0.3")

    def refreshed():
        with unit_of_work() as session:
            state = session.get(MonitorState, 1)
            return state.as_of > datetime.fromisoformat(before["as_of"]) and \
                session.get(MonitorCase, uuid.UUID(history["C3"])).clock_state == "stopped"

    wait_for(refreshed, timeout=30, what="the monitor process's refresh")
    after = data(client, login, "sla")
    assert by(after["rows"])[L]["closed"] == 4 and by(after["rows"])[L]["on_time"] == 0
    assert after["as_of"] > before["as_of"] and after["age_seconds"] < 60


def test_two_refreshes_never_run_at_once(history):
    """The advisory lock: while one refresh holds it, another skips its round."""
    with unit_of_work() as session:
        from bokji.monitor.refresh import refresh

        assert not refresh(session).skipped
        assert once().skipped
    assert not once().skipped


def test_an_unchanged_refresh_recounts_nothing(history):
    with unit_of_work() as session:
        session.execute(MonitorState.__table__.update().values(
            watermark=func.now() + timedelta(days=1)))  # nothing changed after it
    done = once()
    assert done.recounted == 0 and not done.skipped
