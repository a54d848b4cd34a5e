"""Quarterly returns: upload, validation, four eyes, ingestion, corrections and withdrawal."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kpis.models import AuditEvent, Observation, ReportingExpectation, ReturnRow, ReturnUpload
from kpis.reporting_calendar import expectation_reopen, expectations_generate
from kpis.uploads import (
    upload_create,
    upload_decide,
    upload_submit,
    upload_validate,
    upload_withdraw,
)
from strategy.access import Role

HEADER = (
    "#template_version=2025.1\n"
    "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
)


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


@pytest.fixture
def open_period(catalogue_data, make_user):
    """2024-25 expected from the three councils, reopened until well after today."""
    expectations_generate(period_label="2024-25")
    admin = make_user("calendar-admin", Role.ADMINISTRATOR)
    for expectation in ReportingExpectation.objects.filter(period__label="2024-25"):
        expectation_reopen(
            expectation=expectation, user=admin, until=timezone.localdate() + timedelta(days=30)
        )
    return "2024-25"


@pytest.fixture
def lead(make_user, open_period):
    return make_user("southend-lead", Role.PLACE_LEAD, places=("southend",))


@pytest.fixture
def sig(make_user):
    return make_user("sig-member", Role.SIG_MEMBER)


def uploaded(user, content, name="return.csv"):
    upload, created = upload_create(user=user, filename=name, content=content)
    assert created
    # With transactions committing, the eager task has already validated it.
    upload_validate(upload_id=upload.pk)
    return ReturnUpload.objects.get(pk=upload.pk)


GOOD = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,")


def test_a_good_return_is_validated_and_staged_but_not_yet_stored(lead):
    upload = uploaded(lead, GOOD)
    assert upload.state == "validated", upload.issues
    assert ReturnRow.objects.filter(upload=upload).count() == 1
    assert not Observation.objects.filter(source_upload=upload).exists()
    assert list(upload.places.values_list("code", flat=True)) == ["southend"]


def test_staged_rows_take_ids_only_from_their_identity_so_ids_stay_unique(make_user, open_period):
    from django.db import ProgrammingError, transaction

    lead = make_user("two-place-lead", Role.PLACE_LEAD, places=("southend", "thurrock"))
    two_rows = csv(
        "MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,",
        "MHST-PUPIL-COVERAGE,thurrock,2024-25,,10,40,25,,",
    )
    upload = uploaded(lead, two_rows)
    assert upload.state == "validated", upload.issues
    ids = list(ReturnRow.objects.filter(upload=upload).order_by("row").values_list("id", flat=True))
    assert len(set(ids)) == 2
    assert ReturnRow.objects.get(pk=ids[1]).row == 4  # found by id, as the admin finds it
    # With no B-tree behind the primary key (migration 0004), the identity refuses any id it
    # did not give, even one no row has: "cannot insert a non-DEFAULT value" (428C9).
    extra = ReturnRow.objects.get(pk=ids[0])
    extra.pk = max(ids) + 1000
    with pytest.raises(ProgrammingError) as refused, transaction.atomic():
        extra.save(force_insert=True)
    assert refused.value.__cause__.sqlstate == "428C9"
    assert not ReturnRow.objects.filter(pk=max(ids) + 1000).exists()


def test_the_same_file_again_is_recognised_and_changes_nothing(lead):
    first = uploaded(lead, GOOD)
    again, created = upload_create(user=lead, filename="copy.csv", content=GOOD)
    assert (again.pk, created) == (first.pk, False)
    assert ReturnUpload.objects.count() == 1


def test_errors_name_row_and_column_and_nothing_is_stored(lead):
    upload = uploaded(
        lead,
        csv(
            "MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,",
            "NO-SUCH-KPI,southend,2024-25,,1,2,50,,",
            "MHST-PUPIL-COVERAGE,thurrock,2024-25,,70,60,,,",
        ),
    )
    assert upload.state == "validation_failed"
    found = {(i["row"], i["column"], i["code"]) for i in upload.issues if i["severity"] == "error"}
    # Line 1 carries the template version and line 2 the header, so data start on row 3.
    assert (4, "kpi_code", "unknown_kpi") in found
    # Thurrock is not granted to this lead, and 70 of 60 is impossible for a proportion.
    assert (5, "place_code", "place_not_permitted") in found
    assert (5, "numerator", "numerator_above_denominator") in found
    assert not ReturnRow.objects.filter(upload=upload).exists()
    assert not Observation.objects.filter(source_upload=upload).exists()


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


def approve(upload, lead, reviewer):
    upload = upload_submit(upload=upload, user=lead, confirm_warnings=True)
    return upload_decide(upload=upload, user=reviewer, approve=True)


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
def test_a_history_load_and_its_correction_version_each_value_by_its_own_history(
    catalogue_data, make_user, sig, settings, fast_path
):
    settings.RETURN_SQL_FAST_PATH = fast_path
    admin = make_user("history-admin", Role.ADMINISTRATOR)
    row = "MHST-PUPIL-COVERAGE,{place},{year},,{n},60,{value},,"
    first = _history(
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
    correction = _history(
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


def test_a_locked_period_is_refused_until_reopened(catalogue_data, make_user):
    expectations_generate(period_label="2023-24")  # locked long ago
    lead = make_user("locked-lead", Role.PLACE_LEAD, places=("thurrock",))
    upload = uploaded(lead, csv("MHST-PUPIL-COVERAGE,thurrock,2023-24,,30,60,50,,"))
    assert upload.state == "validation_failed"
    assert any(i["column"] == "period" for i in upload.issues)


def test_a_repeat_validation_run_does_nothing(lead):
    upload = uploaded(lead, GOOD)
    assert upload_validate(upload_id=upload.pk) is None
    assert ReturnRow.objects.filter(upload=upload).count() == 1


def test_a_kpi_not_expected_from_the_place_is_refused(lead):
    # Liaison coverage is a provider measure: it is not expected from Southend.
    upload = uploaded(lead, csv("LIAISON-CORE24-COVERAGE,southend,2024-25,,1,2,50,,"))
    assert upload.state == "validation_failed"
    errors = [i for i in upload.issues if i["severity"] == "error"]
    assert [(i["row"], i["column"], i["code"]) for i in errors] == [
        (3, "place_code", "not_expected")
    ]


def test_an_out_of_date_template_is_refused(lead):
    old = GOOD.replace(b"2025.1", b"2023.1")
    upload = uploaded(lead, old)
    assert upload.state == "validation_failed"
    assert any(i["code"].startswith("template") for i in upload.issues), upload.issues


def test_a_value_far_from_the_previous_one_warns_and_asks_for_a_comment(lead, sig):
    from kpis.models import Series
    from kpis.recompute import progress_recompute

    approve(uploaded(lead, GOOD), lead, sig)  # 50%
    progress_recompute(series_ids=list(Series.objects.values_list("id", flat=True)))
    jump = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,57,60,95,,")
    upload = uploaded(lead, jump, name="jump.csv")
    warnings = [i for i in upload.issues if i["severity"] == "warning"]
    assert any(i["row"] == 3 and "comment" in i["message"].lower() for i in warnings), warnings


def _history(user, body: str, name: str):
    upload, _ = upload_create(user=user, filename=name, content=body.encode(), kind="history")
    upload_validate(upload_id=upload.pk)
    return ReturnUpload.objects.get(pk=upload.pk)


HISTORY_HEADER = "kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\n"
SIX_HISTORY_ROWS = HISTORY_HEADER + "".join(
    f"MHST-PUPIL-COVERAGE,{place},{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
    for place in ("southend", "thurrock")
    for year in (2019, 2020, 2021)
)


@pytest.fixture
def chunking_admin(catalogue_data, make_user, settings):
    """An administrator loading history, with every CSV read in chunks of two lines."""
    settings.RETURN_CHUNK_BYTES = 10  # every CSV is "large"
    settings.RETURN_CHUNK_ROWS = 2
    return make_user("history-admin", Role.ADMINISTRATOR)


def test_a_large_file_is_validated_in_chunks_with_the_files_own_row_numbers(chunking_admin):
    upload = _history(chunking_admin, SIX_HISTORY_ROWS, "six-rows.csv")
    assert (upload.state, upload.row_count) == ("validated", 6), upload.issues
    assert sorted(ReturnRow.objects.filter(upload=upload).values_list("row", flat=True)) == [
        2,
        3,
        4,
        5,
        6,
        7,
    ]
    assert set(upload.places.values_list("code", flat=True)) == {"southend", "thurrock"}
    # The staged rows are analysed, so approval's ingest is planned for as many as there are.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'kpis_returnrow'")
        assert cursor.fetchone()[0] == 6


def test_chunked_files_report_errors_and_duplicates_across_chunks_and_keep_nothing(chunking_admin):
    body = HISTORY_HEADER + (
        "MHST-PUPIL-COVERAGE,southend,2019-20,,30,60,50,,\n"  # row 2
        "MHST-PUPIL-COVERAGE,southend,2020-21,,30,60,50,,\n"  # row 3
        "MHST-PUPIL-COVERAGE,southend,2019-20,,31,60,51.67,,\n"  # row 4: repeats row 2
        "MHST-PUPIL-COVERAGE,thurrock,2020-21,,30,60,50,,\n"  # row 5
        "MHST-PUPIL-COVERAGE,thurrock,FY24,,30,60,50,,\n"  # row 6: ambiguous period
    )
    upload = _history(chunking_admin, body, "bad.csv")
    assert upload.state == "validation_failed"
    found = {(i["row"], i["code"]) for i in upload.issues if i["severity"] == "error"}
    assert (6, "period_invalid") in found
    assert not ReturnRow.objects.filter(upload=upload).exists()
    clean_but_repeated = HISTORY_HEADER + (
        "MHST-PUPIL-COVERAGE,southend,2019-20,,30,60,50,,\n"
        "MHST-PUPIL-COVERAGE,southend,2020-21,,30,60,50,,\n"
        "MHST-PUPIL-COVERAGE,southend,2019-20,,31,60,51.67,,\n"
    )
    upload = _history(chunking_admin, clean_but_repeated, "repeated.csv")
    assert upload.state == "validation_failed"
    assert [(i["row"], i["code"]) for i in upload.issues] == [(4, "duplicate_row")]
    assert "repeats row 2" in upload.issues[0]["message"]
    assert not ReturnRow.objects.filter(upload=upload).exists()


def test_a_chunked_file_counts_every_issue_but_keeps_only_as_many_as_are_stored(
    settings, chunking_admin
):
    settings.RETURN_MAX_STORED_ISSUES = 3
    # Rows 2 to 8: every row names a KPI that does not exist, over four chunks.
    body = HISTORY_HEADER + "".join(
        f"NO-SUCH-KPI,southend,{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
        for year in range(2013, 2020)
    )
    upload = _history(chunking_admin, body, "seven-bad-rows.csv")
    assert (upload.state, upload.row_count, upload.error_count) == ("validation_failed", 7, 7)
    assert [(i["row"], i["column"]) for i in upload.issues] == [
        (2, "kpi_code"),
        (3, "kpi_code"),
        (4, "kpi_code"),
    ]
    assert not ReturnRow.objects.filter(upload=upload).exists()


def test_a_chunked_file_with_a_non_utf8_byte_names_its_line_and_keeps_nothing(chunking_admin):
    rows = [
        f"MHST-PUPIL-COVERAGE,southend,{year}-{(year + 1) % 100:02d},,30,60,50,,\n"
        for year in range(2014, 2020)
    ]
    rows[4] = rows[4].replace(",,\n", ",,caf\xe9\n")  # line 6, in the third chunk
    # A UTF-8 byte-order mark, then text saved as Windows-1252.
    body = b"\xef\xbb\xbf" + HISTORY_HEADER.encode() + "".join(rows).encode("cp1252")
    upload, _ = upload_create(
        user=chunking_admin, filename="latin1.csv", content=body, kind="history"
    )
    upload_validate(upload_id=upload.pk)
    upload = ReturnUpload.objects.get(pk=upload.pk)
    assert upload.state == "validation_failed"
    assert [(i["row"], i["code"], i["value"]) for i in upload.issues] == [(6, "encoding", "0xE9")]
    assert "byte 0xE9 on line 6 cannot be read" in upload.issues[0]["message"]
    assert not ReturnRow.objects.filter(upload=upload).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_chunks_are_copied_in_the_background_with_the_same_outcome(
    chunking_admin,
):
    from django.db import connection, transaction

    from kpis.uploads import _BackgroundCopy

    writer = _BackgroundCopy.where_useful()
    assert writer is not None and not connection.in_atomic_block
    writer.close()
    with transaction.atomic():
        assert _BackgroundCopy.where_useful() is None  # in line, inside the transaction

    upload = _history(chunking_admin, SIX_HISTORY_ROWS, "six-rows.csv")
    assert (upload.state, upload.row_count) == ("validated", 6), upload.issues
    staged = ReturnRow.objects.filter(upload=upload).order_by("row")
    assert list(staged.values_list("row", "value")) == [(row, 50) for row in range(2, 8)]

    # An error in the last chunk: the chunks already copied are removed.
    bad = SIX_HISTORY_ROWS + "MHST-PUPIL-COVERAGE,thurrock,FY24,,30,60,50,,\n"
    upload = _history(chunking_admin, bad, "bad.csv")
    assert upload.state == "validation_failed"
    assert [(i["row"], i["code"]) for i in upload.issues] == [(8, "period_invalid")]
    assert not ReturnRow.objects.filter(upload=upload).exists()


def test_a_chunked_file_keeps_a_quoted_comment_over_two_lines_whole_and_numbers_rows_as_records(
    chunking_admin,
):
    body = HISTORY_HEADER + (
        "MHST-PUPIL-COVERAGE,southend,2016-17,,30,60,50,,\n"  # row 2
        'MHST-PUPIL-COVERAGE,southend,2017-18,,30,60,50,,"Two schools\n'  # row 3, line 3...
        'joined in March, ""provisional"""\n'  # ...and line 4
        "MHST-PUPIL-COVERAGE,southend,2018-19,,30,60,50,,\n"  # row 4
        "MHST-PUPIL-COVERAGE,southend,2019-20,,30,60,50,,\n"  # row 5
        "MHST-PUPIL-COVERAGE,southend,FY24,,30,60,50,,\n"  # row 6: ambiguous period
    )
    upload = _history(chunking_admin, body, "multi-line.csv")
    assert (upload.state, upload.row_count) == ("validation_failed", 5)
    assert [(i["row"], i["code"]) for i in upload.issues] == [(6, "period_invalid")]

    fixed = body.replace("FY24", "2020-21")
    upload = _history(chunking_admin, fixed, "multi-line-fixed.csv")
    assert (upload.state, upload.row_count) == ("validated", 5), upload.issues
    staged = dict(ReturnRow.objects.filter(upload=upload).values_list("row", "comment"))
    assert sorted(staged) == [2, 3, 4, 5, 6]
    assert staged[3] == 'Two schools\njoined in March, "provisional"'


def test_chunked_files_number_rows_in_messages_take_stray_quotes_and_trailing_blank_rows(
    chunking_admin,
):
    body = HISTORY_HEADER.replace("comment\n", "comment,notes\n") + (
        "MHST-PUPIL-COVERAGE,southend,2016-17,,30,60,50,,,\n"  # row 2
        'MHST-PUPIL-COVERAGE,southend,2017-18,,30,60,50,,a 12" screen,\n'  # row 3: stray quote
        "MHST-PUPIL-COVERAGE,southend,2018-19,,30,60,50,,,\n"  # row 4
        "MHST-PUPIL-COVERAGE,southend,2019-20,,30,60,50,,,\n"  # row 5
        "MHST-PUPIL-COVERAGE,thurrock,2019-20,,30,60,50,,,\n"  # row 6
        "MHST-PUPIL-COVERAGE,thurrock,2019-20,,31,60,51.67,,,\n"  # row 7: repeats row 6
        ",,,,,,,,,\n,,,,,,,,,\n"  # rows 8 and 9: a spreadsheet's blank rows, a chunk of them
    )
    upload = _history(chunking_admin, body, "stray.csv")
    assert upload.state == "validation_failed"
    errors = [i for i in upload.issues if i["severity"] == "error"]
    assert [(i["row"], i["code"]) for i in errors] == [(7, "duplicate_row")]
    assert "repeats row 6" in errors[0]["message"]
    extra = [i for i in upload.issues if i["code"] == "extra_column"]
    assert [(i["row"], i["value"]) for i in extra] == [(1, "notes")]

    fixed = body.replace("thurrock,2019-20,,31,60,51.67", "thurrock,2020-21,,31,60,51.67")
    upload = _history(chunking_admin, fixed, "fixed.csv")
    assert (upload.state, upload.row_count) == ("validated", 8), upload.issues
    staged = dict(ReturnRow.objects.filter(upload=upload).values_list("row", "comment"))
    assert sorted(staged) == [2, 3, 4, 5, 6, 7]
    assert staged[3] == 'a 12" screen'


def test_a_chunked_file_with_a_bad_header_reports_it_once_not_once_per_chunk(chunking_admin):
    # Six rows (three chunks) under a header that misnames its place_code column.
    body = SIX_HISTORY_ROWS.replace("place_code,", "place,", 1)
    upload = _history(chunking_admin, body, "no-place-column.csv")
    assert upload.state == "validation_failed"
    assert [(i["row"], i["column"]) for i in upload.issues] == [(1, "place_code")]
    assert upload.error_count == 1


def _staging_rows(values):
    """Validated rows, as the validator hands them to staging: (place, period label) each."""
    import pandas as pd

    from kpis import periods

    specs = [periods.parse_period(label) for _, label in values]
    return pd.DataFrame(
        {
            "kpi_code": "MHST-PUPIL-COVERAGE",
            "place_code": [place for place, _ in values],
            "breakdown_dimension": "all",
            "breakdown_category": "all",
            "period_label": [spec.label for spec in specs],
            "period_type": [spec.type for spec in specs],
            "period_start": [spec.start for spec in specs],
            "period_end": [spec.end for spec in specs],
        }
    )


def test_staging_asks_the_database_about_each_series_and_period_once(catalogue_data):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kpis.models import Period, Series
    from kpis.uploads import _StagingIds

    ids = _StagingIds()
    first = _staging_rows(
        [("southend", "2019-20"), ("thurrock", "2019-20"), ("southend", "2020-21")]
    )
    series = ids.series_ids(first)
    periods = ids.period_ids(first)
    expected = {
        place: Series.objects.get(
            kpi__code="MHST-PUPIL-COVERAGE", place__code=place, breakdown__dimension="all"
        ).pk
        for place in ("southend", "thurrock")
    }
    assert series.tolist() == [expected["southend"], expected["thurrock"], expected["southend"]]
    year = dict(Period.objects.filter(label__in=["2019-20", "2020-21"]).values_list("label", "pk"))
    assert periods.tolist() == [year["2019-20"], year["2019-20"], year["2020-21"]]

    # A later chunk of the same series and periods is answered from memory.
    later = _staging_rows([("thurrock", "2020-21"), ("southend", "2019-20")])
    with CaptureQueriesContext(connection) as captured:
        assert ids.series_ids(later).tolist() == [expected["thurrock"], expected["southend"]]
        assert ids.period_ids(later).tolist() == [year["2020-21"], year["2019-20"]]
    assert captured.captured_queries == []

    # Only what is new is looked up (and created): here one period, no series.
    newer = _staging_rows([("thurrock", "2021-22"), ("southend", "2021-22")])
    with CaptureQueriesContext(connection) as captured:
        ids.series_ids(newer)
        made = ids.period_ids(newer)
    assert not any('"kpis_series"' in query["sql"] for query in captured.captured_queries)
    assert made.tolist() == [Period.objects.get(label="2021-22").pk] * 2


def test_a_period_another_upload_created_meanwhile_is_used_not_duplicated(catalogue_data):
    from datetime import date

    from kpis.models import Period
    from kpis.uploads import _found_or_created

    # Another upload creates 2031-32 after this one looked and found no such period.
    theirs = Period.objects.create(
        label="2031-32", type="financial_year", start=date(2031, 4, 1), end=date(2032, 3, 31)
    )
    looks = []

    def existing():
        looks.append(len(looks))
        found = Period.objects.filter(label="2031-32").values_list("label", "id")
        return {} if len(looks) == 1 else dict(found)

    ours = Period(label="2031-32", type="financial_year", start=theirs.start, end=theirs.end)
    found = _found_or_created(Period, existing, 1, lambda found: [ours], key_of=lambda p: p.label)
    assert found == {"2031-32": theirs.pk}
    assert Period.objects.filter(label="2031-32").count() == 1
    # Without a clash the ids come back from the insert itself, with no second look.
    new = Period(
        label="2032-33", type="financial_year", start=date(2032, 4, 1), end=date(2033, 3, 31)
    )
    found = _found_or_created(Period, lambda: {}, 1, lambda found: [new], key_of=lambda p: p.label)
    assert found == {"2032-33": Period.objects.get(label="2032-33").pk}


def test_values_staged_in_earlier_chunks_are_told_apart_exactly_in_flat_memory():
    import numpy as np

    from kpis.uploads import _StagedValues

    staged = _StagedValues()
    staged.add(np.array([7, 7, 9]), np.array([10, 11, 10]))
    staged.add(np.array([12] * 9), np.arange(100, 109))  # more periods than a byte holds
    staged.add(np.array([9, 12, 7]), np.array([11, 10, 100]))  # new pairs of known ids
    assert not staged.repeated
    # A bit a pair of the 3 series and 13 periods seen, whatever the number of rows.
    assert staged.bits.shape == (3, 2)
    staged.add(np.array([40, 12]), np.array([10, 104]))  # 12 in 104 was staged before
    assert staged.repeated


def test_the_staged_values_grow_only_on_the_side_that_needs_it():
    import numpy as np

    from kpis.uploads import _StagedValues

    staged = _StagedValues()
    for chunk in range(40):  # one series, 100 new periods a chunk
        staged.add(np.full(100, 5), np.arange(chunk * 100, (chunk + 1) * 100))
    assert not staged.repeated
    assert staged.bits.shape[0] == 1 and staged.bits.shape[1] >= 4000 // 8
