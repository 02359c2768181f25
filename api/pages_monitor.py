"""The managers' dashboard pages (/monitor, /monitor/cases, /monitor/heatmap): the figures of bokji/monitor drawn
with ECharts and bpmn-js. The pages read the same tables the data routes (api/routes/monitor.py) answer, in the
same scope; the charts' data go to the page as JSON in a data block its script reads (no inline script)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from api.deps import SessionDep, requires
from api.pages import _office_name, _page
from api.routes.monitor import Wanted
from bokji import words
from bokji.catalog import service as catalog
from bokji.catalog.models import CatalogService
from bokji.definitions import service as definitions
from bokji.definitions.models import Definition
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity.roles import Role
from bokji.identity.service import Principal
from bokji.monitor import service as monitor
from bokji.monitor.service import Filters

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(requires(Role.MANAGER, Role.MINISTRY_OFFICER, Role.ADMIN))]

STATE_LABELS = {"on_time": N_("On time"), "at_risk": N_("At risk"), "breached": N_("Breached"),
                "paused": N_("Paused"), "closed": N_("Closed")}
FILTER_LABELS = {"service": N_("Service"), "ministry": N_("Ministry"), "office": N_("Office"), "month": N_("Month"),
                 "stage": N_("Stage"), "state": N_("SLA state"), "element": N_("Element"),
                 "definition_key": N_("Process"), "version": N_("Version")}
FILTER_KEYS = tuple(FILTER_LABELS)


def _params(wanted: Filters) -> dict[str, str]:
    return {k: str(getattr(wanted, k)) for k in FILTER_KEYS if getattr(wanted, k) is not None}


def _data_href(name: str, fmt: str, params: dict[str, str]) -> str:
    return f"/monitor/data/{name}?" + urlencode({"format": fmt, **params})


def _services(session) -> list[Any]:
    return sorted((e for e in catalog.snapshot(session) if not e.synthetic),
                  key=lambda e: words.in_language(e.name_ko, e.name_en))


def _service_names(session) -> dict[str, str]:
    return {e.code: words.in_language(e.name_ko, e.name_en) for e in _services(session)}


def _freshness(table) -> dict[str, Any]:
    if table.as_of is None:
        return {"text": _("The figures have not been counted yet."), "stale": True}
    from bokji import clock
    local = table.as_of.astimezone(clock.SEOUL)
    age = int(table.age_seconds() or 0)
    return {"text": _("As of %(time)s (%(age)s s ago)") % {"time": local.strftime("%H:%M:%S"), "age": age},
            "stale": age > 120}


def _sum(rows: list[dict], key: str) -> float:
    return sum(r.get(key) or 0 for r in rows)


def _kpis(durations, sla) -> list[dict[str, str]]:
    decided = _sum(durations.rows, "decided")
    mean = (sum((r.get("net_mean") or 0) * (r.get("decided") or 0) for r in durations.rows) / decided
            if decided else None)
    p50 = [r["net_p50"] for r in durations.rows if r.get("net_p50") is not None]
    p90 = [r["net_p90"] for r in durations.rows if r.get("net_p90") is not None]
    decided_sla, on_time = _sum(sla.rows, "decided"), _sum(sla.rows, "decided_on_time")
    days = _("%(n)s business days")

    def d(v):
        return "—" if v is None else days % {"n": f"{v:.1f}"}
    return [
        {"id": "kpi-mean", "label": _("Mean net time to decision"), "value": d(mean)},
        {"id": "kpi-p50", "label": _("Median (p50), slowest service"), "value": d(max(p50) if p50 else None)},
        {"id": "kpi-p90", "label": _("p90, slowest service"), "value": d(max(p90) if p90 else None)},
        {"id": "kpi-compliance", "label": _("Decided within the deadline"),
         "value": f"{on_time / decided_sla * 100:.1f}%" if decided_sla else "—"},
        {"id": "kpi-open", "label": _("Open cases"), "value": _("%(n)s cases") % {"n": int(_sum(sla.rows, "open"))}},
        {"id": "kpi-at-risk", "label": _("At risk"), "value": _("%(n)s cases") % {"n": int(_sum(sla.rows, "at_risk"))}},
        {"id": "kpi-breached", "label": _("Breached"),
         "value": _("%(n)s cases") % {"n": int(_sum(sla.rows, "breached"))}},
    ]


def _block(table, params: dict[str, str], title: str, chart: dict | None = None) -> dict[str, Any]:
    return {"name": table.name, "title": title, "columns": table.columns, "rows": table.rows, "chart": chart,
            "csv": _data_href(table.name, "csv", params), "xlsx": _data_href(table.name, "xlsx", params)}


@router.get("/monitor")
def monitor_view(request: Request, session: SessionDep, who: Viewer, wanted: Wanted) -> HTMLResponse:
    """The dashboard: KPI cards, charts (each with its table and downloads), every chart element a way to the list."""
    params = _params(wanted)
    by = wanted.by
    tables = {n: monitor.table(session, who, n, wanted) for n in ("durations", "sla", "backlog", "caseload", "trend")}
    names = _service_names(session) if by == "service" else {}

    def link(**more: str) -> str:
        return "/monitor/cases?" + urlencode({**params, **more})

    def group_label(g):
        return names.get(g, g)

    durations, sla, backlog, caseload, trend = (tables[n] for n in ("durations", "sla", "backlog", "caseload",
                                                                      "trend"))
    days = _("business days")
    charts = {
        "durations": {"kind": "bars", "unit": days, "categories": [group_label(r["group"]) for r in durations.rows],
                      "links": [link(**{by: r["group"]}) for r in durations.rows],
                      "series": [{"name": _("p50 net"), "data": [r.get("net_p50") for r in durations.rows]},
                                 {"name": _("p90 net"), "data": [r.get("net_p90") for r in durations.rows]}]},
        "sla": {"kind": "stacked", "unit": _("cases"), "categories": [group_label(r["group"]) for r in sla.rows],
                "links": [link(**{by: r["group"]}) for r in sla.rows],
                "series": [{"name": _(STATE_LABELS[s]), "state": s, "data": [r.get(s) or 0 for r in sla.rows]}
                           for s in ("on_time", "at_risk", "breached", "paused")]},
        "trend": {"kind": "lines", "unit": days, "categories": [r["month"] for r in trend.rows],
                  "links": [link(month=r["month"]) for r in trend.rows],
                  "series": [{"name": _("p50 net"), "data": [r.get("p50_net") for r in trend.rows]},
                             {"name": _("p90 net"), "data": [r.get("p90_net") for r in trend.rows]}]},
        "backlog": {"kind": "heat", "unit": _("cases"),
                    "x": [c["label"] for c in backlog.columns if c["key"] not in ("stage", "open")],
                    "xkeys": [c["key"] for c in backlog.columns if c["key"] not in ("stage", "open")],
                    "y": [_(words.STAGES.get(r["stage"], r["stage"])) for r in backlog.rows],
                    "links": [link(stage=r["stage"]) for r in backlog.rows],
                    "data": [[x, y, r.get(k) or 0] for y, r in enumerate(backlog.rows)
                             for x, k in enumerate(c["key"] for c in backlog.columns
                                                   if c["key"] not in ("stage", "open"))]},
        "caseload": {"kind": "hbars", "unit": _("tasks"),
                     "categories": [r.get("display_name") or r["username"] for r in caseload.rows],
                     "links": [],
                     "series": [{"name": _("Open tasks"), "data": [r.get("open") for r in caseload.rows]},
                                {"name": _("Overdue"), "data": [r.get("overdue") for r in caseload.rows]}]},
    }
    blocks = [_block(durations, params, _("Time to decision by group (net business days)"), charts["durations"]),
              _block(sla, params, _("Deadline status by group"), charts["sla"]),
              _block(trend, params, _("Trend of the last 12 months"), charts["trend"]),
              _block(backlog, params, _("Open cases by stage and age (business days)"), charts["backlog"]),
              _block(caseload, params, _("Caseload per caseworker"), charts["caseload"])]
    return _page(request, "monitor.html", who=who, blocks=blocks, kpis=_kpis(durations, sla),
                 fresh=_freshness(durations), by=by, params=params, filters=_shown(params, names),
                 group_names=names, services=[(e.code, words.in_language(e.name_ko, e.name_en))
                                              for e in _services(session)])


def _shown(params: dict[str, str], names: dict[str, str]) -> list[dict[str, str]]:
    """The filters applied, each with the address without it."""
    out = []
    for key, value in params.items():
        rest = {k: v for k, v in params.items() if k != key}
        shown = names.get(value, value) if key == "service" else (
            _(STATE_LABELS[value]) if key == "state" and value in STATE_LABELS else
            _(words.STAGES[value]) if key == "stage" and value in words.STAGES else value)
        out.append({"key": key, "label": _(FILTER_LABELS[key]), "value": shown,
                    "remove": "?" + urlencode(rest) if rest else "?"})
    return out


@router.get("/monitor/cases")
def monitor_cases(request: Request, session: SessionDep, who: Viewer, wanted: Wanted) -> HTMLResponse:
    """The cases behind a figure: the filters shown and removable, the list with its downloads."""
    params = _params(wanted)
    table = monitor.table(session, who, "cases", wanted)
    names = _service_names(session)
    rows = [{**r, "service": names.get(r.get("service"), r.get("service")),
             "case": (r.get("case") or "").split("/")[0] or r.get("instance_id"),
             "office": _office_name(r["office"]) if r.get("office") else r.get("office"),
             "stage": _(words.STAGES[r["stage"]]) if r.get("stage") in words.STAGES else r.get("stage"),
             "state_key": r.get("state"),
             "state": _(STATE_LABELS[r["state"]]) if r.get("state") in STATE_LABELS else r.get("state")}
            for r in table.rows]
    return _page(request, "monitor_cases.html", who=who, table=table, rows=rows, fresh=_freshness(table),
                 filters=_shown(params, names), csv=_data_href("cases", "csv", params),
                 xlsx=_data_href("cases", "xlsx", params))


@router.get("/monitor/heatmap")
def monitor_heatmap(request: Request, session: SessionDep, who: Viewer, wanted: Wanted) -> HTMLResponse:
    """A service's process drawn with bpmn-js, each element coloured by how many cases went through it."""
    choices = _process_choices(session)
    key = wanted.definition_key or (choices[0][0] if choices else None)
    if wanted.definition_key is None and key is not None:
        wanted = Filters(**{**_params_obj(wanted), "definition_key": key})
    table = monitor.table(session, who, "heatmap", wanted)
    diagram = definitions.diagram(session, key, table.filters.get("version"))
    top = max((r.get("count") or 0 for r in table.rows), default=0)
    heat = [{"id": r["element_id"], "count": r.get("count") or 0, "open": r.get("open") or 0,
             "mean_days": r.get("mean_days"), "level": _level(r.get("count") or 0, top)} for r in table.rows]
    params = {"definition_key": key, **({"version": str(table.filters["version"])}
                                        if table.filters.get("version") else {})}
    return _page(request, "monitor_heatmap.html", who=who, diagram=diagram, table=table, heat=heat, key=key,
                 choices=choices, fresh=_freshness(table), csv=_data_href("heatmap", "csv", params),
                 xlsx=_data_href("heatmap", "xlsx", params), top=top,
                 labels={"cases": _("%(n)s cases") % {"n": "{n}"},
                         "days": _("%(n)s business days") % {"n": "{n}"},
                         "open": _("Open now") + ": " + _("%(n)s cases") % {"n": "{n}"}})


def _process_choices(session) -> list[tuple[str, str]]:
    """The services' deployed processes (the nine of the catalog), by name."""
    deployed = select(Definition.key).where(Definition.key == CatalogService.process_key).exists()
    rows = session.execute(select(CatalogService.process_key, CatalogService.name_ko, CatalogService.name_en)
                           .where(CatalogService.synthetic.is_(False), deployed)).all()
    seen: dict[str, str] = {}
    for key, ko, en in rows:
        seen.setdefault(key, words.in_language(ko, en))
    return sorted(seen.items(), key=lambda kv: kv[1])


def _params_obj(wanted: Filters) -> dict[str, Any]:
    return {k: getattr(wanted, k) for k in (*FILTER_KEYS, "by")}


def _level(count: int, top: int) -> int:
    """Five classes heat-1 … heat-5 of the busiest element's count."""
    if top <= 0 or count <= 0:
        return 0
    return min(5, 1 + (count * 5 - 1) // top)
