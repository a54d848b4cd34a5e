import pytest

from strategy.access import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_reads_the_strategy_on_a_page(page, live_server, strategy_data):
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == (
        "Southend, Essex and Thurrock Mental Health Strategy 2023-28"
    )
    assert page.locator("section[aria-labelledby^='outcome-O'] h3").count() == 3
    assert page.locator("li[id^='priority-A-']").count() == 18
    assert page.locator("li[id^='priority-C-']").count() == 28
    # The vendored NHS.UK stylesheet is served and applied (header is NHS blue).
    colour = page.locator("header.nhsuk-header").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert colour == "rgb(0, 94, 184)"


def test_place_lead_logs_in_and_out(page, live_server, strategy_data, make_user):
    make_user("lead", Role.PLACE_LEAD, places=("southend",))
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Signed in as lead").is_visible()
    page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("link", name="Log in").is_visible()
