"""Contract of the API's strategy, places, KPIs, periods, releases and deliverables endpoints:
the fixtures' own facts come back, in JSON, CSV and XLSX, in a fixed number of queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from strategy.access import Role
from strategy.models import Deliverable, DeliverableUpdate
from tests.kpis.release_helpers import FORMULA_TITLE, two_releases_and_a_pending_one


@pytest.fixture
def releases(catalogue_data, sig):
    return two_releases_and_a_pending_one(sig)


def every_row(client, url: str) -> list[dict]:
    rows = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        rows += response.json()["results"]
        url = response.json()["next"]
    return rows


def test_the_strategy_as_published(client, catalogue_data):
    strategy = client.get("/api/v1/strategy/").json()
    assert strategy["code"] == "set-2023-28"
    assert (strategy["period_start"], strategy["period_end"]) == ("2023-04-01", "2028-03-31")
    assert [o["code"] for o in strategy["outcomes"]] == ["O1", "O2", "O3"]
    assert strategy["outcomes"][2]["text"] == (
        "Reduced premature mortality for people with serious mental illness"
    )
    cohorts = [p["cohort"] for p in strategy["priorities"]]
    # The strategy's 18 adult and 28 children and young people's priorities.
    assert (cohorts.count("adults"), cohorts.count("cyp")) == (18, 28)
    assert {p["theme"] for p in strategy["priorities"]} <= {t["code"] for t in strategy["themes"]}
    assert strategy["what_matters"]


def test_places_with_their_areas_and_codes(client, catalogue_data):
    places = {p["code"]: p for p in every_row(client, "/api/v1/places/?page_size=7")}
    southend = places["southend"]
    assert (southend["kind"], southend["gss_code"], southend["geography_basis"]) == (
        "council",
        "E06000033",
        "resident",
    )
    alliance = places["alliance-south-east-essex"]
    # The alliances overlap the councils: South East Essex is Southend, Castle Point, Rochford.
    assert sorted(a["gss_code"] for a in alliance["areas"]) == [
        "E06000033",
        "E07000069",
        "E07000075",
    ]
    assert places["sub-icb-99g"]["nhs_code"] == "99G"


def test_a_kpi_with_its_full_metadata(client, catalogue_data):
    kpi = client.get("/api/v1/kpis/TT-RECOVERY/").json()
    assert (kpi["statistic"], kpi["unit"], kpi["multiplier"]) == ("proportion", "%", 100.0)
    assert kpi["direction"] == "higher_is_better"
    # NHS England's rule for its mental health statistics: counts below 5 hidden, others to 5.
    assert (kpi["disclosure_rule"]["min_count"], kpi["disclosure_rule"]["rounding_base"]) == (
        5,
        5,
    )
    assert kpi["definition_versions"][0]["version"] == 1
    assert any(t["value"] == 50.0 for t in kpi["targets"])
    assert client.get("/api/v1/kpis/NO-SUCH-KPI/").status_code == 404


def test_releases_show_the_calendar_but_not_what_is_unpublished(client, releases):
    rows = {r["title"]: r for r in client.get("/api/v1/releases/").json()["results"]}
    assert set(rows) == {"Quarter 1 outcomes", "Quarter 2 outcomes", "Quarter 3 outcomes"}
    assert rows["Quarter 3 outcomes"]["published_at"] is None
    assert rows["Quarter 2 outcomes"]["published_at"] is not None


def test_deliverable_updates_are_for_signed_in_callers(client, catalogue_data, make_user):
    deliverable = Deliverable.objects.order_by("code").first()
    DeliverableUpdate.objects.create(
        deliverable=deliverable,
        recorded_at=timezone.now(),
        status=Deliverable.Status.IN_PROGRESS,
        note="Recruitment under way.",
    )

    def updates(client):
        rows = every_row(client, "/api/v1/deliverables/?page_size=500")
        return next(r for r in rows if r["code"] == deliverable.code)["updates"]

    assert updates(client) == []
    client.force_login(make_user("analyst-d", Role.ANALYST))
    assert [u["note"] for u in updates(client)] == ["Recruitment under way."]


def test_lists_come_whole_as_csv_and_xlsx_with_formulas_neutralised(client, releases):
    response = client.get("/api/v1/kpis/", {"format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="kpis.csv"'
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}
    assert len(rows) == len(every_row(client, "/api/v1/kpis/?page_size=1000"))
    assert rows["EIP-2WK"]["title"] == "'" + FORMULA_TITLE
    assert rows["TT-RECOVERY"]["disclosure_rule.rounding_base"] == "5"
    response = client.get("/api/v1/kpis/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    titles = {row[header.index("code")]: row[header.index("title")] for row in values}
    assert titles["EIP-2WK"] == "'" + FORMULA_TITLE


@pytest.mark.parametrize(
    "url", ["/api/v1/kpis/", "/api/v1/places/", "/api/v1/deliverables/", "/api/v1/periods/"]
)
def test_list_queries_do_not_grow_with_the_page(client, releases, url):
    def count(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": page_size})
        assert len(response.json()["results"]) == min(page_size, rows)
        return len(queries)

    rows = len(every_row(client, url + "?page_size=10000"))
    assert rows > 2
    assert count(2) == count(20)
