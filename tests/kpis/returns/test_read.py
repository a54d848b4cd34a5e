"""Reading returns: file type by content, encoding, limits, header, unsafe files, personal data."""

import io
import zipfile

import pytest

from kpis.returns.read import read_return
from kpis.returns.spec import COLUMNS, ReturnRejected
from tests.kpis.returns import (
    add_formula,
    check,
    coded,
    csv_bytes,
    data_row,
    make_ctx,
    only,
    patch_zip,
    read,
    xlsx_bytes,
)


def rejected(content: bytes, ctx=None, filename="return.csv"):
    with pytest.raises(ReturnRejected) as caught:
        read_return(filename, content, ctx or make_ctx())
    return caught.value.issues


# -- file type, judged by content ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old-format Excel workbook (.xls)"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "a PNG image"),
        (b"\x00\x01\x02binary\x00stuff", "a binary file"),
        (b"<!DOCTYPE html><html><body>Error</body></html>", "an HTML or XML document"),
    ],
)
def test_wrong_file_types_are_named(content, found):
    issue = only(rejected(content, filename="return.xlsx"), "unsupported_file_type")
    assert found in issue.message
    assert "expected a CSV (UTF-8) or an Excel .xlsx workbook" in issue.message


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    issue = only(rejected(buffer.getvalue(), filename="return.xlsx"), "unsupported_file_type")
    assert "a Word document" in issue.message


def test_a_csv_named_xlsx_is_read_as_csv():
    raw = read(csv_bytes([data_row()]), filename="return.xlsx")
    assert raw.file_type == "csv"
    assert raw.frame.loc[0, "kpi_code"] == "EIP-2WK"


def test_an_xlsx_named_csv_is_read_as_xlsx():
    raw = read(xlsx_bytes([data_row(numerator=45, denominator=60, value=75)]), filename="x.csv")
    assert raw.file_type == "xlsx"
    assert raw.frame.loc[0, "value"] == "75"


def test_a_truncated_workbook_is_damaged():
    content = xlsx_bytes([data_row()])
    issue = only(rejected(content[: len(content) // 2], filename="r.xlsx"), "xlsx_damaged")
    assert "damaged or incomplete" in issue.message


# -- encoding -----------------------------------------------------------------------------------


def test_windows_1252_is_refused_with_the_line():
    content = csv_bytes([data_row(comment="café")], encoding="cp1252")
    issue = only(rejected(content), "encoding")
    assert issue.row == 2
    assert issue.value == "0xE9"
    assert "not UTF-8" in issue.message and "CSV UTF-8" in issue.message


def test_windows_1252_after_a_utf8_byte_order_mark_names_the_byte_itself():
    content = b"\xef\xbb\xbf" + csv_bytes([data_row(comment="café")], encoding="cp1252")
    issue = only(rejected(content), "encoding")
    assert (issue.row, issue.value) == (2, "0xE9")


def test_utf16_is_refused():
    content = "\ufeff" + csv_bytes([data_row()]).decode()
    issue = only(rejected(content.encode("utf-16-le")), "encoding")
    assert "UTF-16" in issue.message


def test_utf8_with_bom_is_read():
    raw = read(b"\xef\xbb\xbf" + csv_bytes([data_row(comment="café")]))
    assert list(raw.frame.columns) == [*COLUMNS, "row"]
    assert raw.frame.loc[0, "comment"] == "café"


# -- size and emptiness -------------------------------------------------------------------------


def test_empty_file():
    assert coded(rejected(b"  \n"), "empty_file") == [(None, None)]


def test_header_without_data_rows():
    issue = only(rejected(csv_bytes([])), "no_data")
    assert "no data rows" in issue.message


def test_blank_rows_do_not_count_as_data():
    assert coded(rejected(csv_bytes([])[:-1] + b"\n,,,,,,,,\n\n"), "no_data") == [(None, None)]


def test_over_max_bytes():
    content = csv_bytes([data_row()])
    issue = only(rejected(content, make_ctx(max_bytes=len(content) - 1)), "file_too_large")
    assert f"{len(content):,} bytes" in issue.message


def test_over_max_rows_csv_and_xlsx():
    ctx = make_ctx(max_rows=2)
    rows = [data_row(period=p) for p in ("2023-24 Q1", "2023-24 Q2", "2023-24 Q3")]
    assert "more than 2 data rows" in only(rejected(csv_bytes(rows), ctx), "too_many_rows").message
    content = xlsx_bytes(rows)
    assert coded(rejected(content, ctx, "r.xlsx"), "too_many_rows") == [(None, None)]
    assert len(read(csv_bytes(rows[:2]), ctx).frame) == 2


# -- header ----------------------------------------------------------------------------------


def test_header_is_case_and_space_insensitive_and_optional_columns_may_be_absent():
    header = [" KPI_Code ", "PLACE_CODE", "Period", "Numerator", "Denominator", "Value"]
    raw = read(csv_bytes([["EIP-2WK", "southend", "2023-24 Q2", "45", "60", "75"]], header=header))
    assert raw.frame.loc[0, "breakdown"] == "" and raw.frame.loc[0, "comment"] == ""
    assert raw.frame.loc[0, "kpi_code"] == "EIP-2WK"


def test_missing_columns_each_reported_with_a_hint():
    header = ["KPI Code", "place_code", "period", "numerator", "value"]
    issues = rejected(csv_bytes([["EIP-2WK", "southend", "2023-24 Q2", "45", "75"]], header=header))
    assert coded(issues, "missing_column") == [(1, "kpi_code"), (1, "denominator")]
    assert "found 'KPI Code': rename it to 'kpi_code'" in issues[0].message


def test_semicolon_separated_header_is_explained():
    content = b"kpi_code;place_code;period;numerator;denominator;value\nEIP-2WK;southend;x;1;2;3\n"
    issues = rejected(content)
    assert "separated by ';'" in issues[0].message


def test_duplicate_column():
    header = [*COLUMNS, "value"]
    issues = rejected(csv_bytes([[*data_row().values(), "75"]], header=header))
    issue = only(issues, "duplicate_column")
    assert (issue.row, issue.column) == (1, "value")
    assert "columns G and J" in issue.message


def test_extra_columns_are_warned_and_ignored():
    raw = read(csv_bytes([[*data_row().values(), "x"]], header=[*COLUMNS, "notes"]))
    issue = only(raw.file_warnings, "extra_column")
    assert (issue.row, issue.column, issue.severity) == (1, "notes", "warning")


def test_row_with_too_many_fields_names_every_row():
    content = csv_bytes([data_row()]) + b"EIP-2WK,southend,2023-24 Q2,,1,2,50,,,extra\n"
    content += b"EIP-2WK,southend,2023-24 Q2,,1,2,50,,\nA,B,C,D,E,F,G,H,I,J,K\n"
    issues = rejected(content)
    assert coded(issues, "csv_malformed") == [(3, None), (5, None)]
    assert "has 10 fields; the header has 9" in issues[0].message


def test_rows_are_numbered_as_in_the_spreadsheet():
    content = csv_bytes([data_row(), data_row(period="2023-24 Q1")], version="2024.1")
    lines = content.split(b"\n")
    lines.insert(3, b",,,,,,,,")  # a blank row between the two data rows
    raw = read(b"\n".join(lines))
    assert raw.template_version == "2024.1"
    assert raw.header_row == 2
    assert raw.frame["row"].tolist() == [3, 5]


def test_csv_version_line_saved_by_excel_with_trailing_commas():
    content = b"#template_version=2024.1,,,,,,,,\n" + csv_bytes([data_row()])
    assert read(content).template_version == "2024.1"


def test_csv_without_version_line_has_no_version():
    assert read(csv_bytes([data_row()])).template_version is None


# -- XLSX specifics -----------------------------------------------------------------------------


def test_xlsx_reads_the_data_sheet_and_the_about_version():
    content = xlsx_bytes(
        [data_row(numerator=45, denominator=60, value=75.0)],
        sheet="Data",
        version="2024.1",
        extra_sheets=("Notes",),
    )
    raw = read(content, filename="r.xlsx")
    assert raw.template_version == "2024.1"
    assert raw.frame.loc[0, ["numerator", "denominator", "value"]].tolist() == ["45", "60", "75"]
    assert raw.frame.loc[0, "row"] == 2


def test_xlsx_version_from_custom_property_when_no_about_sheet():
    from openpyxl import Workbook
    from openpyxl.packaging.custom import StringProperty

    workbook = Workbook()
    workbook.active.append(list(COLUMNS))
    workbook.active.append(list(data_row().values()))
    workbook.custom_doc_props.append(StringProperty(name="template_version", value="2023.2"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read(buffer.getvalue(), filename="r.xlsx").template_version == "2023.2"


def test_xlsx_period_stored_as_a_date_is_read_as_the_month_with_a_warning():
    from datetime import datetime

    content = xlsx_bytes([data_row(kpi_code="CRISIS-24H", period=datetime(2023, 7, 1))])
    raw = read(content, filename="r.xlsx")
    assert raw.frame.loc[0, "period"] == "Jul 2023"
    issue = only(raw.file_warnings, "period_as_date")
    assert (issue.row, issue.column, issue.value) == (2, "period", "2023-07-01")


def test_macros_by_vba_part_and_content_type():
    content = patch_zip(
        xlsx_bytes([data_row()]),
        replace={
            "[Content_Types].xml": lambda xml: xml.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            )
        },
        add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 VBA"},
    )
    issues = rejected(content, filename="r.xlsx")
    assert [i.code for i in issues] == ["macros", "macros"]
    assert [i.value for i in issues] == [
        "xl/vbaProject.bin",
        "[Content_Types].xml: macroEnabled workbook",
    ]
    assert "contains macros" in issues[0].message


def test_macro_enabled_content_type_alone_is_refused():
    content = patch_zip(
        xlsx_bytes([data_row()]),
        replace={
            "[Content_Types].xml": lambda xml: xml.replace(
                b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
            )
        },
    )
    assert coded(rejected(content, filename="r.xlsm"), "macros") == [(None, None)]


def test_excel4_macro_sheet_is_refused():
    content = patch_zip(xlsx_bytes([data_row()]), add={"xl/macrosheets/sheet1.xml": b"<x/>"})
    assert only(rejected(content), "macros").value == "xl/macrosheets/sheet1.xml"


def test_external_link_part_is_refused():
    content = patch_zip(
        xlsx_bytes([data_row()]), add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}
    )
    issue = only(rejected(content, filename="r.xlsx"), "external_links")
    assert issue.value == "xl/externalLinks/externalLink1.xml"
    assert "Break Link" in issue.message


def test_external_relationship_is_refused_but_a_hyperlink_is_not():
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" TargetMode="External" Target="https://example.org/x" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"/>'
        b"%s</Relationships>"
    )
    external = (
        b'<Relationship Id="rId2" TargetMode="External" Target="file:///C:/secret.xlsx" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject"/>'
    )
    base = xlsx_bytes([data_row()])
    name = "xl/worksheets/_rels/sheet1.xml.rels"
    assert read(patch_zip(base, add={name: rels % b""}), filename="r.xlsx").frame.shape[0] == 1
    issue = only(rejected(patch_zip(base, add={name: rels % external})), "external_links")
    assert issue.value == f"{name} -> file:///C:/secret.xlsx"


def test_embedded_object_is_refused():
    content = patch_zip(xlsx_bytes([data_row()]), add={"xl/embeddings/oleObject1.bin": b"x"})
    assert coded(rejected(content), "embedded_object") == [(None, None)]


def test_formula_with_cached_value_is_a_warning_and_without_is_an_error():
    rows = [
        data_row(numerator=45, denominator=60, value=75),
        data_row(numerator=30, denominator=60, value=50, period="Jul 2023", kpi_code="CRISIS-24H"),
    ]
    content = patch_zip(
        xlsx_bytes(rows),
        replace={
            "xl/worksheets/sheet1.xml": lambda xml: add_formula("G3", "E3/F3*100", cached=None)(
                add_formula("G2", "E2/F2*100", cached="75")(xml)
            )
        },
    )
    raw = read(content, filename="r.xlsx")
    warning = only(raw.file_warnings, "formula")
    assert (warning.row, warning.column, warning.value) == (2, "value", "75")
    assert "=E2/F2*100" in warning.message
    error = only(raw.file_errors, "formula_no_value")
    assert (error.row, error.column, error.value) == (3, "value", "=E3/F3*100")
    result = check(content, filename="r.xlsx")
    assert coded(result.errors, "formula_no_value") == [(3, "value")]
    assert coded(result.warnings, "formula") == [(2, "value")]
    assert result.rows["row"].tolist() == [2]  # the row with the error is not clean
    assert result.rows["value"].tolist() == [75.0]


def test_percent_formatted_cells_are_recorded():
    content = xlsx_bytes(
        [data_row(numerator=27, denominator=60, value=0.45)],
        formats={(2, "value"): "0%", (2, "numerator"): '0"%"'},
    )
    raw = read(content, filename="r.xlsx")
    # '0"%"' shows a literal % without scaling by 100: not a percentage cell.
    assert raw.percent_cells == frozenset({(2, "value")})


# -- person-level data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["NHS Number", "nhs_no", "date_of_birth", "DOB", "Post Code", "patient name"]
)
def test_person_level_headers_are_refused(header):
    issues = rejected(csv_bytes([[*data_row().values(), "x"]], header=[*COLUMNS, header]))
    issue = only(issues, "person_level_column")
    assert (issue.row, issue.column) == (1, header)
    assert "aggregate figures only" in issue.message


def test_nhs_number_values_are_refused_and_not_echoed_in_full():
    # 9434765919: 9x10+4x9+3x8+4x7+7x6+6x5+5x4+9x3+1x2 = 299; 299 mod 11 = 2; 11 - 2 = 9. Valid.
    rows = [data_row(comment="9434765919"), data_row(period="Jul 2023", marker="943 476 5919")]
    issues = rejected(csv_bytes(rows))
    assert coded(issues, "person_level_value") == [(2, "comment"), (3, "marker")]
    assert issues[0].value == "943\u2026"
    assert "9434765919" not in issues[0].message
    assert "NHS number" in issues[0].message


def test_ten_digits_failing_modulus_11_are_not_nhs_numbers():
    # 943476591x: the check digit must be 9, so 9434765910 is no NHS number.
    raw = read(csv_bytes([data_row(comment="9434765910")]))
    assert raw.frame.loc[0, "comment"] == "9434765910"


def test_identifiers_in_other_scripts_digits_or_full_width_are_refused_too():
    # 9434765919 (a valid NHS number, above) in Arabic-Indic digits; SS1 2AB in full width.
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in "9434765919")
    full_width = "\uff33\uff33\uff11 \uff12\uff21\uff22"
    issues = rejected(csv_bytes([data_row(comment=arabic_indic), data_row(marker=full_width)]))
    assert coded(issues, "person_level_value") == [(2, "comment"), (3, "marker")]
    assert "NHS number" in issues[0].message and "UK postcode" in issues[1].message
    assert issues[0].value == arabic_indic[:3] + "\u2026"  # shown as written, not in full


def test_postcode_values_are_refused():
    issues = rejected(csv_bytes([data_row(comment="SS1 2AB"), data_row(breakdown="ss12ab")]))
    assert coded(issues, "person_level_value") == [(2, "comment"), (3, "breakdown")]
    assert "UK postcode" in issues[0].message


def test_person_level_values_in_xlsx_numbers():
    issues = rejected(xlsx_bytes([data_row(numerator=9434765919)]), filename="r.xlsx")
    assert coded(issues, "person_level_value") == [(2, "numerator")]


def test_all_reasons_are_reported_together():
    header = [*COLUMNS[:4], "numerator", "value", "NHS number"]
    issues = rejected(
        csv_bytes([["EIP-2WK", "southend", "2023-24 Q2", "", "1", "2", "x"]], header=header)
    )
    assert {i.code for i in issues} == {"person_level_column", "missing_column"}


def test_a_workbook_that_unzips_too_large_is_refused():
    content = patch_zip(xlsx_bytes([data_row()]), add={"xl/media/padding.bin": bytes(2_000_000)})
    ctx = make_ctx(max_bytes=len(content) + 1)  # unzipped limit: 30 x that, under 2,000,000
    issue = only(rejected(content, ctx, "r.xlsx"), "file_too_large")
    assert "unpacks to" in issue.message


def test_the_data_sheet_is_found_by_name_and_an_empty_sheet_has_no_data():
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Cover"
    workbook.active.append(["SET return"])
    data = workbook.create_sheet("data")
    data.append(list(COLUMNS))
    data.append(list(data_row().values()))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read(buffer.getvalue(), filename="r.xlsx").frame.loc[0, "row"] == 2
    empty = Workbook()
    empty.active.title = "Data"
    buffer = io.BytesIO()
    empty.save(buffer)
    assert coded(rejected(buffer.getvalue(), filename="r.xlsx"), "no_data") == [(None, None)]


def test_long_cells_are_shortened_in_messages():
    result = check(csv_bytes([data_row(kpi_code="X" * 5000)]))
    issue = only(result.errors, "unknown_kpi")
    assert len(issue.message) < 300 and len(issue.value) <= 500
