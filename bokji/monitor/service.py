"""The dashboard's tables, read from the summary tables the monitor process keeps (bokji/monitor/refresh.py),
never from the cases themselves. Every table is scoped by the scope policy (`policy.visible` at the aggregate
grade: a manager's offices, a ministry officer's ministry, an administrator everything) and filtered as asked.

Between two refreshes the figures do not change, so a table is kept per (table, filters, scope, as_of): the same
question asked again before the next refresh is answered from memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Float, exists, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from bokji import clock
from bokji.catalog.models import CatalogService
from bokji.db import utcnow
from bokji.definitions.models import Definition
from bokji.errors import Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity.models import User
from bokji.identity.service import Principal
from bokji.monitor.models import (
    MonitorApplication,
    MonitorCase,
    MonitorCaseElement,
    MonitorCaseload,
    MonitorElement,
    MonitorState,
)
from bokji.offices.models import Office
from bokji.privacy import access_log
from bokji.privacy.protection import mask_name
from bokji.registry.models import Person
from bokji.scope import policy
from bokji.scope.policy import Grade, Kind

CASES_LIMIT = 200
COUNT_CAP = 10_000  # a list says "10,000 or more" rather than counting a million rows
TREND_MONTHS = 12
AGE_BUCKETS = ((0, 5, "0-5"), (6, 10, "6-10"), (11, 20, "11-20"), (21, 30, "21-30"), (31, None, ">30"))
QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


class By(StrEnum):
    SERVICE = "service"
    MINISTRY = "ministry"
    OFFICE = "office"
    MONTH = "month"


class SlaState(StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True)
class Filters:
    service: str | None = None
    ministry: str | None = None
    office: str | None = None
    month: str | None = None  # YYYY-MM of the application
    stage: str | None = None
    state: str | None = None
    element: str | None = None
    definition_key: str | None = None
    version: int | None = None
    by: str = By.SERVICE

    def shown(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Table:
    name: str
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    as_of: datetime | None
    filters: dict[str, Any] = field(default_factory=dict)
    total: int | None = None  # the cases list: how many match (rows holds at most CASES_LIMIT), up to COUNT_CAP
    subjects: list[Any] = field(default_factory=list)  # the persons whose (masked) names the rows show

    def age_seconds(self) -> float | None:
        return None if self.as_of is None else round(max(0.0, (utcnow() - self.as_of).total_seconds()), 1)


def check(session: Session, wanted: Filters) -> Filters:
    """Filters naming what exists; else 422 naming the parameter (nothing is read)."""
    if wanted.service is not None and session.get(CatalogService, wanted.service) is None:
        raise Invalid(_("service: there is no service '%(value)s' in the catalog.") % {"value": wanted.service},
                      field="service")
    if wanted.ministry is not None and session.scalar(
            select(CatalogService.code).where(CatalogService.ministry == wanted.ministry).limit(1)) is None:
        raise Invalid(_("ministry: no service of the catalog belongs to '%(value)s'.") % {"value": wanted.ministry},
                      field="ministry")
    if wanted.office is not None and session.get(Office, wanted.office) is None:
        raise Invalid(_("office: there is no office '%(value)s'.") % {"value": wanted.office}, field="office")
    if wanted.definition_key is not None and session.scalar(
            select(Definition.id).where(Definition.key == wanted.definition_key).limit(1)) is None:
        raise Invalid(_("definition_key: no process '%(value)s' is deployed.") % {"value": wanted.definition_key},
                      field="definition_key")
    if wanted.month is not None:
        year, month = wanted.month.split("-")
        if not 1 <= int(month) <= 12 or not 2000 <= int(year) <= 2100:
            raise Invalid(_("month: '%(value)s' is not a month (YYYY-MM).") % {"value": wanted.month}, field="month")
    return wanted


# ---- what a viewer sees ------------------------------------------------------------------------------
def _visible(session: Session, who: Principal, office_column, ministry_column=None) -> ColumnElement[bool]:
    return policy.visible(session, who, Kind.CASE, Grade.AGGREGATE, office_column, ministry_column)


def _scope_key(session: Session, who: Principal) -> tuple:
    return (tuple(sorted(who.roles)), tuple(sorted(policy.offices_of(session, who))), who.ministry)


def _case_filters(session: Session, who: Principal, wanted: Filters) -> list[ColumnElement[bool]]:
    m = MonitorCase
    where = [_visible(session, who, m.office, m.ministry)]
    for column, value in ((m.service_code, wanted.service), (m.ministry, wanted.ministry), (m.office, wanted.office),
                          (m.month, wanted.month), (m.stage, wanted.stage), (m.sla_state, wanted.state),
                          (m.definition_key, wanted.definition_key), (m.definition_version, wanted.version)):
        if value is not None:
            where.append(column == value)
    if wanted.element is not None:
        where.append(exists().where(MonitorCaseElement.instance_id == m.instance_id,
                                    MonitorCaseElement.element_id == wanted.element))
    return where


def as_of(session: Session) -> datetime | None:
    state = session.get(MonitorState, 1)
    return state.as_of if state else None


_memo: OrderedDict[tuple, Table] = OrderedDict()
_memo_lock = threading.Lock()
MEMO_SIZE = 512


def table(session: Session, who: Principal, name: str, wanted: Filters) -> Table:
    """The table `name` as `who` may see it, with the filters."""
    wanted = check(session, wanted)
    stamp = as_of(session)
    key = (name, wanted, _scope_key(session, who), stamp)
    with _memo_lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
    if found is None:
        # Percentiles sort up to a million values: in memory, not on disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        found = TABLES[name](session, who, wanted)
        found.as_of, found.filters = stamp, {**wanted.shown(), **found.filters}
        with _memo_lock:
            _memo[key] = found
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
    if found.subjects:  # the applicants the list names: every answer that shows them is logged
        access_log.record(session, who.username, purpose="monitoring", action=f"monitor_{name}",
                          subject_ids=found.subjects)
    return found


def _columns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "label": _(label)} for key, label in pairs]


def _group(by: str):
    m = MonitorCase
    return {By.SERVICE: m.service_code, By.MINISTRY: m.ministry, By.OFFICE: m.office, By.MONTH: m.month}[By(by)]


def _group_label(by: str) -> str:
    return {By.SERVICE: N_("Service"), By.MINISTRY: N_("Ministry"), By.OFFICE: N_("Office"),
            By.MONTH: N_("Month")}[By(by)]


def _quantiles(column):
    """p50, p90 and p99 of a column in one sort (percentile_cont of an array: linear interpolation)."""
    return func.percentile_cont(postgresql.array([q for _n, q in QUANTILES]), type_=ARRAY(Float)).within_group(column)


def _num(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


# ---- durations -----------------------------------------------------------------------------------------
def durations(session: Session, who: Principal, wanted: Filters) -> Table:
    m = MonitorCase
    group = _group(wanted.by).label("group")
    stats = [func.count().label("cases"), func.count().filter(m.decided).label("decided")]
    metrics = (("gross", m.gross, m.decided), ("net", m.net, m.decided),
               ("payment", m.pay_days, m.pay_days.is_not(None)))
    for metric, column, only in metrics:
        stats.append(func.avg(column).filter(only).label(f"{metric}_mean"))
        stats.append(_quantiles(column).filter(only).label(f"{metric}_q"))
    found = session.execute(select(group, *stats).where(*_case_filters(session, who, wanted))
                            .group_by(group).order_by(group)).mappings().all()
    rows = []
    for row in found:
        row = dict(row)
        for metric, _c, _o in metrics:
            values = row.pop(f"{metric}_q") or [None] * len(QUANTILES)
            row.update({f"{metric}_{name}": value for (name, _q), value in zip(QUANTILES, values, strict=True)})
        rows.append(row)
    columns = [{"key": "group", "label": _(_group_label(wanted.by))}, {"key": "cases", "label": _("Cases")},
               {"key": "decided", "label": _("Decided")}]
    labels = {"gross": N_("gross business days to decision"), "net": N_("net business days to decision"),
              "payment": N_("business days to first payment")}
    for metric in ("gross", "net", "payment"):
        for stat in ("mean", "p50", "p90", "p99"):
            columns.append({"key": f"{metric}_{stat}", "label": f"{stat} · {_(labels[metric])}"})
    out = [{k: (_num(v) if k not in ("group", "cases", "decided") else v) for k, v in row.items()} for row in rows]
    return Table("durations", columns, out, None)


# ---- SLA -------------------------------------------------------------------------------------------------
def sla(session: Session, who: Principal, wanted: Filters) -> Table:
    m = MonitorCase
    group = _group(wanted.by).label("group")
    decided = func.count().filter(m.decided)
    on_time = func.count().filter(m.decided, m.stopped_on <= m.due_on)
    rows = session.execute(select(
        group,
        *(func.count().filter(m.sla_state == s.value).label(s.value) for s in SlaState),
        func.count().filter(m.clock_state != "stopped").label("open"),
        decided.label("decided"), on_time.label("decided_on_time"),
    ).where(*_case_filters(session, who, wanted)).group_by(group).order_by(group)).mappings().all()
    out = []
    for row in rows:
        row = dict(row)
        row["compliance"] = round(row["decided_on_time"] / row["decided"], 4) if row["decided"] else None
        out.append(row)
    return Table("sla", _columns(("group", _group_label(wanted.by)), ("on_time", N_("On time")),
                                 ("at_risk", N_("At risk")), ("breached", N_("Breached")), ("paused", N_("Paused")),
                                 ("closed", N_("Decided on time")), ("open", N_("Open")), ("decided", N_("Decided")),
                                 ("decided_on_time", N_("Decided in time")), ("compliance", N_("Compliance"))),
                 out, None)


# ---- backlog ---------------------------------------------------------------------------------------------
def backlog(session: Session, who: Principal, wanted: Filters) -> Table:
    m = MonitorCase
    buckets = [func.count().filter(m.gross >= low, *([m.gross <= high] if high is not None else [])).label(label)
               for low, high, label in AGE_BUCKETS]
    rows = session.execute(select(m.stage.label("stage"), *buckets, func.count().label("open"))
                           .where(*_case_filters(session, who, wanted), m.clock_state != "stopped")
                           .group_by(m.stage).order_by(m.stage)).mappings().all()
    return Table("backlog", _columns(("stage", N_("Stage")), *((label, label) for _l, _h, label in AGE_BUCKETS),
                                     ("open", N_("Open"))), [dict(r) for r in rows], None)


# ---- caseload --------------------------------------------------------------------------------------------
def caseload(session: Session, who: Principal, wanted: Filters) -> Table:
    c = MonitorCaseload
    where = [_visible(session, who, c.office, c.ministry)]
    if wanted.office is not None:
        where.append(c.office == wanted.office)
    if wanted.ministry is not None:
        where.append(c.ministry == wanted.ministry)
    rows = session.execute(
        select(c.username, func.min(User.display_name).label("display_name"), func.sum(c.open).label("open"),
               func.sum(c.overdue).label("overdue"), func.sum(c.warned).label("warned"),
               func.sum(c.breached).label("breached"))
        .outerjoin(User, User.username == c.username).where(*where)
        .group_by(c.username).order_by(func.sum(c.open).desc(), c.username)).mappings().all()
    return Table("caseload", _columns(("username", N_("Username")), ("display_name", N_("Name")),
                                      ("open", N_("Open tasks")), ("overdue", N_("Overdue")),
                                      ("warned", N_("Warned")), ("breached", N_("Breached"))),
                 [{k: (int(v) if k in ("open", "overdue", "warned", "breached") else v) for k, v in r.items()}
                  for r in rows], None)


# ---- trend -----------------------------------------------------------------------------------------------
def _months(today: date) -> list[str]:
    months, day = [], today.replace(day=1)
    for _i in range(TREND_MONTHS):
        months.append(day.strftime("%Y-%m"))
        day = (day - timedelta(days=1)).replace(day=1)
    return sorted(months)


def trend(session: Session, who: Principal, wanted: Filters) -> Table:
    m = MonitorCase
    months = _months(clock.today())
    where = _case_filters(session, who, wanted)
    applied = dict(session.execute(select(m.month, func.count(func.distinct(m.application_id)))
                                   .where(*where, m.month.in_(months)).group_by(m.month)).all())
    decided_month = func.to_char(m.stopped_on, "YYYY-MM")
    decided = {r.month: r for r in session.execute(select(
        decided_month.label("month"), func.count().label("decided"),
        func.percentile_cont(postgresql.array([0.5, 0.9]), type_=ARRAY(Float)).within_group(m.net).label("q"),
        func.count().filter(m.stopped_on <= m.due_on).label("on_time"),
    ).where(*where, m.decided, decided_month.in_(months)).group_by(decided_month))}
    rows = []
    for month in months:
        d = decided.get(month)
        rows.append({"month": month, "applications": applied.get(month, 0), "decided": d.decided if d else 0,
                     "p50_net": _num(d.q[0]) if d else None, "p90_net": _num(d.q[1]) if d else None,
                     "compliance": round(d.on_time / d.decided, 4) if d and d.decided else None})
    return Table("trend", _columns(("month", N_("Month")), ("applications", N_("Applications")),
                                   ("decided", N_("Decided")), ("p50_net", N_("p50 net business days")),
                                   ("p90_net", N_("p90 net business days")), ("compliance", N_("Compliance"))),
                 rows, None)


def _capped(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP).subquery())) or 0


# ---- the cases list --------------------------------------------------------------------------------------
def forecast_text(breach_in: int | None, state: str) -> str:
    if state in (SlaState.CLOSED, ) or (state == SlaState.BREACHED and breach_in is None):
        return ""
    if breach_in is not None:
        return _("will breach in %(n)s business days") % {"n": breach_in}
    return _("on time")


def cases(session: Session, who: Principal, wanted: Filters) -> Table:
    m = MonitorCase
    where = _case_filters(session, who, wanted)
    total = _capped(session, select(m.instance_id).where(*where))
    found = session.execute(select(m).where(*where).order_by(m.due_on, m.instance_id).limit(CASES_LIMIT)).scalars()
    found = list(found)
    names: dict[Any, str] = {}
    shown_to = [c for c in found if c.applicant_id is not None and policy.grade(
        session, who, Kind.CASE, office=c.office, ministry=c.ministry) >= Grade.MASKED]
    if shown_to:
        ids = sorted({c.applicant_id for c in shown_to}, key=str)
        names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())
    named = {c.instance_id for c in shown_to}
    rows = [{"case": c.business_key or str(c.instance_id), "instance_id": str(c.instance_id),
             "service": c.service_code, "office": c.office, "stage": c.stage, "state": c.sla_state,
             "started_on": c.started_on.isoformat(), "due_on": c.due_on.isoformat(),
             "business_days_left": c.days_left if c.clock_state != "stopped" else None,
             "gross": c.gross, "net": c.net,
             "forecast_on": c.forecast_on.isoformat() if c.forecast_on else None, "breach_in": c.breach_in,
             "forecast": forecast_text(c.breach_in, c.sla_state) if c.clock_state != "stopped" else "",
             "applicant": mask_name(names[c.applicant_id]) if c.instance_id in named and c.applicant_id in names
             else None}
            for c in found]
    return Table("cases", _columns(
        ("case", N_("Case")), ("service", N_("Service")), ("office", N_("Office")), ("stage", N_("Stage")),
        ("state", N_("SLA state")), ("started_on", N_("Applied on")), ("due_on", N_("Due on")),
        ("business_days_left", N_("Business days left")), ("gross", N_("Gross business days")),
        ("net", N_("Net business days")), ("forecast_on", N_("Forecast decision day")),
        ("forecast", N_("Forecast")), ("applicant", N_("Applicant"))), rows, None, total=total,
        subjects=sorted({c.applicant_id for c in shown_to}, key=str))


# ---- applications ----------------------------------------------------------------------------------------
def applications(session: Session, who: Principal, wanted: Filters) -> Table:
    a, m = MonitorApplication, MonitorCase
    where = [exists().where(m.application_id == a.application_id, *_case_filters(session, who, wanted))]
    total = _capped(session, select(a.application_id).where(*where))
    rows = session.execute(select(a).where(*where).order_by(a.started_on.desc(), a.number).limit(CASES_LIMIT))
    out = [{"number": r.number, "application_id": str(r.application_id), "cases": r.cases,
            "decided_cases": r.decided_cases, "started_on": r.started_on.isoformat(), "all_decided": r.all_decided,
            "last_decision_on": r.last_decision_on.isoformat() if r.last_decision_on else None,
            "gross": r.gross, "net": r.net} for r in rows.scalars()]
    return Table("applications", _columns(
        ("number", N_("Application")), ("cases", N_("Cases")), ("decided_cases", N_("Decided")),
        ("started_on", N_("Applied on")), ("all_decided", N_("All decided")),
        ("last_decision_on", N_("Last decision day")), ("gross", N_("Gross business days")),
        ("net", N_("Net business days"))), out, None, total=total)


# ---- the heatmap -----------------------------------------------------------------------------------------
def heatmap(session: Session, who: Principal, wanted: Filters) -> Table:
    e = MonitorElement
    if wanted.definition_key is None:
        raise Invalid(_("definition_key: say which process the heatmap is of."), field="definition_key")
    version = wanted.version
    if version is None:
        version = session.scalar(select(func.max(Definition.version)).where(Definition.key == wanted.definition_key))
    where = [_visible(session, who, e.office, e.ministry), e.definition_key == wanted.definition_key,
             e.definition_version == version]
    if wanted.office is not None:
        where.append(e.office == wanted.office)
    if wanted.ministry is not None:
        where.append(e.ministry == wanted.ministry)
    rows = session.execute(select(e.element_id, func.sum(e.cases).label("count"), func.sum(e.open).label("open"),
                                  func.sum(e.days).label("days"))
                           .where(*where).group_by(e.element_id).order_by(e.element_id)).mappings().all()
    out = [{"element_id": r["element_id"], "count": int(r["count"]), "open": int(r["open"]),
            "mean_days": round(float(r["days"]) / float(r["count"]), 2) if r["count"] else None} for r in rows]
    table = Table("heatmap", _columns(("element_id", N_("Element")), ("count", N_("Cases through it")),
                                      ("open", N_("Open now")), ("mean_days", N_("Mean business days there"))),
                  out, None)
    table.filters = {"definition_key": wanted.definition_key, "version": version}
    return table


TABLES = {"durations": durations, "sla": sla, "backlog": backlog, "caseload": caseload, "trend": trend,
          "cases": cases, "applications": applications, "heatmap": heatmap}
