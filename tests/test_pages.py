"""The caseworker's pages in real headless Chromium against the API running as its own process."""

from __future__ import annotations

import shutil
import uuid

import pytest

from tests.conftest import start_api, start_case, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]



@pytest.fixture
def server(spawn) -> str:
    return start_api(spawn)[1]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        yield page
        browser.close()


def education_notice(client, cw, name: str) -> str:
    """A granted education-benefit notice, composed by its handler for a new person's case: its id."""
    from bokji.db import unit_of_work
    from bokji.jobs.handlers import HandlerContext
    from bokji.notices.handlers import compose
    from tests.test_applications import _household, _person
    from tests.test_registry import rrn

    person = _person(client, cw, rrn("700101", "1"), name)
    _household(client, cw, person)
    instance_id = start_case("nblss_education", {"member_ids": [person]})
    with unit_of_work() as session:
        return compose(HandlerContext(session=session, job_id=str(uuid.uuid4()), instance_id=instance_id,
                                      business_key="A-1", element_id="compose", topic="notice.compose", input={
            "service_code": "MOHW-NBLSS-EDUCATION", "service_name": "국민기초생활보장 교육급여",
            "applicant_id": person, "eligibility": "eligible", "decision": "approve",
            "reason": "recognised income at or below the threshold", "recognised_income": 0,
            "threshold": 1_196_007, "benefit_year": 2025, "annual_amount": 754_000, "monthly_amount": None,
            "amount_basis": "education activity support for high school, per year (figure unverified)",
            "amount_source": "unverified", "decision_comment": "재학 확인"}, attempt=1))["notice_id"]


def test_caseworker_signs_in_and_completes_a_task_form(server, page, client, login, deploy):
    deploy("review_and_pay.bpmn")
    instance = client.post("/instances", json={"key": "review_and_pay", "business_key": "APP-7"},
                           headers=login("caseworker")).json()
    task_id = instance["waiting"][0]["id"]

    page.goto(f"{server}/")
    assert "/login" in page.url  # not signed in: sent to the sign-in page
    page.fill("#username", "caseworker")
    page.fill("#password", "bokji-demo-2026")
    page.click("#submit")
    page.wait_for_selector("#tab-mine[aria-current=page]")  # lands on their own queue: nothing claimed yet
    assert page.locator("#no-tasks").count() == 1
    page.click("#tab-team")
    page.click(f"tr[data-task='{task_id}'] button.claim")  # claimed from the team's queue
    page.wait_for_selector("#results[data-done='1']")
    page.click("#tab-mine")
    page.click(f"tr[data-task='{task_id}'] td:nth-child(5) a")
    page.wait_for_selector("form")
    assert page.locator("h1").first.inner_text().startswith("Caseworker review")

    # Invalid: the server re-renders the form with the error next to each failing field.
    page.click("#submit")
    page.wait_for_selector(".field-error[data-field='decision']")
    assert page.locator(".field-error[data-field='comment']").count() == 1
    assert client.get(f"/tasks/{task_id}", headers=login("caseworker")).json()["status"] == "open"

    page.check("input[name='decision'][value='reject']")
    page.fill("[name='comment']", "<b>소득 초과</b>")
    page.click("#submit")
    page.wait_for_selector("#message[data-done='true']")
    body = wait_for(lambda: (b := client.get(f"/instances/{instance['id']}",
                                              headers=login("caseworker")).json())["status"] == "completed"
                    and b, what="instance completed")
    assert body["history"][-1]["element_id"] == "end_rejected"
    task = client.get(f"/tasks/{task_id}", headers=login("caseworker")).json()
    assert task["completed_by"] == "caseworker"


def diagram_result(page) -> dict:
    """What the diagram page's script reported. Waited for by a DOM mark, not `wait_for_function`: that
    polls with eval inside the page, which the Content Security Policy rightly refuses."""
    page.wait_for_selector("#diagram-status[data-done='true']", state="attached")
    return page.evaluate("window.diagramResult")


def sign_in(page, server: str, username: str = "caseworker") -> None:
    page.goto(f"{server}/login")
    page.fill("#username", username)
    page.fill("#password", "bokji-demo-2026")
    page.click("#submit")
    page.wait_for_url(lambda url: url.startswith(server) and "/login" not in url)
    page.wait_for_load_state()


def test_wrong_password_shows_an_error(server, page):
    page.goto(f"{server}/login")
    page.fill("#username", "caseworker")
    page.fill("#password", "not-the-password")
    page.click("#submit")
    assert "틀립니다" in page.locator("#login-error").inner_text()


def test_process_diagram_page_draws_the_variant_and_links_its_modules(server, page, library):
    sign_in(page, server)
    page.goto(f"{server}/definitions/nblss_medical/diagram")
    result = diagram_result(page)
    assert result["ok"] and result["warnings"] == [], result
    assert result["shapes"] > 30  # every element and flow of the variant is drawn
    assert page.locator(".djs-element[data-element-id='obligor_rule']").count() == 1
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark stays
    modules = page.locator("ul li a").all_inner_texts()
    assert modules == ["module_intake", "module_investigation", "module_eligibility", "module_guarantee_decision",
                       "module_payment_setup", "module_decision_notice", "module_periodic_review"]
    page.click("text=module_periodic_review")
    result = diagram_result(page)
    assert result["ok"] and page.locator(".djs-element[data-element-id='review_due']").count() == 1
    page.goto(f"{server}/definitions/no_such_process/diagram")
    assert "no_such_process" in page.locator("main").inner_text()


def test_decision_form_shows_the_case_with_unverified_figures_marked(server, page, client, login, platform):
    """The caseworker deciding an education benefit sees the recognised income, the threshold, the
    per-school amount (a published figure: no badge), the trace step by step and the evidence — and that
    read is logged with the task."""
    from sqlalchemy import text

    from bokji.db import unit_of_work
    from tests.test_applications import _mother_and_child

    cw = login("caseworker")
    mother, child = _mother_and_child(client, cw)
    r = client.post("/applications", headers=cw, json={
        "applicant_id": mother, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-EDUCATION"],
        "consents": {"deposits": "CONSENT-1"}, "details": {"school_levels": {child: "high"}}})
    assert r.status_code == 201, r.text
    instance_id = r.json()["cases"][0]["instance_id"]

    def review_task():
        with unit_of_work() as session:
            return session.execute(text("SELECT id::text FROM human_task WHERE instance_id = :i "
                                        "AND element_id = 'review' AND status = 'open'"), {"i": instance_id}).scalar()

    task_id = wait_for(review_task, timeout=60, what="the decision task")
    sign_in(page, server)
    page.goto(f"{server}/tasks/{task_id}/form")
    summary = page.locator("#case-summary")
    assert "MOHW-NBLSS-EDUCATION" in summary.inner_text()
    assert "1,966,329원" in page.locator("#case-threshold").inner_text()  # 50 % of the 2025 2-person median
    assert page.locator("#case-threshold [data-unverified]").count() == 0  # a published figure
    amount = page.locator("#case-amount")
    assert "768,000원" in amount.inner_text() and amount.locator("[data-unverified]").count() == 0
    assert page.locator("#case-evidence tbody tr").count() == 12  # 2 members × 6 data types
    assert page.locator("#case-trace li").count() >= 5
    with unit_of_work() as session:
        logged = session.execute(text("SELECT count(*) FROM access_log WHERE action = 'read_case' "
                                      "AND actor = 'caseworker' AND purpose LIKE 'A%/MOHW-NBLSS-EDUCATION'")).scalar()
    assert logged == 2  # one row per household member whose data the page showed

    page.check("input[name='decision'][value='approve']")
    page.fill("[name='decision_comment']", "고교 재학 확인 (enrolment checked)")
    page.click("#submit")
    page.wait_for_selector("#message[data-done='true']")


def test_the_readme_example_application_runs_against_the_api(server, library):
    import json
    import subprocess
    import sys

    from bokji.config import ROOT

    runs = []
    for _ in range(2):  # a second run finds the family registered and its application made (409: shown)
        out = subprocess.run([sys.executable, str(ROOT / "examples" / "apply.py"), "--url", server],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        assert [c["service_code"] for c in body["cases"]] == ["MOGEF-SINGLE-PARENT", "MOHW-NBLSS-EDUCATION",
                                                              "MOHW-NBLSS-LIVELIHOOD"]
        runs.append((body["number"], body["already_applied"]))
    assert runs == [(runs[0][0], False), (runs[0][0], True)]


def test_printable_decision_notice(server, page, client, login, library):
    """결정통지서: the notice as issued, in Korean, with the appeal deadline and unverified figures marked."""
    import uuid
    from datetime import date, timedelta

    from sqlalchemy import text

    from bokji.db import unit_of_work

    notice_id = education_notice(client, login("caseworker"), "홍통지")
    sign_in(page, server)
    page.goto(f"{server}/notices/{notice_id}")
    assert page.locator("#notice-outcome").inner_text() == "지급 결정"
    assert page.locator("#notice-amount").inner_text() == "754,000원/년"
    assert "홍통지 (700101-1******)" == page.locator("#notice-recipient").inner_text()
    # the payment day comes from the catalog's case entry: the education benefit's has none, so the
    # letter says so plainly rather than inventing a day; the issuing office is named, not coded
    assert page.locator("#notice-pay-day").inner_text() == "지급일은 별도로 안내합니다."
    assert page.locator("#notice-office").inner_text().strip() not in ("", "–")
    assert "90일 이내" in page.locator("#notice-appeal").inner_text()
    assert "unverified" not in page.locator("#notice-appeal").inner_text()
    # 90 days on the offices' calendar from the day of issue (today here or in Seoul, hours apart)
    from bokji.calendar.service import BusinessCalendar, Unit

    appeal = page.locator("#notice-appeal").inner_text()
    assert any(BusinessCalendar().deadline(day, 90, Unit.DAYS).isoformat() in appeal
               for day in (date.today(), date.today() + timedelta(days=1)))
    # the citizen's letter says in a plain sentence that the amount's basis is still being confirmed
    assert page.locator("#notice-reasons .being-confirmed").count() == 1
    assert page.locator("#notice .unverified").count() == 0  # internal badges stay on the staff screens
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and page.locator("#notice").is_visible()
    with unit_of_work() as session:
        assert session.execute(text("SELECT count(*) FROM access_log WHERE action = 'print_notice'")).scalar() == 1
    page.goto(f"{server}/notices/{uuid.uuid4()}")
    assert "찾을 수 없습니다" in page.locator("main").inner_text()


@pytest.mark.parametrize("user", ["designer", "auditor"])
def test_people_without_a_queue_land_on_the_processes(server, page, library, user):
    """Designers and auditors have no task queue: signing in takes them to the deployed processes, each
    linking to its diagram (before, they landed on a 403 page). Managers land on the dashboard
    (tests/test_monitor_pages.py)."""
    page.goto(f"{server}/login")
    page.fill("#username", user)
    page.fill("#password", "bokji-demo-2026")
    page.click("#submit")
    page.wait_for_url(f"{server}/processes")
    assert page.locator("#process-list tr[data-key='nblss_livelihood']").count() == 1
    # What each is and who starts it, as the models declare (issue 11).
    assert "서비스" in page.locator("#process-list tr[data-key='nblss_livelihood'] .kind").inner_text()
    assert "모듈" in page.locator("#process-list tr[data-key='module_intake'] .kind").inner_text()
    assert page.locator(".site-nav a[href='/']").count() == 0  # no queue link for them
    page.click("#process-list tr[data-key='molit_public_rental'] a")
    assert diagram_result(page)["ok"]
