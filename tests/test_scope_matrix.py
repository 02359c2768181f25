"""Every route × every role × same and other office, against tests/scope_matrix.txt.

The table is written from the role rules, so a route whose scope check is missing or too wide (or a
role rule that changed without the table) fails here; a route without a row fails too. Subjects belong
to office seoul-jongno and ministry MOHW; routes that change something get a fresh subject per call.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import select

from api.app import ROUTERS
from bokji.calendar.models import Closure
from bokji.db import unit_of_work
from bokji.identity import service as identity
from bokji.instances.models import Incident
from bokji.notices.models import DecisionNotice
from bokji.registry.models import Membership
from bokji.teams.models import Substitute, Team
from tests.conftest import DEMO_PASSWORD, ROOT, fixture_files
from tests.test_registry import rrn

MATRIX = Path(__file__).with_name("scope_matrix.txt")
ROLES = {  # column -> (roles, same (office, ministry), other (office, ministry))
    "cw": (["caseworker"], ("seoul-jongno", "MOHW"), ("busan-haeundae", "MOHW")),
    "sup": (["supervisor", "caseworker"], ("seoul-jongno", "MOHW"), ("busan-haeundae", "MOHW")),
    "min": (["ministry_officer"], (None, "MOHW"), (None, "MOEL")),
    "mgr": (["manager"], ("seoul-jongno", "MOHW"), ("busan-haeundae", "MOHW")),
    "aud": (["auditor"], (None, "MOHW"), (None, "MOHW")),
    "des": (["designer"], (None, "MOHW"), (None, "MOHW")),
    "adm": (["admin"], (None, None), (None, None)),
    "int": (["integration"], (None, None), (None, None)),
}
GRANTS = ["topic:bank.transfer", "message:documents_received"]
PURPOSE = "consultation"


def read_matrix() -> dict[str, dict[str, tuple[str, str]]]:
    rows: dict[str, dict[str, tuple[str, str]]] = {}
    for line in MATRIX.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        method, path, *cells = line.split()
        assert len(cells) == len(ROLES), f"{method} {path}: {len(cells)} cells for {len(ROLES)} roles"
        rows[f"{method} {path}"] = {role: tuple(cell.split("/")) if "/" in cell else (cell, cell)
                                    for role, cell in zip(ROLES, cells, strict=True)}
    return rows


def test_every_route_has_a_row():
    routes = {f"{m} {r.path}" for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)
              for m in r.methods}
    rows = set(read_matrix())
    assert sorted(routes - rows) == [], "routes without a row in tests/scope_matrix.txt"
    assert sorted(rows - routes) == [], "rows for routes that do not exist"


class World:
    """The subjects, all of office seoul-jongno, made through the API as its caseworker."""

    def __init__(self, client, login) -> None:
        self.client = client
        self.serial = itertools.count()
        with unit_of_work() as session:
            for column, (roles, same, other) in ROLES.items():
                for side, (office, ministry) in (("same", same), ("other", other)):
                    identity.create_user(session, username=f"{column}.{side}", password=DEMO_PASSWORD, roles=roles,
                                         office=office, ministry=ministry)
            for side in ("same", "other"):
                session.execute(identity.User.__table__.update()
                                .where(identity.User.username == f"int.{side}").values(grants=GRANTS))
        self.headers = {f"{c}.{s}": login(f"{c}.{s}") for c in ROLES for s in ("same", "other")}
        self.username = {h["Authorization"]: name for name, h in self.headers.items()}
        with unit_of_work() as session:  # a user whose tokens the admin routes revoke and unlock
            identity.create_user(session, username="someone", password=DEMO_PASSWORD, roles=["caseworker"],
                                 office="seoul-jongno")
        self.cw = self.headers["cw.same"]
        self.shared: dict[str, Any] = {}

    def fresh_sign_in(self, headers: dict) -> dict:
        """Signing out revokes the token: a sign-out is tried with a token of its own."""
        r = self.client.post("/auth/token", data={"username": self.username[headers["Authorization"]],
                                                  "password": DEMO_PASSWORD})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def post(self, url: str, **kwargs) -> dict:
        r = self.client.post(url, headers=self.cw, **kwargs)
        assert r.status_code in (200, 201), f"setting up: POST {url}: {r.status_code} {r.text}"
        return r.json()

    def number(self) -> str:
        n = next(self.serial)
        return rrn(f"70{1 + n // 28:02d}{1 + n % 28:02d}", "1")

    def person(self) -> dict:
        number = self.number()
        return {**self.post("/registry/persons", json={"registration_number": number, "name": "홍길동"}),
                "number": number}

    def household(self, size: int = 1) -> dict:
        people = [self.person()["id"] for _ in range(size)]
        household = self.post("/registry/households", json={
            "members": [{"person_id": people[0], "role": "head"}, *({"person_id": p} for p in people[1:])],
            "address": "서울특별시 종로구 1", "region_class": "seoul", "valid_from": "2024-01-01"})
        return {"id": household["id"], "people": people}

    def instance(self, key: str = "review_and_pay", data: dict | None = None) -> dict:
        business_key = f"M-{next(self.serial)}"
        started = self.post("/instances", json={"key": key, "data": data or {}, "business_key": business_key})
        return {"id": started["id"], "business_key": business_key,
                "task": next((w["id"] for w in started["waiting"] if w["kind"] == "human"), None)}

    def application(self) -> dict:
        household = self.household()
        application = self.post("/applications", json={
            "applicant_id": household["people"][0], "application_date": "2025-03-10",
            "services": ["MOHW-NBLSS-LIVELIHOOD"], "consents": {"deposits": "C-1"}})
        return {"id": application["id"], "person": household["people"][0],
                "instance": application["cases"][0]["instance_id"]}

    def notice(self) -> str:
        application = self.once("application", self.application)
        with unit_of_work() as session:
            notice = DecisionNotice(request_id=str(uuid.uuid4()), instance_id=uuid.UUID(application["instance"]),
                                    service_code="MOHW-NBLSS-LIVELIHOOD", recipient_id=uuid.UUID(application["person"]),
                                    outcome="granted", amount=1, period="2025-03", reasons=[], issued_on=date.today(),
                                    appeal_deadline=date.today(), appeal_basis="-", text_ko="-")
            session.add(notice)
            session.flush()
            return str(notice.id)

    def document(self) -> dict:
        instance = self.once("instance", self.instance)
        document = self.post(f"/instances/{instance['id']}/documents",
                             files={"file": ("slip.pdf", b"%PDF-1.4 slip", "application/pdf")})
        return {"instance": instance["id"], "id": document["id"]}

    def incident(self) -> str:
        instance = self.instance("divide_then_review", {"total": 10, "d": 0})
        with unit_of_work() as session:
            return str(session.scalar(select(Incident.id).where(Incident.instance_id == uuid.UUID(instance["id"]))))

    def external_task(self) -> str:
        instance = self.instance("external_task", {"amount": 1})
        locked = self.client.post("/external-tasks/fetch-and-lock", headers=self.headers["int.same"], json={
            "workerId": "bank", "maxTasks": 100, "topics": [{"topicName": "bank.transfer", "lockDuration": 600000}]})
        return next(t["id"] for t in locked.json() if t["processInstanceId"] == instance["id"])

    def membership(self) -> int:
        household = self.household()
        with unit_of_work() as session:
            return session.scalar(select(Membership.id).where(Membership.household_id == uuid.UUID(household["id"])))

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.shared:
            self.shared[name] = make()
        return self.shared[name]


# route -> (world, caller's headers, fresh) -> (method, url, request kwargs, id a list must (not) show).
# `fresh` is False when the caller's role is refused anyway: a shared subject does.
Request = tuple[str, str, dict[str, Any], str | None]


def _requests() -> dict[str, Callable[[World, dict, bool], Request]]:
    def subject(w: World, fresh: bool, name: str, make: Callable[[], Any]) -> Any:
        return make() if fresh else w.once(name, make)

    purpose = {"purpose": PURPOSE}
    screening = json.loads((ROOT / "examples" / "households" / "single_elderly_seoul.json").read_text())
    form = {"decision": "approve", "comment": "확인 완료 (checked)"}

    def claimed(w: World, h: dict, fresh: bool) -> str:
        task = subject(w, fresh, "instance", w.instance)["task"]
        w.client.post(f"/tasks/{task}/claim", headers=h)
        return task

    def suspended(w: World, fresh: bool) -> str:
        instance = subject(w, fresh, "instance", w.instance)["id"]
        w.client.post(f"/instances/{instance}/suspend", headers=w.headers["adm.same"], json={"reason": "setup"})
        return instance

    def own_filter(w: World, h: dict, fresh: bool) -> str:
        """A saved filter of the caller's role's colleague in the subject's office (its owner may delete it)."""
        role = w.username[h["Authorization"]].split(".")[0]
        owner = w.headers[f"{role}.same"] if role in ("cw", "sup") else w.cw
        return w.post("/queue-filters", json={"name": f"filter {next(w.serial)}"}) if owner is w.cw else \
            w.client.post("/queue-filters", headers=owner, json={"name": f"filter {next(w.serial)}"}).json()

    def a_team(w: World) -> str:
        with unit_of_work() as session:
            team = Team(office="seoul-jongno", name="행렬 시험 팀", services=[])
            session.add(team)
            session.flush()
            return str(team.id)

    def substitution(w: World) -> str:
        with unit_of_work() as session:
            row = Substitute(absent="caseworker", substitute="caseworker2", starts_on=date.today(),
                             ends_on=date.today() + timedelta(days=3), office="seoul-jongno", set_by="setup")
            session.add(row)
            session.flush()
            return str(row.id)

    def a_closure(w: World) -> int:
        with unit_of_work() as session:
            row = Closure(day=date.today() + timedelta(days=next(w.serial)), reason="setup", recorded_by="setup")
            session.add(row)
            session.flush()
            return row.id

    def monitor_data(name: str) -> Callable[[World, dict, bool], Request]:
        params = {"definition_key": "review_and_pay"} if name == "heatmap" else {}
        return lambda w, h, f: ("GET", f"/monitor/data/{name}", {"params": params}, None)

    office_queue = "/queue?queue=office"
    done = 'data-done="1"'
    reassign = {"to": "caseworker", "reason": "업무 분담 (sharing the work)"}
    away = {"absent": "caseworker", "substitute": "caseworker2", "starts_on": str(date.today()),
            "ends_on": str(date.today() + timedelta(days=2))}
    return {
        **{f"GET /monitor/data/{name}": monitor_data(name)
           for name in ("durations", "sla", "backlog", "caseload", "trend", "cases", "applications", "heatmap")},
        "GET /monitor": lambda w, h, f: ("GET", "/monitor", {}, None),
        "GET /monitor/cases": lambda w, h, f: ("GET", "/monitor/cases", {"params": {"state": "on_time"}}, None),
        "GET /monitor/heatmap": lambda w, h, f: (
            "GET", "/monitor/heatmap", {"params": {"definition_key": "review_and_pay"}}, None),
        "GET /calendar": lambda w, h, f: ("GET", "/calendar", {}, None),
        "GET /calendar/deadline": lambda w, h, f: (
            "GET", "/calendar/deadline", {"params": {"start": str(date.today()), "amount": 5}}, None),
        "GET /calendar/closures": lambda w, h, f: ("GET", "/calendar/closures", {}, None),
        "POST /calendar/closures": lambda w, h, f: ("POST", "/calendar/closures", {"json": {
            "day": str(date.today() + timedelta(days=400 + next(w.serial))), "reason": "임시공휴일"}}, None),
        "POST /calendar/closures/{closure_id}/withdraw": lambda w, h, f: (
            "POST", f"/calendar/closures/{a_closure(w)}/withdraw", {"json": {"reason": "착오"}}, None),
        "GET /queues/{queue}": lambda w, h, f: (
            "GET", "/queues/office", {}, w.once("instance", w.instance)["task"]),
        "GET /queue-filters": lambda w, h, f: ("GET", "/queue-filters", {}, None),
        "POST /queue-filters": lambda w, h, f: ("POST", "/queue-filters", {"json": {"name": "기한 경과"}}, None),
        "DELETE /queue-filters/{filter_id}": lambda w, h, f: (
            "DELETE", f"/queue-filters/{own_filter(w, h, f)['id']}", {}, None),
        "POST /tasks/claims": lambda w, h, f: ("POST", "/tasks/claims", {"json": {
            "task_ids": [subject(w, f, "instance", w.instance)["task"]]}}, '"ok":true'),
        "POST /tasks/reassignments": lambda w, h, f: ("POST", "/tasks/reassignments", {"json": {
            "task_ids": [subject(w, f, "instance", w.instance)["task"]], **reassign}}, '"ok":true'),
        "POST /tasks/{task_id}/reassign": lambda w, h, f: (
            "POST", f"/tasks/{subject(w, f, 'instance', w.instance)['task']}/reassign", {"json": reassign}, None),
        "GET /teams": lambda w, h, f: ("GET", "/teams", {}, None),
        "POST /teams": lambda w, h, f: ("POST", "/teams", {"json": {
            "office": "seoul-jongno", "name": f"팀 {next(w.serial)}"}}, None),
        "PUT /teams/{team_id}/members": lambda w, h, f: (
            "PUT", f"/teams/{w.once('team', lambda: a_team(w))}/members", {"json": {"members": [
                {"username": "caseworker", "lead": True}]}}, None),
        "GET /substitutes": lambda w, h, f: ("GET", "/substitutes", {}, None),
        "POST /substitutes": lambda w, h, f: ("POST", "/substitutes", {"json": away}, None),
        "DELETE /substitutes/{substitute_id}": lambda w, h, f: (
            "DELETE", f"/substitutes/{substitution(w)}", {}, None),
        "GET /queue": lambda w, h, f: ("GET", "/queue", {}, None),
        "POST /queue/claim": lambda w, h, f: ("POST", "/queue/claim", {"data": {
            "task_id": subject(w, f, "instance", w.instance)["task"], "next": office_queue}}, done),
        "POST /queue/unclaim": lambda w, h, f: ("POST", "/queue/unclaim", {"data": {
            "task_id": claimed(w, h, f), "next": office_queue}}, done),
        "POST /queue/reassign": lambda w, h, f: ("POST", "/queue/reassign", {"data": {
            "selected": subject(w, f, "instance", w.instance)["task"], "next": office_queue, **reassign}}, done),
        "POST /queue/filters": lambda w, h, f: ("POST", "/queue/filters", {"data": {
            "name": "기한 경과", "next": "/queue?queue=office&due=overdue"}}, None),
        "POST /queue/filters/{filter_id}/delete": lambda w, h, f: (
            "POST", f"/queue/filters/{own_filter(w, h, f)['id']}/delete", {"data": {"next": "/queue"}}, None),
        "GET /team": lambda w, h, f: ("GET", "/team", {}, None),
        "POST /team/substitutes": lambda w, h, f: ("POST", "/team/substitutes", {"data": away}, None),
        "POST /team/substitutes/{substitute_id}/end": lambda w, h, f: (
            "POST", f"/team/substitutes/{substitution(w)}/end", {}, None),
        "GET /auth/me": lambda w, h, f: ("GET", "/auth/me", {}, None),
        "POST /auth/logout": lambda w, h, f: ("POST", "/auth/logout", {"headers": w.fresh_sign_in(h)}, None),
        "POST /logout": lambda w, h, f: ("POST", "/logout", {"headers": w.fresh_sign_in(h)}, None),
        "GET /logout": lambda w, h, f: ("GET", "/logout", {}, None),
        "POST /admin/users/{username}/unlock": lambda w, h, f: ("POST", "/admin/users/someone/unlock",
                                                                {"json": {}}, None),
        "POST /admin/users/{username}/revoke-tokens": lambda w, h, f: (
            "POST", "/admin/users/someone/revoke-tokens", {"json": {}}, None),
        "POST /definitions": lambda w, h, f: ("POST", "/definitions", {"files": fixture_files("review_and_pay.bpmn")},
                                              None),
        "GET /definitions": lambda w, h, f: ("GET", "/definitions", {}, None),
        "GET /definitions/{key}/versions/{version}/files/{name}": lambda w, h, f: (
            "GET", "/definitions/review_and_pay/versions/1/files/review_and_pay.bpmn", {}, None),
        "POST /instances": lambda w, h, f: ("POST", "/instances", {"json": {
            "key": "review_and_pay", "office": "seoul-jongno", "data": {}}}, None),
        "GET /instances": lambda w, h, f: (
            "GET", "/instances", {"params": {"key": "review_and_pay", "limit": 500}},
            w.once("instance", w.instance)["id"]),
        "GET /instances/{instance_id}": lambda w, h, f: (
            "GET", f"/instances/{w.once('instance', w.instance)['id']}", {}, None),
        "GET /instances/{instance_id}/timeline": lambda w, h, f: (
            "GET", f"/instances/{w.once('instance', w.instance)['id']}/timeline", {}, None),
        "POST /instances/{instance_id}/suspend": lambda w, h, f: (
            "POST", f"/instances/{subject(w, f, 'instance', w.instance)['id']}/suspend", {"json": {}}, None),
        "POST /instances/{instance_id}/resume": lambda w, h, f: (
            "POST", f"/instances/{suspended(w, f)}/resume", {"json": {}}, None),
        "POST /instances/{instance_id}/cancel": lambda w, h, f: (
            "POST", f"/instances/{subject(w, f, 'instance', w.instance)['id']}/cancel", {"json": {}}, None),
        "GET /instances/{instance_id}/actions": lambda w, h, f: (
            "GET", f"/instances/{w.once('instance', w.instance)['id']}/actions", {}, None),
        "GET /tasks": lambda w, h, f: ("GET", "/tasks", {}, w.once("instance", w.instance)["task"]),
        "GET /tasks/{task_id}": lambda w, h, f: ("GET", f"/tasks/{w.once('instance', w.instance)['task']}", {}, None),
        "POST /tasks/{task_id}/claim": lambda w, h, f: (
            "POST", f"/tasks/{subject(w, f, 'instance', w.instance)['task']}/claim", {}, None),
        "POST /tasks/{task_id}/unclaim": lambda w, h, f: ("POST", f"/tasks/{claimed(w, h, f)}/unclaim", {}, None),
        "POST /tasks/{task_id}/complete": lambda w, h, f: (
            "POST", f"/tasks/{subject(w, f, 'instance', w.instance)['task']}/complete", {"json": {"data": form}},
            None),
        "GET /tasks/{task_id}/draft": lambda w, h, f: (
            "GET", f"/tasks/{w.once('instance', w.instance)['task']}/draft", {}, None),
        "PUT /tasks/{task_id}/draft": lambda w, h, f: (
            "PUT", f"/tasks/{subject(w, f, 'instance', w.instance)['task']}/draft",
            {"json": {"data": {"comment": "초안"}}}, None),
        "POST /tasks/{task_id}/form/claim": lambda w, h, f: (
            "POST", f"/tasks/{subject(w, f, 'instance', w.instance)['task']}/form/claim",
            {}, None),
        "GET /incidents": lambda w, h, f: ("GET", "/incidents", {}, None),
        "GET /metrics": lambda w, h, f: ("GET", "/metrics", {}, None),
        "POST /incidents/{incident_id}/retry": lambda w, h, f: (
            "POST", f"/incidents/{subject(w, f, 'incident', w.incident)}/retry", {"json": {"reason": "fixed"}}, None),
        "POST /messages": lambda w, h, f: ("POST", "/messages", {"json": {
            "messageName": "documents_received", "payload": {"documents": 1},
            "correlationKey": subject(w, f, "waiting", lambda: w.instance("await_messages"))["business_key"]}}, None),
        "POST /external-tasks/fetch-and-lock": lambda w, h, f: ("POST", "/external-tasks/fetch-and-lock", {"json": {
            "workerId": "bank", "topics": [{"topicName": "bank.transfer"}]}}, None),
        "POST /external-tasks/{task_id}/complete": lambda w, h, f: (
            "POST", f"/external-tasks/{subject(w, f, 'external', w.external_task)}/complete",
            {"json": {"workerId": "bank"}}, None),
        "POST /external-tasks/{task_id}/failure": lambda w, h, f: (
            "POST", f"/external-tasks/{subject(w, f, 'external', w.external_task)}/failure",
            {"json": {"workerId": "bank", "errorMessage": "account closed", "retries": 1}}, None),
        "GET /admin/clock": lambda w, h, f: ("GET", "/admin/clock", {}, None),
        "PUT /admin/clock": lambda w, h, f: ("PUT", "/admin/clock", {"json": {"offset_seconds": 0}}, None),
        "POST /screening": lambda w, h, f: ("POST", "/screening", {"json": {"household": screening}}, None),
        "GET /catalog": lambda w, h, f: ("GET", "/catalog", {}, None),
        "POST /registry/persons": lambda w, h, f: ("POST", "/registry/persons", {"json": {
            "registration_number": w.number(), "name": "김철수"}}, None),
        "POST /registry/persons/find": lambda w, h, f: ("POST", "/registry/persons/find", {"json": {
            "registration_number": w.once("person", w.person)["number"], "purpose": PURPOSE}}, None),
        "GET /registry/persons": lambda w, h, f: ("GET", "/registry/persons", {"params": {
            "name": "홍길동", "birth_date": (p := w.once("person", w.person))["birth_date"], **purpose}}, p["id"]),
        "POST /registry/persons/{person_id}/consents": lambda w, h, f: (
            "POST", f"/registry/persons/{w.once('person', w.person)['id']}/consents", {"json": {
                "data_type": "deposits", "reference": "C-1", "given_on": "2025-03-01"}}, None),
        "GET /registry/persons/{person_id}": lambda w, h, f: (
            "GET", f"/registry/persons/{w.once('person', w.person)['id']}", {"params": purpose}, None),
        "POST /registry/households": lambda w, h, f: ("POST", "/registry/households", {"json": {
            "members": [{"person_id": subject(w, f, "person", w.person)["id"], "role": "head"}],
            "address": "서울특별시 종로구 2", "region_class": "seoul", "valid_from": "2024-01-01"}}, None),
        "GET /registry/households/{household_id}": lambda w, h, f: (
            "GET", f"/registry/households/{w.once('household', w.household)['id']}", {"params": purpose}, None),
        "POST /registry/households/{household_id}/join": lambda w, h, f: (
            "POST", f"/registry/households/{subject(w, f, 'household', w.household)['id']}/join",
            {"json": {"person_id": subject(w, f, "person", w.person)["id"], "valid_from": "2025-01-01"}}, None),
        "POST /registry/households/{household_id}/leave": lambda w, h, f: (
            "POST", f"/registry/households/{(hh := subject(w, f, 'pair', lambda: w.household(2)))['id']}/leave",
            {"json": {"person_id": hh["people"][1], "valid_to": "2025-01-01"}}, None),
        "POST /registry/households/{household_id}/head": lambda w, h, f: (
            "POST", f"/registry/households/{(hh := subject(w, f, 'pair', lambda: w.household(2)))['id']}/head",
            {"json": {"person_id": hh["people"][1], "valid_from": "2025-01-01"}}, None),
        "POST /registry/households/{household_id}/moves": lambda w, h, f: (
            "POST", f"/registry/households/{subject(w, f, 'household', w.household)['id']}/moves",
            {"json": {"address": "서울특별시 종로구 3", "region_class": "seoul", "valid_from": "2025-01-01"}}, None),
        "POST /registry/memberships/{membership_id}/corrections": lambda w, h, f: (
            "POST", f"/registry/memberships/{subject(w, f, 'membership', w.membership)}/corrections",
            {"json": {"reason": "잘못 입력 (recorded wrongly)", "valid_from": "2024-02-01"}}, None),
        "GET /instances/{instance_id}/evidence": lambda w, h, f: (
            "GET", f"/instances/{w.once('application', w.application)['instance']}/evidence", {"params": purpose},
            None),
        "POST /instances/{instance_id}/evidence": lambda w, h, f: (
            "POST", f"/instances/{w.once('application', w.application)['instance']}/evidence", {
                "data": {"person_id": w.once("application", w.application)["person"], "data_type": "earned_income",
                         "period": "2025-02", "value": '{"monthly": 0}'},
                "files": {"file": ("slip.pdf", b"%PDF-1.4 slip", "application/pdf")}}, None),
        "POST /applications": lambda w, h, f: ("POST", "/applications", {"json": {
            "applicant_id": subject(w, f, "household", w.household)["people"][0], "application_date": "2025-03-10",
            "services": ["MOHW-NBLSS-LIVELIHOOD"], "consents": {"deposits": "C-1"}}}, None),
        "GET /applications": lambda w, h, f: ("GET", "/applications", {"params": {
            "person_id": w.once("application", w.application)["person"], **purpose}}, None),
        "GET /applications/{application_id}": lambda w, h, f: (
            "GET", f"/applications/{w.once('application', w.application)['id']}", {"params": purpose}, None),
        "GET /": lambda w, h, f: ("GET", "/", {}, None),
        "GET /processes": lambda w, h, f: ("GET", "/processes", {}, None),
        "GET /definitions/{key}/diagram": lambda w, h, f: ("GET", "/definitions/review_and_pay/diagram", {}, None),
        "GET /notices/{notice_id}": lambda w, h, f: ("GET", f"/notices/{w.once('notice', w.notice)}", {}, None),
        "GET /intake": lambda w, h, f: ("GET", "/intake", {}, None),
        "POST /intake/find": lambda w, h, f: ("POST", "/intake/find", {"data": {
            "purpose": "intake", "name": "홍길동", "birth_date": (p := w.once("person", w.person))["birth_date"]}},
            p["id"]),
        "GET /intake/households/new": lambda w, h, f: ("GET", "/intake/households/new", {}, None),
        "POST /intake/households": lambda w, h, f: ("POST", "/intake/households", {"data": {
            "head_name": "김철수", "head_rrn": w.number(), "address": "서울특별시 종로구 4", "region_class": "seoul",
            "valid_from": "2024-01-01"}}, None),
        "GET /intake/households/{household_id}": lambda w, h, f: (
            "GET", f"/intake/households/{w.once('household', w.household)['id']}", {}, None),
        "POST /intake/households/{household_id}/consents": lambda w, h, f: (
            "POST", f"/intake/households/{(hh := w.once('household', w.household))['id']}/consents", {"data": {
                "person_id": hh["people"][0], "data_type": "deposits", "reference": "C-1", "given_on": "2025-03-01",
                "scope": "household"}}, None),
        "GET /intake/households/{household_id}/screening": lambda w, h, f: (
            "GET", f"/intake/households/{w.once('household', w.household)['id']}/screening", {}, None),
        "POST /intake/households/{household_id}/screening": lambda w, h, f: (
            "POST", f"/intake/households/{w.once('household', w.household)['id']}/screening", {"data": {
                "application_date": "2025-03-10", "action": "screen"}}, None),
        "GET /intake/applications/{application_id}": lambda w, h, f: (
            "GET", f"/intake/applications/{w.once('application', w.application)['id']}", {}, None),
        "GET /cases/{instance_id}": lambda w, h, f: (
            "GET", f"/cases/{w.once('instance', w.instance)['id']}", {}, None),
        "GET /cases/{instance_id}/diagram": lambda w, h, f: (
            "GET", f"/cases/{w.once('instance', w.instance)['id']}/diagram", {}, None),
        "POST /cases/{instance_id}/notes": lambda w, h, f: (
            "POST", f"/cases/{w.once('instance', w.instance)['id']}/notes", {"data": {"text": "전화 상담함"}}, None),
        "POST /cases/{instance_id}/documents": lambda w, h, f: (
            "POST", f"/cases/{w.once('instance', w.instance)['id']}/documents",
            {"files": {"file": ("slip.pdf", b"%PDF-1.4 slip", "application/pdf")}}, None),
        "POST /instances/{instance_id}/notes": lambda w, h, f: (
            "POST", f"/instances/{w.once('instance', w.instance)['id']}/notes", {"json": {"text": "방문 예정"}}, None),
        "GET /instances/{instance_id}/notes": lambda w, h, f: (
            "GET", f"/instances/{w.once('instance', w.instance)['id']}/notes", {}, None),
        "POST /instances/{instance_id}/documents": lambda w, h, f: (
            "POST", f"/instances/{w.once('instance', w.instance)['id']}/documents",
            {"files": {"file": ("slip.pdf", b"%PDF-1.4 slip", "application/pdf")}}, None),
        "GET /instances/{instance_id}/documents": lambda w, h, f: (
            "GET", f"/instances/{w.once('instance', w.instance)['id']}/documents", {}, None),
        "GET /instances/{instance_id}/documents/{document_id}": lambda w, h, f: (
            "GET", f"/instances/{(d := w.once('document', w.document))['instance']}/documents/{d['id']}", {}, None),
        "GET /tasks/{task_id}/form": lambda w, h, f: (
            "GET", f"/tasks/{w.once('instance', w.instance)['task']}/form", {}, None),
        "POST /tasks/{task_id}/form": lambda w, h, f: (
            "POST", f"/tasks/{subject(w, f, 'instance', w.instance)['task']}/form", {"data": form}, None),
    }


def _outcome(response, listed: str | None) -> str:
    if response.status_code < 400:
        if listed is not None and listed not in response.text:
            return "hidden"
        return "ok"
    return str(response.status_code)


def test_role_office_matrix(client, login, deploy, library):
    deploy("review_and_pay.bpmn", "incidents.bpmn", "messages.bpmn", "external_task.bpmn")
    world = World(client, login)
    requests = _requests()
    rows = read_matrix()
    assert set(requests) == {k for k, row in rows.items() if row["cw"][0] != "pub"}
    wrong = []
    for route, row in rows.items():
        if route not in requests:
            continue
        for role, expected in row.items():
            for side, want in zip(("same", "other"), expected, strict=True):
                headers = world.headers[f"{role}.{side}"]
                method, url, kwargs, listed = requests[route](world, headers, want != "403")
                headers = kwargs.pop("headers", headers)
                r = client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
                got = _outcome(r, listed)
                if got != want:
                    wrong.append(f"{route} as {role}.{side}: expected {want}, got {got} {r.text[:160]}")
    assert wrong == [], "\n".join(wrong)

