"""Every page in real Chromium under the Content Security Policy: nothing is refused (no inline script
without its nonce, no inline handler, no eval), and the sign-in lockout reads well."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import DEMO_PASSWORD, start_api
from tests.test_pages import CHROMIUM, CHROMIUM_ARGS, diagram_result, education_notice

# Before any page script: collect every CSP violation the page reports.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e =>
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.add_init_script(WATCH)
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(str(e)))
        yield page, console
        browser.close()


def _no_violation(page, console: list[str], where: str) -> None:
    reported = page.evaluate("window.__csp")  # Runtime.evaluate: not itself subject to the page's CSP
    refused = [m for m in console if "Content Security Policy" in m]
    assert reported == [] and refused == [], (where, reported, refused)


def test_every_page_runs_under_the_policy(spawn, browser_page, client, login, deploy, library):

    page, console = browser_page
    _proc, server = start_api(spawn)
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    instance = client.post("/instances", json={"key": "review_and_pay", "business_key": "CSP-1"}, headers=cw)
    task_id = instance.json()["waiting"][0]["id"]
    notice = education_notice(client, cw, "홍정책")

    page.goto(f"{server}/login")
    _no_violation(page, console, "login")
    page.fill("#username", "caseworker")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#submit")
    page.wait_for_selector("#tab-mine")
    page.goto(f"{server}/queue?queue=team")
    page.wait_for_selector("#task-list")
    _no_violation(page, console, "tasks")
    page.goto(f"{server}/processes")
    page.wait_for_selector("#process-list")
    _no_violation(page, console, "processes")
    page.goto(f"{server}/definitions/nblss_medical/diagram")
    assert diagram_result(page)["ok"]
    _no_violation(page, console, "diagram")
    page.goto(f"{server}/notices/{notice}")
    page.wait_for_selector("#notice")
    _no_violation(page, console, "notice")
    page.goto(f"{server}/notices/{uuid.uuid4()}")  # a message page (not found)
    assert "찾을 수 없습니다" in page.locator("main").inner_text()
    _no_violation(page, console, "message")
    page.goto(f"{server}/tasks/{task_id}/form")
    page.click("#submit")  # invalid: the form again, with errors
    page.wait_for_selector(".field-error[data-field='decision']")
    _no_violation(page, console, "task form")
    page.check("input[name='decision'][value='approve']")
    page.fill("[name='comment']", "확인 (checked)")
    page.click("#submit")
    page.wait_for_selector("#message[data-done='true']")  # the form's CSRF token was accepted
    _no_violation(page, console, "completed")
    page.goto(f"{server}/logout")
    _no_violation(page, console, "sign-out page")
    page.click("#submit")
    page.wait_for_url(f"{server}/login")
    page.goto(f"{server}/")
    assert "/login" in page.url  # the session's token is revoked
    _no_violation(page, console, "signed out")


def test_the_lockout_message_on_the_login_page(spawn, browser_page, tmp_path):
    page, console = browser_page
    _proc, server = start_api(spawn, BOKJI_LOGIN_USER_FAILURES="2", BOKJI_LOGIN_LOCK_SECONDS="300")
    page.goto(f"{server}/login")
    for _ in range(2):
        page.fill("#username", "caseworker")
        page.fill("#password", "not-the-password")
        page.click("#submit")
        page.wait_for_selector("#login-error")
    message = page.locator("#login-error").inner_text()
    assert "다시 시도해 주세요" in message and "5분" in message
    page.fill("#username", "caseworker")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#submit")  # the right password, still refused while locked
    page.wait_for_selector("#login-error")
    assert "다시 시도해 주세요" in page.locator("#login-error").inner_text() and "/login" in page.url
    _no_violation(page, console, "locked login")
    page.screenshot(path=str(tmp_path / "login-locked.png"))  # 1366×768, to look at (pytest --basetemp)
