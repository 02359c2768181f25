"""Sign-in as a trust boundary (issue 11 §5): argon2id with rehashing, throttling and lockout in
PostgreSQL, revocable tokens, CSRF, and the security headers. Browser checks are in test_csp.py."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text

from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.identity import passwords
from bokji.identity.passwords import LegacyScryptHasher
from bokji.identity.service import DEMO_USERS
from tests.conftest import DEMO_PASSWORD, start_api, wait_for

WRONG = "not-the-password"


@pytest.fixture
def throttle(monkeypatch):
    """Small thresholds for this test's in-process API: set(user=2, lock=1, ...) then sign in."""

    def configure(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"BOKJI_LOGIN_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()


def _token(client, username: str, password: str = DEMO_PASSWORD):
    return client.post("/auth/token", data={"username": username, "password": password})


def _hash_of(username: str) -> str:
    with unit_of_work() as session:
        return session.execute(text("SELECT password_hash FROM app_user WHERE username = :u"),
                               {"u": username}).scalar_one()


def _set_hash(username: str, stored: str) -> None:
    with unit_of_work() as session:
        session.execute(text("UPDATE app_user SET password_hash = :h WHERE username = :u"),
                        {"h": stored, "u": username})


# --- passwords ---------------------------------------------------------------------------------------
def test_demo_users_each_have_their_own_argon2id_hash():
    with unit_of_work() as session:
        hashes = session.execute(text("SELECT password_hash FROM app_user")).scalars().all()
    assert len(hashes) == len(DEMO_USERS) and len(set(hashes)) == len(hashes)
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_an_old_scrypt_hash_still_signs_in_and_is_rehashed(client):
    _set_hash("caseworker", LegacyScryptHasher().hash(DEMO_PASSWORD))
    assert _token(client, "caseworker", WRONG).status_code == 401
    assert _hash_of("caseworker").startswith("scrypt$")  # a wrong password changes nothing
    assert _token(client, "caseworker").status_code == 200
    rehashed = _hash_of("caseworker")
    assert rehashed.startswith("$argon2id$") and not Argon2Hasher().check_needs_rehash(rehashed)
    assert _token(client, "caseworker").status_code == 200
    assert _hash_of("caseworker") == rehashed  # current already: not rewritten at every sign-in


def test_an_argon2_hash_with_weaker_parameters_is_rehashed(client):
    weak = Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD)
    _set_hash("caseworker", weak)
    assert _token(client, "caseworker").status_code == 200
    assert _hash_of("caseworker") != weak and not Argon2Hasher().check_needs_rehash(_hash_of("caseworker"))


def test_unknown_user_and_wrong_password_take_the_same_path(client, monkeypatch):
    """An unknown username is verified against the dummy hash (one argon2 run, as for a wrong password),
    and both answers are the same."""
    checked: list[str] = []
    real = passwords.verify

    def spy(password: str, stored: str):
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify", spy)
    unknown = _token(client, "nobody.here", WRONG)
    wrong = _token(client, "caseworker", WRONG)
    assert checked == [passwords.dummy_hash(), _hash_of("caseworker")]
    assert checked[0].startswith("$argon2id$")
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json()) == (401, wrong.json())


# --- throttling ----------------------------------------------------------------------------------------
def _throttle_rows() -> dict[tuple[str, str], tuple[int, datetime | None, datetime | None]]:
    with unit_of_work() as session:
        rows = session.execute(text("SELECT kind, key, failures, last_failure_at, locked_until FROM login_throttle"))
        return {(r.kind, r.key): (r.failures, r.last_failure_at, r.locked_until) for r in rows}


def test_lockout_refuses_even_the_right_password_then_ends_and_doubles(client, throttle):
    throttle(user_failures=2, lock_seconds=1, lock_max_seconds=60)
    assert _token(client, "caseworker", WRONG).status_code == 401
    locked = _token(client, "caseworker", WRONG)  # the second failure starts the lock
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "1"
    assert locked.json()["error"] == "TooManyAttempts" and "다시 시도" in locked.json()["message"]
    right = _token(client, "caseworker")
    assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1  # even the right password

    # The lock ends by itself; one more failure then locks for twice as long.
    def lock_over() -> bool:
        return _throttle_rows()[("user", "caseworker")][2] < datetime.now(UTC)

    wait_for(lock_over, timeout=15, what="the lock to end")
    assert _token(client, "caseworker", WRONG).status_code == 429
    failures, last, until = _throttle_rows()[("user", "caseworker")]
    assert failures == 3 and until - last == timedelta(seconds=2)
    assert _token(client, "caseworker").status_code == 429
    wait_for(lock_over, timeout=15, what="the longer lock to end")
    assert _token(client, "caseworker").status_code == 200
    assert ("user", "caseworker") not in _throttle_rows()  # a success resets the user's count
    assert _token(client, "caseworker", WRONG).status_code == 401  # counting starts again at one


def test_parallel_guesses_are_counted_one_at_a_time(client, throttle):
    """A burst of guesses cannot all pass the check before the first is counted."""
    import threading

    throttle(user_failures=2, lock_seconds=600)
    start = threading.Barrier(6)
    statuses: list[int] = []

    def guess() -> None:
        start.wait()
        statuses.append(_token(client, "caseworker", WRONG).status_code)

    threads = [threading.Thread(target=guess) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [401, 429, 429, 429, 429, 429]
    assert _throttle_rows()[("user", "caseworker")][0] == 2  # refused attempts were never verified nor counted


def test_failures_are_forgotten_after_a_quiet_period(client, throttle):
    throttle(user_failures=3, forget_seconds=3600)
    for _ in range(2):
        _token(client, "caseworker", WRONG)
    with unit_of_work() as session:
        session.execute(text("UPDATE login_throttle SET last_failure_at = now() - interval '2 hours'"))
    assert _token(client, "caseworker", WRONG).status_code == 401  # would be the third: a lock
    assert _throttle_rows()[("user", "caseworker")][0] == 1


def test_an_administrator_unlocks_a_user_and_it_is_recorded(client, login, throttle):
    throttle(user_failures=2, lock_seconds=600)
    admin = login("admin")  # signed in before the lock: the address has no failures yet
    for _ in range(2):
        _token(client, "caseworker", WRONG)
    assert _token(client, "caseworker").status_code == 429
    assert client.post("/admin/users/caseworker/unlock", headers=login("supervisor")).status_code == 403
    r = client.post("/admin/users/caseworker/unlock", headers=admin)
    assert r.status_code == 200 and r.json() == {"username": "caseworker", "was_locked": True}
    assert _token(client, "caseworker").status_code == 200
    assert client.post("/admin/users/no.such.user/unlock", headers=admin).status_code == 404
    with unit_of_work() as session:
        recorded = session.execute(text("SELECT actor, detail->>'username' FROM operator_action "
                                        "WHERE action = 'unlock_user'")).all()
    assert [tuple(r) for r in recorded] == [("admin", "caseworker")]


def test_one_address_cannot_lock_out_everybody(client, throttle):
    """From one address, failures lock at most address_failures / user_failures accounts: then the
    address itself is refused, and its further attempts count against nobody."""
    throttle(user_failures=2, address_failures=4, lock_seconds=600)
    for user in ("caseworker", "supervisor", "manager", "auditor", "designer"):
        for _ in range(2):
            _token(client, user, WRONG)
    locked_users = {k for (kind, k), (_f, _l, until) in _throttle_rows().items() if kind == "user" and until}
    assert locked_users == {"caseworker", "supervisor"}
    assert _token(client, "manager").status_code == 429  # the address is refused, whoever it names

    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(), client=("10.0.0.2", 40000)) as elsewhere:
        assert _token(elsewhere, "manager").status_code == 200  # untouched by the other address
        assert _token(elsewhere, "auditor").status_code == 200
        assert _token(elsewhere, "caseworker").status_code == 429  # that account is locked everywhere


# --- tokens ----------------------------------------------------------------------------------------------
def _forged(**claims: object) -> str:
    return jwt.encode(claims, get_settings().secret_key, algorithm="HS256")


def test_a_token_without_exp_or_jti_is_refused(client):
    with unit_of_work() as session:
        user_id = session.execute(text("SELECT id::text FROM app_user WHERE username = 'caseworker'")).scalar()
    now = datetime.now(UTC)
    full = {"sub": user_id, "iat": now, "exp": now + timedelta(minutes=5), "jti": uuid.uuid4().hex, "gen": 0}
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {_forged(**full)}"}).status_code == 200
    for missing in ("exp", "jti", "iat", "gen"):
        token = _forged(**{k: v for k, v in full.items() if k != missing})
        assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401, missing
    expired = _forged(**{**full, "exp": now - timedelta(seconds=1)})
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_revoked_tokens_stay_refused_after_an_api_restart(spawn):
    proc, url = start_api(spawn)

    def sign_in(username: str) -> dict[str, str]:
        r = httpx.post(f"{url}/auth/token", data={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def me(headers: dict[str, str]) -> int:
        return httpx.get(f"{url}/auth/me", headers=headers).status_code

    signed_out, kept, everywhere = sign_in("caseworker"), sign_in("caseworker"), sign_in("supervisor")
    also_everywhere = sign_in("supervisor")
    assert me(signed_out) == me(everywhere) == 200
    assert httpx.post(f"{url}/auth/logout", headers=signed_out).status_code == 204
    admin = sign_in("admin")
    r = httpx.post(f"{url}/admin/users/supervisor/revoke-tokens", headers=admin)
    assert r.status_code == 200, r.text
    assert httpx.post(f"{url}/admin/users/supervisor/revoke-tokens", headers=kept).status_code == 403
    assert (me(signed_out), me(everywhere), me(also_everywhere), me(kept)) == (401, 401, 401, 200)
    fresh = sign_in("supervisor")  # revoking all tokens does not stop signing in again

    proc.stop()
    _proc, url = start_api(spawn)
    assert (me(signed_out), me(everywhere), me(also_everywhere)) == (401, 401, 401)
    assert me(kept) == me(fresh) == 200
    with unit_of_work() as session:
        revocations = session.execute(text("SELECT count(*) FROM operator_action WHERE action = 'revoke_tokens'"))
        assert revocations.scalar() == 1


# --- CSRF ------------------------------------------------------------------------------------------------
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _browser_sign_in(client, username: str = "caseworker") -> str:
    """Sign in through the login form as a browser does; the CSRF token the next page carries."""
    page = client.get("/login")
    login_csrf = CSRF_INPUT.search(page.text).group(1)
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": login_csrf},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return CSRF_INPUT.search(client.get("/", headers={"accept": "text/html"}).text).group(1)


def test_the_login_form_needs_its_csrf_token(client):
    client.get("/login")  # the cookie half of the double submit
    r = client.post("/login", data={"username": "caseworker", "password": DEMO_PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "bokji_token" not in r.cookies
    r = client.post("/login", data={"username": "caseworker", "password": DEMO_PASSWORD, "csrf_token": "f" * 64},
                    follow_redirects=False)
    assert r.status_code == 403
    assert _browser_sign_in(client)


def test_cookie_calls_and_form_posts_need_the_csrf_token(client, login, deploy):
    deploy("review_and_pay.bpmn")
    csrf = _browser_sign_in(client)
    body = {"key": "review_and_pay", "business_key": "CSRF-1"}
    refused = client.post("/instances", json=body)  # the session cookie alone
    assert refused.status_code == 403 and refused.json()["field"] == "X-CSRF-Token"
    wrong = client.post("/instances", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    cross = client.post("/instances", json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["field"] == "Origin"
    started = client.post("/instances", json=body, headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"})
    assert started.status_code == 201, started.text
    assert client.get("/tasks").status_code == 200  # reading needs no token

    task_id = started.json()["waiting"][0]["id"]
    form = {"decision": "approve", "comment": "ok"}
    assert client.post(f"/tasks/{task_id}/form", data=form).status_code == 403
    assert client.get(f"/tasks/{task_id}").json()["status"] == "open"
    done = client.post(f"/tasks/{task_id}/form", data={**form, "csrf_token": csrf})
    assert done.status_code == 200 and 'data-done="true"' in done.text

    # A Bearer call is not a browser's: no CSRF token needed, even with the cookie present.
    other = client.post("/instances", json={**body, "business_key": "CSRF-2"}, headers=login("caseworker"))
    assert other.status_code == 201


def test_sign_out_is_a_post_with_the_csrf_token_and_revokes_the_session(client):
    csrf = _browser_sign_in(client)
    page = client.get("/logout", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'action="/logout"' in page.text
    assert client.post("/logout", follow_redirects=False).status_code == 403
    token = client.cookies["bokji_token"]
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- headers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/health", "/tasks", "/no/such/page", "/static/htmx/htmx.min.js"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    for directive in ("script-src 'self' 'nonce-", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'", "form-action 'self'", "style-src 'self' 'unsafe-inline'"):
        assert directive in csp, (directive, csp)
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"


def test_each_page_gets_its_own_nonce_on_its_scripts(client, library):
    _browser_sign_in(client, "designer")
    nonces = []
    for _ in range(2):
        r = client.get("/definitions/nblss_medical/diagram", headers={"accept": "text/html"})
        nonce = re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"]).group(1)
        # No inline code at all: every script is a file of ours, or data that never runs.
        scripts = re.findall(r"<script\b[^>]*>", r.text)
        assert scripts and all("src=" in tag or 'type="application/json"' in tag for tag in scripts), scripts
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
