"""The board view: who sees which columns, what a cell says, filters, exports, queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from strategy.access import Role
from strategy.models import GeographyBasis, Place
from tests.kpis.factories import AssessmentFactory, KpiFactory, PeriodFactory, SeriesFactory


def _latest(kpi, place_code, label="2024-25", **fields):
    series = SeriesFactory(kpi=kpi, place=Place.objects.get(code=place_code))
    return AssessmentFactory(
        series=series, period=PeriodFactory(label=label), is_latest=True, **fields
    )


@pytest.fixture
def kpi(catalogue_data):
    kpi = KpiFactory(code="BOARD-1", title="Seen within four weeks", publication_lag_days=75)
    _latest(
        kpi,
        "southend",
        value=52.5,
        lower95=50.0,
        upper95=55.0,
        value_status="unapproved",
        change_category="significant_increase",
        benchmark_england="similar",
        verdict="improving",
        verdict_reason="Significantly better than the baseline.",
    )
    _latest(
        kpi,
        "thurrock",
        value=40.0,
        value_status="published",
        verdict="off_track",
        verdict_reason="Behind the path to the target.",
    )
    return kpi


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    for name in ("reporting:board", "reporting:board-csv", "reporting:board-xlsx"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login" in response["Location"]


def test_analysts_are_refused_with_the_reason(client, make_user, catalogue_data):
    client.force_login(make_user("analyst", Role.ANALYST))
    response = client.get(reverse("reporting:board"))
    assert response.status_code == 403
    assert "place leads for their own places" in response.content.decode()


def test_a_place_lead_sees_only_their_places_column(client, lead, kpi):
    client.force_login(lead)
    page = client.get(reverse("reporting:board")).content.decode()
    assert '<th scope="col">Southend-on-Sea</th>' in page
    assert "Thurrock" not in page.split("<table")[1].split("</table>")[0]
    assert "52.5%" in page and "40.0%" not in page
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(reverse("reporting:board-csv")).content.decode("utf-8-sig"))
        )
    )
    assert {row["column"] for row in rows} == {"southend"}


def test_the_group_sees_every_column_and_the_cell_in_words(client, sig, kpi):
    client.force_login(sig)
    page = client.get(reverse("reporting:board") + "?sort=code").content.decode()
    header = page.split("<thead")[1].split("</thead>")[0]
    positions = [
        header.index(f">{name}</th>")
        for name in (
            "Southend, Essex and Thurrock",
            "Southend-on-Sea",
            "Thurrock",
            "Essex County Council area",
            "Thurrock alliance",
            "South East Essex alliance",
            "Basildon &amp; Brentwood alliance",
            "Mid Essex alliance",
            "West Essex alliance",
            "North East Essex alliance",
        )
    ]
    assert positions == sorted(positions)
    row = page.split("BOARD-1</a>")[1].split("</tr>")[0]
    for text in (
        "2024-25",
        '52.5% <span class="nhsuk-body-s">(95% CI 50.0% to 55.0%)</span>',
        "Not yet published: not approved",
        "Significantly better than 2020-21",
        "Common cause variation",
        "Similar to England",
        "Improving",
        "Significantly better than the baseline.",
        "Off track",
        "No value for this area yet",
    ):
        assert text in row, text
    assert 'href="/board.csv?sort=code"' in page and 'href="/board.xlsx?sort=code"' in page
    assert 'href="/board/"' in page  # the navigation link


def test_csv_export_has_one_row_per_kpi_and_place_with_the_filters(client, sig, kpi):
    client.force_login(sig)
    response = client.get(reverse("reporting:board-csv") + "?verdict=off_track&place=thurrock")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["kpi_code"], r["column"]) for r in rows] == [("BOARD-1", "thurrock")]
    assert rows[0]["value"] == "40.0%" and rows[0]["verdict_label"] == "Off track"
    assert rows[0]["unpublished"] == "" and rows[0]["period"] == "2024-25"
    xlsx = client.get(reverse("reporting:board-xlsx") + "?place=thurrock")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_filters_narrow_the_rows(client, sig, kpi):
    client.force_login(sig)
    other = KpiFactory(code="BOARD-2", cohort="cyp")
    _latest(other, "essex", verdict="on_track")
    page = client.get(reverse("reporting:board") + "?verdict=on_track").content.decode()
    assert "BOARD-2" in page and "BOARD-1" not in page
    page = client.get(reverse("reporting:board") + "?cohort=adults&place=southend").content.decode()
    assert "BOARD-1" in page and "BOARD-2" not in page


def test_registered_kpi_in_the_page_names_the_place_shown(client, sig, catalogue_data):
    kpi = KpiFactory(code="BOARD-R", geography_basis=GeographyBasis.GP_REGISTERED)
    _latest(kpi, "sub-icb-99g", value=33.0)
    client.force_login(sig)
    page = client.get(reverse("reporting:board") + "?place=southend").content.decode()
    row = page.split("BOARD-R</a>")[1].split("</tr>")[0]
    assert "(Southend sub-ICB location)" in row and "33.0%" in row


def _count(client, how_many):
    for _ in range(how_many):
        kpi = KpiFactory()
        for place in ("set", "southend", "alliance-west-essex"):
            _latest(kpi, place)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("reporting:board")).status_code == 200
    return len(queries)


@pytest.mark.parametrize("how_many", [2, 20])
def test_page_queries_do_not_grow_with_the_kpis(client, sig, catalogue_data, how_many):
    client.force_login(sig)
    assert _count(client, how_many) == 12
