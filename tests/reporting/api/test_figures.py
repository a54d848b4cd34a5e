"""The observations and assessments endpoints: figures as each caller may read them.

The releases come from the product's own services (``two_releases_and_a_pending_one``):
Southend's Talking Therapies recovery, April 30/60 then revised to 54/60, May 3/60 (suppressed:
NHS England hides counts below 5), June 40/60, July 45/60 approved but not yet released; and
early intervention 6/10. Expected figures are worked out by hand from those counts.
"""

import csv
import io
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from kpis.models import Series
from kpis.selectors.figures import (
    ASSESSMENT_COLUMNS,
    OBSERVATION_COLUMNS,
    FigureFilters,
    observation_fields,
    observation_frame,
    observation_rows,
    published_observation_csv,
)
from kpis.services.progress import progress_recompute_dirty
from reporting.exports import csv_header, csv_stream
from strategy.access import Role
from strategy.models import Place
from tests.kpis.observation_helpers import record
from tests.kpis.release_helpers import publish, two_releases_and_a_pending_one

OBSERVATIONS = "/api/v1/observations/"
ASSESSMENTS = "/api/v1/assessments/"


@pytest.fixture
def releases(catalogue_data, sig):
    made = two_releases_and_a_pending_one(sig)
    # The internal assessments, which the periodic task keeps current.
    progress_recompute_dirty(batch_size=1000)
    return made


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval, as a percentage (the method's definition)."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
    return 100 * (centre - half), 100 * (centre + half)


Z95, Z998 = 1.959963984540054, 3.090232306167813


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


def by_key(rows) -> dict[tuple[str, str], dict]:
    return {(row["kpi_code"], row["period_label"]): row for row in rows}


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def token_client(client, user):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=user).key}"
    return client


def test_anonymous_callers_get_the_published_figures_with_their_vintages(client, releases):
    rows = by_key(results(client.get(OBSERVATIONS)))
    assert set(rows) == {
        ("EIP-2WK", "3 months to Jun 2023"),
        ("TT-RECOVERY", "Apr 2023"),
        ("TT-RECOVERY", "May 2023"),
        ("TT-RECOVERY", "Jun 2023"),
    }
    april = rows[("TT-RECOVERY", "Apr 2023")]
    # 54/60 = 90%, the numerator shown rounded to 5 (55); its intervals are Wilson's.
    assert (april["value"], april["numerator"], april["denominator"]) == (90.0, 55.0, 60.0)
    low, high = wilson(54, 60, Z95)
    assert april["lower95"] == pytest.approx(low, abs=1e-5)
    assert april["upper95"] == pytest.approx(high, abs=1e-5)
    low, high = wilson(54, 60, Z998)
    assert april["lower998"] == pytest.approx(low, abs=1e-5)
    assert april["upper998"] == pytest.approx(high, abs=1e-5)
    assert april["interval_method"] != ""
    assert (april["status"], april["version"], april["release"]) == (
        "published",
        2,
        releases.second.pk,
    )
    assert (april["rounded"], april["suppressed"]) == (True, False)
    assert (april["revised"], april["first_published_value"]) == (True, 50.0)
    assert april["first_published_release"] == "Quarter 1 outcomes"
    assert april["revised_in_release"] == "Quarter 2 outcomes"
    # 3 < 5: suppressed, and nothing of it shows but the reason.
    may = rows[("TT-RECOVERY", "May 2023")]
    for column in ("value", "numerator", "denominator", "lower95", "upper95", "lower998"):
        assert may[column] is None, column
    assert (may["suppressed"], may["suppression_reason"]) == (True, "fewer than 5")
    assert may["first_published_value"] is None
    eip = rows[("EIP-2WK", "3 months to Jun 2023")]
    assert (eip["value"], eip["numerator"], eip["denominator"], eip["version"]) == (
        60.0,
        5.0,
        10.0,
        1,
    )
    assert (eip["place_code"], eip["breakdown_dimension"]) == ("sub-icb-99g", "all")
    assert (eip["period_start"], eip["period_end"]) == ("2023-04-01", "2023-06-30")


def test_as_of_a_release_gives_the_figures_as_it_published_them(client, releases):
    rows = by_key(results(client.get(OBSERVATIONS, {"as_of": releases.first.pk})))
    assert ("TT-RECOVERY", "Jun 2023") not in rows
    april = rows[("TT-RECOVERY", "Apr 2023")]
    assert (april["value"], april["numerator"], april["version"], april["revised"]) == (
        50.0,
        30.0,
        1,
        False,
    )
    assert april["release"] == releases.first.pk


def test_a_release_not_yet_published_cannot_be_read_as_of(client, releases):
    response = client.get(OBSERVATIONS, {"as_of": releases.pending.pk})
    assert response.status_code == 404
    assert response.json() == {"detail": f"No published release {releases.pending.pk}."}


def test_the_internal_view_shows_unreleased_values_to_those_who_may_see_them(
    client, releases, make_user
):
    client.force_login(releases.sig)
    rows = by_key(results(client.get(OBSERVATIONS, {"view": "internal"})))
    july = rows[("TT-RECOVERY", "Jul 2023")]
    assert (july["value"], july["numerator"], july["status"], july["release"]) == (
        75.0,
        45.0,
        "approved",
        None,
    )
    # Internally the true counts show, and the suppressed value is flagged, not hidden.
    may = rows[("TT-RECOVERY", "May 2023")]
    assert (may["value"], may["numerator"], may["suppressed"]) == (5.0, 3.0, True)
    # A place lead reads the internal view of their own places only.
    lead = make_user("thurrock-lead", Role.PLACE_LEAD, places=("thurrock",))
    client.force_login(lead)
    assert results(client.get(OBSERVATIONS, {"view": "internal"})) == []
    refused = client.get(OBSERVATIONS, {"view": "internal", "place": "sub-icb-99g"})
    assert refused.status_code == 403
    assert "sub-icb-99g" in refused.json()["detail"]


def test_filters_narrow_the_rows(client, releases):
    def periods(**query):
        return sorted(r["period_label"] for r in results(client.get(OBSERVATIONS, query)))

    assert periods(kpi="EIP-2WK") == ["3 months to Jun 2023"]
    assert periods(kpi="TT-RECOVERY", period_from="2023-05-01") == ["Jun 2023", "May 2023"]
    assert periods(period_to="2023-04-30") == ["Apr 2023"]
    assert periods(place="thurrock") == []
    assert periods(release=releases.first.pk) == ["3 months to Jun 2023"]
    assert periods(breakdown="sex") == []
    assert len(periods(latest="true")) == 2
    bad = client.get(OBSERVATIONS, {"period_from": "May 2023"})
    assert bad.status_code == 400
    assert "period_from" in bad.json()


def test_assessments_carry_the_story_and_hide_what_suppression_hides(client, releases):
    rows = by_key(results(client.get(ASSESSMENTS)))
    april = rows[("TT-RECOVERY", "Apr 2023")]
    assert list(april) == ASSESSMENT_COLUMNS
    assert april["value"] == 90.0
    assert april["verdict"] != ""
    may = rows[("TT-RECOVERY", "May 2023")]
    assert may["suppressed"] is True
    for column in ("value", "lower95", "change", "spc_mean", "planned_value"):
        assert may[column] is None, column
    for column in ("verdict", "change_category", "spc_point_type", "benchmark_england"):
        assert may[column] == "", column


def test_the_csv_streams_the_same_rows_as_the_json(client, releases):
    Place.objects.filter(code="sub-icb-99g").update(name="=Southend")
    json_rows = by_key(results(client.get(OBSERVATIONS)))
    response = client.get(OBSERVATIONS, {"format": "csv"})
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="observations.csv"'
    rows = csv_rows(response)
    assert list(rows[0]) == OBSERVATION_COLUMNS
    assert len(rows) == len(json_rows) == 4
    for row in rows:
        expected = json_rows[(row["kpi_code"], row["period_label"])]
        shown = "" if expected["value"] is None else expected["value"]
        assert row["value"] == str(shown)
        # A cell a spreadsheet would run as a formula is neutralised.
        assert row["place_name"] == "'=Southend"


def test_the_workbook_holds_numbers_as_numbers(client, releases):
    response = client.get(ASSESSMENTS, {"format": "xlsx", "kpi": "TT-RECOVERY"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header == ASSESSMENT_COLUMNS
    values = {row[header.index("period_label")]: row for row in values}
    assert values["Apr 2023"][header.index("value")] == 90.0
    assert values["May 2023"][header.index("value")] is None


def test_conditional_requests_are_answered_until_a_release_changes_the_figures(client, releases):
    first = client.get(OBSERVATIONS)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert client.get(OBSERVATIONS, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(OBSERVATIONS, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    # Another format or another filter is another representation.
    assert client.get(OBSERVATIONS, {"format": "csv"}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    record(Series.objects.get(kpi__code="EIP-2WK"), "3 months to Sep 2023", 8, 10, approved=True)
    publish("Quarter 3 early", user=releases.sig, days=60)
    again = client.get(OBSERVATIONS, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200
    assert again["ETag"] != etag


def test_query_counts_do_not_grow_with_the_page(client, releases):
    def count(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(OBSERVATIONS, {"page_size": page_size})
        assert len(response.json()["results"]) == min(page_size, 4)
        return len(queries)

    # The page, and the latest release for Last-Modified: the figures come as stored.
    assert count(1) == count(4) == 2


def test_cursor_pages_cover_every_row_once(client, releases):
    seen, url = [], OBSERVATIONS + "?page_size=1"
    while url:
        page = client.get(url).json()
        seen += [(r["kpi_code"], r["period_label"]) for r in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 4


def test_an_analyst_token_reads_published_figures_only(client, releases, make_user):
    analyst = make_user("analyst-one", Role.ANALYST)
    token_client(client, analyst)
    assert len(results(client.get(OBSERVATIONS))) == 4
    assert client.get(OBSERVATIONS, {"view": "internal"}).status_code == 403


def _pandas_csv(*, filters, as_of=None) -> bytes:
    """The published CSV as the pandas path writes it (``observation_frame``, ``csv_stream``)."""
    rows = observation_rows(filters=filters, view="published", as_of=as_of)
    frame = observation_frame(
        list(rows.values_list(*observation_fields("published"))), view="published"
    )
    return b"".join(csv_stream([frame], columns=OBSERVATION_COLUMNS))


@pytest.mark.parametrize(
    "query",
    [{}, {"kpi": "TT-RECOVERY"}, {"as_of": "first"}, {"place": "sub-icb-99g", "latest": "true"}],
)
def test_the_csv_postgresql_writes_is_byte_for_byte_the_pandas_one(client, releases, query):
    # Release titles a spreadsheet would run, and text with a comma, a quote and a tab.
    releases.first.title = '=cmd|" /C calc",1'
    releases.first.save()
    releases.second.title = "\tQuarter 2, revised"
    releases.second.save()
    if query.get("as_of") == "first":
        query = {"as_of": releases.first.pk}
    response = client.get(OBSERVATIONS, {**query, "format": "csv"})
    body = b"".join(response.streaming_content)
    filters = FigureFilters(
        kpis=tuple(query.get("kpi", "").split(",")) if "kpi" in query else (),
        places=(query["place"],) if "place" in query else (),
        latest_only="latest" in query,
    )
    as_of = releases.first if "as_of" in query else None
    expected = _pandas_csv(filters=filters, as_of=as_of)
    assert body == expected
    written_by_postgresql = published_observation_csv(filters=filters, as_of=as_of)
    assert csv_header(OBSERVATION_COLUMNS) + b"".join(written_by_postgresql) == expected
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows, query
    april = [row for row in rows if row["period_label"] == "Apr 2023"]
    if april and "as_of" not in query:
        assert april[0]["first_published_release"] == '\'=cmd|" /C calc",1'
        assert april[0]["revised_in_release"] == "'\tQuarter 2, revised"
        assert (april[0]["value"], april[0]["numerator"], april[0]["revised"]) == (
            "90.0",
            "55.0",
            "True",
        )
