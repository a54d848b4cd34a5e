"""The internal place page: every KPI at one place against England and a spread of comparable
areas (a national publication's where imported, else the SET places of the same kind)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kpis.models import AreaSpread
from kpis.selectors.board import BOARD_COLUMNS
from strategy.access import Role
from strategy.models import Place
from tests.kpis.factories import (
    AssessmentFactory,
    KpiFactory,
    NationalPublicationFactory,
    PeriodFactory,
    SeriesFactory,
)
from tests.reporting.dashboard_data import figures_on

ALLIANCES = [code for code in BOARD_COLUMNS if code.startswith("alliance-")]


def _value(kpi, code, value, label="2024-25", **fields):
    series = SeriesFactory(kpi=kpi, place=Place.objects.get(code=code))
    return AssessmentFactory(
        series=series, period=PeriodFactory(label=label), value=value, is_latest=True, **fields
    )


@pytest.fixture
def kpi(catalogue_data):
    kpi = KpiFactory(code="SPINE-1", title="Seen within four weeks", direction="lower_is_better")
    for code, value in zip(ALLIANCES, [10.0, 20.0, 30.0, 40.0, 50.0, 60.0], strict=True):
        _value(kpi, code, value, benchmark_england="better_95" if value < 25 else "similar")
    _value(kpi, "england", 35.0)
    return kpi


def _row(html: str, code: str) -> str:
    return html.split(f">{code}</a>")[1].split("</tr>")[0]


def test_the_spread_of_the_six_alliances_by_their_25th_and_75th_percentiles(client, sig, kpi):
    client.force_login(sig)
    html = client.get(reverse("reporting:place-dashboard", args=["alliance-west-essex"])).content
    html = html.decode()
    row = _row(html, "SPINE-1")
    # Sorted 10..60, six values: the 25th percentile at position (6 - 1) x 0.25 + 1 = 2.25,
    # 20 + 0.25 x 10 = 22.5; the 75th at 4.75, 40 + 0.75 x 10 = 47.5. Lower is better, so
    # the worst is the highest, 60.
    cells = [c.split(">", 1)[1].split("<")[0] for c in row.split("<td")[1:]]
    assert cells[:8] == [
        "2024-25",
        "50.0%",
        "35.0%",
        "60.0%",
        "22.5%",
        "47.5%",
        "10.0%",
        "The 6 SET alliances",
    ]
    (figure,) = figures_on(html).values()
    marker = next(t for t in figure["data"] if t["name"] == "Similar to England")
    # England at the centre; the half-width is England's distance to the farthest area, 60
    # (25 away); lower is better, so West Essex's 50 sits left of centre.
    assert marker["x"] == [pytest.approx(0.5 - 15 / 50)]


def test_with_too_few_comparable_places_the_row_says_so_and_draws_no_spread(client, sig, kpi):
    _value(kpi, "southend", 44.0)
    _value(kpi, "thurrock", 41.0)
    client.force_login(sig)
    html = client.get(reverse("reporting:place-dashboard", args=["southend"])).content.decode()
    assert "Fewer than 4 SET upper-tier councils have a value" in _row(html, "SPINE-1")
    assert "No KPI has a spread of comparable areas to draw against yet." in html


def test_a_national_publications_spread_over_every_area_of_the_type_comes_first(client, sig, kpi):
    southend = _value(kpi, "southend", 44.0)
    spread = AreaSpread.objects.create(
        publication=NationalPublicationFactory(original_name="fingertips-93495.csv"),
        kpi=kpi,
        period=southend.period,
        area_type="Counties & UAs (from Apr 2023)",
        areas=153,
        lowest=12.0,
        q25=30.0,
        median=36.0,
        q75=41.0,
        highest=70.0,
        england=37.0,
    )
    spread.places.add(Place.objects.get(code="southend"))
    client.force_login(sig)
    html = client.get(reverse("reporting:place-dashboard", args=["southend"])).content.decode()
    cells = [c.split(">", 1)[1].split("<")[0] for c in _row(html, "SPINE-1").split("<td")[1:]]
    # England is the publication's own 37.0 (not the stored 35.0); lower is better, so the
    # worst area is the highest, 70.
    assert cells[2:8] == [
        "37.0%",
        "70.0%",
        "30.0%",
        "41.0%",
        "12.0%",
        "The 153 Counties &amp; UAs (from Apr 2023) in fingertips-93495.csv",
    ]


def test_a_lead_reads_their_place_only_and_other_places_only_as_published(client, make_user, kpi):
    lead = make_user("west-lead", Role.PLACE_LEAD, places=("alliance-west-essex",))
    client.force_login(lead)
    assert client.get(reverse("reporting:place-dashboard", args=["southend"])).status_code == 403
    html = client.get(reverse("reporting:place-dashboard", args=["alliance-west-essex"])).content
    # Nothing is published at the other alliances: no spread can be made from their values,
    # and none of their figures is shown.
    row = _row(html.decode(), "SPINE-1")
    assert "Fewer than 4 SET alliances have a value" in row
    assert "60.0%" not in row and "10.0%" not in row


def test_anonymous_and_analysts_are_kept_out(client, make_user, kpi):
    url = reverse("reporting:place-dashboard", args=["southend"])
    assert "/login" in client.get(url)["Location"]
    client.force_login(make_user("analyst", Role.ANALYST))
    assert client.get(url).status_code == 403
    assert client.get(reverse("reporting:place-dashboard", args=["nowhere"])).status_code == 404


@pytest.mark.parametrize("how_many", [2, 20])
def test_the_page_takes_the_same_queries_with_ten_times_the_kpis_and_periods(
    client, sig, kpi, how_many
):
    for n in range(how_many):
        other = KpiFactory()
        for code in ALLIANCES:
            _value(other, code, 10.0 + n, label=f"{2000 + n}-{(2001 + n) % 100:02d}")
    client.force_login(sig)
    with CaptureQueriesContext(connection) as queries:
        url = reverse("reporting:place-dashboard", args=["alliance-west-essex"])
        assert client.get(url).status_code == 200
    assert len(queries) == 14
