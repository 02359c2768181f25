"""The work queue in headless Chromium (issue 14): filter by applicant and by overdue, claim on the page,
bulk reassign by the supervisor, a substitute named on the team page (an error beside its field first) who
then sees the absent caseworker's tasks."""

from __future__ import annotations

import os
from datetime import timedelta

from bokji import clock
from tests.test_pages import page, server, sign_in  # noqa: F401 - fixtures
from tests.test_queues import _person, _task_of

SHOTS = os.environ.get("BOKJI_SCREENSHOTS")  # a directory: the pages are also saved there to be looked at


def _shot(page, name: str) -> None:  # noqa: F811 - the fixture's name
    if SHOTS:
        page.set_viewport_size({"width": 1366, "height": 768})
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=False)


def _sign_out(page, server: str) -> None:  # noqa: F811
    page.context.clear_cookies()


def test_filter_claim_reassign_and_substitute_on_the_queue_page(server, page, client, login, deploy,  # noqa: F811
                                                                  library):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    hong, _ = _person(client, cw, "홍길동", "600101")
    kim, _ = _person(client, cw, "김영희", "610101")
    now = clock.now()
    late = _task_of(client, cw, applicant_id=hong, service_code="MOHW-NBLSS-LIVELIHOOD",
                    application_number="A20250310-0000AAAA", due_at=now - timedelta(days=3))
    soon = _task_of(client, cw, applicant_id=kim, service_code="MOHW-NBLSS-EDUCATION",
                    application_number="A20250310-0000BBBB", due_at=now + timedelta(days=10))
    page.set_viewport_size({"width": 1366, "height": 768})

    sign_in(page, server)
    page.click("#tab-team")
    page.wait_for_selector("#task-list")
    assert page.locator("#task-list tbody tr").count() == 2
    _shot(page, "queue-team")
    # Exact applicant name: one row, the name masked in the team's queue.
    page.fill("#queue-filter [name='name']", "홍길동")
    page.click("#filter-submit")
    page.wait_for_selector(f"tr[data-task='{late}']")
    assert page.locator("#task-list tbody tr").count() == 1
    assert page.locator(f"tr[data-task='{late}'] td.applicant").inner_text() == "홍*동"
    assert "생계급여" in page.locator(f"tr[data-task='{late}']").inner_text()
    # Overdue only.
    page.click("text=초기화")
    page.select_option("#queue-filter [name='due']", "overdue")
    page.click("#filter-submit")
    page.wait_for_selector(f"tr[data-task='{late}'] .badge.overdue")
    assert page.locator(f"tr[data-task='{soon}']").count() == 0
    # Claim it from there: now mine, with the full name.
    page.click(f"tr[data-task='{late}'] button.claim")
    page.wait_for_selector("#results[data-done='1']")
    page.click("#tab-mine")
    page.wait_for_selector(f"tr[data-task='{late}']")
    assert page.locator(f"tr[data-task='{late}'] td.applicant").inner_text().startswith("홍길동")
    _shot(page, "queue-mine")

    # The supervisor gives both tasks to caseworker2 (a reason is needed; the result is per task).
    _sign_out(page, server)
    sign_in(page, server, "supervisor")
    page.goto(f"{server}/queue?queue=office")
    page.check(f"tr[data-task='{late}'] input[name='selected']")
    page.check(f"tr[data-task='{soon}'] input[name='selected']")
    page.select_option(".bulk-actions [name='to']", "caseworker2")
    page.click("#bulk-reassign")
    page.wait_for_selector(".field-error[data-error='reason']")  # no reason: refused beside the field
    page.check(f"tr[data-task='{late}'] input[name='selected']")
    page.check(f"tr[data-task='{soon}'] input[name='selected']")
    page.select_option(".bulk-actions [name='to']", "caseworker2")
    page.fill(".bulk-actions [name='reason']", "업무량 조정")
    page.click("#bulk-reassign")
    page.wait_for_selector("#results[data-done='2']")
    assert page.locator(f"tr[data-task='{late}'] td.assignee").get_attribute("data-assignee") == "caseworker2"
    assert "사회복지 담당 2" in page.locator(f"tr[data-task='{late}'] td.assignee").inner_text()
    _shot(page, "queue-office-supervisor")

    # caseworker2 is away: the supervisor names caseworker the substitute (first without dates: an error).
    page.goto(f"{server}/team")
    page.select_option("#absent", "caseworker2")
    page.select_option("#substitute", "caseworker")
    page.click("#substitute-submit")
    page.wait_for_selector("#starts_on-error")
    assert page.locator("#absent").input_value() == "caseworker2"  # what was chosen is kept
    page.fill("#starts_on", str(clock.today()))
    page.fill("#ends_on", str(clock.today() + timedelta(days=2)))
    page.click("#substitute-submit")
    page.wait_for_selector("#substitutes tbody tr")
    _shot(page, "team")

    _sign_out(page, server)
    sign_in(page, server)
    page.click("#tab-standing_in")
    page.wait_for_selector(f"tr[data-task='{soon}']")
    assert page.locator("#task-list tbody tr").count() == 2
    page.click(f"tr[data-task='{soon}'] button.claim")  # the substitute takes one over
    page.wait_for_selector("#results[data-done='1']")
    page.click("#tab-mine")
    page.wait_for_selector(f"tr[data-task='{soon}']")
