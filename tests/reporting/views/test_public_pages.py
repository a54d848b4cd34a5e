"""The public outcome pages: published figures only, each with its interval and a sentence made
from its stored assessment; suppressed figures never shown; constant queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kpis.models import Assessment
from strategy.models import Outcome, Place, Priority
from tests.kpis.factories import (
    AssessmentFactory,
    KpiFactory,
    PeriodFactory,
    ReleaseFactory,
    SeriesFactory,
)
from tests.reporting.dashboard_data import figures_on

YEARS = ["2020-21", "2021-22", "2022-23", "2023-24"]


def _published(kpi, place_code, values, release, **fields):
    series = SeriesFactory(kpi=kpi, place=Place.objects.get(code=place_code))
    series.published_release = release
    series.save()
    for n, (label, value) in enumerate(zip(YEARS, values, strict=False)):
        AssessmentFactory(
            series=series,
            period=PeriodFactory(label=label),
            scope=Assessment.Scope.PUBLISHED,
            release=release,
            value=value,
            lower95=None if value is None else value - 2,
            upper95=None if value is None else value + 2,
            baseline_label="2020-21",
            baseline_value=values[0],
            change_category="significant_increase",
            is_latest=n == len(values) - 1,
            **fields,
        )
    # The group's own, unpublished figure for a later year: never on a public page.
    AssessmentFactory(series=series, period=PeriodFactory(label="2024-25"), value=99.9)
    return series


@pytest.fixture
def kpi(catalogue_data):
    release = ReleaseFactory(title="Spring figures", published_at=timezone.now())
    kpi = KpiFactory(code="PUB-1", title="Seen within four weeks", period_type="financial_year")
    kpi.outcomes.add(Outcome.objects.get(strategy__code="set-2023-28", code="O1"))
    kpi.priorities.add(Priority.objects.filter(theme__strategy__code="set-2023-28").first())
    _published(kpi, "set", [40.0, 42.0, 45.0, 48.0], release)
    _published(kpi, "southend", [30.0, 31.0, 35.0, 38.0], release)
    # Thurrock's latest figure counts too few people to show.
    _published(kpi, "thurrock", [50.0, 51.0, 52.0, 3.0], release, public_suppressed=False)
    Assessment.objects.filter(
        series__place__code="thurrock", period__label="2023-24", scope="published"
    ).update(public_suppressed=True, suppression_reason="Fewer than 5 people")
    return kpi


def test_the_kpi_page_opens_with_the_sentence_then_the_chart_and_tables(client, kpi):
    html = client.get(reverse("reporting:kpi-definition", args=[kpi.code])).content.decode()
    assert (
        "In 2023-24, the figure for Southend, Essex and Thurrock was 48.0%, up from 40.0% in "
        "2020-21. This is a real improvement: a change this large is unlikely to be chance."
    ) in html
    (trend,) = figures_on(html).values()
    value = next(t for t in trend["data"] if t["name"] == "Value")
    assert value["x"] == YEARS and value["y"] == [40.0, 42.0, 45.0, 48.0]
    assert "46.0 to 50.0" in html  # the interval beside the figure
    # Thurrock's small number: the reason, never the number; nothing unpublished anywhere.
    thurrock = html.split('scope="row" class="nhsuk-table__cell">Thurrock</th>')[1].split("</tr>")[
        0
    ]
    assert "Not shown: Fewer than 5 people" in thurrock and "3.0" not in thurrock
    assert "99.9" not in html and "2024-25" not in html


def test_every_release_stays_browsable_on_the_kpi_page(client, kpi):
    first = Assessment.objects.filter(scope="published").first().release
    second = ReleaseFactory(title="Autumn figures", published_at=timezone.now())
    series = Assessment.objects.get(
        series__place__code="set", period__label="2023-24", scope="published"
    ).series
    AssessmentFactory(
        series=series,
        period=PeriodFactory(label="2023-24"),
        scope=Assessment.Scope.PUBLISHED,
        release=second,
        value=47.0,
        lower95=45.0,
        upper95=49.0,
        baseline_label="2020-21",
        baseline_value=40.0,
        change_category="significant_increase",
        is_latest=True,
    )
    series.published_release = second
    series.save()
    url = reverse("reporting:kpi-definition", args=[kpi.code])
    now = client.get(url).content.decode()
    assert "the figure for Southend, Essex and Thurrock was 47.0%" in now
    assert "First published as 48.0%; revised in Autumn figures." in now
    then = client.get(f"{url}?release={first.pk}").content.decode()
    assert "the figure for Southend, Essex and Thurrock was 48.0%" in then
    assert "These are the figures as published in Spring figures" in then
    assert "Revised" not in then.split("every period</caption>")[1].split("</table>")[0]


def test_the_place_page_gives_each_kpis_latest_published_figure(client, kpi):
    html = client.get(reverse("reporting:place", args=["southend"])).content.decode()
    assert "In 2023-24, the figure for Southend-on-Sea was 38.0%, up from 30.0% in 2020-21." in html
    assert "99.9" not in html
    assert client.get(reverse("reporting:place", args=["ccg-99g"])).status_code == 404


def test_the_outcome_theme_and_home_pages_carry_the_headline(client, kpi):
    sentence = "In 2023-24, the figure for Southend, Essex and Thurrock was 48.0%"
    assert sentence in client.get(reverse("reporting:outcome", args=["O1"])).content.decode()
    priority = kpi.priorities.get()
    theme_url = reverse("reporting:theme", args=[priority.theme.code, priority.cohort])
    assert sentence in client.get(theme_url).content.decode()
    home = client.get(reverse("reporting:home")).content.decode()
    assert sentence in home and "Latest figures:" in home and "Spring figures" in home
    assert client.get(reverse("reporting:theme", args=["nothing", "adults"])).status_code == 404


def test_what_matters_lists_the_seven_statements_with_a_measure_or_the_commitment(
    client, catalogue_data
):
    html = client.get(reverse("reporting:what-matters")).content.decode()
    assert html.count('<section aria-labelledby="WM') == 7
    assert "I am treated with respect and dignity by services when I need support" in html


def test_the_methodology_page_explains_the_rules_in_words(client, catalogue_data):
    html = client.get(reverse("reporting:methodology")).content.decode()
    main = html.split("<main")[1].split("</main>")[0]
    assert "{" not in main and "The measure cannot be judged yet" in main
    assert "Short of the standard, by more than the margin of error." in main
    # Each source's rule from its numbers, never its working notes.
    assert "counts from 1 to 4 are not shown" in main
    for note in ("assumed", "not verified", "brief"):
        assert note not in main.lower()


@pytest.mark.parametrize("how_many", [2, 20])
def test_public_pages_take_the_same_queries_with_ten_times_the_kpis(client, kpi, how_many):
    release = ReleaseFactory(published_at=timezone.now())
    for _ in range(how_many):
        other = KpiFactory(period_type="financial_year")
        other.outcomes.add(Outcome.objects.get(strategy__code="set-2023-28", code="O1"))
        _published(other, "southend", [10.0, 12.0, 14.0, 16.0], release)
    counts = {}
    for name, args in (
        ("reporting:home", []),
        ("reporting:outcome", ["O1"]),
        ("reporting:place", ["southend"]),
        ("reporting:kpi-definition", [kpi.code]),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name, args=args)).status_code == 200
        counts[name] = len(queries)
    assert counts == {
        "reporting:home": EXPECTED["home"],
        "reporting:outcome": EXPECTED["outcome"],
        "reporting:place": EXPECTED["place"],
        "reporting:kpi-definition": EXPECTED["kpi"],
    }


EXPECTED = {"home": 16, "outcome": 4, "place": 5, "kpi": 9}


def test_a_kpis_figures_download_as_csv_and_xlsx_without_suppressed_numbers(client, kpi):
    response = client.get(reverse("reporting:kpi-csv", args=[kpi.code]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    # Three places by four years, published; the unpublished 2024-25 figures are not there.
    assert len(rows) == 12 and {r["period"] for r in rows} == set(YEARS)
    thurrock = next(r for r in rows if r["place_code"] == "thurrock" and r["period"] == "2023-24")
    assert thurrock["value"] == "" and thurrock["suppressed"] == "True"
    assert thurrock["suppression_reason"] == "Fewer than 5 people"
    southend = next(r for r in rows if r["place_code"] == "southend" and r["period"] == "2023-24")
    assert (southend["value"], southend["lower95"], southend["upper95"]) == ("38.0", "36.0", "40.0")
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("reporting:kpi-xlsx", args=[kpi.code])).content)
    )
    assert workbook.active.max_row == 13
    place = client.get(reverse("reporting:place-csv", args=["southend"])).content
    (only,) = list(csv.DictReader(io.StringIO(place.decode("utf-8-sig"))))
    assert (only["kpi_code"], only["period"], only["value"]) == (kpi.code, "2023-24", "38.0")


def test_counts_show_as_the_source_rounds_them_without_an_interval(client, catalogue_data):
    release = ReleaseFactory(published_at=timezone.now())
    kpi = KpiFactory(statistic="count", unit="count", period_type="financial_year")
    kpi.disclosure_rule.rounding_base = 5
    kpi.disclosure_rule.save()
    _published(kpi, "set", [12.0, 13.0, 17.0, 18.0], release)
    html = client.get(reverse("reporting:kpi-definition", args=[kpi.code])).content.decode()
    # 18 rounds half up to 20 and 12 to 10 (nearest 5); an interval would give the count away.
    assert "the figure for Southend, Essex and Thurrock was 20, up from 10 in 2020-21" in html
    rows = html.split("every period</caption>")[1].split("</table>")[0]
    assert ">10</td>" in rows and ">20</td>" in rows and " to " not in rows


def test_the_outcome_theme_and_what_matters_figures_download_too(client, kpi):
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("reporting:outcome-data", args=["O1", "csv"])).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    mine = next(r for r in rows if r["kpi_code"] == kpi.code)
    assert (mine["place_code"], mine["period"], mine["value"]) == ("set", "2023-24", "48.0")
    priority = kpi.priorities.get()
    url = reverse("reporting:theme-data", args=[priority.theme.code, priority.cohort, "xlsx"])
    assert load_workbook(io.BytesIO(client.get(url).content)).active.max_row >= 2
    assert client.get(reverse("reporting:what-matters-data", args=["csv"])).status_code == 200
    assert client.get(reverse("reporting:outcome-data", args=["O1", "pdf"])).status_code == 404
