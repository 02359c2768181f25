"""The managers' dashboard's data: GET /monitor/data/<table>?format=json|csv|xlsx&<filters>, from the summary tables
the monitor process keeps (bokji/monitor). Managers see their offices' figures, ministry officers their ministry's
services', administrators everything; the scope policy says so (bokji/scope/policy.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import SessionDep, requires
from bokji.identity.roles import Role
from bokji.identity.service import Principal
from bokji.instances.models import STAGES
from bokji.monitor import export
from bokji.monitor import service as monitor
from bokji.monitor.service import By, Filters, SlaState

router = APIRouter(prefix="/monitor/data", tags=["monitor"])
Viewer = Annotated[Principal, Depends(requires(Role.MANAGER, Role.MINISTRY_OFFICER, Role.ADMIN))]
Stage = StrEnum("Stage", {s.upper(): s for s in STAGES})


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class TableOut(BaseModel):
    name: str
    columns: list[dict[str, str]] = Field(description="key and label of each column, in order")
    rows: list[dict[str, Any]]
    as_of: datetime | None = Field(description="when the summary tables were refreshed (None: not yet)")
    age_seconds: float | None
    filters: dict[str, Any]
    total: int | None = Field(None, description="cases and applications: how many match (rows: at most 200)")


Code = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Key = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM of the application")]


def filters(service: Code = None, ministry: Code = None, office: Code = None, month: Month = None,
            stage: Stage | None = None, state: SlaState | None = None, element: Key = None,
            definition_key: Key = None, version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
            by: By = By.SERVICE) -> Filters:
    return Filters(service=service, ministry=ministry, office=office, month=month,
                   stage=stage.value if stage else None, state=state.value if state else None, element=element,
                   definition_key=definition_key, version=version, by=by.value)


Wanted = Annotated[Filters, Depends(filters)]
FormatQ = Annotated[Format, Query(description="json (default), csv or xlsx (a download)")]


def _answer(session, who: Principal, name: str, wanted: Filters, format: Format) -> Response | TableOut:
    table = monitor.table(session, who, name, wanted)
    if format == Format.JSON:
        return TableOut(name=table.name, columns=table.columns, rows=table.rows, as_of=table.as_of,
                        age_seconds=table.age_seconds(), filters=table.filters, total=table.total)
    stamp = (table.as_of.strftime("%Y%m%d-%H%M%S") if table.as_of else "none")
    body, media = (export.to_csv(table), export.CSV_TYPE) if format == Format.CSV else \
        (export.to_xlsx(table), export.XLSX_TYPE)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.{format.value}"'})


def _route(name: str, summary: str):
    def read(session: SessionDep, who: Viewer, wanted: Wanted, format: FormatQ = Format.JSON) -> Any:
        return _answer(session, who, name, wanted, format)

    read.__name__ = f"monitor_{name}"
    read.__doc__ = summary
    router.add_api_route(f"/{name}", read, methods=["GET"], response_model=TableOut,
                         responses={200: {"content": {export.CSV_TYPE: {}, export.XLSX_TYPE: {}}}})


for _name, _summary in (
    ("durations", "Per group (by=service|ministry|office|month): cases, decided, mean/p50/p90/p99 business days "
                  "application -> decision (gross and net) and -> first scheduled payment."),
    ("sla", "Per group: on time, at risk, breached, paused, decided on time, open, and compliance."),
    ("backlog", "Open cases per stage and age (business days since the application)."),
    ("caseload", "Per caseworker: open tasks, overdue, warned, breached."),
    ("trend", "The last 12 months: applications, decisions, p50/p90 net business days, compliance."),
    ("cases", "The cases (at most 200, by due date) with their SLA state and forecast; names only where the "
              "scope policy grants them (logged, purpose monitoring)."),
    ("applications", "Each application's clock across its cases: the household's turnaround."),
    ("heatmap", "Per element of a process (definition_key, version: the latest unless given): cases that went "
                "through it, open now, mean business days there."),
):
    _route(_name, _summary)
