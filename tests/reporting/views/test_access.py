"""Pages ask the access table: the links shown, the refusals and the return page's buttons
agree with the services."""

import csv
import io

import pytest
from django.urls import reverse

from kpis.selectors.calendar import STATES
from kpis.services.calendar import expectations_generate
from kpis.services.returns import upload_create
from kpis.services.validation import upload_validate
from strategy.access import Role

HISTORY = (
    b"kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
    b"MHST-PUPIL-COVERAGE,southend,2016-17,,30,60,50,,\n"
)


@pytest.fixture
def people(catalogue_data, make_user):
    return {
        "sig": make_user("pages-sig", Role.SIG_MEMBER),
        "lead": make_user("pages-lead", Role.PLACE_LEAD, places=("southend",)),
        "analyst": make_user("pages-analyst", Role.ANALYST),
        "admin": make_user("pages-admin", Role.ADMINISTRATOR),
    }


@pytest.mark.parametrize(
    ("who", "links"),
    [
        ("sig", {"Returns", "Completeness", "Audit log"}),
        ("lead", {"Returns"}),
        ("analyst", set()),
        ("admin", {"Returns", "Completeness", "Audit log"}),
    ],
)
def test_the_header_links_follow_the_access_table(client, people, who, links):
    client.force_login(people[who])
    page = client.get(reverse("reporting:home")).content.decode()
    shown = {name for name in ("Returns", "Completeness", "Audit log") if f">{name}</a>" in page}
    assert shown == links


def test_completeness_downloads_as_csv_for_the_group_only(client, people):
    created = expectations_generate(period_label="2023-24")
    assert created > 0
    client.force_login(people["lead"])
    refused = client.get(reverse("reporting:completeness-csv"), {"period": "2023-24"})
    assert refused.status_code == 403
    client.force_login(people["sig"])
    page = client.get(reverse("reporting:completeness"), {"period": "2023-24"}).content.decode()
    assert f'href="{reverse("reporting:completeness-csv")}?period=2023-24"' in page
    response = client.get(reverse("reporting:completeness-csv"), {"period": "2023-24"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == created
    assert {row["period"] for row in rows} == {"2023-24"}
    assert {row["status"] for row in rows} <= set(STATES)


def test_the_withdraw_button_shows_exactly_when_the_service_allows(client, people):
    upload, _ = upload_create(
        user=people["sig"], filename="history.csv", content=HISTORY, kind="history"
    )
    upload_validate(upload_id=upload.pk)
    url = reverse("reporting:return-detail", args=[upload.pk])
    for who, shown in (("sig", True), ("admin", True)):
        client.force_login(people[who])
        page = client.get(url)
        assert page.status_code == 200
        assert (
            reverse("reporting:return-withdraw", args=[upload.pk]) in page.content.decode()
        ) is (shown), who
    # An administrator may withdraw a return someone else uploaded: the service agrees.
    client.force_login(people["admin"])
    client.post(reverse("reporting:return-withdraw", args=[upload.pk]), {"reason": "duplicate"})
    upload.refresh_from_db()
    assert upload.state == "withdrawn"


def test_the_upload_form_offers_history_loads_only_to_those_who_may_make_them(client, people):
    for who, kinds in (("lead", ["quarterly"]), ("sig", ["quarterly", "history"])):
        client.force_login(people[who])
        form = client.get(reverse("reporting:returns")).context["form"]
        assert [value for value, _ in form.fields["kind"].choices] == kinds, who
