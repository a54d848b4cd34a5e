"""Every kind of page runs under the Content-Security-Policy with nothing refused: no inline
script anywhere, and the charts, the admin, the browsable API and the reference still work."""

import pytest

from tests.browser.test_group_pages import log_in
from tests.reporting.dashboard_data import kpi_at_councils

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLIC = [
    "/",
    "/kpis/",
    "/kpis/{kpi}/",
    "/places/southend/",
    "/outcomes/O1/",
    "/what-matters/",
    "/releases/",
    "/api/",
    "/api/v1/kpis/",
    "/api/v1/reference/",
    "/accounts/login/",
]
SIGNED_IN = [
    "/board/",
    "/board/kpis/{kpi}/?place=southend",
    "/board/places/southend/",
    "/returns/",
    "/releases/new/",
    "/tracker/",
    "/completeness/",
    "/audit/",
    "/api/token/",
    "/api/v1/observations/?view=internal",
]


def _refusals(page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def test_public_and_group_pages_run_with_nothing_refused(
    page, live_server, catalogue_data, sig, make_user
):
    from strategy.access import Role

    kpi = kpi_at_councils()
    refused = _refusals(page)
    for path in PUBLIC:
        response = page.goto(live_server.url + path.format(kpi=kpi.code))
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    log_in(page, live_server, sig.username)
    for path in SIGNED_IN:
        page.goto(live_server.url + path.format(kpi=kpi.code))
    # Plotly drew the KPI page's charts under the policy.
    page.goto(f"{live_server.url}/board/kpis/{kpi.code}/?place=southend")
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    admin = make_user("csp-admin", Role.ADMINISTRATOR)
    log_in(page, live_server, admin.username)
    for path in ("/admin/", "/admin/kpis/kpi/", "/admin/kpis/auditevent/"):
        page.goto(live_server.url + path)
    # ReDoc's credit image, on its maker's host, is the one thing the policy stops.
    assert [text for text in refused if "cdn.redoc.ly" not in text] == []
