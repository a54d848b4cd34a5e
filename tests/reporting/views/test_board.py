"""The board view: who sees which columns, what a cell says, filters, exports, queries."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kpis.models import Commentary
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
    assert '<th scope="col"><a href="/board/places/southend/">Southend-on-Sea</a></th>' in page
    # Thurrock is named in an outcome's heading, never as a column.
    assert "Thurrock" not in page.split("<thead")[1].split("</thead>")[0]
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
        header.index(f">{name}</a></th>")
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
        "52.5% <small>(95% CI 50.0% to 55.0%)</small>",
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


def _count(client, how_many, author):
    for _ in range(how_many):
        kpi = KpiFactory()
        for place in ("set", "southend", "alliance-west-essex"):
            _latest(kpi, place)
        for text in ("Earlier.", "Current."):
            _comment(kpi, "southend", "2024-25", author, text)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reporting:board"))
    assert response.status_code == 200
    assert response.content.decode().count("data-commentary") == how_many
    return len(queries)


@pytest.mark.parametrize("how_many", [2, 20])
def test_page_queries_do_not_grow_with_the_kpis(client, sig, catalogue_data, how_many):
    client.force_login(sig)
    # The figures' version, the 12 of the board before commentary, and one for every cell's
    # current commentary.
    assert _count(client, how_many, sig) == 14


def _comment(kpi, place_code, label, author, text, recorded_at=None):
    return Commentary.objects.create(
        kpi=kpi,
        place=Place.objects.get(code=place_code),
        period=PeriodFactory(label=label),
        author=author,
        text=text,
        recorded_at=recorded_at or timezone.now(),
    )


def _cells(page, kpi_code):
    """The row's value cells' HTML, by column position (SET first)."""
    row = page.split(f"{kpi_code}</a>")[1].split("</tr>")[0]
    return row.split('<td class="nhsuk-table__cell setset-board-cell">')[1:]


def test_a_cells_current_commentary_shows_in_that_cell_only(client, sig, kpi):
    long_text = "Two clinicians left in May and locums start in July. " * 5
    _comment(kpi, "southend", "2024-25", sig, "Superseded.", datetime(2025, 5, 1, tzinfo=UTC))
    _comment(kpi, "southend", "2024-25", sig, long_text.strip(), datetime(2025, 6, 2, tzinfo=UTC))
    # Another period's commentary at Thurrock is not about the value shown there.
    _comment(kpi, "thurrock", "2023-24", sig, "Last year's story.")
    client.force_login(sig)
    page = client.get(reverse("reporting:board") + "?sort=code").content.decode()
    cells = _cells(page, "BOARD-1")
    southend, thurrock = cells[1], cells[2]
    assert page.count("data-commentary") == 1
    assert "Commentary by sig-member, 2 Jun 2025:" in southend
    # The first 139 characters and an ellipsis (truncatechars:140).
    assert f"{long_text[:139]}…</blockquote>" in southend
    assert "Superseded." not in page and "Last year&#x27;s story." not in page
    link = reverse("reporting:commentary", args=["BOARD-1", "southend", "2024-25"])
    assert f'href="{link}?next=/board/%3Fsort%3Dcode">Update commentary' in southend
    assert "data-commentary" not in thurrock
    thurrock_link = reverse("reporting:commentary", args=["BOARD-1", "thurrock", "2024-25"])
    assert f'href="{thurrock_link}?next=/board/%3Fsort%3Dcode">Write commentary' in thurrock
    # A cell with no value has nothing to comment on.
    assert "commentary" not in cells[0].lower()


def test_a_place_lead_writes_only_where_granted_and_reads_only_what_they_may(
    client, make_user, catalogue_data
):
    lead = make_user("southend-board-lead", Role.PLACE_LEAD, places=("southend",))
    resident = KpiFactory(code="BOARD-L")
    _latest(resident, "southend")
    registered = KpiFactory(code="BOARD-G", geography_basis=GeographyBasis.GP_REGISTERED)
    _latest(registered, "sub-icb-99g")
    # The lead's column shows the sub-ICB location's value, a place not granted to them.
    _comment(registered, "sub-icb-99g", "2024-25", lead, "Not for the lead to read.")
    client.force_login(lead)
    page = client.get(reverse("reporting:board") + "?sort=code").content.decode()
    (own,) = _cells(page, "BOARD-L")
    assert "Write commentary" in own
    (shown_for_them,) = _cells(page, "BOARD-G")
    assert "(Southend sub-ICB location)" in shown_for_them
    assert "commentary" not in shown_for_them.lower()


def test_export_has_the_current_commentary_of_each_cell(client, sig, kpi):
    _comment(kpi, "southend", "2024-25", sig, "Earlier.", datetime(2025, 5, 1, tzinfo=UTC))
    _comment(kpi, "southend", "2024-25", sig, "=Locums start in July.")
    client.force_login(sig)
    response = client.get(reverse("reporting:board-csv") + "?sort=code")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_column = {r["column"]: r["commentary"] for r in rows if r["kpi_code"] == "BOARD-1"}
    # Spreadsheet formulas are neutralised as in every other text cell.
    assert by_column["southend"] == "'=Locums start in July."
    assert by_column["thurrock"] == "" and by_column["set"] == ""
    assert list(rows[0])[-1] == "commentary"


def test_variation_and_assurance_show_making_data_count_icons_with_words(
    client, sig, catalogue_data
):
    higher = KpiFactory(code="BOARD-H")
    _latest(
        higher, "southend", spc_point_type="special_cause_improvement", assurance="consistent_pass"
    )
    _latest(higher, "thurrock", spc_point_type="special_cause_concern", assurance="consistent_fail")
    lower = KpiFactory(code="BOARD-LO", direction="lower_is_better")
    _latest(lower, "southend", spc_point_type="special_cause_improvement", assurance="inconsistent")
    neutral = KpiFactory(code="BOARD-N", direction="neutral")
    _latest(neutral, "southend", spc_point_type="special_cause_neutral_high", assurance="")
    _latest(neutral, "thurrock", spc_point_type="common_cause")
    client.force_login(sig)
    page = client.get(reverse("reporting:board") + "?sort=code").content.decode()
    higher_cells = _cells(page, "BOARD-H")
    improvement, concern = higher_cells[1], higher_cells[2]
    assert 'data-mdc-icon="improvement_high"' in improvement
    assert ">H</text></svg> Special cause: improvement</p>" in improvement
    assert 'data-mdc-icon="pass"' in improvement
    assert ">P</text></svg> Consistently meets the target</p>" in improvement
    assert 'data-mdc-icon="concern_low"' in concern and ">L</text>" in concern
    assert 'data-mdc-icon="fail"' in concern and "Consistently fails the target" in concern
    lower_cell = _cells(page, "BOARD-LO")[1]
    assert 'data-mdc-icon="improvement_low"' in lower_cell
    assert ">?</text></svg> Hit and miss: may or may not meet the target" in lower_cell
    neutral_cell = _cells(page, "BOARD-N")[1]
    assert 'data-mdc-icon="neutral_high"' in neutral_cell and 'fill="#330072"' in neutral_cell
    # No target, no icon: the words alone.
    assert "Assurance:  No assurance: no target to test" in neutral_cell
    assert page.count('aria-hidden="true" focusable="false"') == page.count("<svg")
    common = _cells(page, "BOARD-N")[2]
    assert 'data-mdc-icon="common_cause"' in common and "Common cause variation" in common


def test_sorted_by_group_the_rows_sit_under_outcome_theme_and_cohort_headings(
    client, sig, catalogue_data
):
    client.force_login(sig)
    page = client.get(reverse("reporting:board")).content.decode()
    heading = (
        '<th scope="rowgroup" colspan="12" class="nhsuk-table__cell">'
        "Outcome O1: Improved wellbeing levels across Southend, Essex and Thurrock population"
        " · Theme: Prevention &amp; Early Intervention · Cohort: Adults</th>"
    )
    assert page.count(heading) == 1
    assert page.count("<tbody") == page.count('scope="rowgroup"') > 1
    by_code = client.get(reverse("reporting:board") + "?sort=code").content.decode()
    assert 'scope="rowgroup"' not in by_code and by_code.count("<tbody") == 1
