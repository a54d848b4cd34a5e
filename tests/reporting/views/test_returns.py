"""Return pages: who may see and do what."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kpis.models import ReturnUpload
from kpis.services.returns import upload_submit
from strategy.access import Role
from tests.kpis.upload_helpers import GOOD, uploaded


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(reverse("reporting:returns"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_analysts_cannot_upload(client, make_user):
    client.force_login(make_user("analyst", Role.ANALYST))
    assert client.get(reverse("reporting:returns")).status_code == 403


def test_upload_through_the_page_then_the_duplicate_is_recognised(client, lead, settings):
    client.force_login(lead)
    response = client.post(
        reverse("reporting:returns"),
        {"file": SimpleUploadedFile("q.csv", GOOD, "text/csv"), "kind": "quarterly"},
    )
    upload = ReturnUpload.objects.get()
    assert response["Location"] == reverse("reporting:return-detail", args=[upload.pk])
    again = client.post(
        reverse("reporting:returns"),
        {"file": SimpleUploadedFile("copy.csv", GOOD, "text/csv"), "kind": "quarterly"},
        follow=True,
    )
    assert "already uploaded" in again.content.decode()
    assert ReturnUpload.objects.count() == 1


def test_status_reports_stage_and_percent(client, lead):
    upload = uploaded(lead, GOOD)
    client.force_login(lead)
    status = client.get(reverse("reporting:return-status", args=[upload.pk])).json()
    assert status == {
        "state": "validated",
        "state_label": "Validated",
        "stage": "Finished",
        "percent": 100,
        "finished": True,
    }


def test_a_lead_cannot_see_another_places_return(client, lead, make_user):
    upload = uploaded(lead, GOOD)
    client.force_login(make_user("thurrock-lead", Role.PLACE_LEAD, places=("thurrock",)))
    assert client.get(reverse("reporting:return-detail", args=[upload.pk])).status_code == 403
    assert client.get(reverse("reporting:return-issues", args=[upload.pk])).status_code == 403


def test_issue_report_downloads_as_csv_with_formulas_neutralised(client, lead):
    upload = uploaded(
        lead,
        b"#template_version=2025.1\nkpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
        b"=HYPERLINK(1),southend,2024-25,,30,60,50,,\n",
    )
    client.force_login(lead)
    response = client.get(reverse("reporting:return-issues", args=[upload.pk]))
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "'=HYPERLINK(1)" in body
    assert ",=HYPERLINK" not in body


def test_only_reviewers_see_the_decision_buttons(client, lead, sig):
    upload = upload_submit(upload=uploaded(lead, GOOD), user=lead, confirm_warnings=True)
    client.force_login(sig)
    assert (
        "Approve"
        in client.get(reverse("reporting:return-detail", args=[upload.pk])).content.decode()
    )
    client.force_login(lead)
    page = client.get(reverse("reporting:return-detail", args=[upload.pk])).content.decode()
    assert "Approve" not in page
    response = client.post(
        reverse("reporting:return-decide", args=[upload.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    upload.refresh_from_db()
    assert upload.state == "submitted"


def test_the_downloaded_template_filled_in_validates_cleanly(client, lead):
    client.force_login(lead)
    template = client.get(reverse("reporting:return-template-csv")).content.decode()
    lines = template.splitlines()
    assert lines[0] == "#template_version=2025.1"
    # One row is owed by Southend for 2024-25: school mental health support team coverage.
    assert lines[2] == "MHST-PUPIL-COVERAGE,southend,2024-25,,,,,,"
    filled = "\n".join([*lines[:2], "MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,"]) + "\n"
    upload = uploaded(lead, filled.encode(), name="filled.csv")
    assert upload.state == ReturnUpload.State.VALIDATED, upload.issues
    xlsx = client.get(reverse("reporting:return-template-xlsx"))
    assert xlsx.content[:2] == b"PK"
