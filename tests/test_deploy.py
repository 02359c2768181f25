"""Deploying definitions: every rejection class, versions, no-op re-deploys, dependencies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bokji.db import unit_of_work
from bokji.definitions.models import Definition, Deployment
from tests.conftest import FIXTURES, fixture_files

REJECTIONS = [
    # file, element the message must name (None: a document-level problem), words of the reason
    ("malformed_xml.bpmn", None, "XML 형식이 잘못되었습니다"),
    ("external_entity.bpmn", None, "ENTITY"),
    ("unknown_call_target.bpmn", "call_missing", "no_such_process"),
    ("unknown_form.bpmn", "fill_in", "알 수 없는 양식 'no_such_form'"),
    ("python_syntax_error.bpmn", "f_yes", "Python 문법 오류"),
    ("unsupported_element.bpmn", "complex_gw", "complexGateway은(는) 이 플랫폼에서 지원하지 않습니다"),
    ("unsupported_hit_policy.dmn", "priority_table", "RULE ORDER은(는) 지원하지 않습니다"),
    ("four_eyes_unknown_task.bpmn", "approve", "four_eyes='decide'에는 프로세스"),
    # the sandbox's allowlist (processes/sandbox/policy.py) and form patterns (RE2)
    ("sandbox_dunder_condition.bpmn", "f_yes", "허용되지 않습니다: attribute '__class__'"),
    ("sandbox_import_script.bpmn", "run_os", "허용되지 않습니다: import"),
    ("sandbox_timer_call.bpmn", "wait", "허용되지 않습니다: call of 'open'"),
    ("sandbox_dmn_cell.dmn", "bad_out", "허용되지 않습니다: call of 'getattr'"),
    ("sandbox_form_pattern.form", None, "validate.pattern은 허용되지 않습니다"),
]


def _stored() -> tuple[int, int]:
    with unit_of_work() as session:
        return (session.scalar(select(func.count()).select_from(Deployment)),
                session.scalar(select(func.count()).select_from(Definition)))


@pytest.mark.parametrize(("name", "element", "reason"), REJECTIONS)
def test_api_rejects_with_file_element_and_reason(client, login, name, element, reason):
    r = client.post("/definitions", files=fixture_files(f"rejected/{name}"), headers=login("designer"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["file"] == name
    assert body["element"] == element
    assert reason in body["message"]
    assert name in body["message"] and (element is None or element in body["message"])
    for raw in ("KeyError", "AttributeError", "TypeError", "Traceback"):
        assert raw not in r.text
    assert _stored() == (0, 0)


@pytest.mark.parametrize(("name", "element", "reason"), REJECTIONS)
def test_cli_rejects_with_exit_2(spawn, name, element, reason):
    proc = spawn("deploy", str(FIXTURES / "bpmn" / "rejected" / name))
    assert proc.popen.wait(60) == 2
    output = proc.stop()
    assert name in output and reason in output
    assert element is None or element in output
    assert "Traceback" not in output
    assert _stored() == (0, 0)


def test_external_entity_is_never_expanded(client, login):
    r = client.post("/definitions", files=fixture_files("rejected/external_entity.bpmn"),
                    headers=login("designer"))
    assert "root:" not in r.text  # /etc/passwd content must not leak into any message


def test_versions_and_identical_redeploy(deploy):
    first = deploy("review_and_pay.bpmn")
    assert first["created"] is True
    assert [(d["key"], d["version"]) for d in first["definitions"]] == [("review_and_pay", 1)]
    assert "caseworker_decision.form" in first["files"]  # the form travels with the version

    again = deploy("review_and_pay.bpmn", expect=200)
    assert again["created"] is False and again["deployment_id"] == first["deployment_id"]
    assert _stored() == (1, 1)


def test_changed_file_makes_next_version(client, login, deploy):
    deploy("review_and_pay.bpmn")
    changed = (FIXTURES / "bpmn" / "review_and_pay.bpmn").read_bytes().replace(b"P14D", b"P7D")
    r = client.post("/definitions", files=[("files", ("review_and_pay.bpmn", changed))],
                    headers=login("designer"))
    assert r.status_code == 201
    assert r.json()["definitions"][0]["version"] == 2
    r = client.get("/definitions", params={"all_versions": True}, headers=login("designer"))
    assert [(d["key"], d["version"]) for d in r.json()] == [("review_and_pay", 2), ("review_and_pay", 1)]


def test_warns_about_topics_without_handler(client, login):
    source = (FIXTURES / "bpmn" / "review_and_pay.bpmn").read_bytes().replace(
        b"test.record_payment", b"agency.unknown")
    r = client.post("/definitions", files=[("files", ("review_and_pay.bpmn", source))],
                    headers=login("designer"))
    assert r.status_code == 201
    assert any("'pay'" in w and "agency.unknown" in w for w in r.json()["warnings"])


def test_dmn_only_then_bpmn_using_the_deployed_decision(deploy, client, login):
    dmn = deploy("benefit_level.dmn")
    assert [(d["kind"], d["key"]) for d in dmn["definitions"]] == [("decision", "benefit_level")]
    bpmn = deploy("decide_level.bpmn")
    assert "benefit_level.dmn" in bpmn["files"]
    r = client.post("/instances", json={"key": "decide_level", "data": {"monthly_income": 1_500_000}},
                    headers=login("caseworker"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "completed"
    assert r.json()["stage"] == "decision"


def test_call_activity_resolves_a_deployed_process(deploy, client, login):
    deploy("review_and_pay.bpmn")
    result = deploy("call_review.bpmn")
    assert [d["key"] for d in result["definitions"]] == ["call_review"]  # the callee gets no new version
    r = client.post("/instances", json={"key": "call_review", "data": {}}, headers=login("caseworker"))
    assert r.status_code == 201, r.text
    waiting = r.json()["waiting"]
    assert [w["element_id"] for w in waiting] == ["review"]  # the called process's user task


def test_collaboration_with_two_pools(deploy, client, login):
    result = deploy("two_pools.bpmn")
    kinds = {(d["kind"], d["key"]) for d in result["definitions"]}
    assert ("collaboration", "office_and_agency") in kinds
    assert {("process", "office_side"), ("process", "agency_side")} <= kinds
    r = client.post("/instances", json={"key": "office_and_agency", "data": {}}, headers=login("caseworker"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert [w["element_id"] for w in body["waiting"]] == ["office_check"]
    assert "agency_script" in {h["element_id"] for h in body["history"]}


def test_unknown_file_type_and_empty_upload(client, login):
    r = client.post("/definitions", files=[("files", ("notes.txt", b"hello"))], headers=login("designer"))
    assert r.status_code == 422 and "notes.txt" in r.json()["message"]
    r = client.post("/definitions", headers=login("designer"))
    assert r.status_code == 422 and "files" in r.json()["message"]


def test_every_fixture_outside_rejected_deploys_under_the_sandbox_rules(library, client, login):
    """The allowlist refuses nothing the library (deployed by the `library` fixture, as at every
    start-up) and the fixtures are written with; some fixtures use the library's decisions."""
    names = sorted(p.name for p in (FIXTURES / "bpmn").iterdir() if p.suffix in (".bpmn", ".dmn"))
    r = client.post("/definitions", files=fixture_files(*names), headers=login("designer"))
    assert r.status_code == 201, r.text
    assert len(r.json()["definitions"]) >= len(names)
