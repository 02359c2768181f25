"""The intake pages (접수) in real headless Chromium: finding a person at the counter."""

from __future__ import annotations

from tests.test_pages import page, server, sign_in  # noqa: F401
from tests.test_registry import rrn

SHOTS = "/tmp/w14"


def test_caseworker_finds_nobody_then_a_registered_person_masked(server, page, client, login):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server)
    page.click("nav >> text=접수")
    page.wait_for_url(f"{server}/intake")

    assert page.locator("#submit").inner_text() == "조회"
    page.click("#submit")  # nothing given: errors beside their fields and in the summary, nothing looked up
    assert page.locator(".error-summary").is_visible()
    assert page.locator('.field-error[data-field="purpose"]').count() == 1
    assert page.locator('.field-error[data-field="registration_number"]').count() == 1
    assert page.locator(".field-error").count() == 2  # the either/or error said once, not on all three fields
    page.screenshot(path=f"{SHOTS}/intake_find_errors.png", full_page=True)

    page.check('input[name="purpose"][value="intake"]')
    page.fill("#f-name", "한가람")
    page.fill("#f-birth_date", "1990-05-05")
    page.click("#submit")
    page.screenshot(path=f"{SHOTS}/intake_nobody.png", full_page=True)
    assert "조회된 대상자가 없습니다" in page.locator("#nobody").inner_text()

    r = client.post("/registry/persons", json={"registration_number": rrn("900505", "2"), "name": "한가람"},
                    headers=login("caseworker"))
    assert r.status_code == 201, r.text
    page.click("#search-again")
    page.check('input[name="purpose"][value="consultation"]')
    page.fill("#f-name", "한가람")
    page.fill("#f-birth_date", "1990-05-05")
    page.click("#submit")
    row = page.locator(f'#people tr[data-person="{r.json()["id"]}"]')
    assert "900505-2******" in row.inner_text()
    page.screenshot(path=f"{SHOTS}/intake_found.png", full_page=True)
