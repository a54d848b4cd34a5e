"""No return is ever stuck or half-kept: bad cells are named, faults end the upload failed,
dead attempts are taken over, stuck uploads are swept, and a failed file leaves nothing."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from kpis.models import AuditEvent, Period, ReturnRow, ReturnUpload, Series
from kpis.services.returns import upload_create, upload_withdraw
from kpis.services.validation import upload_validate, uploads_sweep_stuck
from strategy.access import Role
from tests.kpis.returns import xlsx_bytes
from tests.kpis.upload_helpers import GOOD, HISTORY_HEADER, SIX_HISTORY_ROWS, uploaded

State = ReturnUpload.State


def history(user, body: str, name: str = "history.csv") -> ReturnUpload:
    upload, _ = upload_create(user=user, filename=name, content=body.encode(), kind="history")
    upload_validate(upload_id=upload.pk)
    return ReturnUpload.objects.get(pk=upload.pk)


def issue_cells(upload) -> set[tuple]:
    return {(i["row"], i["column"], i["code"]) for i in upload.issues}


@pytest.mark.parametrize("period", ["0000", "9999", "Jan 0000", "Dec 9999", "0000-01"])
def test_an_impossible_year_is_a_cell_error_not_a_stuck_upload(sig, catalogue_data, period):
    body = HISTORY_HEADER + f"MHST-PUPIL-COVERAGE,southend,{period},,30,60,50,,\n"
    upload = history(sig, body)
    assert upload.state == State.VALIDATION_FAILED
    assert (2, "period", "period_invalid") in issue_cells(upload)
    assert not ReturnRow.objects.filter(upload=upload).exists()


def test_a_template_version_too_long_to_keep_is_an_issue_not_a_fault(lead, sig):
    # Found by the upload fuzz: the version was stored whole in a 40-character column, so
    # finishing failed and the upload ended with "a fault in the service".
    stated = "9" * 300
    upload = uploaded(lead, GOOD.replace(b"2025.1", stated.encode()))
    assert upload.state == State.VALIDATION_FAILED
    assert [i["code"] for i in upload.issues if i["severity"] == "error"] == [
        "template_out_of_date"
    ]
    assert upload.template_version == stated[:40]

    loaded = history(sig, f"#template_version={stated}\n" + SIX_HISTORY_ROWS)
    assert loaded.state == State.VALIDATED, loaded.issues
    assert loaded.template_version == stated[:40]


def test_a_nul_byte_past_the_first_8_kb_is_named_by_row_and_column(sig, catalogue_data):
    rows = [
        f"MHST-PUPIL-COVERAGE,southend,Jan {1950 + i},,30,60,50,,a comment long enough\n"
        for i in range(300)
    ]
    rows[250] = rows[250].replace("a comment", "a com\x00ment")
    body = HISTORY_HEADER + "".join(rows)
    assert body.index("\x00") > 8192
    upload = history(sig, body)
    assert upload.state == State.VALIDATION_FAILED
    assert (252, "comment", "control_character") in issue_cells(upload)
    assert not ReturnRow.objects.filter(upload=upload).exists()


def test_a_nul_byte_in_a_checked_cell_is_named_not_a_fault(sig, catalogue_data):
    # Found by the upload fuzz: the unknown KPI code's issue carried the NUL into the issues'
    # JSON, which PostgreSQL refuses, so the upload ended with "a fault in the service".
    rows = [
        f"MHST-PUPIL-COVERAGE,southend,Jan {1950 + i},,30,60,50,,a comment long enough\n"
        for i in range(300)
    ]
    rows[250] = rows[250].replace("MHST-PUPIL-COVERAGE", "MHST\x00")
    upload = history(sig, HISTORY_HEADER + "".join(rows))
    assert upload.state == State.VALIDATION_FAILED
    found = issue_cells(upload)
    assert {(252, "kpi_code", "control_character"), (252, "kpi_code", "unknown_kpi")} <= found
    assert all("\x00" not in str(issue) for issue in upload.issues)


def test_a_workbook_cell_holding_an_escaped_nul_is_named_not_a_fault(lead):
    # Excel writes a NUL typed into a cell as _x0000_; a reader that unescapes it must not
    # turn the cell's issues, or the template version, into a fault when they are stored.
    row = ["MHST_x0000_", "southend", "2024-25", "", 30, 60, 50, "", ""]
    content = xlsx_bytes([row], version="2025.1_x0000_")
    upload = uploaded(lead, content, name="return.xlsx")
    assert upload.state == State.VALIDATION_FAILED
    assert "internal_error" not in {i["code"] for i in upload.issues}
    named = [i for i in upload.issues if i["row"] == 2 and i["column"] == "kpi_code"]
    assert named and all("\x00" not in str(issue) for issue in upload.issues)
    assert "\x00" not in upload.template_version


def test_a_fault_while_checking_ends_the_upload_failed_with_a_reason(sig, catalogue_data):
    upload, _ = upload_create(
        user=sig, filename="h.csv", content=SIX_HISTORY_ROWS.encode(), kind="history"
    )
    default_storage.delete(upload.file.name)  # the stored file is lost
    checked = upload_validate(upload_id=upload.pk)
    assert checked.state == State.VALIDATION_FAILED
    assert [i["code"] for i in checked.issues] == ["internal_error"]
    assert "nothing from it was stored" in checked.issues[0]["message"]
    assert upload_validate(upload_id=upload.pk) is None  # final: never run again


def test_a_failed_history_load_leaves_no_new_periods_or_series(sig, catalogue_data):
    periods, series = Period.objects.count(), Series.objects.count()
    # Six good rows for periods and series that do not exist yet, then one bad row.
    body = SIX_HISTORY_ROWS.replace("2019-20", "1991-92") + (
        "MHST-PUPIL-COVERAGE,nowhere,1991-92,,30,60,50,,\n"
    )
    upload = history(sig, body)
    assert upload.state == State.VALIDATION_FAILED
    assert (Period.objects.count(), Series.objects.count()) == (periods, series)


def test_a_failed_chunked_history_load_leaves_nothing_behind(chunking_admin):
    periods, series = Period.objects.count(), Series.objects.count()
    body = SIX_HISTORY_ROWS.replace("2019-20", "1991-92").replace("2020-21", "1992-93") + (
        "MHST-PUPIL-COVERAGE,nowhere,1993-94,,30,60,50,,\n"
    )
    upload = history(chunking_admin, body)
    assert upload.state == State.VALIDATION_FAILED
    assert not ReturnRow.objects.filter(upload=upload).exists()
    assert (Period.objects.count(), Series.objects.count()) == (periods, series)


def test_a_dead_attempt_is_taken_over_and_the_upload_finishes_once(sig, catalogue_data, settings):
    upload, _ = upload_create(
        user=sig, filename="h.csv", content=SIX_HISTORY_ROWS.encode(), kind="history"
    )
    # A worker claimed it, staged two rows and died: silent since well before the timeout.
    first = history(sig, SIX_HISTORY_ROWS, name="first-attempt.csv")
    leftovers = list(ReturnRow.objects.filter(upload=first).values()[:2])
    ReturnRow.objects.bulk_create(
        [ReturnRow(**{**row, "id": None, "upload_id": upload.pk}) for row in leftovers]
    )
    silent = timezone.now() - timedelta(seconds=settings.RETURN_CLAIM_TIMEOUT + 1)
    audits = AuditEvent.objects.filter(upload=upload, action="validated")
    audited_before = audits.count()
    ReturnUpload.objects.filter(pk=upload.pk).update(
        state=State.VALIDATING, validation_attempts=1, heartbeat_at=silent
    )
    checked = upload_validate(upload_id=upload.pk)
    assert (checked.state, checked.validation_attempts) == (State.VALIDATED, 2)
    assert ReturnRow.objects.filter(upload=upload).count() == 6  # no duplicates
    assert audits.count() == audited_before + 1
    assert upload_validate(upload_id=upload.pk) is None


def test_an_attempt_still_alive_is_not_taken_over(sig, catalogue_data):
    upload, _ = upload_create(
        user=sig, filename="h.csv", content=SIX_HISTORY_ROWS.encode(), kind="history"
    )
    ReturnUpload.objects.filter(pk=upload.pk).update(
        state=State.VALIDATING, validation_attempts=1, heartbeat_at=timezone.now()
    )
    assert upload_validate(upload_id=upload.pk) is None
    assert ReturnUpload.objects.get(pk=upload.pk).validation_attempts == 1


def test_the_sweep_requeues_silent_uploads_and_gives_up_after_the_last_attempt(
    sig, catalogue_data, settings, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(seconds=settings.RETURN_STUCK_AFTER + 1)
    lost, _ = upload_create(user=sig, filename="a.csv", content=b"x,y\n1,2\n", kind="history")
    dying, _ = upload_create(
        user=sig, filename="b.csv", content=SIX_HISTORY_ROWS.encode(), kind="history"
    )
    ReturnUpload.objects.filter(pk=lost.pk).update(uploaded_at=old)  # its job never ran
    ReturnUpload.objects.filter(pk=dying.pk).update(
        state=State.VALIDATING,
        validation_attempts=settings.RETURN_MAX_ATTEMPTS,
        heartbeat_at=old,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert uploads_sweep_stuck() == {"requeued": 1, "failed": 1}
    # The lost one was checked (it fails on its own content); the dying one gave up, saying so.
    lost.refresh_from_db()
    dying.refresh_from_db()
    assert lost.state == State.VALIDATION_FAILED and lost.validation_attempts == 1
    assert dying.state == State.VALIDATION_FAILED
    assert "stopped 3 times" in dying.issues[0]["message"]
    assert uploads_sweep_stuck() == {"requeued": 0, "failed": 0}


def test_a_file_that_failed_can_be_uploaded_again(sig, catalogue_data):
    bad = HISTORY_HEADER + "MHST-PUPIL-COVERAGE,southend,9999,,30,60,50,,\n"
    failed = history(sig, bad)
    assert failed.state == State.VALIDATION_FAILED
    again, created = upload_create(user=sig, filename="h.csv", content=bad.encode(), kind="history")
    assert created and again.pk != failed.pk


def test_the_same_bytes_from_another_organisation_reveal_nothing(lead, make_user, client):
    other = make_user("thurrock-lead", Role.PLACE_LEAD, places=("thurrock",))
    mine = uploaded(lead, GOOD)
    theirs, created = upload_create(user=other, filename="same.csv", content=GOOD)
    assert created and theirs.pk != mine.pk and theirs.uploaded_by == other
    client.force_login(other)
    page = client.post("/returns/", {"file": _file(GOOD), "kind": "quarterly"}, follow=True)
    assert page.status_code == 200
    assert f"/returns/{mine.pk}/" not in page.redirect_chain[-1][0]
    assert "already uploaded" in page.content.decode()  # their own earlier copy, not mine


def _file(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("same.csv", content, content_type="text/csv")


@pytest.mark.django_db(transaction=True)
def test_a_return_withdrawn_while_it_is_checked_stays_withdrawn(chunking_admin, settings):
    settings.RETURN_CHUNK_ROWS = 5
    body = HISTORY_HEADER + "".join(
        f"MHST-PUPIL-COVERAGE,{place},{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
        for place in ("southend", "thurrock", "essex")
        for year in range(1901, 2099)
    )

    def upload_and_validate():
        # Uploaded here, the eager task validates it in this thread once the upload commits.
        try:
            upload_create(
                user=chunking_admin, filename="long.csv", content=body.encode(), kind="history"
            )
        finally:
            from django.db import connection

            connection.close()

    worker = threading.Thread(target=upload_and_validate)
    worker.start()
    deadline = time.monotonic() + 30
    upload = None
    while time.monotonic() < deadline:
        upload = ReturnUpload.objects.filter(original_name="long.csv").first()
        if upload is not None and upload.stage.startswith("Checked"):
            break  # at least one chunk checked and staged
        time.sleep(0.01)
    assert upload is not None and upload.state == State.VALIDATING
    upload_withdraw(upload=upload, user=chunking_admin, reason="sent the wrong file")
    worker.join(timeout=60)
    upload.refresh_from_db()
    assert not worker.is_alive()
    assert (upload.state, upload.decision_reason) == (State.WITHDRAWN, "sent the wrong file")
    assert not ReturnRow.objects.filter(upload=upload).exists()
    assert not AuditEvent.objects.filter(upload=upload, action="validated").exists()


def test_a_person_level_file_is_deleted_and_only_its_trace_kept(
    sig, catalogue_data, django_capture_on_commit_callbacks
):
    # 9434765919 is a valid NHS number: 9x10+4x9+3x8+4x7+7x6+6x5+5x4+9x3+1x2 = 299, 299 mod 11
    # = 2, and 11 - 2 = 9, its check digit.
    body = HISTORY_HEADER + "MHST-PUPIL-COVERAGE,southend,2019-20,,30,60,50,,9434765919\n"
    with django_capture_on_commit_callbacks(execute=True):
        upload, _ = upload_create(
            user=sig, filename="names.csv", content=body.encode(), kind="history"
        )
        stored_name = upload.file.name
        upload_validate(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.state == State.VALIDATION_FAILED
    assert upload.file.name == "" and not default_storage.exists(stored_name)
    codes = [issue["code"] for issue in upload.issues]
    assert codes[0] == "person_level_deleted" and "person_level_value" in codes
    assert all("9434765919" not in str(issue) for issue in upload.issues)
    trace = AuditEvent.objects.get(upload=upload, action="person_level_deleted")
    assert trace.actor == sig
    assert trace.detail == {"checksum": upload.checksum, "reasons": ["person_level_value"]}


def test_a_file_refused_for_other_reasons_is_kept_for_its_uploader(sig, catalogue_data):
    body = HISTORY_HEADER + "MHST-PUPIL-COVERAGE,nowhere,2019-20,,30,60,50,,\n"
    upload = history(sig, body)
    assert upload.state == State.VALIDATION_FAILED
    assert upload.file.name and default_storage.exists(upload.file.name)
    assert not AuditEvent.objects.filter(upload=upload, action="person_level_deleted").exists()
