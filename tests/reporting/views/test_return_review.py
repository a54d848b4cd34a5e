"""Reviewing a return before approval: its values beside the current approved ones, its file,
its title, who may see each, and the page's queries."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis.models import Breakdown, Kpi, Observation, ReturnRow, ReturnUpload, Series
from kpis.services.returns import upload_submit, upload_withdraw
from strategy.access import Role
from strategy.models import Place
from tests.kpis.factories import AssessmentFactory, PeriodFactory, ReturnUploadFactory
from tests.kpis.upload_helpers import (
    GOOD,
    SIX_HISTORY_ROWS,
    approve,
    csv,
    history_uploaded,
    uploaded,
)

# Southend's school mental health support team coverage for 2024-25 (a percentage).
EIGHTY = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,40,50,80,,")
NINETY = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,45,50,90,,")


def page(client, upload, **query):
    response = client.get(reverse("reporting:return-detail", args=[upload.pk]), query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def other_lead(make_user, open_period):
    return make_user("thurrock-lead", Role.PLACE_LEAD, places=("thurrock",))


# What the page shows ---------------------------------------------------------------------


def test_the_lead_previews_the_values_before_submitting(client, lead):
    upload = uploaded(lead, GOOD, name="mhst q1 FINAL v2.csv")
    client.force_login(lead)
    body = page(client, upload)
    assert "<h1>Southend-on-Sea: 2024-25 quarterly return</h1>" in body
    assert "<title>Southend-on-Sea: 2024-25 quarterly return" in body
    assert "mhst q1 FINAL v2.csv" in body  # a detail, not the title
    assert "Values in this return" in body
    assert "Rows 1 to 1 of 1" in body
    assert "None approved" in body  # nothing approved for 2024-25 yet
    assert "Submit for review" in body


def test_the_reviewer_sees_the_change_from_the_current_approved_value(client, lead, sig):
    # 40 of 50 (80%) is approved; the new return says 45 of 50 (90%): up 10 percentage points.
    approve(uploaded(lead, EIGHTY), lead, sig)
    current = Observation.objects.get(is_current=True, series__kpi__code="MHST-PUPIL-COVERAGE")
    assert (current.value, current.approved) == (Decimal(80), True)
    upload = upload_submit(upload=uploaded(lead, NINETY), user=lead, confirm_warnings=True)
    client.force_login(sig)
    body = page(client, upload)
    assert "+10.0 percentage points" in body
    assert '>80<br><span class="nhsuk-body-s">40 of 50</span>' in body
    assert "Approve" in body


def test_a_value_outside_the_process_limits_is_flagged(client, lead, sig):
    upload = upload_submit(upload=uploaded(lead, NINETY), user=lead, confirm_warnings=True)
    series = Series.objects.get(kpi__code="MHST-PUPIL-COVERAGE", place__code="southend")
    AssessmentFactory(
        series=series,
        period=PeriodFactory(label="2023-24"),
        spc_mean=70.0,
        spc_lower_limit=60.0,
        spc_upper_limit=80.0,
    )
    client.force_login(sig)
    body = page(client, upload)
    assert "Special cause</strong> above the upper limit 80 (mean 70)" in body


def test_the_warnings_the_uploader_confirmed_are_beside_their_row(client, lead, sig):
    # 3 pupils of 60 is a small count: a warning the lead confirms when submitting.
    upload = uploaded(lead, csv("MHST-PUPIL-COVERAGE,southend,2024-25,,3,60,5,,"))
    assert [i["code"] for i in upload.issues] == ["small_count"]
    upload = upload_submit(upload=upload, user=lead, confirm_warnings=True)
    client.force_login(sig)
    body = page(client, upload)
    assert "the uploader confirmed the warnings" in body
    assert "Warnings confirmed and comment" in body
    assert upload.issues[0]["message"] in body


def test_large_returns_page_through_their_rows(client, sig):
    upload = _staged_return(sig, 120)
    client.force_login(sig)
    first = page(client, upload)
    assert "Rows 1 to 50 of 120" in first
    assert 'href="?page=2#values" rel="next"' in first and 'rel="prev"' not in first
    last = page(client, upload, page=3)
    assert "Rows 101 to 120 of 120" in last
    assert 'href="?page=2#values" rel="prev"' in last and 'rel="next"' not in last
    assert "Rows 1 to 50 of 120" in page(client, upload, page="nonsense")


# The file --------------------------------------------------------------------------------


def test_the_uploaded_file_downloads_under_its_own_name_and_type(client, lead, sig):
    upload = uploaded(lead, GOOD, name="Southend Q1.csv")
    for user in (lead, sig):
        client.force_login(user)
        response = client.get(reverse("reporting:return-file", args=[upload.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == GOOD
        assert response["Content-Type"] == "text/csv"
        assert response["Content-Disposition"] == 'attachment; filename="Southend Q1.csv"'


# Who may see what ------------------------------------------------------------------------


def test_another_places_lead_gets_neither_the_page_nor_the_file(client, lead, other_lead):
    upload = uploaded(lead, GOOD)
    client.force_login(other_lead)
    for name in ("reporting:return-detail", "reporting:return-file"):
        response = client.get(reverse(name, args=[upload.pk]))
        assert response.status_code == 403
        assert GOOD not in response.content


def test_anonymous_visitors_are_sent_to_log_in_for_the_page_and_the_file(client, lead):
    upload = uploaded(lead, GOOD)
    for name in ("reporting:return-detail", "reporting:return-file"):
        response = client.get(reverse(name, args=[upload.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_lead_sees_only_their_places_rows_of_a_return_of_several_and_not_its_file(
    client, lead, sig
):
    # A history load for Southend and Thurrock (three years each), uploaded by the group.
    upload = history_uploaded(sig, SIX_HISTORY_ROWS, name="history.csv")
    assert upload.state == ReturnUpload.State.VALIDATED, upload.issues
    client.force_login(lead)
    body = page(client, upload)
    assert "<h1>Southend-on-Sea and Thurrock: 2019-20, 2020-21 and 2021-22 history load</h1>" in (
        body
    )
    assert "quarterly" not in body.lower()
    assert "Rows 1 to 3 of 3" in body
    assert "3 rows for places whose figures you may not see are not shown" in body
    assert ">Thurrock</td>" not in body
    assert reverse("reporting:return-file", args=[upload.pk]) not in body
    response = client.get(reverse("reporting:return-file", args=[upload.pk]))
    assert response.status_code == 403


def test_a_file_the_service_deleted_is_not_found(client, lead):
    upload = uploaded(lead, GOOD)
    upload.file.storage.delete(upload.file.name)
    client.force_login(lead)
    assert client.get(reverse("reporting:return-file", args=[upload.pk])).status_code == 404


# The list --------------------------------------------------------------------------------


def test_the_list_names_each_return_by_its_places_and_periods(client, lead, sig):
    uploaded(lead, GOOD, name="q1.csv")
    history_uploaded(sig, SIX_HISTORY_ROWS, name="history.csv")
    client.force_login(sig)
    body = client.get(reverse("reporting:returns")).content.decode()
    assert "<h1>Returns</h1>" in body
    assert ">Southend-on-Sea: 2024-25 quarterly return</a>" in body
    assert ">Southend-on-Sea and Thurrock: 2019-20, 2020-21 and 2021-22 history load</a>" in body
    assert "q1.csv" in body and "history.csv" in body


def test_a_withdrawn_return_keeps_its_places_in_its_title_in_the_leads_list(client, lead):
    upload = upload_withdraw(upload=uploaded(lead, GOOD), user=lead, reason="Wrong file")
    client.force_login(lead)
    body = client.get(reverse("reporting:returns")).content.decode()
    day = timezone.localtime(upload.uploaded_at)
    assert f">Southend-on-Sea: quarterly return uploaded {day.day} {day:%B %Y}</a>" in body


# Queries ---------------------------------------------------------------------------------


def _staged_return(user, rows: int) -> ReturnUpload:
    """A submitted return of ``rows`` staged rows over Southend's and Thurrock's school mental
    health support team coverage, for the first two quarters of 2024-25 and the year."""
    upload = ReturnUploadFactory(state=ReturnUpload.State.SUBMITTED, uploaded_by=user)
    places = Place.objects.filter(code__in=["southend", "thurrock"])
    upload.places.set(places)
    kpi = Kpi.objects.get(code="MHST-PUPIL-COVERAGE")
    total = Breakdown.objects.get(dimension="all")
    series = [
        Series.objects.get_or_create(kpi=kpi, place=place, breakdown=total)[0] for place in places
    ]
    periods = [PeriodFactory(label=label) for label in ("2024-25", "2024-25 Q1", "2024-25 Q2")]
    ReturnRow.objects.bulk_create(
        ReturnRow(
            upload=upload,
            row=3 + i,
            series=series[i % 2],
            period=periods[i % 3],
            numerator=Decimal(45),
            denominator=Decimal(50),
            value=Decimal(90),
        )
        for i in range(rows)
    )
    return upload


@pytest.mark.parametrize("rows", [10, 200])
def test_the_page_takes_the_same_queries_for_10_rows_or_200(
    client, lead, sig, rows, django_assert_num_queries
):
    upload = _staged_return(lead, rows)
    client.force_login(sig)
    # Session and user; the upload; the reviewer's roles; whether they may see it; what its
    # title names (places, periods); then the values: the counts, the page's rows, their values.
    with django_assert_num_queries(10):
        body = page(client, upload)
    assert f"of {rows}<" in body


@pytest.mark.parametrize("uploads", [2, 20])
def test_the_list_takes_the_same_queries_for_2_returns_or_20(
    client, sig, uploads, django_assert_num_queries
):
    for _ in range(uploads):
        _staged_return(sig, 3)
    client.force_login(sig)
    # Session and user, the user's roles, the returns, and what their titles name (places,
    # periods).
    with django_assert_num_queries(6):
        response = client.get(reverse("reporting:returns"))
    assert response.content.decode().count(
        "Thurrock: 2024-25 Q1, 2024-25 Q2 and 2024-25 quarterly return"
    ) == (uploads)


def test_a_lead_reads_only_the_warnings_about_their_own_places_rows(client, lead, sig):
    # Thurrock's 2021-22 numerator of 3 draws a small-count warning that quotes it: the
    # Southend lead, who sees the return for Southend's rows, must not read it.
    body = SIX_HISTORY_ROWS.replace("thurrock,2021-22,,30,60,50", "thurrock,2021-22,,3,60,5")
    upload = history_uploaded(sig, body, name="history.csv")
    assert upload.state == ReturnUpload.State.VALIDATED, upload.issues
    warning = next(i for i in upload.issues if i["severity"] == "warning")
    assert warning["row"] == 7 and "3" in warning["value"]
    client.force_login(sig)
    assert warning["message"] in page(client, upload)
    client.force_login(lead)
    shown = page(client, upload)
    assert warning["message"] not in shown
    assert "1 error or warning about rows of places whose figures you may not see is not" in shown
    issues = client.get(reverse("reporting:return-issues", args=[upload.pk])).content.decode()
    assert warning["message"] not in issues
