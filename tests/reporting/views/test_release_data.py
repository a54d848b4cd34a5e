"""Public release data: each published release's figures as CSV, XLSX and a Frictionless Data
Package, the Atom feed of releases and each release's "what changed" page.

The releases are made through the product's own services: values recorded and approved, a
release announced and published at its time, then a second release that revises one value.
Expected figures are worked out by hand from the values recorded here.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from frictionless import Package, validate
from openpyxl import load_workbook

from kpis.models import Assessment, Kpi, Release
from kpis.selectors.vintages import FIGURE_COLUMNS
from kpis.services.observations import series_get_or_create
from strategy.access import Role
from strategy.models import Place
from tests.kpis.observation_helpers import record
from tests.kpis.release_helpers import FORMULA_TITLE, publish, two_releases_and_a_pending_one

ATOM = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def releases(catalogue_data, sig):
    return two_releases_and_a_pending_one(sig)


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    text = response.content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == FIGURE_COLUMNS
    return list(reader)


def by_period(rows) -> dict[str, dict[str, str]]:
    return {row["period_label"]: row for row in rows}


def url(name: str, release: Release) -> str:
    return reverse(f"reporting:{name}", args=[release.pk])


def test_the_csv_holds_the_release_figures_with_their_vintages(client, releases):
    rows = csv_rows(client.get(url("release-data-csv", releases.second)))
    # Sorted by KPI code, place, breakdown and period; the pending July value is nowhere.
    assert [(r["kpi_code"], r["period_label"]) for r in rows] == [
        ("EIP-2WK", "3 months to Jun 2023"),
        ("TT-RECOVERY", "Apr 2023"),
        ("TT-RECOVERY", "May 2023"),
        ("TT-RECOVERY", "Jun 2023"),
    ]
    eip, april, may, june = rows
    # Revised in the second release: 54/60 = 90%, the numerator shown rounded to 55.
    assert (float(april["value"]), float(april["numerator"]), float(april["denominator"])) == (
        90.0,
        55.0,
        60.0,
    )
    assert april["revised"] == "True"
    assert float(april["first_published_value"]) == 50.0
    assert april["first_published_release"] == "Quarter 1 outcomes"
    assert april["revised_in_release"] == "Quarter 2 outcomes"
    assert float(april["lower95"]) < 90.0 < float(april["upper95"])
    # Suppressed (3 < 5): nothing of the value, only the reason.
    for column in ("value", "lower95", "upper95", "numerator", "denominator", "verdict"):
        assert may[column] == "", column
    assert may["first_published_value"] == ""
    assert (may["suppressed"], may["suppression_reason"]) == ("True", "fewer than 5")
    assert (may["revised"], may["first_published_release"]) == ("False", "Quarter 1 outcomes")
    # New in the second release.
    assert float(june["value"]) == 66.666667
    assert (float(june["numerator"]), float(june["denominator"])) == (40.0, 60.0)
    assert (june["revised"], june["first_published_release"]) == ("False", "Quarter 2 outcomes")
    assert june["revised_in_release"] == ""
    # Early intervention had nothing new: the first release's figure, 6/10, 6 shown as 5.
    assert (float(eip["value"]), float(eip["numerator"]), float(eip["denominator"])) == (
        60.0,
        5.0,
        10.0,
    )
    assert (eip["revised"], eip["first_published_release"]) == ("False", "Quarter 1 outcomes")
    assert (eip["place_code"], eip["breakdown"]) == ("sub-icb-99g", "All people")
    assert (eip["period_start"], eip["period_end"]) == ("2023-04-01", "2023-06-30")
    # A text cell a spreadsheet would run is neutralised with a leading apostrophe.
    assert eip["kpi_title"] == "'" + FORMULA_TITLE
    assert by_period(rows)["Apr 2023"]["kpi_title"] == "NHS Talking Therapies recovery rate"


def test_each_release_stays_as_it_published_its_figures(client, releases):
    rows = by_period(csv_rows(client.get(url("release-data-csv", releases.first))))
    assert set(rows) == {"3 months to Jun 2023", "Apr 2023", "May 2023"}
    april = rows["Apr 2023"]
    assert (float(april["value"]), float(april["numerator"]), april["revised"]) == (
        50.0,
        30.0,
        "False",
    )
    assert april["first_published_release"] == "Quarter 1 outcomes"
    assert april["revised_in_release"] == ""


def test_the_workbook_matches_the_csv_with_numbers_as_numbers(client, releases):
    response = client.get(url("release-data-xlsx", releases.second))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="data.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header == FIGURE_COLUMNS
    rows = {row["period_label"]: row for row in (dict(zip(header, v, strict=True)) for v in values)}
    april, may = rows["Apr 2023"], rows["May 2023"]
    assert (april["value"], april["numerator"], april["revised"]) == (90.0, 55, True)
    assert april["first_published_value"] == 50
    assert [may[c] for c in ("value", "lower95", "upper95", "numerator", "denominator")] == [
        None
    ] * 5
    assert may["suppression_reason"] == "fewer than 5"
    assert rows["3 months to Jun 2023"]["kpi_title"] == "'" + FORMULA_TITLE
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_data_package_describes_the_csv_and_validates(client, releases, tmp_path):
    response = client.get(url("release-datapackage", releases.second))
    assert response.status_code == 200
    descriptor = response.json()
    assert descriptor["profile"] == "tabular-data-package"
    assert descriptor["licenses"] == [
        {
            "name": "OGL-UK-3.0",
            "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
            "title": "Open Government Licence v3.0",
        }
    ]
    assert descriptor["created"] == releases.second.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Quarter 2 outcomes" in descriptor["title"]
    assert "Quarter 2 outcomes" in descriptor["description"]
    # The publishers of the two KPIs' data sets, each once.
    sources = {source["title"] for source in descriptor["sources"]}
    assert len(sources) == 2 and all(title.startswith("NHSE: ") for title in sources)
    (resource,) = descriptor["resources"]
    assert (resource["path"], resource["profile"]) == ("data.csv", "tabular-data-resource")
    assert "scheme" not in resource
    schema = resource["schema"]
    assert [field["name"] for field in schema["fields"]] == FIGURE_COLUMNS
    assert all(field.get("description") for field in schema["fields"])
    types = {field["name"]: field["type"] for field in schema["fields"]}
    assert (types["value"], types["period_start"], types["revised"]) == (
        "number",
        "date",
        "boolean",
    )
    assert schema["missingValues"] == [""]
    assert schema["primaryKey"][0] == "kpi_code"

    # A saved copy: the descriptor beside the CSV it names, as a browser saves them.
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    (tmp_path / "data.csv").write_bytes(
        client.get(url("release-data-csv", releases.second)).content
    )
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = Package(str(tmp_path / "datapackage.json"))
    assert package.validate().valid
    rows = package.get_resource("figures").read_rows()
    assert len(rows) == 4
    april = next(row for row in rows if row["period_label"] == "Apr 2023")
    assert (april["value"], april["revised"], april["first_published_value"]) == (90, True, 50)


@pytest.mark.django_db(transaction=True)
def test_the_data_package_resolves_its_csv_against_the_live_address(live_server, releases):
    address = f"{live_server.url}{url('release-datapackage', releases.second)}"
    report = validate(address)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == 4


def test_the_feed_has_one_entry_per_published_release_newest_first(client, releases):
    response = client.get(reverse("reporting:release-feed"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall("atom:entry", ATOM)
    published = Release.objects.filter(published_at__isnull=False).order_by("-published_at")
    assert [e.find("atom:title", ATOM).text for e in entries] == [r.title for r in published]
    # The two releases made here are the latest (announced ahead of today, then published).
    links = [e.find("atom:link", ATOM).get("href") for e in entries]
    assert links[:2] == [
        f"http://testserver{url('release-changes', releases.second)}",
        f"http://testserver{url('release-changes', releases.first)}",
    ]
    assert "Quarter 3 outcomes" not in response.content.decode()
    assert url("release-changes", releases.pending) not in response.content.decode()


def test_the_changes_page_lists_new_values_revisions_and_moved_verdicts(client, releases):
    response = client.get(url("release-changes", releases.second))
    assert response.status_code == 200
    html = response.content.decode()
    sections = {
        name: html[html.index(f'<h2 id="{name}">') :] for name in ("new", "revised", "verdicts")
    }
    new = sections["new"][: sections["new"].index("</table>")]
    revised = sections["revised"][: sections["revised"].index("</table>")]
    verdicts = sections["verdicts"][: sections["verdicts"].index("</table>")]
    # New: June only (66.666667% shown to one decimal place).
    assert new.count('<th scope="row"') == 1
    assert "Jun 2023" in new and "66.7%" in new
    # Revised: April, 50.0% in the first release, now 90.0% in the second.
    assert revised.count('<th scope="row"') == 1
    assert "Apr 2023" in revised
    assert '50.0%<br><span class="nhsuk-body-s">published in Quarter 1 outcomes' in revised
    assert '90.0%<br><span class="nhsuk-body-s">published in Quarter 2 outcomes' in revised
    # April's verdict moves from needs attention (50% against the 50% standard, within the
    # margin of error) to on track (90%: the whole interval above it), and every verdict that
    # moved in the stored published assessments is listed, but for a suppressed value's,
    # which would say something of the hidden number.
    apr = verdicts[verdicts.index("Apr 2023") :]
    apr = apr[: apr.index("</tr>")]
    assert "Needs attention" in apr and "On track" in apr
    assert apr.index("Needs attention") < apr.index("On track")
    before = dict(
        Assessment.published.filter(release=releases.first, public_suppressed=False).values_list(
            "period__label", "verdict"
        )
    )
    after = dict(
        Assessment.published.filter(release=releases.second, public_suppressed=False).values_list(
            "period__label", "verdict"
        )
    )
    moved = {label for label in before if label in after and before[label] != after[label]}
    assert "Apr 2023" in moved
    assert verdicts.count('<th scope="row"') == len(moved)
    # The suppressed value is never shown, in any table.
    assert "5.0%" not in html
    # Captions, and links to the downloads.
    assert html.count('<caption class="nhsuk-table__caption">') == 3
    for name in ("release-data-csv", "release-data-xlsx", "release-datapackage"):
        assert f'href="{url(name, releases.second)}"' in html


def test_the_first_release_has_everything_new_and_nothing_revised(client, releases):
    # Releases other tests leave published (the demo data's, say) would come before it.
    Release.objects.filter(published_at__lt=releases.first.published_at).update(published_at=None)
    html = client.get(url("release-changes", releases.first)).content.decode()
    assert "This was the first release" in html
    assert "No values were revised in this release." in html
    assert "No verdicts moved in this release." in html
    new = html[html.index('<h2 id="new">') :]
    assert new[: new.index("</table>")].count('<th scope="row"') == 3


@pytest.mark.parametrize(
    "name",
    ["release-data-csv", "release-data-xlsx", "release-datapackage", "release-changes"],
)
def test_an_unpublished_release_is_not_found_for_anyone(client, releases, make_user, name):
    director = make_user("director", Role.ANALYST)
    releases.pending.accesses.create(
        user=director, granted_by=releases.sig, granted_at=timezone.now()
    )
    address = url(name, releases.pending)
    assert client.get(address).status_code == 404
    for user in (releases.sig, director):  # the group, and a person named for pre-release
        client.force_login(user)
        response = client.get(address)
        assert response.status_code == 404
        assert b"Jul 2023" not in response.content
    assert client.get(reverse(f"reporting:{name}", args=[999999])).status_code == 404


def test_the_calendar_links_published_releases_figures_and_the_feed(client, releases):
    html = client.get(reverse("reporting:releases")).content.decode()
    assert f'href="{reverse("reporting:release-feed")}"' in html
    for release in (releases.first, releases.second):
        for name in (
            "release-changes",
            "release-data-csv",
            "release-data-xlsx",
            "release-datapackage",
        ):
            assert f'href="{url(name, release)}"' in html
    for name in ("release-changes", "release-data-csv"):
        assert url(name, releases.pending) not in html


def count_queries(client, address: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_the_values_published(
    client, catalogue_data, sig, django_assert_num_queries
):
    """A release of 2 values and one of 20 cost the same queries on every page and download:
    release (1); figures and their history (2); sources (1); the previous release (1)."""
    recovery = Kpi.objects.get(code="TT-RECOVERY")
    southend = series_get_or_create(kpi=recovery, place=Place.objects.get(code="sub-icb-99g"))
    record(southend, "Apr 2023", 30, 60, approved=True)
    publish("Opening release", user=sig, days=1)
    record(southend, "May 2023", 31, 60, approved=True)
    small = publish("Two values", user=sig, days=2)
    months = ["Jun 2023", "Jul 2023", "Aug 2023", "Sep 2023", "Oct 2023", "Nov 2023"]
    for code in ("sub-icb-06q", "sub-icb-07g", "sub-icb-99e"):
        series = series_get_or_create(kpi=recovery, place=Place.objects.get(code=code))
        for month in months:
            record(series, month, 33, 60, approved=True)
    large = publish("Twenty values", user=sig, days=3)
    assert len(csv_rows(client.get(url("release-data-csv", small)))) == 2
    assert len(csv_rows(client.get(url("release-data-csv", large)))) == 20
    expected = {
        "release-data-csv": 3,
        "release-data-xlsx": 3,
        "release-datapackage": 2,
        "release-changes": 6,
    }
    for name, queries in expected.items():
        assert count_queries(client, url(name, small)) == queries, name
        with django_assert_num_queries(queries):
            client.get(url(name, large))
    with django_assert_num_queries(1):
        client.get(reverse("reporting:release-feed"))
