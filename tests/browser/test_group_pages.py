"""The group's pages in a real browser: a release announced and published, the board filtered,
a return's values seen by its reviewer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kpis.models import Observation, Release
from strategy.models import Place
from tests.kpis.factories import (
    AssessmentFactory,
    KpiFactory,
    ObservationFactory,
    PeriodFactory,
    SeriesFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()


def test_the_group_announces_a_release_and_publishes_it_when_due(
    page, live_server, catalogue_data, sig
):
    value = ObservationFactory(approved=True)
    log_in(page, live_server, sig.username)
    page.goto(live_server.url + "/releases/")
    page.get_by_role("link", name="Announce a release").click()
    page.get_by_label("Title").fill("Quarter 3 outcomes")
    when = timezone.localtime() + timedelta(days=14)
    page.get_by_label("Publishes at (UK time)").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Announce the release").click()
    assert "Quarter 3 outcomes is announced." in page.inner_text("main")
    assert "Everything approved when it publishes" in page.inner_text("main")
    # A fortnight passes: the announced time comes.
    release = Release.objects.get(title="Quarter 3 outcomes")
    Release.objects.filter(pk=release.pk).update(scheduled_for=timezone.now())
    page.reload()
    page.get_by_role("button", name="Publish now").click()
    assert "Published 1 values." in page.inner_text("main")
    value = Observation.objects.get(pk=value.pk)
    assert value.release == release and value.published_at is not None


def test_the_board_is_filtered_by_verdict(page, live_server, catalogue_data, sig):
    kpi = KpiFactory(code="BOARD-1", title="Seen within four weeks")
    for place, verdict in (("southend", "improving"), ("thurrock", "off_track")):
        AssessmentFactory(
            series=SeriesFactory(kpi=kpi, place=Place.objects.get(code=place)),
            period=PeriodFactory(label="2024-25"),
            is_latest=True,
            value=50.0,
            verdict=verdict,
        )
    other = KpiFactory(code="BOARD-2", title="Another measure")
    AssessmentFactory(
        series=SeriesFactory(kpi=other, place=Place.objects.get(code="southend")),
        period=PeriodFactory(label="2024-25"),
        is_latest=True,
        value=10.0,
        verdict="on_track",
    )
    log_in(page, live_server, sig.username)
    page.goto(live_server.url + "/board/")
    assert {"BOARD-1", "BOARD-2"} <= set(page.locator("tbody th a").all_inner_texts())
    page.get_by_label("Verdict").select_option("off_track")
    page.get_by_role("button", name="Apply").click()
    assert page.locator("tbody th a").all_inner_texts() == ["BOARD-1"]
    assert "Off track" in page.inner_text("tbody")


def test_a_place_lead_sees_only_their_places_on_the_board(page, live_server, lead):
    log_in(page, live_server, lead.username)
    page.goto(live_server.url + "/board/")
    assert page.locator("thead th").all_inner_texts() == [
        "KPI",
        "Outcome, theme and cohort",
        "Southend-on-Sea",
    ]
