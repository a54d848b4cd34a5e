"""A dry run checks a file on exactly the path an upload takes, chunks included, and keeps
nothing: no upload, no staged rows, no new periods, no stored file."""

from django.core.files.storage import default_storage

from kpis.models import AuditEvent, Period, ReturnRow, ReturnUpload
from kpis.services.returns import upload_create, upload_dry_run
from kpis.services.validation import upload_validate

HEADER = "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
# Five data rows, read two at a time: the value of row 6 repeats row 2, in another chunk, and
# row 4 names a place that does not exist.
FILE = (
    HEADER
    + "MHST-PUPIL-COVERAGE,southend,2016-17,,30,60,50,,\n"
    + "MHST-PUPIL-COVERAGE,thurrock,2016-17,,20,40,50,,\n"
    + "MHST-PUPIL-COVERAGE,nowhere,2016-17,,20,40,50,,\n"
    + "MHST-PUPIL-COVERAGE,essex,2016-17,,20,40,50,,\n"
    + "MHST-PUPIL-COVERAGE,southend,2016-17,,31,60,51.666667,,\n"
).encode()


def issues(upload) -> list[tuple]:
    return [(i["row"], i["column"], i["code"]) for i in upload.issues]


def test_a_dry_run_reports_what_an_upload_reports_and_keeps_nothing(chunking_admin):
    periods_before = Period.objects.count()
    checked = upload_dry_run(
        user=chunking_admin, filename="history.csv", content=FILE, kind="history"
    )
    assert checked.state == ReturnUpload.State.VALIDATION_FAILED
    assert (4, "place_code", "unknown_place") in issues(checked)
    assert checked.file.name and not default_storage.exists(checked.file.name)
    assert not ReturnUpload.objects.exists()
    assert not ReturnRow.objects.exists()
    assert not AuditEvent.objects.exists()
    assert Period.objects.count() == periods_before

    upload, _ = upload_create(
        user=chunking_admin, filename="history.csv", content=FILE, kind="history"
    )
    uploaded = upload_validate(upload_id=upload.pk)
    assert issues(checked) == issues(uploaded)
    assert (checked.error_count, checked.row_count) == (uploaded.error_count, uploaded.row_count)


def test_a_dry_run_finds_a_value_repeated_across_chunks(chunking_admin):
    repeated = FILE.replace(b"nowhere", b"basildon")
    checked = upload_dry_run(
        user=chunking_admin, filename="history.csv", content=repeated, kind="history"
    )
    assert (6, checked.issues[0]["column"], "duplicate_row") in issues(checked)
    assert not ReturnRow.objects.exists()


def test_a_dry_run_of_a_file_already_uploaded_still_checks_it(chunking_admin):
    good = HEADER.encode() + b"MHST-PUPIL-COVERAGE,southend,2016-17,,30,60,50,,\n"
    upload_create(user=chunking_admin, filename="first.csv", content=good, kind="history")
    checked = upload_dry_run(
        user=chunking_admin, filename="again.csv", content=good, kind="history"
    )
    assert checked.state == ReturnUpload.State.VALIDATED and checked.row_count == 1
    assert ReturnUpload.objects.count() == 1
