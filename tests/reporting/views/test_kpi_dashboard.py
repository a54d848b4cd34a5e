"""The internal KPI page: who sees which places, charts drawn from the stored figures, tables
beneath them, unpublished values marked, constant queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from strategy.access import Role
from strategy.models import Place
from tests.kpis.factories import AssessmentFactory, PeriodFactory, SeriesFactory
from tests.reporting.dashboard_data import QUARTERS, figures_on, kpi_at_councils
from tests.strategy.factories import PlaceFactory


@pytest.fixture
def kpi(catalogue_data):
    return kpi_at_councils()


def test_anonymous_visitors_log_in_and_analysts_are_refused_with_the_reason(client, make_user, kpi):
    url = reverse("reporting:kpi-dashboard", args=[kpi.code])
    assert "/login" in client.get(url)["Location"]
    client.force_login(make_user("analyst", Role.ANALYST))
    response = client.get(url)
    assert response.status_code == 403 and "for their own places" in response.content.decode()


def test_an_unknown_kpi_is_not_found(client, sig, kpi):
    client.force_login(sig)
    assert client.get(reverse("reporting:kpi-dashboard", args=["NO-SUCH"])).status_code == 404


def test_the_group_sees_every_place_and_the_charts_drawn_from_the_stored_figures(client, sig, kpi):
    client.force_login(sig)
    page = client.get(reverse("reporting:kpi-dashboard", args=[kpi.code]) + "?place=southend")
    html = page.content.decode()
    figures = figures_on(html)
    assert set(figures) == {"figure-trend", "figure-spc", "figure-caterpillar", "figure-funnel"}
    value = next(t for t in figures["figure-trend"]["data"] if t["name"] == "Value")
    assert value["x"] == QUARTERS and value["y"] == [40.0, 42.0, 44.0, 46.0]
    # The caterpillar compares the councils, lowest first, against SET and England (internal).
    (points, *lines) = figures["figure-caterpillar"]["data"]
    assert points["y"] == ["Southend-on-Sea", "Essex County Council area", "Thurrock"]
    assert points["x"] == [46.0, 54.0, 63.0]
    assert {line["name"] for line in lines} == {
        "Southend, Essex and Thurrock: 56.0",
        "England: 77.7",
    }
    # The data tables carry every value, with Southend's marked unpublished.
    assert "Not yet published: not approved" in html
    assert '<th scope="row" class="nhsuk-table__cell">2023-24 Q4</th>' in html
    assert "plotly.min.js" in html and "cdn.plot.ly" not in html


def test_the_funnel_is_drawn_around_set_and_names_the_outliers(client, sig, kpi):
    client.force_login(sig)
    html = client.get(reverse("reporting:kpi-dashboard", args=[kpi.code])).content.decode()
    names = {t["name"] for t in figures_on(html)["figure-funnel"]["data"]}
    # 46 of 100 and 63 of 100 against SET's 56%: Wilson 95% intervals 36.6-55.7 and 53.2-72.0,
    # so neither lies wholly outside the 95% limits around 56%.
    assert "Southend, Essex and Thurrock: 56.0" in names
    assert "Within the 95% limits" in names and "Below the 99.8% limit" not in names


def test_a_place_lead_sees_their_place_and_the_comparators_as_published(client, lead, kpi):
    client.force_login(lead)
    html = client.get(reverse("reporting:kpi-dashboard", args=[kpi.code])).content.decode()
    chooser = html.split('name="place"')[1].split("</select>")[0]
    # SET has nothing published: it has no value to show. England's published figure is
    # shown, not its internal one; Thurrock and Essex are not this lead's places.
    assert re.findall(r'<option value="([a-z-]+)"', chooser) == ["southend", "england"]
    assert "Thurrock</" not in html and "63.0" not in html and "Essex County" not in html
    assert "55.5" in html and "77.7" not in html


def _grow(kpi, how_many):
    periods = [PeriodFactory(label=f"{2000 + i}-{(2001 + i) % 100:02d}") for i in range(how_many)]
    for _ in range(how_many):
        series = SeriesFactory(kpi=kpi, place=PlaceFactory(kind=Place.Kind.ALLIANCE))
        for period in periods:
            AssessmentFactory(series=series, period=period)


@pytest.mark.parametrize("how_many", [2, 20])
def test_the_page_takes_the_same_queries_with_ten_times_the_places_and_periods(
    client, sig, kpi, how_many
):
    _grow(kpi, how_many)
    client.force_login(sig)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("reporting:kpi-dashboard", args=[kpi.code])).status_code == 200
    assert len(queries) == 13
