"""The managers' dashboard in headless Chromium (issue 15 part 5): a manager signs in and lands on /monitor, sees
the figures of the hand-computed data set of tests/test_monitor.py, drills down from a chart's element to the cases
behind it with the filter shown, opens a service's heatmap (markers and overlays on the elements the cases went
through) and downloads the list as XLSX, which openpyxl opens."""

from __future__ import annotations

import io
import os

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from bokji.db import unit_of_work
from tests.test_monitor import history  # noqa: F401
from tests.test_pages import page, server, sign_in  # noqa: F401
from workers.monitor import once

# The data set's stage elements, renamed to the livelihood process's own element ids (its diagram draws them).
ELEMENTS = {"receive": "intake", "investigate": "investigation", "decide": "decision", "pay": "payment"}


def shot(page, name: str, **options) -> None:  # noqa: F811
    """Screenshots to look at, when BOKJI_SCREENSHOTS names a directory."""
    if os.environ.get("BOKJI_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["BOKJI_SCREENSHOTS"], name), **options)


@pytest.fixture
def drawn(history):  # noqa: F811
    with unit_of_work() as session:
        for old, new in ELEMENTS.items():
            session.execute(text("UPDATE element_history h SET element_id = :new FROM process_instance p "
                                 "WHERE p.id = h.instance_id AND p.definition_key = 'nblss_livelihood' "
                                 "AND h.element_id = :old"), {"old": old, "new": new})
        session.execute(text("UPDATE process_instance SET updated_at = now()"))
    assert once().recounted == 8
    return history


def test_manager_dashboard_drill_down_heatmap_and_xlsx(drawn, server, page):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server, "manager")
    assert page.url == f"{server}/monitor"  # managers land on their dashboard
    assert page.locator(".site-nav a[href='/monitor'][aria-current='page']").count() == 1
    page.wait_for_function("() => window.monitorReady === true")
    # The manager's office is seoul-jongno: C1, C2, C4, C6, C7 — two open (C4 paused, C7 at risk), C2 decided late.
    assert page.locator("#kpi-open .kpi-value").inner_text() == "2건"
    assert page.locator("#kpi-at-risk .kpi-value").inner_text() == "1건"
    assert page.locator("#kpi-breached .kpi-value").inner_text() == "1건"  # C2, decided late
    assert "영업일" in page.locator("#kpi-mean .kpi-value").inner_text()
    assert "기준" in page.locator("#as-of").inner_text()
    shot(page, "monitor.png", full_page=True)
    charts = page.evaluate("Object.keys(window.monitorCharts).sort()")
    assert charts == ["chart-backlog", "chart-caseload", "chart-durations", "chart-sla", "chart-trend"]
    # A click on the livelihood bar of the durations chart: ECharts' click handler opens the cases behind it.
    bar = page.evaluate("""() => {
      const c = window.monitorCharts['chart-durations'];
      const i = c.getOption().xAxis[0].data.findIndex(n => n.includes('생계'));
      const bar = c.getModel().getSeriesByIndex(0).getData().getItemLayout(i);
      const r = c.getDom().getBoundingClientRect();
      return {x: r.left + bar.x + bar.width / 2, y: r.top + bar.y + bar.height / 2};
    }""")
    page.mouse.click(bar["x"], bar["y"])
    page.wait_for_url("**/monitor/cases?service=MOHW-NBLSS-LIVELIHOOD")
    assert page.locator("#filters li[data-filter='service']").count() == 1
    assert "생계" in page.locator("#filters").inner_text()
    shot(page, "cases.png")
    states = page.locator("#cases-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.state).sort()")
    assert states == ["at_risk", "closed", "closed", "paused"]  # C1, C6 decided; C4, C7 open (jongno's L cases)
    assert "서울특별시 종로구청" in page.locator("#cases-table").inner_text()  # the office by its name
    # The XLSX of the same list.
    with page.expect_download() as got:
        page.click("#xlsx-cases")
    sheet = load_workbook(io.BytesIO(open(got.value.path(), "rb").read())).active
    assert sheet.max_row == 1 + 4
    # Removing the filter shows every case the manager may see.
    page.click("#filters li[data-filter='service'] a")
    page.wait_for_selector("#filters-none")
    assert page.locator("#cases-table tbody tr").count() == 5
    # The livelihood process's heatmap: the elements the cases went through are coloured and labelled.
    page.goto(f"{server}/monitor/heatmap?definition_key=nblss_livelihood")
    page.wait_for_function("() => window.heatmapResult !== undefined")
    assert page.evaluate("window.heatmapResult.ok")
    for element in ("intake", "investigation", "decision"):
        shape = page.locator(f"g.djs-element[data-element-id='{element}']")
        assert "heat-" in (shape.get_attribute("class") or ""), element
        assert page.locator(f".djs-overlay .heat-badge[data-element='{element}']").count() == 1
    assert page.locator(".djs-overlay .heat-badge[data-element='investigation']").inner_text().startswith("4건")
    assert page.locator("g.djs-element[data-element-id='eligibility'][class*='heat-']").count() == 0
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark stays
    shot(page, "heatmap.png")
    # A filter that is not one: a 422 page naming the parameter, no stack trace.
    answer = page.goto(f"{server}/monitor/cases?state=late")
    assert answer.status == 422 and "state" in page.locator("main").inner_text()
    answer = page.goto(f"{server}/monitor/heatmap?definition_key=no_such_process")
    assert answer.status == 422 and "definition_key" in page.locator("main").inner_text()
