"""The case view in real headless Chromium (issue 14 part 4): the timeline, the diagram with what ran marked
(the marker classes on the right SVG elements), opening a called module, notes and documents; the letter's
contact in its print view."""

from __future__ import annotations

import os

from tests.conftest import wait_for
from tests.test_pages import education_notice, page, server, sign_in  # noqa: F401

SHOTS = os.environ.get("BOKJI_SCREENSHOTS")  # a folder: the pages are saved there to be looked at
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def _shot(page, name: str, **kwargs) -> None:  # noqa: F811
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), **kwargs)


def _drawn(page) -> dict:  # noqa: F811
    page.wait_for_selector("#diagram-status[data-done='true']", state="attached")
    return page.evaluate("window.diagramResult")


def _classes(page, element_id: str) -> list[str]:  # noqa: F811
    return (page.locator(f".djs-element[data-element-id='{element_id}']").get_attribute("class") or "").split()


def test_case_page_marks_the_path_opens_the_called_module_and_takes_notes_and_documents(
        server, page, client, login, deploy, tmp_path):  # noqa: F811
    deploy("call_review.bpmn", "review_and_pay.bpmn")
    r = client.post("/instances", json={"key": "call_review", "business_key": "CASE-1"}, headers=login("caseworker"))
    assert r.status_code == 201, r.text
    instance_id = r.json()["id"]
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server)
    page.goto(f"{server}/cases/{instance_id}")
    result = _drawn(page)
    assert result["ok"] and result["warnings"] == [] and result["marked"] == 3, result
    assert "case-done" in _classes(page, "start") and "case-open" not in _classes(page, "start")
    assert {"case-open", "case-call"} <= set(_classes(page, "review_module"))
    assert "case-path" in _classes(page, "f1") and "case-path" not in _classes(page, "f2")
    assert "case-done" not in _classes(page, "end") and "case-open" not in _classes(page, "end")
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark stays
    legend = page.locator("#diagram-legend").inner_text()
    assert "완료" in legend and "현재 위치" in legend and "지나온 경로" in legend
    assert page.locator("#case-timeline tbody tr").count() >= 2
    assert page.locator("#case-open-tasks a").count() == 1  # the open task of the called module
    _shot(page, "case-top")
    page.locator("#case-process").scroll_into_view_if_needed()
    _shot(page, "case-diagram")

    # the called module opens with that call's own markers
    page.click(".djs-element[data-element-id='review_module']", position={"x": 12, "y": 12})
    page.wait_for_url("**/diagram?call=review_module")
    result = _drawn(page)
    assert result["ok"], result
    assert "case-done" in _classes(page, "received") and "case-open" in _classes(page, "review")
    assert "case-path" in _classes(page, "f1") and "case-path" not in _classes(page, "f2")
    assert "진행된 대로" in page.locator("#module-state").inner_text()
    _shot(page, "case-module")
    page.click("#back-to-case")
    page.wait_for_url(f"{server}/cases/{instance_id}")

    # a note, a refused file (its reason beside the field, in Korean), a document listed
    page.fill("#note-text", "전화 상담: 임대차계약서 보완 요청")
    page.click("#note-submit")
    page.wait_for_url(f"{server}/cases/{instance_id}#case-notes")
    assert "임대차계약서" in page.locator("#note-list").inner_text()
    bad = tmp_path / "계약서.pdf"
    bad.write_bytes(b"MZ this is no PDF")
    page.set_input_files("#document-file", str(bad))
    page.click("#document-submit")
    error = page.locator(".field-error[data-field='file']")
    assert "계약서.pdf" in error.inner_text() and "PDF, PNG, JPEG" in error.inner_text()
    good = tmp_path / "임대차계약서.pdf"
    good.write_bytes(PDF)
    page.set_input_files("#document-file", str(good))
    page.click("#document-submit")
    page.wait_for_url(f"{server}/cases/{instance_id}#case-documents")
    rows = page.locator("#document-list tbody tr")
    assert rows.count() == 1 and "임대차계약서.pdf" in rows.inner_text() and "application/pdf" in rows.inner_text()
    page.locator("#case-documents").scroll_into_view_if_needed()
    _shot(page, "case-documents")
    listed = client.get(f"/instances/{instance_id}/documents", headers=login("caseworker")).json()
    assert [d["filename"] for d in listed] == ["임대차계약서.pdf"]


def test_the_letter_names_the_office_contact_and_links_back_to_its_case_on_screen_only(
        server, page, client, login, library):  # noqa: F811
    from bokji.db import unit_of_work
    from bokji.instances.models import ProcessInstance
    from bokji.notices.models import DecisionNotice
    from bokji.offices.models import Office

    notice_id = education_notice(client, login("caseworker"), "홍문의")
    with unit_of_work() as session:
        instance = session.get(ProcessInstance, session.get(DecisionNotice, notice_id).instance_id)
        office = session.get(Office, instance.office)
        instance_id, phone, address = str(instance.id), office.phone, office.address
    assert phone and address  # the demo offices carry a (fictional) contact
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server)
    page.goto(f"{server}/cases/{instance_id}")
    page.click(f"#case-notices a[data-notice='{notice_id}']")
    page.wait_for_url(f"{server}/notices/{notice_id}")
    contact = page.locator("#notice-contact")
    assert phone in contact.inner_text() and address in contact.inner_text()
    assert page.locator("#notice-contact").locator("xpath=..").locator("th").inner_text() == "문의"
    assert page.locator("#notice-case").is_visible()
    assert page.locator("#notice .unverified").count() == 0  # no internal badge on the citizen's letter
    page.emulate_media(media="print")
    assert contact.is_visible() and not page.locator("#notice-case").is_visible()
    assert not page.locator(".site-header").is_visible()
    _shot(page, "letter-print", full_page=True)
    page.emulate_media(media="screen")
    page.click("#notice-case")
    page.wait_for_url(f"{server}/cases/{instance_id}")


def test_a_service_case_shows_its_application_evidence_decision_and_module_markers(
        server, page, client, login, platform):  # noqa: F811
    """A real service (the education benefit) up to its decision task: the application with the applicant
    masked and its cases, the evidence with agency, time and reference, the rule's trace in Korean; the
    investigation module opens with what ran inside it. Reading the case file is logged with the case."""
    from sqlalchemy import text

    from bokji.db import unit_of_work
    from tests.test_applications import _mother_and_child

    cw = login("caseworker")
    mother, child = _mother_and_child(client, cw)
    r = client.post("/applications", headers=cw, json={
        "applicant_id": mother, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-EDUCATION"],
        "consents": {"deposits": "CONSENT-1"}, "details": {"school_levels": {child: "high"}}})
    assert r.status_code == 201, r.text
    number, instance_id = r.json()["number"], r.json()["cases"][0]["instance_id"]

    def review_task():
        with unit_of_work() as session:
            return session.execute(text("SELECT id::text FROM human_task WHERE instance_id = :i "
                                        "AND element_id = 'review' AND status = 'open'"), {"i": instance_id}).scalar()

    task_id = wait_for(review_task, timeout=90, what="the decision task")
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server)
    page.goto(f"{server}/cases/{instance_id}")
    assert page.locator("#application-number").inner_text() == number
    assert "850315-2******" in page.locator("#application-applicant").inner_text()
    assert page.locator("#case-cases tbody tr").count() == 1
    assert page.locator(f"#case-open-tasks a[data-task='{task_id}']").count() == 1
    evidence = page.locator("#case-evidence tbody tr")
    assert evidence.count() == 12
    assert page.locator("#case-evidence tbody tr td.reference").first.inner_text().strip() != ""
    assert page.locator("#decision-trace li").count() >= 5
    assert "적합" in page.locator("#decision-eligibility").inner_text()
    result = _drawn(page)
    assert result["ok"], result
    assert {"case-done", "case-call"} <= set(_classes(page, "investigation"))
    assert {"case-open", "case-call"} <= set(_classes(page, "decision"))
    assert "case-done" not in _classes(page, "payment")
    _shot(page, "service-case-top")
    page.locator("#case-decision").scroll_into_view_if_needed()
    _shot(page, "service-case-decision")
    with unit_of_work() as session:
        logged = session.execute(text("SELECT count(*) FROM access_log WHERE action = 'read_case_file' "
                                      "AND purpose = :p"), {"p": f"{number}/MOHW-NBLSS-EDUCATION"}).scalar()
    assert logged == 2  # the applicant and the child whose data the page showed
    page.click("#case-modules li[data-element='investigation'] a")
    page.wait_for_url("**call=investigation")
    result = _drawn(page)
    assert result["ok"] and result["marked"] > 3, result
    assert page.locator(".djs-element.case-open").count() == 0  # the investigation is over
    _shot(page, "service-case-module")
