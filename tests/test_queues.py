"""Work queues over the API (issue 14, teams and queues): the tabs, filters by business fields, keyset pages,
capped counts, masking until claimed, one access-log row per page, saved filters shared with a team, bulk
claim and reassignment with a result per task (four eyes), substitutes, and scope (never another office's)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from bokji import clock
from bokji.db import unit_of_work
from tests.conftest import wait_for
from tests.test_instances import _start
from tests.test_registry import rrn
from tests.test_scope import _busan


def _person(client, headers, name: str, front: str) -> tuple[str, str]:
    number = rrn(front, "1")
    r = client.post("/registry/persons", json={"registration_number": number, "name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], number


def _task_of(client, headers, **case) -> str:
    """An open review task; `case` sets the queue columns as a catalog case's task would carry them (the
    write side, filled by the engine when the task opens, is tested with a real application below)."""
    task_id = _start(client, headers)["waiting"][0]["id"]
    if case:
        sets = ", ".join(f"{k} = :{k}" for k in case)
        with unit_of_work() as session:
            session.execute(text(f"UPDATE human_task SET {sets} WHERE id = :id"), {**case, "id": task_id})
    return task_id


def _queue(client, headers, queue: str = "mine", **params):
    r = client.get(f"/queues/{queue}", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_team_queue_masks_the_applicant_until_claimed_and_mine_shows_them(client, login, deploy, library):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    person, _ = _person(client, cw, "홍길동", "600101")
    task = _task_of(client, cw, applicant_id=person, service_code="MOHW-NBLSS-LIVELIHOOD",
                    application_number="A20250310-0000AAAA")
    team = _queue(client, cw, "team")
    row = next(i for i in team["items"] if i["task_id"] == task)
    assert row["applicant"] == "홍*동" and row["applicant_number"] is None
    assert row["service_name"] == "국민기초생활보장 생계급여" and row["application_number"] == "A20250310-0000AAAA"
    assert row["may_claim"] and row["assignee"] is None
    assert team["counts"]["mine"] == "0" and team["counts"]["team"] == "1" and team["counts"]["office"] == "1"

    assert client.post(f"/tasks/{task}/claim", headers=cw).status_code == 200
    mine = _queue(client, cw, "mine")
    assert [i["applicant"] for i in mine["items"]] == ["홍길동"]
    assert mine["items"][0]["applicant_number"].startswith("600101-1")
    assert mine["counts"]["mine"] == "1"
    # A colleague sees it claimed, and the name still masked.
    other = _queue(client, login("caseworker2"), "team")["items"][0]
    assert other["assignee"] == "caseworker" and other["applicant"] == "홍*동" and not other["may_claim"]


def test_each_page_view_writes_one_access_log_row_naming_its_applicants(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    people = [_person(client, cw, name, f"6{i}0101")[0] for i, name in enumerate(["김갑순", "이을남", "박병철"])]
    for p in people:
        _task_of(client, cw, applicant_id=p)
    _task_of(client, cw)  # a task with no applicant names no one
    with unit_of_work() as session:
        session.execute(text("DELETE FROM access_log"))
    _queue(client, cw, "office")
    with unit_of_work() as session:
        rows = session.execute(text("SELECT actor, purpose, action, subject_ids::text[] FROM access_log")).all()
    assert len(rows) == 1
    actor, purpose, action, subjects = rows[0]
    assert (actor, purpose, action) == ("caseworker", "work_queue", "list_queue:office")
    assert sorted(subjects) == sorted(people)


def test_filters_by_name_number_application_service_and_overdue(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    hong, hong_number = _person(client, cw, "홍길동", "600101")
    kim, _ = _person(client, cw, "김영희", "610101")
    now = clock.now()
    late = _task_of(client, cw, applicant_id=hong, service_code="MOHW-NBLSS-LIVELIHOOD",
                    application_number="A20250310-0000AAAA", due_at=now - timedelta(days=2))
    fine = _task_of(client, cw, applicant_id=kim, service_code="MOHW-NBLSS-EDUCATION",
                    application_number="A20250310-0000BBBB", due_at=now + timedelta(days=20))

    def ids(**params):
        return [i["task_id"] for i in _queue(client, cw, "office", **params)["items"]]

    assert ids(name="홍길동") == [late]
    assert ids(name="홍길") == []  # exact names only
    assert ids(registration_number=hong_number) == [late]
    assert ids(registration_number=hong_number.replace("-", "")) == [late]
    assert ids(application_number="a20250310-0000bbbb") == [fine]
    assert ids(service="MOHW-NBLSS-EDUCATION") == [fine]
    assert ids(due="overdue") == [late]
    assert ids(due="week") == [late]
    assert set(ids(status="unclaimed")) == {late, fine} and ids(status="claimed") == []
    with unit_of_work() as session:  # a supervisor sent this one back (tests/test_task_drafts.py makes it for real)
        session.execute(text("UPDATE human_task SET returned_reason = '소득 재확인' WHERE id = :i"), {"i": fine})
    assert ids(status="returned") == [fine]
    filtered = _queue(client, cw, "office", due="overdue")
    assert filtered["counts"]["office"] == "1"  # the current tab counts what the filters leave

    bad = client.get("/queues/office", params={"registration_number": "12345"}, headers=cw)
    assert bad.status_code == 422 and "registration_number" in bad.text
    assert client.get("/queues/office", params={"due": "someday"}, headers=cw).status_code == 422
    assert client.get("/queues/elsewhere", headers=cw).status_code == 422


def test_keyset_pages_of_fifty_cover_every_task_once_in_due_order(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    start = _task_of(client, cw)
    with unit_of_work() as session:  # 119 more tasks of the same instance shape, due on different days
        session.execute(text("""
            INSERT INTO human_task (id, instance_id, element_id, name, candidate_groups, candidate_users, stage,
                                    office, status, due_at, created_at, team_id)
            SELECT gen_random_uuid(), instance_id, element_id, name, candidate_groups, candidate_users, stage,
                   office, 'open', CASE WHEN g % 10 = 0 THEN NULL ELSE now() + (g % 37) * interval '1 day' END,
                   now() - g * interval '1 minute', team_id
            FROM human_task, generate_series(1, 119) g WHERE id = :id"""), {"id": start})
    seen, after, pages = [], None, 0
    while True:
        params = {"after": after} if after else {}
        page = _queue(client, cw, "team", **params)
        seen += page["items"]
        pages += 1
        after = page["next"]
        if not after:
            break
    assert pages == 3 and len(seen) == 120 and len({i["task_id"] for i in seen}) == 120
    keys = [(i["due_at"] is None, i["due_at"] or "", i["task_id"]) for i in seen]
    assert [k[:2] for k in keys] == sorted(k[:2] for k in keys)  # earliest due first, no due date last
    by_age = []
    after = None
    while True:
        page = _queue(client, cw, "team", sort="age", **({"after": after} if after else {}))
        by_age += [i["created_at"] for i in page["items"]]
        if not (after := page["next"]):
            break
    assert by_age == sorted(by_age) and len(by_age) == 120
    assert client.get("/queues/team", params={"after": "not-a-cursor"}, headers=cw).status_code == 422


def test_counts_are_capped(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    start = _task_of(client, cw)
    with unit_of_work() as session:
        session.execute(text("""
            INSERT INTO human_task (id, instance_id, element_id, candidate_groups, candidate_users, office, status,
                                    created_at, team_id)
            SELECT gen_random_uuid(), instance_id, element_id, candidate_groups, candidate_users, office, 'open',
                   now(), team_id FROM human_task, generate_series(1, 1000) WHERE id = :id"""), {"id": start})
    counts = _queue(client, cw, "team")["counts"]
    assert counts["team"] == "999+" and counts["office"] == "999+" and counts["mine"] == "0"


def test_another_offices_tasks_never_show_and_cannot_be_claimed(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    task = _task_of(client, cw)
    _busan()
    busan = login("busan.cw")
    for queue in ("mine", "office"):
        assert _queue(client, busan, queue)["items"] == []
    assert client.get("/queues/team", headers=busan).status_code == 404  # busan.cw is in no team
    results = client.post("/tasks/claims", json={"task_ids": [task]}, headers=busan).json()
    assert results == [{"task_id": task, "ok": False, "status": 404, "message": results[0]["message"],
                        "assignee": None}]
    with unit_of_work() as session:
        assert session.execute(text("SELECT assignee FROM human_task WHERE id = :i"), {"i": task}).scalar() is None


def test_bulk_claim_gives_a_result_per_task(client, login, deploy):
    deploy("review_and_pay.bpmn")
    cw, cw2 = login("caseworker"), login("caseworker2")
    free, taken = _task_of(client, cw), _task_of(client, cw)
    assert client.post(f"/tasks/{taken}/claim", headers=cw2).status_code == 200
    r = client.post("/tasks/claims", json={"task_ids": [free, taken, "not-a-uuid"]}, headers=cw)
    assert r.status_code == 200, r.text
    by_id = {x["task_id"]: x for x in r.json()}
    assert by_id[free]["ok"] and by_id[free]["assignee"] == "caseworker"
    assert not by_id[taken]["ok"] and by_id[taken]["status"] == 409 and "caseworker2" in by_id[taken]["message"]
    assert by_id["not-a-uuid"]["status"] == 404  # as for an unknown id
    assert [i["task_id"] for i in _queue(client, cw, "mine")["items"]] == [free]


def test_supervisor_reassigns_in_bulk_respecting_four_eyes(client, login, deploy):
    deploy("review_and_pay.bpmn")
    sup, cw = login("supervisor"), login("caseworker")
    one, two = _task_of(client, cw), _task_of(client, cw)
    # Four eyes: the second task checks a step caseworker2 completed on that case.
    with unit_of_work() as session:
        session.execute(text("""
            INSERT INTO human_task (id, instance_id, element_id, candidate_groups, candidate_users, office, status,
                                    created_at, completed_by, completed_at)
            SELECT gen_random_uuid(), instance_id, 'first_look', candidate_groups, candidate_users, office,
                   'completed', now(), 'caseworker2', now() FROM human_task WHERE id = :id"""), {"id": two})
        session.execute(text("UPDATE human_task SET four_eyes_of = 'first_look' WHERE id = :id"), {"id": two})
    r = client.post("/tasks/reassignments", json={"task_ids": [one, two], "to": "caseworker2",
                                                  "reason": "휴가 중 업무 분담"}, headers=sup)
    assert r.status_code == 200, r.text
    by_id = {x["task_id"]: x for x in r.json()}
    assert by_id[one]["ok"] and by_id[one]["assignee"] == "caseworker2"
    assert not by_id[two]["ok"] and by_id[two]["status"] == 422 and "first_look" in by_id[two]["message"]
    with unit_of_work() as session:
        logged = session.execute(text("SELECT actor, reason, detail->>'to' FROM operator_action "
                                      "WHERE action = 'reassign_task'")).all()
    assert logged == [("supervisor", "휴가 중 업무 분담", "caseworker2")]
    # A caseworker who leads no team may not reassign.
    refused = client.post(f"/tasks/{two}/reassign", json={"to": "caseworker", "reason": "내가 할게요"}, headers=cw)
    assert refused.status_code == 403
    # Nor may a task go to someone outside the office.
    _busan()
    outside = client.post(f"/tasks/{two}/reassign", json={"to": "busan.cw", "reason": "다른 지역"}, headers=sup)
    assert outside.status_code == 422 and "to" in outside.text


def test_a_substitute_sees_and_takes_over_the_absent_persons_tasks(client, login, deploy):
    deploy("review_and_pay.bpmn")
    sup, cw, cw2 = login("supervisor"), login("caseworker"), login("caseworker2")
    task = _task_of(client, cw)
    assert client.post(f"/tasks/{task}/claim", headers=cw).status_code == 200
    assert client.post(f"/tasks/{task}/claim", headers=cw2).status_code == 409  # not yet a substitute
    today = clock.today()
    bad = client.post("/substitutes", headers=sup, json={
        "absent": "caseworker", "substitute": "caseworker2", "starts_on": str(today),
        "ends_on": str(today - timedelta(1))})
    assert bad.status_code == 422 and "ends_on" in bad.text
    denied = client.post("/substitutes", headers=cw2, json={
        "absent": "caseworker", "substitute": "caseworker2", "starts_on": str(today), "ends_on": str(today)})
    assert denied.status_code == 403  # nobody names themselves a substitute
    r = client.post("/substitutes", headers=sup, json={
        "absent": "caseworker", "substitute": "caseworker2", "starts_on": str(today - timedelta(1)),
        "ends_on": str(today + timedelta(5))})
    assert r.status_code == 201, r.text
    standing_in = _queue(client, cw2, "standing_in")
    assert [i["task_id"] for i in standing_in["items"]] == [task] and standing_in["items"][0]["may_claim"]
    assert client.post(f"/tasks/{task}/claim", headers=cw2).json()["assignee"] == "caseworker2"
    assert [s["substitute"] for s in client.get("/substitutes", headers=cw).json()] == ["caseworker2"]
    assert client.delete(f"/substitutes/{r.json()['id']}", headers=sup).status_code == 204
    assert client.get("/queues/standing_in", headers=cw2).status_code == 404  # the tab is gone with it


def test_saved_filters_shared_with_the_team(client, login):
    cw, cw2 = login("caseworker"), login("caseworker2")
    mine = client.post("/queue-filters", headers=cw, json={"name": "기한 경과", "queue": "team",
                                                           "filter": {"due": "overdue"}})
    shared = client.post("/queue-filters", headers=cw, json={
        "name": "교육급여", "queue": "office", "share_with_team": True,
        "filter": {"service": "MOHW-NBLSS-EDUCATION", "sort": "age"}})
    assert mine.status_code == 201 and shared.status_code == 201, shared.text
    assert {f["name"] for f in client.get("/queue-filters", headers=cw).json()} == {"기한 경과", "교육급여"}
    theirs = client.get("/queue-filters", headers=cw2).json()
    assert [(f["name"], f["queue"], f["filter"]["service"], f["shared"]) for f in theirs] == [
        ("교육급여", "office", "MOHW-NBLSS-EDUCATION", True)]
    # A colleague cannot delete someone's filter; the owner can.
    assert client.delete(f"/queue-filters/{shared.json()['id']}", headers=cw2).status_code == 404
    assert client.delete(f"/queue-filters/{shared.json()['id']}", headers=cw).status_code == 204
    _busan()
    assert client.post("/queue-filters", headers=login("busan.cw"), json={
        "name": "x", "share_with_team": True}).status_code == 422  # in no team


def test_a_task_of_a_real_application_carries_its_service_application_and_applicant(client, login, platform):
    """The write side: the engine opening the decision task copies the case's facts into the queue row."""
    from tests.test_applications import _mother_and_child

    cw = login("caseworker")
    mother, child = _mother_and_child(client, cw)
    r = client.post("/applications", headers=cw, json={
        "applicant_id": mother, "application_date": "2025-03-10", "services": ["MOHW-NBLSS-EDUCATION"],
        "consents": {"deposits": "CONSENT-1"}, "details": {"school_levels": {child: "high"}}})
    assert r.status_code == 201, r.text
    number = r.json()["number"]

    def listed():
        items = _queue(client, cw, "team", application_number=number)["items"]
        return items[0] if items else None

    row = wait_for(listed, timeout=60, what="the decision task in the team queue")
    assert row["service_code"] == "MOHW-NBLSS-EDUCATION" and row["service_name"] == "국민기초생활보장 교육급여"
    assert row["applicant"] and "*" in row["applicant"] and row["team_id"]


def test_supervisor_makes_a_team_that_takes_a_service_and_sets_its_members(client, login, library):
    from bokji.identity import service as identity
    from bokji.teams import service as teams
    from tests.conftest import DEMO_PASSWORD

    sup = login("supervisor")
    r = client.post("/teams", headers=sup, json={"office": "seoul-jongno", "name": "교육급여팀",
                                                 "services": ["MOHW-NBLSS-EDUCATION"]})
    assert r.status_code == 201, r.text
    team = r.json()
    members = client.put(f"/teams/{team['id']}/members", headers=sup, json={"members": [
        {"username": "caseworker2", "lead": True}, {"username": "caseworker"}]})
    assert members.status_code == 200, members.text
    assert {(m["username"], m["lead"]) for m in members.json()["members"]} == {("caseworker2", True),
                                                                             ("caseworker", False)}
    with unit_of_work() as session:  # where a task of each service goes when it opens
        demo = session.execute(text("SELECT id::text FROM team WHERE name = '통합조사·급여팀'")).scalar()
        assert str(teams.team_for(session, "seoul-jongno", "MOHW-NBLSS-EDUCATION")) == team["id"]
        assert str(teams.team_for(session, "seoul-jongno", "MOHW-NBLSS-LIVELIHOOD")) == demo
        assert teams.team_for(session, "busan-haeundae", "MOHW-NBLSS-EDUCATION") is None
    assert {t["name"] for t in client.get("/teams", headers=login("caseworker2")).json()} == {
        "통합조사·급여팀", "교육급여팀"}

    def refused(body, status, field):
        r = client.post("/teams", headers=sup, json=body)
        assert r.status_code == status and field in r.text, r.text

    refused({"office": "seoul-jongno", "name": "교육급여팀"}, 422, "name")  # the office has one of that name
    refused({"office": "busan-haeundae", "name": "남의 팀"}, 422, "office")  # not the supervisor's office
    refused({"office": "seoul-jongno", "name": "없는 서비스팀", "services": ["NO-SUCH"]}, 404, "services")
    assert client.post("/teams", headers=login("caseworker"), json={"office": "seoul-jongno",
                                                                   "name": "x"}).status_code == 403
    _busan()
    outsider = client.put(f"/teams/{team['id']}/members", headers=sup, json={"members": [{"username": "busan.cw"}]})
    assert outsider.status_code == 422 and "members[0].username" in outsider.text
    with unit_of_work() as session:
        identity.create_user(session, username="busan.sup", password=DEMO_PASSWORD, roles=["supervisor"],
                             office="busan-haeundae", ministry="MOHW")
    assert client.put(f"/teams/{team['id']}/members", headers=login("busan.sup"),
                      json={"members": []}).status_code == 404  # another office's team is not there


def test_the_queue_says_business_days_left_on_the_offices_calendar(client, login, deploy):
    from datetime import datetime, time

    from bokji.calendar.service import BusinessCalendar

    deploy("review_and_pay.bpmn")
    cw = login("caseworker")
    today = clock.today()
    fifth = BusinessCalendar().add_business_days(today, 5)  # weekends and holidays skipped
    soon = _task_of(client, cw, due_at=datetime.combine(fifth, time(12), tzinfo=clock.SEOUL))
    with unit_of_work() as session:  # a closure before then moves it one business day further
        session.execute(text("INSERT INTO closure (day, office, reason, recorded_by, recorded_at) "
                             "VALUES (:d, 'seoul-jongno', '청사 점검', 'admin', now())"),
                        {"d": BusinessCalendar().add_business_days(today, 2)})
    late = _task_of(client, cw, due_at=clock.now() - timedelta(days=10))
    items = {i["task_id"]: i for i in _queue(client, cw, "office")["items"]}
    assert items[soon]["business_days_left"] == 4
    assert items[late]["business_days_left"] < 0
