"""The counter journey as pages (접수): register a household, record consents, screen it, choose services and
submit one application, its receipt; a service already held is shown before submitting and refused after.
Over HTTP (the pages' own routes, scope and bad input), then in real headless Chromium."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from bokji.db import unit_of_work
from bokji.privacy.access_log import AccessLog
from bokji.registry.models import Person
from tests.conftest import start_api
from tests.test_pages import page, sign_in  # noqa: F401
from tests.test_registry import rrn
from tests.test_scope import _busan

SHOTS = "/tmp/w14"
LIVELIHOOD = "MOHW-NBLSS-LIVELIHOOD"


def _household_form(front: str = "620303") -> dict:
    return {"head_name": "박순이", "head_rrn": rrn(front, "2"), "m1_name": "김민준", "m1_rrn": rrn("150505", "3"),
            "m1_relation": "child", "address": "서울특별시 종로구 세종대로 1", "region_class": "seoul",
            "locality": "large_city", "valid_from": "2024-01-01"}


def _register(client, headers, form: dict) -> str:
    r = client.post("/intake/households", data=form, headers=headers, follow_redirects=False)
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/intake/households/([0-9a-f-]{36})\?registered=1", r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


def _persons() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Person))


def test_register_household_refuses_bad_input_beside_its_field_and_keeps_nothing(client, login):
    cw = login("caseworker")
    for change, field in (({"head_rrn": ""}, "head_rrn"), ({"head_rrn": "620303-2"}, "head_rrn"),
                          ({"m1_relation": ""}, "m1_relation"), ({"region_class": "mars"}, "region_class"),
                          ({"address": " "}, "address"), ({"valid_from": "2024-02-30"}, "valid_from"),
                          ({"valid_from": "2999-01-01"}, "valid_from"),
                          ({"m1_rrn": rrn("620303", "2")}, "m1_rrn")):  # the head's number twice
        r = client.post("/intake/households", data={**_household_form(), **change}, headers=cw,
                        follow_redirects=False)
        assert r.status_code == 422, (change, r.status_code)
        assert f'data-field="{field}"' in r.text, (change, r.text[-3000:])
        assert "박순이" in r.text  # what was typed is kept
        assert _persons() == 0, change  # nothing registered: one transaction for the whole household
    household = _register(client, cw, _household_form())
    again = client.post("/intake/households", data=_household_form(), headers=cw, follow_redirects=False)
    assert again.status_code == 422 and 'data-field="head_rrn"' in again.text and household not in again.text


def test_counter_journey_over_http_scope_and_logging(client, login, library):
    _busan()
    cw, busan = login("caseworker"), login("busan.cw")
    form = _household_form()
    household = _register(client, cw, form)
    shown = client.get(f"/intake/households/{household}", headers=cw)
    assert shown.status_code == 200
    assert "620303-2******" in shown.text and form["head_rrn"] not in shown.text  # masked on screen
    with unit_of_work() as session:
        head = session.scalar(select(Person).where(Person.name == "박순이"))
        assert head.birth_date.isoformat() == "1962-03-03"  # derived from the number, as the API does

    bad = client.post(f"/intake/households/{household}/consents", headers=cw, follow_redirects=False, data={
        "person_id": str(head.id), "data_type": "deposits", "reference": "", "given_on": "2025-03-01",
        "scope": "household"})
    assert bad.status_code == 422 and 'data-field="reference"' in bad.text
    ok = client.post(f"/intake/households/{household}/consents", headers=cw, follow_redirects=False, data={
        "person_id": str(head.id), "data_type": "deposits", "reference": "C-2025-077", "given_on": "2025-03-01",
        "scope": "household"})
    assert ok.status_code == 303, ok.text
    assert "C-2025-077" in client.get(f"/intake/households/{household}", headers=cw).text

    url = f"/intake/households/{household}/screening"
    answers = {"application_date": "2025-03-10", "applicant": str(head.id), f"earned_{head.id}": "300,000",
               "tenure": "rent", "monthly_rent": "250,000", "deposit": "5,000,000"}
    screened = client.post(url, headers=cw, data={**answers, "action": "screen"})
    assert screened.status_code == 200, screened.text[-2000:]
    assert f'data-service="{LIVELIHOOD}"' in screened.text and "data-held" not in screened.text
    assert 'data-amount="' in screened.text

    early = client.post(url, headers=cw, data={**answers, "application_date": "2023-12-31", "action": "screen"})
    assert early.status_code == 422 and 'data-field="application_date"' in early.text  # before they lived there
    bad = client.post(url, headers=cw, data={**answers, f"earned_{head.id}": "삼십만", "action": "submit",
                                             "services": LIVELIHOOD}, follow_redirects=False)
    assert bad.status_code == 422 and f'data-field="earned_{head.id}"' in bad.text

    submitted = client.post(url, headers=cw, follow_redirects=False,
                            data={**answers, "action": "submit", "services": [LIVELIHOOD, "MOHW-NBLSS-HOUSING"]})
    assert submitted.status_code == 303, submitted.text[-3000:]
    receipt_url = submitted.headers["location"]
    receipt = client.get(receipt_url, headers=cw)
    assert receipt.status_code == 200
    number = re.search(r'id="application-number"><strong>(A\d{8}-[0-9A-F]{8})<', receipt.text).group(1)
    assert receipt.text.count('href="/cases/') == 2

    held = client.post(url, headers=cw, data={**answers, "action": "screen"})
    assert re.search(rf'data-service="{LIVELIHOOD}" data-held="true"', held.text) and number in held.text
    again = client.post(url, headers=cw, follow_redirects=False,
                        data={**answers, "action": "submit", "services": LIVELIHOOD})
    assert again.status_code == 409, again.text[-2000:]
    assert f'data-field="service_{LIVELIHOOD}"' in again.text
    assert 'value="300,000"' in again.text and 'value="250,000"' in again.text  # the answers are kept

    for junk in ({"application_date": "2025-13-40"}, {"applicant": "nobody"}, {"services": "NO-SUCH-SERVICE"},
                 {f"school_{head.id}": "kindergarten"}, {"tenure": "castle"}, {"financial": "-5"},
                 {"deposit": "9" * 40}, {"services": ["MOHW-NBLSS-EDUCATION"]}):
        r = client.post(url, headers=cw, data={**answers, "action": "submit", **junk}, follow_redirects=False)
        assert r.status_code == 422 and 'class="field-error"' in r.text, (junk, r.status_code)  # never a 500

    found = client.post("/intake/find", headers=cw, data={"purpose": "consultation", "name": "박순이",
                                                          "birth_date": "1962-03-03"})
    assert f'href="/intake/households/{household}"' in found.text  # 접수 계속 from the search

    for method, path, data in (("GET", f"/intake/households/{household}", None),
                               ("POST", f"/intake/households/{household}/consents", {
                                   "person_id": str(head.id), "data_type": "deposits", "reference": "X",
                                   "given_on": "2025-03-01", "scope": "person"}),
                               ("GET", url, None), ("POST", url, {**answers, "action": "screen"}),
                               ("GET", receipt_url, None), ("GET", f"/intake/households/{uuid.uuid4()}", None),
                               ("GET", "/intake/households/not-an-id", None)):
        who = busan if "not-an-id" not in path and str(uuid.UUID(int=0)) not in path else cw
        r = client.request(method, path, headers=who, data=data, follow_redirects=False)
        assert r.status_code == 404, (path, r.status_code)

    with unit_of_work() as session:
        reads = session.execute(select(AccessLog.action, AccessLog.purpose).where(
            AccessLog.person_id == head.id)).all()
    assert ("read_person", "intake") in reads and ("read_application", "intake") in reads
    assert ("search_person", "consultation") in reads  # the look-up with its declared purpose
    assert all(purpose == "intake" for action, purpose in reads if action != "search_person")


@pytest.fixture
def server(spawn):
    """The API as its own process; its log is printed after the test when it logged an error."""
    proc, url = start_api(spawn)
    yield url
    log = proc.stop()
    if "Traceback" in log:
        print(log[-8000:])


def test_caseworker_takes_a_new_households_application_in_chromium(server, page, library):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server)
    page.click("nav >> text=접수")
    page.check('input[name="purpose"][value="intake"]')
    page.fill("#f-name", "박순이")
    assert page.locator("#submit").inner_text() == "조회"
    page.click("#submit")
    assert page.locator(".field-error").count() == 1  # the name without the birth date: said once, beside it
    assert page.locator('.field-error[data-field="birth_date"]').count() == 1
    page.fill("#f-birth_date", "1962-03-03")
    page.click("#submit")
    page.click("#register-new")  # nobody found: 새로 등록
    page.wait_for_url(f"{server}/intake/households/new")

    form = _household_form()
    page.fill("#f-head_name", form["head_name"])
    page.fill("#f-head_rrn", form["head_rrn"])
    page.fill("#f-m1_name", form["m1_name"])
    page.fill("#f-m1_rrn", form["m1_rrn"])
    page.select_option("#f-region_class", "seoul")
    page.select_option("#f-locality", "large_city")
    page.click("#submit")  # no relation, no address: errors beside their fields, the typed names kept
    assert page.locator('.field-error[data-field="m1_relation"]').is_visible()
    assert page.locator('.field-error[data-field="address"]').is_visible()
    assert page.input_value("#f-m1_name") == "김민준"
    page.select_option("#f-m1_relation", "child")
    page.fill("#f-address", form["address"])
    page.fill("#f-valid_from", "2024-01-01")
    page.screenshot(path=f"{SHOTS}/intake_register_household.png", full_page=True)
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/intake/households/[0-9a-f-]{36}\?registered=1"))
    assert "가구를 등록했습니다" in page.locator("#notice").inner_text()
    members = page.locator("#members").inner_text()
    assert "620303-2******" in members and form["head_rrn"] not in page.content()

    page.select_option("#f-person_id", index=1)  # the head, listed first
    page.select_option("#f-data_type", "deposits")
    page.fill("#f-reference", "C-2025-077")
    page.fill("#f-given_on", "2025-03-01")
    page.click("#record-consent")
    assert "C-2025-077" in page.locator("#members").inner_text()
    page.screenshot(path=f"{SHOTS}/intake_household_consents.png", full_page=True)

    page.click("#to-screening")
    head = page.locator("#members tr, #declared tbody tr").first.get_attribute("data-person")

    def declare() -> None:
        page.fill("#f-application_date", "2025-03-10")
        page.fill(f"#f-earned_{head}", "300,000")
        page.select_option("#f-tenure", "rent")
        page.fill("#f-monthly_rent", "250,000")
        page.fill("#f-deposit", "5,000,000")

    declare()
    page.click("#screen")
    page.screenshot(path=f"{SHOTS}/intake_screening.png", full_page=True)
    livelihood = page.locator(f'#eligible [data-service="{LIVELIHOOD}"]')
    assert "원" in livelihood.locator(".amount").inner_text() and "월" in livelihood.locator(".amount").inner_text()
    page.screenshot(path=f"{SHOTS}/intake_screening.png", full_page=True)
    page.check(f"#f-service_{LIVELIHOOD}")
    page.check("#f-service_MOHW-NBLSS-HOUSING")
    page.click("#screen")  # the chosen services' questions
    assert "주거급여" in page.locator("#questions").inner_text()
    page.screenshot(path=f"{SHOTS}/intake_choose_services.png", full_page=True)
    page.click("#submit-application")
    page.wait_for_url(re.compile(r".*/intake/applications/[0-9a-f-]{36}"))
    number = page.locator("#application-number").inner_text()
    assert re.fullmatch(r"A20250310-[0-9A-F]{8}", number)
    assert page.locator("#cases tbody tr").count() == 2
    assert page.locator(f'#cases tr[data-service="{LIVELIHOOD}"] a[href^="/cases/"]').count() == 1
    page.screenshot(path=f"{SHOTS}/intake_receipt.png", full_page=True)

    # A second application for the service now held: marked before submitting, refused if submitted anyway.
    page.click("text=가구로 돌아가기")
    page.click("#to-screening")
    declare()
    page.click("#screen")
    held = page.locator(f'[data-service="{LIVELIHOOD}"] .held')
    assert held.is_visible() and number in held.inner_text()
    page.check(f"#f-service_{LIVELIHOOD}")
    page.click("#submit-application")
    refusal = page.locator(f'.field-error[data-field="service_{LIVELIHOOD}"]')
    assert refusal.is_visible() and "이미" in refusal.inner_text()
    assert page.input_value(f"#f-earned_{head}") == "300,000" and page.is_checked(f"#f-service_{LIVELIHOOD}")
    refusal.scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}/intake_held_refused.png", full_page=True)


def test_a_registered_person_in_no_household_heads_a_new_one(client, login):
    _busan()
    cw = login("caseworker")
    r = client.post("/registry/persons", json={"registration_number": rrn("550606", "1"), "name": "정한솔"}, headers=cw)
    person = r.json()["id"]
    found = client.post("/intake/find", headers=cw, data={"purpose": "intake", "name": "정한솔",
                                                          "birth_date": "1955-06-06"})
    assert f'href="/intake/households/new?head={person}"' in found.text
    form = client.get("/intake/households/new", params={"head": person}, headers=cw)
    assert form.status_code == 200 and "550606-1******" in form.text and 'name="head_rrn"' not in form.text
    assert client.get("/intake/households/new", params={"head": person}, headers=login("busan.cw")).status_code == 404
    data = {"head_id": person, "m1_name": "정하늘", "m1_rrn": rrn("580707", "2"), "m1_relation": "spouse",
            "address": "서울특별시 종로구 2", "region_class": "seoul", "valid_from": "2024-01-01"}
    household = _register(client, cw, data)
    assert "정하늘" in client.get(f"/intake/households/{household}", headers=cw).text
    again = client.post("/intake/households", headers=cw, follow_redirects=False,
                        data={**data, "m1_rrn": rrn("580708", "2")})
    assert again.status_code == 422 and 'data-field="form"' in again.text  # already in a household


def test_a_number_without_its_check_digit_is_registered_with_a_warning_and_another_office_is_not_linked(
        client, login):
    _busan()
    cw = login("caseworker")
    good = rrn("010101", "4")
    unchecked = good[:-1] + str((int(good[-1]) + 1) % 10)  # as numbers issued since October 2020
    household = client.post("/intake/households", headers=cw, follow_redirects=False, data={
        **_household_form(), "head_rrn": unchecked, "head_name": "이새롬", "m1_name": "", "m1_rrn": ""})
    assert household.status_code == 303 and household.headers["location"].endswith("&unchecked=1")
    shown = client.get(household.headers["location"], headers=cw)
    assert "검증번호" in shown.text
    there = client.post("/intake/find", headers=login("busan.cw"), data={
        "purpose": "consultation", "registration_number": unchecked})
    assert "이새롬" in there.text and "/intake/households/" not in there.text  # served at its own office
