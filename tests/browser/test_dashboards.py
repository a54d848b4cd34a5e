"""The KPI and place pages in a real browser: charts drawn by the site's own plotly.js, no
console errors, no request to another host, and no accessibility faults."""

import pytest

from tests.browser.test_accessibility import violations
from tests.browser.test_group_pages import log_in
from tests.reporting.dashboard_data import kpi_at_councils

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page, live_server) -> list[str]:
    """Console errors and requests to any other host, as they happen."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((live_server.url, "data:"))
            else problems.append(f"asked another host: {r.url}")
        ),
    )
    return problems


def test_a_group_member_opens_a_kpi_and_sees_its_charts_drawn(
    page, live_server, catalogue_data, sig
):
    kpi = kpi_at_councils()
    problems = _watch(page, live_server)
    log_in(page, live_server, sig.username)
    page.goto(f"{live_server.url}/board/")
    page.get_by_role("link", name=kpi.code, exact=True).click()
    page.get_by_label("Trend and control chart for").select_option("southend")
    page.get_by_role("button", name="Show").click()
    assert page.url.endswith(f"/board/kpis/{kpi.code}/?place=southend")
    plots = page.locator(".js-plotly-plot")
    plots.first.wait_for()
    assert plots.count() == 4
    # Drawn, not just placed: each chart has its SVG with the points in it.
    assert page.locator(".js-plotly-plot .main-svg").count() >= 4
    trend = page.locator('[data-figure="figure-trend"] .scatterlayer .point')
    assert trend.count() == 4
    # The table beneath the chart is there to open, with every value.
    page.get_by_text("The figures in this chart as a table").first.click()
    assert "46.0%" in page.inner_text("main")
    assert problems == []
    assert violations(page) == []


def test_the_place_page_draws_its_spine_chart_without_faults(
    page, live_server, catalogue_data, sig
):
    kpi_at_councils()
    problems = _watch(page, live_server)
    log_in(page, live_server, sig.username)
    page.goto(f"{live_server.url}/board/")
    page.get_by_role("link", name="Southend-on-Sea", exact=True).click()
    assert "Every KPI at Southend-on-Sea" in page.inner_text("main")
    assert problems == []
    assert violations(page) == []
