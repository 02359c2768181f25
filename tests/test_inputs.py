"""Bad input gets a clear 4xx naming the field and the reason, changes nothing, and is never a 500:
request size, control characters, bounds of lists and ids, purposes, a multi-instance without its list."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.instances.models import ProcessInstance
from bokji.privacy import purposes
from bokji.privacy.access_log import AccessLog
from bokji.registry.models import Person
from tests.conftest import fixture_files, start_case
from tests.test_registry import _register, rrn

MB = 1024 * 1024


def _count(model) -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model))


# ---- size ------------------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_413_naming_the_limit(client, login):
    cw = login("caseworker")
    limit = get_settings().max_request_bytes
    body = b'{"key": "x", "data": {"a": "' + b"x" * limit + b'"}}'
    r = client.post("/instances", content=body, headers={**cw, "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "TooLarge" and r.json()["limit"] == limit
    assert str(limit) in r.json()["message"] and "BOKJI_MAX_REQUEST_BYTES" in r.json()["message"]


def test_a_streamed_body_without_content_length_is_counted(client, login):
    """Chunked: no Content-Length to trust; the count stops it once it passes the limit."""
    cw = login("caseworker")
    sent = []

    def chunks():
        yield b'{"key": "x", "data": {"a": "'
        for _ in range(64):  # 4 MB in all, four times the limit
            sent.append(1)
            yield b"x" * (64 * 1024)
        yield b'"}}'

    r = client.post("/instances", content=chunks(), headers={**cw, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "TooLarge"
    assert _count(ProcessInstance) == 0


def test_uploads_have_their_own_larger_limit_and_each_model_file_its_own(client, login):
    designer = login("designer")
    settings = get_settings()
    assert settings.max_upload_bytes > settings.max_request_bytes
    # Over the request limit, under the upload limit: reaches the per-file check, a 422 naming the file.
    big = ("big.bpmn", b"<x/>" + b" " * (settings.max_model_file_bytes + 1))
    r = client.post("/definitions", files=[("files", big)], headers=designer)
    assert r.status_code == 422 and r.json()["file"] == "big.bpmn" and r.json()["reason"] == "too large"
    # The deploy of the finding, 40 × 5 MB: refused from its Content-Length, before anything is read.
    many = [("files", (f"m{i}.bpmn", b" " * (5 * MB))) for i in range(40)]
    r = client.post("/definitions", files=many, headers=designer)
    assert r.status_code == 413 and "BOKJI_MAX_UPLOAD_BYTES" in r.json()["message"]
    # A regular deploy still works.
    r = client.post("/definitions", files=fixture_files("review_and_pay.bpmn"), headers=designer)
    assert r.status_code == 201, r.text


# ---- control characters ----------------------------------------------------------------------------
def test_nul_at_any_depth_of_a_json_body_is_422_naming_the_field(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    body = {"key": "review_and_pay", "data": {"applicant": {"names": ["홍길동", "a\x00b"]}}}
    r = client.post("/instances", json=body, headers=cw)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "data.applicant.names[1]" and "U+0000" in r.json()["message"]
    r = client.post("/instances", json={"key": "review_and_pay", "data": {"bad\x1bkey": 1}}, headers=cw)
    assert r.status_code == 422 and r.json()["field"] == "data.bad\\u001bkey"
    assert _count(ProcessInstance) == 0
    # Tab, line feed and carriage return are text.
    r = client.post("/instances", json={"key": "review_and_pay", "data": {"note": "a\tb\r\nc"}}, headers=cw)
    assert r.status_code == 201, r.text


def test_control_characters_in_query_path_and_form_are_422_naming_the_field(client, login):
    cw = login("caseworker")
    r = client.get("/instances", params={"business_key": "A\x00"}, headers=cw)
    assert r.status_code == 422 and r.json()["field"] == "business_key"
    r = client.get("/instances/%00", headers=cw)
    assert r.status_code == 422 and r.json()["field"] == "instance_id"
    r = client.post("/auth/token", data={"username": "caseworker\x00", "password": "x"})
    assert r.status_code == 422 and r.json()["field"] == "username"
    # Written by hand: httpx percent-encodes a control character in a file name.
    body = (b'--B\r\nContent-Disposition: form-data; name="files"; filename="a\x07.bpmn"\r\n'
            b"Content-Type: application/xml\r\n\r\n<x/>\r\n--B--\r\n")
    r = client.post("/definitions", content=body,
                    headers={**login("designer"), "content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 422 and r.json()["field"] == "files.filename", r.text


def test_a_lone_surrogate_in_json_is_refused_like_a_control_character(client, login):
    r = client.post("/registry/persons", content=b'{"registration_number": "1", "name": "\\ud800"}',
                    headers={**login("caseworker"), "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "name"
    assert _count(Person) == 0


# ---- bounds ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/instances", "/tasks", "/incidents"])
@pytest.mark.parametrize("limit", [-1, 0, 501, 10**30])
def test_limit_is_bounded_on_every_list(client, login, path, limit):
    r = client.get(path, params={"limit": limit}, headers=login("admin" if path == "/incidents" else "supervisor"))
    assert r.status_code == 422 and r.json()["field"] == "limit"


def test_integer_path_ids_are_bounded_to_their_columns(client, login):
    r = client.post("/registry/memberships/99999999999999999999/corrections", json={"reason": "typo"},
                    headers=login("caseworker"))
    assert r.status_code == 422 and r.json()["field"] == "membership_id"
    r = client.get("/definitions/x/versions/2147483648/files/x.bpmn", headers=login("designer"))
    assert r.status_code == 422 and r.json()["field"] == "version"
    r = client.post("/instances", json={"key": "x", "version": 2**31}, headers=login("caseworker"))
    assert r.status_code == 422 and r.json()["field"] == "version"


def test_uuid_path_ids_are_checked_before_sql(client, login):
    cw = login("caseworker")
    for path in ("/instances/not-a-uuid", "/tasks/12345678901234567890", f"/instances/{uuid.uuid4()}"):
        r = client.get(path, headers=cw)
        assert r.status_code == 404 and r.json()["field"] in ("instance_id", "task_id"), path


# ---- purposes --------------------------------------------------------------------------------------
def test_a_purpose_is_a_code_or_a_case_reference(client, login):
    cw = login("caseworker")
    person = _register(client, cw, rrn("550505", "1"), "홍길동")
    for bad in ("ok", "just looking", "A2026-XYZ"):
        r = client.get(f"/registry/persons/{person['id']}", params={"purpose": bad}, headers=cw)
        assert r.status_code == 422 and r.json()["field"] == "purpose", bad
        assert all(code in r.json()["message"] for code in purposes.PURPOSES)
    case = str(uuid.uuid4())
    given_and_stored = [("consultation", "consultation"), ("Investigation", "investigation"),
                        ("a20261201-1a2b3c4d", "A20261201-1A2B3C4D"),
                        ("A20261201-1A2B3C4D/MOHW-NBLSS-HOUSING", "A20261201-1A2B3C4D/MOHW-NBLSS-HOUSING"),
                        (case.upper(), case)]
    for given, _ in given_and_stored:
        r = client.get(f"/registry/persons/{person['id']}", params={"purpose": given}, headers=cw)
        assert r.status_code == 200, (given, r.text)
    with unit_of_work() as session:
        logged = session.scalars(select(AccessLog.purpose).order_by(AccessLog.id)).all()
    assert logged == [stored for _, stored in given_and_stored]


def test_the_access_log_writer_refuses_a_free_text_purpose():
    from bokji.errors import Invalid
    from bokji.privacy import access_log

    with unit_of_work() as session, pytest.raises(Invalid) as refused:
        access_log.record(session, "x", purpose="ab", action="read_person")
    assert refused.value.detail["field"] == "purpose" and "notice_printing" in refused.value.message
    assert purposes.check(" intake ") == "intake"


# ---- the engine ------------------------------------------------------------------------------------
def test_a_multi_instance_started_without_its_collection_is_422_naming_element_and_variable(library):
    # A module is never started by a person (issue 11); the platform starting it without the collection
    # its multi-instance needs is refused the same way a person's request would be.
    from bokji.errors import Invalid

    with pytest.raises(Invalid) as refused:
        start_case("module_investigation", {"linkage_deadline": "PT1H"})
    assert refused.value.detail["element"] == "collect" and refused.value.detail["field"] == "linkage_requests"
    assert "linkage_requests" in refused.value.message and "collect" in refused.value.message
    with pytest.raises(Invalid) as refused:
        start_case("module_investigation", {"linkage_deadline": "PT1H", "linkage_requests": "abc"})
    assert refused.value.detail["reason"] == "collection is not a list"
    assert _count(ProcessInstance) == 0


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_fault_of_ours_names_a_reference_never_the_exception(accept):
    """A bug (here a route added for the test that raises) answers 500 with a reference to quote: a page in the
    frame for a browser, JSON for a client; the exception's name and text stay in the log."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app()

    def broken() -> None:
        raise KeyError("secret_internal_detail")

    app.add_api_route("/test-broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/test-broken", headers={"accept": accept})
    assert r.status_code == 500
    assert "secret_internal_detail" not in r.text and "KeyError" not in r.text and "Traceback" not in r.text
    if accept == "text/html":
        assert r.headers["content-type"].startswith("text/html")
        assert "참조" in r.text or "reference" in r.text.lower()
        assert 'class="site-header"' in r.text  # the frame: the person can go on from here
    else:
        assert r.json()["error"] == "InternalError"
