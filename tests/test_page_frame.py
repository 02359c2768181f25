"""Every page, as each role, at 1366×768 and on a 768×1024 tablet, in headless Chromium: the frame is there
(who is signed in, the menu, the language switch), nothing overflows sideways, Korean text renders in
the webfont we ship, and the language switch goes to English and back.
"""

from __future__ import annotations

import pytest

from tests.test_pages import education_notice, page, server, sign_in  # noqa: F401

VIEWPORTS = [(1366, 768), (768, 1024)]
# Pages each role opens (the home page is where the role lands; the rest are in its menu or links).
PAGES = {
    "caseworker": ["/", "/intake", "/intake/households/new",
                   "/processes", "/definitions/nblss_housing/diagram", "/logout", "/no/such/page"],
    "supervisor": ["/", "/processes", "/logout"],
    "designer": ["/processes", "/definitions/module_eligibility/diagram", "/logout", "/no/such/page"],
    "manager": ["/", "/monitor/cases", "/monitor/heatmap", "/processes", "/logout"],
    "ministry": ["/", "/monitor/cases", "/processes", "/logout"],
    "auditor": ["/processes", "/logout"],
    "admin": ["/processes", "/monitor/heatmap?definition_key=nblss_housing", "/logout"],
    "integration": ["/"],  # no pages: it is told so, in the frame
}

CHECK = """() => {
  const header = document.querySelector('.site-header');
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    header: !!header && header.getBoundingClientRect().height > 0,
    headerInside: !!header && header.getBoundingClientRect().right <= window.innerWidth + 1,
    who: (document.querySelector('#who') || {}).textContent || '',
    lang: document.documentElement.lang,
    font: getComputedStyle(document.body).fontFamily,
    fontReady: document.fonts.status,
    glyphs: document.fonts.check('16px "Noto Sans KR"', document.body.innerText.slice(0, 400)),
    noto: [...document.fonts].some(f => f.family.includes('Noto Sans KR') && f.status === 'loaded'),
  };
}"""


def _look(page) -> dict:  # noqa: F811
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")
    return page.evaluate(CHECK)


@pytest.mark.parametrize("role", sorted(PAGES))
def test_every_page_has_the_frame_fits_the_screen_and_renders_korean(server, page, role, library):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{server}/login")
    page.fill("#username", role)
    page.fill("#password", "bokji-demo-2026")
    page.click("#submit")
    page.wait_for_load_state("networkidle")
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for path in PAGES[role]:
            page.goto(f"{server}{path}")
            seen = _look(page)
            where = f"{role} {path} at {width}"
            assert seen["overflow"] <= 0, f"{where}: {seen['overflow']}px wider than the screen"
            assert seen["header"] and seen["headerInside"], f"{where}: the header is missing or off the screen"
            assert role in seen["who"], f"{where}: who is signed in is not shown"
            assert seen["lang"] == "ko" and seen["font"].startswith('"Noto Sans KR"'), where
            assert seen["noto"] and seen["glyphs"], f"{where}: Korean text is not in the webfont"


def test_a_task_form_and_a_notice_fit_a_tablet(server, page, client, login, library):  # noqa: F811
    notice_id = education_notice(client, login("caseworker"), "홍태블릿")
    sign_in(page, server)
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for path in (f"/notices/{notice_id}", f"/cases/{_case_of(notice_id)}"):
            page.goto(f"{server}{path}")
            seen = _look(page)
            assert seen["overflow"] <= 0 and seen["header"] and seen["noto"] and seen["glyphs"], (path, width, seen)
    # the case view lists what the case went through, in Korean, and links its diagram
    assert page.locator("#case-timeline tbody tr").count() >= 1
    assert page.locator("#case-diagram").count() == 1


def _case_of(notice_id: str) -> str:
    from bokji.db import unit_of_work
    from bokji.notices.models import DecisionNotice

    with unit_of_work() as session:
        return str(session.get(DecisionNotice, notice_id).instance_id)


def test_the_language_switch_round_trips(server, page, library):  # noqa: F811
    sign_in(page, server)
    page.goto(f"{server}/processes")
    assert page.locator("h1").inner_text() == "배포된 프로세스"
    page.click("#language-switch")
    page.wait_for_url(f"{server}/processes")
    assert page.locator("h1").inner_text() == "Deployed processes" and _look(page)["lang"] == "en"
    page.goto(f"{server}/")  # the choice holds on the next page
    assert page.locator("#sign-out").inner_text() == "Sign out"
    page.click("#language-switch")
    page.wait_for_load_state("networkidle")
    assert page.locator("#sign-out").inner_text() == "로그아웃" and _look(page)["lang"] == "ko"
