"""Validating uploaded returns in the background: whole files and large files in chunks."""

from kpis.models import Observation, ReturnRow, ReturnUpload
from kpis.services.calendar import expectations_generate
from kpis.services.returns import upload_create
from kpis.services.validation import upload_validate
from strategy.access import Role
from tests.kpis.upload_helpers import (
    GOOD,
    HISTORY_HEADER,
    SIX_HISTORY_ROWS,
    approve,
    csv,
    history_uploaded,
    uploaded,
)


def test_a_good_return_is_validated_and_staged_but_not_yet_stored(lead):
    upload = uploaded(lead, GOOD)
    assert upload.state == "validated", upload.issues
    assert ReturnRow.objects.filter(upload=upload).count() == 1
    assert not Observation.objects.filter(source_upload=upload).exists()
    assert list(upload.places.values_list("code", flat=True)) == ["southend"]


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
    from kpis.services.progress import progress_recompute

    approve(uploaded(lead, GOOD), lead, sig)  # 50%
    progress_recompute(series_ids=list(Series.objects.values_list("id", flat=True)))
    jump = csv("MHST-PUPIL-COVERAGE,southend,2024-25,,57,60,95,,")
    upload = uploaded(lead, jump, name="jump.csv")
    warnings = [i for i in upload.issues if i["severity"] == "warning"]
    assert any(i["row"] == 3 and "comment" in i["message"].lower() for i in warnings), warnings


def test_a_large_file_is_validated_in_chunks_with_the_files_own_row_numbers(chunking_admin):
    upload = history_uploaded(chunking_admin, SIX_HISTORY_ROWS, "six-rows.csv")
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
    upload = history_uploaded(chunking_admin, body, "bad.csv")
    assert upload.state == "validation_failed"
    found = {(i["row"], i["code"]) for i in upload.issues if i["severity"] == "error"}
    assert (6, "period_invalid") in found
    assert not ReturnRow.objects.filter(upload=upload).exists()
    clean_but_repeated = HISTORY_HEADER + (
        "MHST-PUPIL-COVERAGE,southend,2019-20,,30,60,50,,\n"
        "MHST-PUPIL-COVERAGE,southend,2020-21,,30,60,50,,\n"
        "MHST-PUPIL-COVERAGE,southend,2019-20,,31,60,51.67,,\n"
    )
    upload = history_uploaded(chunking_admin, clean_but_repeated, "repeated.csv")
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
    upload = history_uploaded(chunking_admin, body, "seven-bad-rows.csv")
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
    upload = history_uploaded(chunking_admin, body, "multi-line.csv")
    assert (upload.state, upload.row_count) == ("validation_failed", 5)
    assert [(i["row"], i["code"]) for i in upload.issues] == [(6, "period_invalid")]

    fixed = body.replace("FY24", "2020-21")
    upload = history_uploaded(chunking_admin, fixed, "multi-line-fixed.csv")
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
    upload = history_uploaded(chunking_admin, body, "stray.csv")
    assert upload.state == "validation_failed"
    errors = [i for i in upload.issues if i["severity"] == "error"]
    assert [(i["row"], i["code"]) for i in errors] == [(7, "duplicate_row")]
    assert "repeats row 6" in errors[0]["message"]
    extra = [i for i in upload.issues if i["code"] == "extra_column"]
    assert [(i["row"], i["value"]) for i in extra] == [(1, "notes")]

    fixed = body.replace("thurrock,2019-20,,31,60,51.67", "thurrock,2020-21,,31,60,51.67")
    upload = history_uploaded(chunking_admin, fixed, "fixed.csv")
    assert (upload.state, upload.row_count) == ("validated", 8), upload.issues
    staged = dict(ReturnRow.objects.filter(upload=upload).values_list("row", "comment"))
    assert sorted(staged) == [2, 3, 4, 5, 6, 7]
    assert staged[3] == 'a 12" screen'


def test_a_chunked_file_with_a_bad_header_reports_it_once_not_once_per_chunk(chunking_admin):
    # Six rows (three chunks) under a header that misnames its place_code column.
    body = SIX_HISTORY_ROWS.replace("place_code,", "place,", 1)
    upload = history_uploaded(chunking_admin, body, "no-place-column.csv")
    assert upload.state == "validation_failed"
    assert [(i["row"], i["column"]) for i in upload.issues] == [(1, "place_code")]
    assert upload.error_count == 1
