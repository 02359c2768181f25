"""The task form page in real headless Chromium (issue 14, parts 3 and 6): amounts with separators, errors
beside their fields, drafts kept on the server, a supervisor's return with its reason, the approval with
both amounts, and a stale form that keeps what was typed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import start_case, wait_for
from tests.test_pages import page, server, sign_in  # noqa: F401  (fixtures)
from tests.test_task_drafts import DECISION, colleague, open_task

SHOTS = Path(os.environ.get("BOKJI_SCREENSHOTS", "/tmp/forms_shots"))


def shot(page, name: str) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def case(library) -> tuple[str, str]:
    instance_id = start_case("module_guarantee_decision", dict(DECISION))
    return instance_id, open_task(instance_id, "review")


def test_an_amount_with_separators_an_error_beside_it_then_completed(server, page, client, login, case):  # noqa: F811
    instance_id, task = case
    sign_in(page, server)
    page.goto(f"{server}/tasks/{task}/form")
    assert "(원, 월액)" in page.locator("label[for='f-amount_override']").inner_text()  # the case is monthly
    assert page.locator("#case-link").get_attribute("href") == f"/cases/{instance_id}"
    page.check("input[name='decision'][value='approve']")
    page.fill("[name='amount_override']", "백오십만 원")
    page.fill("[name='decision_comment']", "주거비 추가 반영")
    page.click("#submit")
    error = page.locator(".field-error[data-field='amount_override']")
    assert "원 단위 금액으로 입력해 주세요" in error.inner_text()
    assert page.input_value("[name='amount_override']") == "백오십만 원"  # shown as typed
    assert page.input_value("[name='decision_comment']") == "주거비 추가 반영"
    shot(page, "guarantee_decision_error")
    assert client.get(f"/tasks/{task}", headers=login("caseworker")).json()["status"] == "open"  # nothing advanced

    page.fill("[name='amount_override']", "1,500,000")
    page.click("#submit")
    page.wait_for_selector("#message[data-done='true']")
    assert page.locator("#case-link").get_attribute("href") == f"/cases/{instance_id}"
    assert page.locator("a[href='/']").count() >= 1
    assert page.locator("#next-task").count() == 0  # the approval is a supervisor's, not mine
    done = client.get(f"/tasks/{task}", headers=login("caseworker")).json()
    assert done["status"] == "completed"
    with_submission = open_task(instance_id, "supervisor_approval")
    assert with_submission  # 1,500,000 is above the limit: the supervisor approves


def test_the_supervisor_returns_with_a_reason_and_the_caseworker_sees_it(server, page, client, login, case):  # noqa: F811
    instance_id, task = case
    r = client.post(f"/tasks/{task}/complete", headers=login("caseworker"), json={"data": {
        "decision": "approve", "amount_override": "650,000", "decision_comment": "주거비 실비 반영"}})
    assert r.status_code == 200, r.text
    approval = open_task(instance_id, "supervisor_approval")

    sign_in(page, server, "supervisor")
    page.goto(f"{server}/tasks/{approval}/form")
    assert "800,000원/월" in page.locator("#case-computed-amount").inner_text()
    adjusted = page.locator("#case-adjusted-amount").inner_text()
    assert "650,000원/월" in adjusted and "(caseworker)" in adjusted and "주거비 실비 반영" in adjusted
    assert "사회복지 담당 Caseworker" in page.locator("#case-adjusted-by").inner_text()
    shot(page, "supervisor_approval_both_amounts")
    page.check("input[name='supervisor_decision'][value='return']")
    page.fill("[name='supervisor_comment']", "임대차계약서 사본 확인 필요")
    page.click("#submit")
    page.wait_for_selector("#message[data-done='true']")
    returned = open_task(instance_id, "review")
    # The supervisor is a caseworker too: the returned review is the case's next task for them.
    assert page.locator("#next-task").get_attribute("href") == f"/tasks/{returned}/form"
    assert page.locator("#next-task").inner_text() == "이 사례의 다음 업무: 보장 결정"
    assert page.locator("h1").inner_text() == "결재"
    shot(page, "done_with_next_task")

    page.context.clear_cookies()
    sign_in(page, server)
    page.goto(f"{server}/tasks/{returned}/form")
    banner = page.locator("#task-returned").inner_text()
    assert "반려했습니다: 임대차계약서 사본 확인 필요" in banner and "(supervisor)" in banner, banner
    # The form starts from the decision sent back (the caseworker corrects it, not types it again).
    assert page.input_value("[name='amount_override']") == "650,000"
    assert page.input_value("[name='decision_comment']") == "주거비 실비 반영"
    shot(page, "returned_task")


def test_a_stale_form_keeps_the_typed_text(server, page, client, login, case):  # noqa: F811
    _instance, task = case
    other = login(colleague())
    sign_in(page, server)
    page.goto(f"{server}/tasks/{task}/form")
    page.check("input[name='decision'][value='reject']")
    page.fill("[name='decision_comment']", "소득 초과로 부적합 — 오래 쓴 설명")
    # Meanwhile a colleague completes the same task.
    r = client.post(f"/tasks/{task}/complete", headers=other, json={"data": {
        "decision": "approve", "decision_comment": "적합"}})
    assert r.status_code == 200
    page.click("#submit")
    conflict = page.locator("#task-conflict")
    text = conflict.inner_text()
    assert "김동료 (colleague) 님이" in text and "완료했습니다" in text and "임시 저장" in text, text
    assert page.input_value("[name='decision_comment']") == "소득 초과로 부적합 — 오래 쓴 설명"
    assert page.is_checked("input[name='decision'][value='reject']")
    assert page.locator("#submit").count() == 0  # nothing more to submit here
    shot(page, "conflict_page")
    draft = client.get(f"/tasks/{task}/draft", headers=login("caseworker")).json()
    assert draft["data"]["decision_comment"] == "소득 초과로 부적합 — 오래 쓴 설명"
    task_now = client.get(f"/tasks/{task}", headers=login("caseworker")).json()
    assert task_now["completed_by"] == "colleague"


def test_a_task_claimed_by_someone_else_says_so_before_anything_is_typed(server, page, client, login, case):  # noqa: F811
    _instance, task = case
    sign_in(page, server)
    page.goto(f"{server}/tasks/{task}/form")
    page.click("#claim")  # 맡기
    page.wait_for_selector("#task-mine")
    assert client.get(f"/tasks/{task}", headers=login("caseworker")).json()["assignee"] == "caseworker"
    assert client.post(f"/tasks/{task}/unclaim", headers=login("caseworker")).status_code == 200
    assert client.post(f"/tasks/{task}/claim", headers=login(colleague())).status_code == 200
    page.goto(f"{server}/tasks/{task}/form")
    claimed = page.locator("#task-claimed").inner_text()
    assert "김동료 (colleague) 님이" in claimed and "제출할 수 없습니다" in claimed
    assert page.locator("#submit").count() == 0 and page.locator("#claim").count() == 0


def test_a_draft_survives_a_reload(server, page, client, login, case):  # noqa: F811
    _instance, task = case
    sign_in(page, server)
    page.goto(f"{server}/tasks/{task}/form")
    page.fill("[name='amount_override']", "720,000원")
    page.fill("[name='decision_comment']", "방문 상담 후 다시 판단")
    page.press("[name='decision_comment']", "Tab")  # a change: saved at once (typing saves after a pause)
    page.wait_for_selector("#draft-status[data-state='saved']")
    wait_for(lambda: client.get(f"/tasks/{task}/draft", headers=login("caseworker")).json()["data"].get(
        "decision_comment") == "방문 상담 후 다시 판단", what="the draft saved")
    assert "임시 저장했습니다" in page.locator("#draft-status").inner_text()
    page.reload()
    assert page.input_value("[name='decision_comment']") == "방문 상담 후 다시 판단"
    assert page.input_value("[name='amount_override']") == "720,000"  # shown with separators
    assert "임시 저장한 내용을 채웠습니다" in page.locator("#draft-status").inner_text()
    assert client.get(f"/tasks/{task}/draft", headers=login("caseworker")).json()["data"]["amount_override"] \
        == "720,000원"
    shot(page, "guarantee_decision_draft")
