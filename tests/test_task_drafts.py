"""The task API's drafts, conflicts and returns (issue 14, parts 3 and 6), on the guarantee decision module:
the caseworker's review, above the approval limit the supervisor's approval, a return back to review."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bokji.db import unit_of_work
from bokji.identity import service as identity
from bokji.identity.service import DEMO_PASSWORD
from tests.conftest import start_case

DECISION = {"service_code": "MOHW-NBLSS-LIVELIHOOD", "service_name": "국민기초생활보장 생계급여",
            "application_number": "A-2026-0001", "eligibility": "eligible", "reason": "at or below the line",
            "monthly_amount": 800_000, "annual_amount": None, "approval_limit": 500_000, "payment_kind": "cash",
            "amount_source": "rule", "amount_basis": "생계급여 기준액 - 소득인정액",
            "assessment": {"amount": 800_000, "period": "month", "trace": []}}


def colleague(username: str = "colleague", office: str = "seoul-jongno", name: str = "김동료") -> str:
    with unit_of_work() as session:
        identity.create_user(session, username=username, password=DEMO_PASSWORD, roles=["caseworker"],
                             office=office, ministry="MOHW", display_name=name)
    return username


def open_task(instance_id: str, element: str) -> str:
    with unit_of_work() as session:
        return session.execute(text("SELECT id::text FROM human_task WHERE instance_id = :i AND element_id = :e "
                                    "AND status = 'open'"), {"i": instance_id, "e": element}).scalar()


@pytest.fixture
def case(library) -> tuple[str, str]:
    instance_id = start_case("module_guarantee_decision", dict(DECISION))
    return instance_id, open_task(instance_id, "review")


def test_a_draft_is_kept_per_person_and_deleted_with_the_completion(client, login, case):
    instance_id, task = case
    cw, sup = login("caseworker"), login("supervisor")
    assert client.get(f"/tasks/{task}/draft", headers=cw).json()["data"] == {}
    r = client.put(f"/tasks/{task}/draft", headers=cw, json={"data": {"amount_override": "1,200,000",
                                                                       "decision_comment": "소득 재확인 중"}})
    assert r.status_code == 200, r.text
    assert r.json()["updated_at"] and r.json()["username"] == "caseworker"
    assert client.put(f"/tasks/{task}/draft", headers=sup, json={"data": {"decision": "reject"}}).status_code == 200
    assert client.get(f"/tasks/{task}/draft", headers=cw).json()["data"] == {
        "amount_override": "1,200,000", "decision_comment": "소득 재확인 중"}
    assert client.get(f"/tasks/{task}/draft", headers=sup).json()["data"] == {"decision": "reject"}
    with unit_of_work() as session:  # a draft is about the case: its saves and reads are logged with it
        logged = dict(session.execute(text("SELECT action, count(*) FROM access_log WHERE instance_id = :i "
                                           "AND action LIKE '%task_draft' GROUP BY action"), {"i": instance_id}).all())
    assert logged == {"save_task_draft": 2, "read_task_draft": 2}

    r = client.post(f"/tasks/{task}/complete", headers=cw, json={"data": {
        "decision": "approve", "amount_override": "1,200,000", "decision_comment": "소득 재확인 완료"}})
    assert r.status_code == 200, r.text
    with unit_of_work() as session:
        assert session.execute(text("SELECT count(*) FROM task_draft WHERE task_id = :t"), {"t": task}).scalar() == 0
    # The task is done: a draft is no longer taken (409 in Korean, saying who did what).
    late = client.put(f"/tasks/{task}/draft", headers=cw, json={"data": {"decision_comment": "x"}})
    assert late.status_code == 409 and "이 업무를 완료했습니다" in late.json()["message"]


def test_a_draft_is_checked_and_scoped(client, login, case):
    _instance, task = case
    cw = login("caseworker")
    bad = client.put(f"/tasks/{task}/draft", headers=cw, json={"data": {"no_such_field": "1"}})
    assert bad.status_code == 422 and bad.json()["field"] == "data.no_such_field"
    assert "서식에 없는 항목" in bad.json()["message"]
    typed = client.put(f"/tasks/{task}/draft", headers=cw, json={"data": {"decision_comment": {"nested": 1}}})
    assert typed.status_code == 422
    assert client.put(f"/tasks/{task}/draft", headers=cw, json=["not", "an", "object"]).status_code == 422
    # Another office's caseworker: the task does not exist for them, nor its draft.
    other = login(colleague("busan.cw", office="busan-haeundae"))
    assert client.get(f"/tasks/{task}/draft", headers=other).status_code == 404
    assert client.put(f"/tasks/{task}/draft", headers=other, json={"data": {}}).status_code == 404
    assert client.get(f"/tasks/{task}/draft", headers=cw).json()["data"] == {}


def test_two_caseworkers_completing_the_same_task_one_wins(client, login, case):
    instance_id, task = case
    cw, other = login("caseworker"), login(colleague())
    data = {"decision": "approve", "decision_comment": "확인"}
    first = client.post(f"/tasks/{task}/complete", headers=other, json={"data": data})
    second = client.post(f"/tasks/{task}/complete", headers=cw, json={"data": data})
    assert first.status_code == 200 and second.status_code == 409
    body = second.json()
    assert body["status"] == "completed" and body["completed_by"] == "colleague"
    assert "김동료 (colleague) 님이" in body["message"] and "한국 시간" in body["message"]
    with unit_of_work() as session:  # one completion: the case moved on once, to one approval
        approvals = session.execute(text("SELECT count(*) FROM human_task WHERE instance_id = :i "
                                         "AND element_id = 'supervisor_approval'"), {"i": instance_id}).scalar()
    assert approvals == 1


def test_a_claimed_task_refuses_another_caseworker_in_korean(client, login, case):
    _instance, task = case
    cw, other = login("caseworker"), login(colleague())
    assert client.post(f"/tasks/{task}/claim", headers=other).status_code == 200
    r = client.post(f"/tasks/{task}/complete", headers=cw, json={"data": {"decision": "reject",
                                                                          "decision_comment": "x1"}})
    assert r.status_code == 409 and "김동료 (colleague) 님이" in r.json()["message"]
    assert "맡았습니다" in r.json()["message"]
    assert client.put(f"/tasks/{task}/draft", headers=cw, json={"data": {}}).status_code == 409


def test_a_return_carries_its_reason_to_the_reopened_review(client, login, case):
    instance_id, task = case
    cw, sup = login("caseworker"), login("supervisor")
    r = client.post(f"/tasks/{task}/complete", headers=cw, json={"data": {
        "decision": "approve", "amount_override": "650,000원", "decision_comment": "주거비 반영"}})
    assert r.status_code == 200, r.text
    assert client.get(f"/tasks/{task}", headers=cw).json()["returned_reason"] is None  # a first review
    approval = open_task(instance_id, "supervisor_approval")
    assert client.get(f"/tasks/{approval}", headers=sup).json()["returned_reason"] is None
    r = client.post(f"/tasks/{approval}/complete", headers=sup, json={"data": {
        "supervisor_decision": "return", "supervisor_comment": "임대차계약서 확인 필요"}})
    assert r.status_code == 200, r.text
    again = open_task(instance_id, "review")
    assert again and again != task
    body = client.get(f"/tasks/{again}", headers=cw).json()
    assert body["returned_reason"] == "임대차계약서 확인 필요" and body["returned_by"] == "supervisor"
    # Approved the second time: the approval is not a "return" (it was never completed before).
    r = client.post(f"/tasks/{again}/complete", headers=cw, json={"data": {
        "decision": "approve", "amount_override": "640000", "decision_comment": "계약서 확인"}})
    assert r.status_code == 200, r.text
    second_approval = open_task(instance_id, "supervisor_approval")
    assert client.get(f"/tasks/{second_approval}", headers=sup).json()["returned_reason"] is None


def test_the_return_reason_property_must_name_a_field(client, login):
    ns = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')
    props = ("<bpmn:extensionElements><camunda:properties>%s</camunda:properties></bpmn:extensionElements>")
    bpmn = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {ns} id="d" targetNamespace="t">'
            '<bpmn:process id="bad_return" isExecutable="true">'
            + props % '<camunda:property name="ministry" value="MOHW"/>'
            + '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>'
            + '<bpmn:userTask id="t1">'
            + props % '<camunda:property name="return_reason" value="not a field"/>'
            + '</bpmn:userTask><bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="e"/><bpmn:endEvent id="e"/>'
            '</bpmn:process></bpmn:definitions>').encode()
    r = client.post("/definitions", files=[("files", ("bad_return.bpmn", bpmn))], headers=login("designer"))
    assert r.status_code == 422 and "return_reason" in r.json()["message"], r.text


def test_a_task_of_a_cancelled_case_says_so_in_korean(client, login, case):
    instance_id, task = case
    cw = login("caseworker")
    assert client.put(f"/tasks/{task}/draft", headers=cw, json={"data": {"decision_comment": "작성 중"}}).status_code \
        == 200
    r = client.post(f"/instances/{instance_id}/cancel", headers=login("supervisor"), json={"reason": "신청 철회"})
    assert r.status_code == 200, r.text
    late = client.post(f"/tasks/{task}/complete", headers=cw, json={"data": {"decision": "reject",
                                                                             "decision_comment": "작성 중"}})
    assert late.status_code == 409 and "취소되었습니다" in late.json()["message"], late.text
    assert late.json()["status"] == "cancelled"
    with unit_of_work() as session:  # the typed text of a task no one will do is not kept
        assert session.execute(text("SELECT count(*) FROM task_draft WHERE task_id = :t"), {"t": task}).scalar() == 0


def test_two_caseworkers_at_the_same_moment_one_wins_the_other_is_told_who(client, login, library):
    import threading

    people = {"caseworker": login("caseworker"), "colleague": login(colleague())}
    cases = [start_case("module_guarantee_decision", dict(DECISION)) for _ in range(4)]
    found = {open_task(i, "review"): [] for i in cases}

    def complete(task_id: str, username: str) -> None:
        r = client.post(f"/tasks/{task_id}/complete", headers=people[username], json={"data": {
            "decision": "reject", "decision_comment": f"{username} 판단"}})
        found[task_id].append((r.status_code, username, r.json()))

    threads = [threading.Thread(target=complete, args=(t, u)) for t in found for u in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for task_id, answers in found.items():
        answers.sort(key=lambda a: a[0])
        (won, winner, _body), (lost, _loser, refusal) = answers
        assert (won, lost) == (200, 409), answers
        assert refusal["completed_by"] == winner and f"({winner}) 님이" in refusal["message"]
        with unit_of_work() as session:
            submitted = session.execute(text("SELECT submission->>'decision_comment' FROM human_task WHERE id = :t"),
                                        {"t": task_id}).scalar()
        assert submitted == f"{winner} 판단"
