"""The case timeline over the API (issue 14, case view): elements passed, who completed the task, and
scope (another office's case is answered 404)."""

from __future__ import annotations

import uuid

from tests.test_instances import _start
from tests.test_scope import _busan


def test_timeline_names_who_completed_the_task_and_ends_at_the_end(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    before = client.get(f"/instances/{instance['id']}/timeline", headers=cw)
    assert before.status_code == 200
    open_task = instance["waiting"][0]
    assert [e["outcome"] for e in before.json() if e["element_id"] == open_task["element_id"]] == ["open"]
    r = client.post(f"/tasks/{open_task['id']}/complete",
                    json={"data": {"decision": "reject", "comment": "소득 초과"}}, headers=cw)
    assert r.status_code == 200, r.text
    entries = client.get(f"/instances/{instance['id']}/timeline", headers=cw).json()
    task_entry = next(e for e in entries if e["element_id"] == open_task["element_id"])
    assert task_entry["outcome"] == "completed" and task_entry["by"] == "caseworker"
    assert not task_entry["automated"]
    assert entries[-1]["element_id"] == "end_rejected"
    started = [e["started_at"] for e in entries]
    assert started == sorted(started)  # oldest first


def test_timeline_of_another_office_or_unknown_case_is_not_found(client, login, deploy):
    deploy("review_and_pay.bpmn")
    instance = _start(client, login("caseworker"))
    _busan()
    r = client.get(f"/instances/{instance['id']}/timeline", headers=login("busan.cw"))
    assert r.status_code == 404 and "instance_id" in r.text
    assert client.get(f"/instances/{uuid.uuid4()}/timeline", headers=login("caseworker")).status_code == 404


# ---- the diagram's markers (bokji/casefiles/service.py diagram) ------------------------------------------
def _case_diagram(instance_id: str, call: str | None = None):
    from bokji.casefiles import service as casefiles
    from bokji.db import unit_of_work
    from bokji.instances import service as instances

    with unit_of_work() as session:
        return casefiles.diagram(session, instances.get(session, instance_id), call)


def test_markers_of_a_case_and_of_the_module_it_called(client, login, deploy):
    """The case's process marks what ran in it; the called module's own diagram marks what ran inside that
    call (element history rows carry the call they ran in), not the caller's elements of the same id."""
    deploy("call_review.bpmn", "review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw, key="call_review", data={})
    top = _case_diagram(instance["id"])
    assert top.key == "call_review" and top.completed == ["start"] and top.open == ["review_module"]
    assert top.flows == ["f1"]  # start → call; not f2 (the call has not ended)
    assert top.calls == {"review_module": {"module": "review_and_pay", "ran": True,
                                           "href": f"/cases/{instance['id']}/diagram?call=review_module"}}
    module = _case_diagram(instance["id"], "review_module")
    assert module.key == "review_and_pay" and module.ran
    assert module.completed == ["received"] and module.open == ["review"] and module.flows == ["f1"]
    task = instance["waiting"][0]
    r = client.post(f"/tasks/{task['id']}/complete", json={"data": {"decision": "reject", "comment": "소득 초과"}},
                    headers=cw)
    assert r.status_code == 200, r.text
    module = _case_diagram(instance["id"], "review_module")
    assert module.open == [] and {"received", "review", "approved_gw", "end_rejected"} <= set(module.completed)
    assert "f_reject" in module.flows and "f_approve" not in module.flows  # the branch taken only
    top = _case_diagram(instance["id"])
    assert top.completed == ["end", "review_module", "start"] and top.flows == ["f1", "f2"]


def test_a_call_path_that_is_no_call_activity_is_not_found(client, login, deploy):
    deploy("call_review.bpmn", "review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw, key="call_review", data={})
    r = client.get(f"/cases/{instance['id']}/diagram", params={"call": "start"}, headers=cw)
    assert r.status_code == 404 and "start" in r.text
    page = client.get(f"/cases/{instance['id']}/diagram", params={"call": "review_module"}, headers=cw)
    assert page.status_code == 200 and 'id="diagram-markers"' in page.text and '"open": ["review"]' in page.text


# ---- notes and documents over the API ---------------------------------------------------------------
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _access(action: str) -> list[tuple[str, str]]:
    from sqlalchemy import text

    from bokji.db import unit_of_work

    with unit_of_work() as session:
        return [tuple(r) for r in session.execute(text(
            "SELECT actor, purpose FROM access_log WHERE action = :a ORDER BY id"), {"a": action})]


def test_notes_are_added_and_listed_newest_first(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    for text in ("전화 상담: 서류 보완 안내", "보완 서류 접수"):
        r = client.post(f"/instances/{instance['id']}/notes", json={"text": text}, headers=cw)
        assert r.status_code == 201, r.text
        assert r.json()["author"] == "caseworker"
    notes = client.get(f"/instances/{instance['id']}/notes", headers=cw).json()
    assert [n["text"] for n in notes] == ["보완 서류 접수", "전화 상담: 서류 보완 안내"]
    assert _access("read_case_notes") == [("caseworker", str(instance["id"]))]
    r = client.post(f"/instances/{instance['id']}/notes", json={"text": "   "}, headers=cw)
    assert r.status_code == 422 and r.json()["field"] == "text"
    assert len(client.get(f"/instances/{instance['id']}/notes", headers=cw).json()) == 2  # nothing changed


def test_a_document_is_stored_with_its_checksum_and_every_read_is_logged(client, login, deploy):
    import hashlib

    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    r = client.post(f"/instances/{instance['id']}/documents", headers=cw,
                    files={"file": ("소득증명.pdf", PDF, "application/octet-stream")})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["content_type"] == "application/pdf"  # from the content, not from what the browser said
    assert doc["size"] == len(PDF) and doc["sha256"] == hashlib.sha256(PDF).hexdigest()
    listed = client.get(f"/instances/{instance['id']}/documents", headers=cw).json()
    assert [d["filename"] for d in listed] == ["소득증명.pdf"]
    for purpose in (None, "investigation"):
        got = client.get(f"/instances/{instance['id']}/documents/{doc['id']}", headers=cw,
                         params={"purpose": purpose} if purpose else {})
        assert got.status_code == 200 and got.content == PDF
        assert got.headers["content-type"] == "application/pdf" and "attachment" in got.headers["content-disposition"]
    assert _access("read_case_document") == [("caseworker", str(instance["id"])), ("caseworker", "investigation")]
    r = client.get(f"/instances/{instance['id']}/documents/{doc['id']}", headers=cw, params={"purpose": "curious"})
    assert r.status_code == 422 and r.json()["field"] == "purpose"


def test_documents_of_the_wrong_type_or_too_large_are_refused_naming_the_file(client, login, deploy):
    from bokji.casefiles.service import MAX_DOCUMENT

    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    url = f"/instances/{instance['id']}/documents"
    refused = {
        "run.pdf": b"MZ\x90\x00 an executable named like a PDF",  # the name says PDF, the content does not
        "scan.png": PDF,  # a PDF named like an image
        "notes.txt": b"plain text",
        "empty.pdf": b"",
        "big.pdf": PDF + b"\0" * MAX_DOCUMENT,
    }
    for name, content in refused.items():
        r = client.post(url, headers=cw, files={"file": (name, content, "application/pdf")})
        assert r.status_code == 422, (name, r.status_code, r.text)
        body = r.json()
        assert body["field"] == "file" and name in body["message"], body
    assert "10 MB" in client.post(url, headers=cw, files={"file": ("big.pdf", PDF + b"\0" * MAX_DOCUMENT)}).text
    assert client.post(url, headers=cw, files={"file": ("photo.png", PNG)}).status_code == 201
    assert [d["filename"] for d in client.get(url, headers=cw).json()] == ["photo.png"]  # only the good one


def test_notes_and_documents_of_another_office_are_not_found(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = _start(client, cw)
    doc = client.post(f"/instances/{instance['id']}/documents", headers=cw, files={"file": ("a.pdf", PDF)}).json()
    _busan()
    busan = login("busan.cw")
    base = f"/instances/{instance['id']}"
    for method, url, kwargs in (("POST", f"{base}/notes", {"json": {"text": "x"}}), ("GET", f"{base}/notes", {}),
                                ("POST", f"{base}/documents", {"files": {"file": ("b.pdf", PDF)}}),
                                ("GET", f"{base}/documents", {}), ("GET", f"{base}/documents/{doc['id']}", {}),
                                ("GET", f"/cases/{instance['id']}", {}),
                                ("GET", f"/cases/{instance['id']}/diagram", {})):
        r = client.request(method, url, headers=busan, **kwargs)
        assert r.status_code == 404, (method, url, r.status_code)
    assert _access("read_case_document") == []
    other = _start(client, cw)  # a document is read only through its own case
    assert client.get(f"/instances/{other['id']}/documents/{doc['id']}", headers=cw).status_code == 404


def test_the_case_page_of_a_collaboration_shows_the_rest_without_a_diagram(client, login, deploy):
    deploy("two_pools.bpmn")
    cw = login("caseworker")
    r = client.post("/instances", json={"key": "office_and_agency", "data": {}}, headers=cw)
    assert r.status_code == 201, r.text
    page = client.get(f"/cases/{r.json()['id']}", headers=cw)
    assert page.status_code == 200 and 'id="case-timeline"' in page.text and 'id="diagram-missing"' in page.text
