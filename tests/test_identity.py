"""Identity: every endpoint declares its roles; sign-in; 401/403; production has no default users."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from api.app import ROUTERS
from api.deps import PUBLIC_PATHS
from bokji.config import Settings
from bokji.db import unit_of_work
from bokji.errors import Invalid
from bokji.identity import passwords
from bokji.identity import service as identity


def _declared_roles(route: APIRoute) -> frozenset[str] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "__roles__", None)
        if roles is not None:
            return roles
        stack.extend(dep.dependencies)
    return None


ROUTES = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def test_every_endpoint_declares_its_roles():
    assert len(ROUTES) > 15
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in ROUTES
                  if r.path not in PUBLIC_PATHS and not _declared_roles(r)]
    assert undeclared == []


def test_public_paths_are_only_sign_in_and_health():
    public = {r.path for r in ROUTES if not _declared_roles(r)}
    assert public == {"/health", "/ready", "/auth/token", "/login", "/language"}  # the switch on the sign-in page


@pytest.mark.parametrize(("method", "path", "role", "expected"), [
    ("post", "/definitions", "caseworker", 403),  # caseworkers do not deploy models
    ("post", "/instances", "designer", 403),  # designers do not start cases
    ("get", "/tasks", "manager", 403),  # managers watch, they do not work tasks
    ("get", "/tasks", "auditor", 403),
    ("get", "/tasks", "caseworker", 200),
    ("get", "/instances", "auditor", 403),  # auditors read logs, not cases
    ("get", "/instances", "manager", 200),
    ("get", "/definitions", "designer", 200),
])
def test_roles_are_enforced(client, login, method, path, role, expected):
    r = getattr(client, method)(path, headers=login(role))
    assert r.status_code == expected, r.text


def test_no_or_bad_token_is_401(client):
    assert client.get("/tasks").status_code == 401
    r = client.get("/tasks", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["field"] == "Authorization"
    r = client.post("/auth/token", data={"username": "caseworker", "password": "wrong-password"})
    assert r.status_code == 401


def test_me_and_office(client, login):
    me = client.get("/auth/me", headers=login("caseworker")).json()
    assert me == {"username": "caseworker", "roles": ["caseworker"], "office": "seoul-jongno",
                  "ministry": "MOHW"}


def test_tasks_of_another_office_are_hidden(client, login, deploy):
    deploy("review_and_pay.bpmn")
    with unit_of_work() as session:
        identity.create_user(session, username="busan.cw", password="bokji-demo-2026", roles=["caseworker"],
                             office="busan-haeundae", ministry="MOHW")
    task = client.post("/instances", json={"key": "review_and_pay"}, headers=login("caseworker")).json()
    task_id = task["waiting"][0]["id"]
    other = login("busan.cw")
    assert client.get("/tasks", headers=other).json() == []
    assert client.get(f"/tasks/{task_id}", headers=other).status_code == 404  # out of scope: as if unknown


def test_passwords_are_hashed_and_users_validated():
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert passwords.verify("correct horse", stored) == (True, None)
    assert passwords.verify("wrong horse", stored) == (False, None)
    with unit_of_work() as session, pytest.raises(Invalid) as exc:
        identity.create_user(session, username="x1", password="longenough", roles=["wizard"])
    assert exc.value.detail["field"] == "roles"


def test_production_refuses_default_secrets_and_demo_users(monkeypatch):
    with pytest.raises(ValueError, match="BOKJI_SECRET_KEY"):
        Settings(env="production")
    monkeypatch.setattr(identity, "get_settings", lambda: Settings(
        env="production", secret_key="s" * 40, data_key="QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
        lookup_key="k" * 20, metrics_token="m" * 32))
    with unit_of_work() as session, pytest.raises(Invalid):
        identity.seed_demo_users(session)


def test_admin_create_cli(spawn):
    proc = spawn("admin", "create", "--username", "first.admin", "--password", "s3cret-enough",
                 "--roles", "admin", "--office", "central")
    assert proc.popen.wait(60) == 0, proc.stop()
    bad = spawn("admin", "create", "--username", "x2", "--password", "short")
    assert bad.popen.wait(60) == 2
    assert "비밀번호" in bad.stop()
    with unit_of_work() as session:
        assert identity.authenticate(session, "first.admin", "s3cret-enough") is not None
