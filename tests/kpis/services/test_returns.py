"""Quarterly returns through the services: upload, four eyes, ingestion, corrections and
withdrawal."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kpis.models import AuditEvent, Observation, ReturnUpload
from kpis.services.returns import (
    upload_create,
    upload_decide,
    upload_submit,
    upload_withdraw,
)
from strategy.access import Role
from tests.kpis.upload_helpers import (
    GOOD,
    HISTORY_HEADER,
    approve,
    csv,
    history_uploaded,
    uploaded,
)


def test_the_same_file_again_is_recognised_and_changes_nothing(lead):
    first = uploaded(lead, GOOD)
    again, created = upload_create(user=lead, filename="copy.csv", content=GOOD)
    assert (again.pk, created) == (first.pk, False)
    assert ReturnUpload.objects.count() == 1


def test_only_uploaders_upload(make_user):
    analyst = make_user("analyst", Role.ANALYST)
    with pytest.raises(PermissionDenied):
        upload_create(user=analyst, filename="x.csv", content=GOOD)


def test_warnings_must_be_confirmed_before_submitting(lead):
    # 3 of 60 will be suppressed on public pages: a warning, not an error.
    upload = uploaded(lead, csv("MHST-PUPIL-COVERAGE,southend,2024-25,,3,60,5,,"))
    assert upload.state == "validated" and upload.warning_count >= 1
    with pytest.raises(ValidationError, match="Confirm the warnings"):
        upload_submit(upload=upload, user=lead, confirm_warnings=False)
    upload = upload_submit(upload=upload, user=lead, confirm_warnings=True)
    assert upload.state == "submitted" and upload.warnings_confirmed


def test_nobody_approves_a_return_they_uploaded_or_submitted(lead, sig, make_user):
    upload = uploaded(sig, GOOD)  # a SIG member may upload for any place
    upload = upload_submit(upload=upload, user=lead, confirm_warnings=True)
    with pytest.raises(PermissionDenied, match="Four eyes"):
        upload_decide(upload=upload, user=sig, approve=True)
    other_lead = make_user("other-lead", Role.PLACE_LEAD, places=("southend",))
    with pytest.raises(PermissionDenied):
        upload_decide(upload=upload, user=other_lead, approve=True)
    reviewer = make_user("reviewer", Role.SIG_MEMBER)
    upload = upload_decide(upload=upload, user=reviewer, approve=True)
    assert upload.state == "approved"
    stored = Observation.objects.filter(source_upload=upload, is_current=True)
    assert list(stored.values_list("source_row", flat=True)) == [3]
    assert all(o.approved and o.published_at is None for o in stored)
    actions = set(AuditEvent.objects.filter(upload=upload).values_list("action", flat=True))
    assert {"upload", "validated", "submit", "approve", "values_changed"} <= actions


def test_sending_back_needs_a_reason(lead, sig):
    upload = upload_submit(upload=uploaded(lead, GOOD), user=lead, confirm_warnings=True)
    with pytest.raises(ValidationError, match="Say why"):
        upload_decide(upload=upload, user=sig, approve=False, reason=" ")
    upload = upload_decide(upload=upload, user=sig, approve=False, reason="Check the numerator")
    assert (upload.state, upload.decision_reason) == ("sent_back", "Check the numerator")
    assert not Observation.objects.filter(source_upload=upload).exists()


@pytest.mark.parametrize("fast_path", [True, False], ids=["copy-and-sql", "portable"])
def test_a_resubmission_adds_versions_of_changed_values_only(lead, sig, settings, fast_path):
    settings.RETURN_SQL_FAST_PATH = fast_path
    first = approve(uploaded(lead, GOOD), lead, sig)
    same = approve(uploaded(lead, GOOD + b"\n", name="same-values.csv"), lead, sig)
    assert same.values_changed == 0  # different bytes, same values: no new versions
    corrected = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,33,60,55,,corrected count")
    second = approve(uploaded(lead, corrected, name="corrected.csv"), lead, sig)
    assert second.values_changed == 1
    history = Observation.objects.filter(
        series__kpi__code="MHST-PUPIL-COVERAGE", series__place__code="southend"
    ).order_by("version")
    assert [(o.version, o.is_current, float(o.value)) for o in history] == [
        (1, False, 50.0),
        (2, True, 55.0),
    ]
    assert history[0].source_upload_id == first.pk and history[1].source_upload_id == second.pk
    assert history[1].note == "corrected count"


@pytest.mark.parametrize("fast_path", [True, False], ids=["copy-and-sql", "portable"])
def test_a_history_load_and_its_correction_version_each_value_by_its_ownhistory_uploaded(
    catalogue_data, make_user, sig, settings, fast_path
):
    settings.RETURN_SQL_FAST_PATH = fast_path
    admin = make_user("history-admin", Role.ADMINISTRATOR)
    row = "MHST-PUPIL-COVERAGE,{place},{year},,{n},60,{value},,"
    first = history_uploaded(
        admin,
        HISTORY_HEADER
        + "".join(
            row.format(place=place, year=year, n=30, value=50) + "\n"
            for place in ("southend", "thurrock")
            for year in ("2019-20", "2020-21")
        ),
        "first.csv",
    )
    assert approve(first, admin, sig).values_changed == 4  # a first load: every value
    # Thurrock 2020-21 left with its history but no current version (as after a retirement
    # whose replacement was never written): its next version still follows its history.
    Observation.objects.filter(series__place__code="thurrock", period__label="2020-21").update(
        is_current=False
    )
    correction = history_uploaded(
        admin,
        HISTORY_HEADER
        + row.format(place="southend", year="2019-20", n=30, value=50)  # unchanged
        + "\n"
        + row.format(place="southend", year="2020-21", n=36, value=60)  # changed
        + "\n"
        + row.format(place="thurrock", year="2020-21", n=30, value=50)  # none current
        + "\n"
        + row.format(place="thurrock", year="2021-22", n=12, value=20)  # new
        + "\n",
        "correction.csv",
    )
    correction = approve(correction, admin, sig)
    assert correction.values_changed == 3
    versions = {
        (o.series.place.code, o.period.label, o.version): (o.is_current, float(o.value))
        for o in Observation.objects.select_related("series__place", "period")
    }
    assert versions == {
        ("southend", "2019-20", 1): (True, 50.0),
        ("southend", "2020-21", 1): (False, 50.0),
        ("southend", "2020-21", 2): (True, 60.0),
        ("thurrock", "2019-20", 1): (True, 50.0),
        ("thurrock", "2020-21", 1): (False, 50.0),
        ("thurrock", "2020-21", 2): (True, 50.0),
        ("thurrock", "2021-22", 1): (True, 20.0),
    }
    assert set(
        Observation.objects.filter(source_upload=correction).values_list("source_row", flat=True)
    ) == {3, 4, 5}


def test_withdrawal_is_recorded_never_deleted_and_not_after_approval(lead, sig):
    upload = uploaded(lead, GOOD)
    upload = upload_withdraw(upload=upload, user=lead, reason="wrong file")
    assert ReturnUpload.objects.get(pk=upload.pk).state == "withdrawn"
    assert AuditEvent.objects.filter(upload=upload, action="withdraw").exists()
    # The same bytes may now be uploaded afresh.
    fresh = approve(uploaded(lead, GOOD), lead, sig)
    with pytest.raises(ValidationError, match="corrected by a new return"):
        upload_withdraw(upload=fresh, user=lead, reason="too late")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../x.csv", "x.csv"),
        ("C:\\Users\\lead\\return.csv", "return.csv"),
        ("x\x00.csv", "x.csv"),
        ("\x00", "return"),
    ],
)
def test_awkward_filenames_are_kept_by_their_last_part(lead, given, shown):
    upload, created = upload_create(user=lead, filename=given, content=GOOD)
    assert created and upload.original_name == shown
    stored = upload.file.name
    assert stored.startswith("returns/") and ".." not in stored.split("/")
    assert "\x00" not in stored
