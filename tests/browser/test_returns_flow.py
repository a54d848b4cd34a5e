"""End to end: a place lead uploads through the page, a real worker validates from Redis,
a reviewer approves, and the progress engine recomputes."""

import time

import pytest

from kpis.models import Assessment, Observation
from strategy.access import Role
from tests.kpis.upload_helpers import GOOD

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()


def test_upload_validate_submit_approve_and_recompute(
    browser, live_server, celery_worker, lead, make_user, tmp_path
):
    make_user("reviewer", Role.SIG_MEMBER)
    path = tmp_path / "southend-2024-25.csv"
    path.write_bytes(GOOD)

    lead_page = browser.new_context().new_page()
    log_in(lead_page, live_server, "southend-lead")
    lead_page.goto(live_server.url + "/returns/")
    lead_page.set_input_files("#id_file", str(path))
    lead_page.get_by_role("button", name="Upload").click()
    # The page polls the job and reloads when the worker has finished validating.
    lead_page.wait_for_selector("#return-state:has-text('Validated')", timeout=60_000)
    assert lead_page.locator("#return-percent").inner_text() == "100%"
    lead_page.get_by_role("button", name="Submit for review").click()
    assert lead_page.locator("#return-state").inner_text() == "Submitted"

    reviewer_page = browser.new_context().new_page()
    log_in(reviewer_page, live_server, "reviewer")
    reviewer_page.goto(lead_page.url)
    # The reviewer sees the values before approving them, beside what is approved now.
    values = reviewer_page.locator("table:has(#values-caption)").inner_text()
    assert "Southend-on-Sea" in values and "None approved" in values
    reviewer_page.get_by_role("button", name="Approve").click()
    assert reviewer_page.locator("#return-state").inner_text() == "Approved"

    stored = Observation.objects.get(source_upload__isnull=False, is_current=True)
    assert (stored.series.place.code, float(stored.value), stored.source_row) == (
        "southend",
        50.0,
        3,
    )
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline and not Assessment.objects.filter(series=stored.series).exists()
    ):
        time.sleep(0.3)
    assert Assessment.objects.get(series=stored.series).value == pytest.approx(50.0)
