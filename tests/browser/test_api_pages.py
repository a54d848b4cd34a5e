"""The API's reference page and browsable API in Chromium: drawn from this site alone."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reference_page_draws_every_endpoint_from_this_site_alone(page, live_server):
    def elsewhere(url: str) -> bool:
        # Redoc's search worker is a blob of this page's own origin.
        return not url.removeprefix("blob:").startswith(live_server.url)

    requested, loaded_elsewhere = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "requestfinished",
        lambda request: loaded_elsewhere.append(request.url) if elsewhere(request.url) else None,
    )
    page.goto(live_server.url + "/api/v1/reference/")
    page.get_by_role("heading", name="SET Outcomes API").wait_for()
    body = page.locator("body").text_content()
    for summary in (
        "Assessments: baseline and change, benchmarks, SPC, target progress and verdict",
        "KPIs with their full metadata",
        "Releases: published, and announced ones still to come",
    ):
        assert summary in body
    # Redoc's credit image lives on its maker's host: the page's policy stops the browser
    # fetching it, and nothing else is asked of another host.
    assert {url for url in requested if elsewhere(url)} <= {
        "https://cdn.redoc.ly/redoc/logo-mini.svg"
    }
    assert loaded_elsewhere == []


def test_the_browsable_api_shows_a_signed_in_analyst_the_figures(
    page, live_server, catalogue_data, make_user
):
    from strategy.access import Role

    analyst = make_user("analyst-b", Role.ANALYST)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    for path in ("/api/v1/observations/", "/api/v1/assessments/", "/api/v1/kpis/"):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "HTTP 200 OK" in page.inner_text("body"), path
