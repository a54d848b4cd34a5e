"""The release calendar and a release's "what changed" page, with figures in every table,
scanned with axe-core for WCAG 2.2 AA faults, and fitting a phone's width."""

import pytest

from tests.browser.test_accessibility import violations
from tests.kpis.release_helpers import two_releases_and_a_pending_one

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_changes_page_and_the_calendar_have_no_accessibility_faults(
    browser, live_server, catalogue_data, sig
):
    releases = two_releases_and_a_pending_one(sig)
    changes = f"{live_server.url}/releases/{releases.second.pk}/changes/"
    page = browser.new_page()
    page.goto(changes)
    main = page.inner_text("main")
    assert "Apr 2023" in main and "Jun 2023" in main and "On track" in main
    assert violations(page) == []
    page.goto(f"{live_server.url}/releases/")
    page.get_by_role("link", name="What changed in Quarter 2 outcomes").click()
    assert page.url == changes
    page.goto(f"{live_server.url}/releases/")
    assert violations(page) == []
    page.close()

    phone = browser.new_context(viewport={"width": 320, "height": 640})
    small = phone.new_page()
    widths = {}
    for path in (f"/releases/{releases.second.pk}/changes/", "/releases/"):
        small.goto(live_server.url + path)
        widths[path] = small.evaluate("document.documentElement.scrollWidth")
    phone.close()
    assert {path: width for path, width in widths.items() if width > 320} == {}
