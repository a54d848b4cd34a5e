"""Any upload under the size limit is read in bounded time and memory, or refused with a reason.

The workbooks are the shapes of bench/returns_hostile.py made small (a context with a small row
or size limit stands in for the real one): each is refused by the scan that runs before any
cell is read, so what reading it would cost is never spent. A read that runs past its deadline
is refused with the reason, whole files and the upload service alike.
"""

import io
import zipfile

import pytest
from openpyxl import Workbook

from kpis.models import ReturnRow
from kpis.returns.read import MAX_BLANK_ROWS, MAX_SHEET_COLUMNS, TEXT_FACTOR, read_return
from kpis.returns.spec import COLUMNS, ReturnRejected
from kpis.returns.validate import validate_return
from tests.kpis.returns import (
    add_formula,
    coded,
    csv_bytes,
    data_row,
    make_ctx,
    only,
    patch_zip,
    xlsx_bytes,
)
from tests.kpis.upload_helpers import GOOD, uploaded

SHEET = "xl/worksheets/sheet1.xml"
TYPED_ROW = data_row(numerator=45, denominator=60, value=75)


def workbook(*, rows_xml: str = "", change=None, add=None, shared: list[str] | None = None):
    """A one-row return written by openpyxl, with rows appended to its sheet's XML, the sheet
    XML changed, parts added, or a shared-strings table."""
    content = xlsx_bytes([TYPED_ROW])
    add = dict(add or {})
    if shared is not None:
        items = "".join(f"<si><t>{text}</t></si>" for text in shared)
        add["xl/sharedStrings.xml"] = (
            f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{items}</sst>'
        ).encode()

    def sheet(xml: bytes) -> bytes:
        xml = xml.replace(b"</sheetData>", rows_xml.encode() + b"</sheetData>")
        return change(xml) if change else xml

    return patch_zip(content, replace={SHEET: sheet}, add=add)


def refusal(content: bytes, ctx=None) -> list[tuple[str, str]]:
    with pytest.raises(ReturnRejected) as refused:
        read_return("hostile.xlsx", content, ctx or make_ctx())
    return [(issue.code, issue.value) for issue in refused.value.issues]


# -- a read past its deadline ------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, content",
    [("r.csv", csv_bytes([data_row()])), ("r.xlsx", xlsx_bytes([TYPED_ROW]))],
)
def test_a_read_past_its_deadline_is_refused_with_the_reason(filename, content):
    with pytest.raises(ReturnRejected) as refused:
        read_return(filename, content, make_ctx(read_seconds=0))
    issue = only(refused.value.issues, "file_too_slow")
    assert issue.message.startswith("The file took too long to read")
    assert "0 seconds" in issue.message
    # With the time it needs, the same file is read.
    assert len(read_return(filename, content, make_ctx()).frame) == 1


def test_an_upload_read_past_the_deadline_fails_with_the_reason_and_keeps_nothing(lead, settings):
    settings.RETURN_READ_SECONDS = 0
    upload = uploaded(lead, GOOD)
    assert upload.state == "validation_failed"
    assert [issue["code"] for issue in upload.issues] == ["file_too_slow"]
    assert not ReturnRow.objects.filter(upload=upload).exists()


# -- workbooks shaped to cost unbounded work ---------------------------------------------------


def test_a_cell_in_the_far_corner_is_refused_before_any_cell_is_read():
    # A tiny file whose cells would span 1,048,576 rows by 40 columns (a gigabyte and more
    # once read into a grid).
    corner = '<row r="1048576"><c r="AN1048576"><v>1</v></c></row>'
    assert refusal(workbook(rows_xml=corner)) == [("too_many_rows", "")]


def test_rows_without_numbers_count_towards_the_row_limit():
    ctx = make_ctx(max_rows=5)
    blank = '<row><c t="inlineStr"><is><t> </t></is></c></row>'
    within = workbook(rows_xml=blank * 50)
    assert read_return("trailing.xlsx", within, ctx).data_rows == 1
    beyond = workbook(rows_xml=blank * (MAX_BLANK_ROWS + 10))
    assert refusal(beyond, ctx) == [("too_many_rows", "")]


def test_a_row_of_cells_without_references_is_refused_at_the_first_past_the_margin():
    # No reference names a far column, but the 41st cell of the row is in column AO.
    wide = "<row>" + "<c><v>1</v></c>" * 16_384 + "</row>"
    assert refusal(workbook(rows_xml=wide)) == [("cells_beyond_template", "AO3")]


def test_cells_of_another_namespace_prefix_are_placed_as_any_other():
    far = '<x:row xmlns:x="urn:any" r="3"><x:c r="XFD3"><x:v>1</x:v></x:c></x:row>'
    assert refusal(workbook(rows_xml=far)) == [("cells_beyond_template", "XFD3")]


def test_a_long_shared_string_in_every_row_is_refused_for_its_text():
    # A reader copies a shared string into every cell that uses it: 200 cells of 10,000
    # characters are two million characters from a file of a few kilobytes.
    ctx = make_ctx(max_bytes=500_000, max_rows=1_000)
    rows = "".join(f'<row r="{n}"><c r="I{n}" t="s"><v>0</v></c></row>' for n in range(3, 203))
    content = workbook(rows_xml=rows, shared=["x" * 10_000])
    issue = only(refusal_issues(content, ctx), "file_too_large")
    assert f"more than {TEXT_FACTOR * 500_000:,} characters" in issue.message
    # Used in a few cells only, the same string is read.
    few = workbook(rows_xml=rows[: rows.index('<row r="13"')], shared=["x" * 10_000])
    raw = read_return("few.xlsx", few, ctx)
    assert raw.frame["comment"].str.len().max() == 10_000


def test_a_shared_strings_table_of_too_much_text_is_refused():
    ctx = make_ctx(max_bytes=100_000)
    content = workbook(shared=["y" * 1_000] * (TEXT_FACTOR * 100 + 1))
    assert coded(refusal_issues(content, ctx), "file_too_large") == [(None, None)]


def test_merged_ranges_past_the_row_limit_are_refused():
    ctx = make_ctx(max_rows=5)
    merges = "<mergeCells>" + '<mergeCell ref="A1:B2"/>' * (MAX_BLANK_ROWS + 10) + "</mergeCells>"
    content = workbook(
        change=lambda xml: xml.replace(b"</sheetData>", b"</sheetData>" + merges.encode())
    )
    issue = only(refusal_issues(content, ctx), "file_too_large")
    assert "merged cell ranges" in issue.message


def test_hidden_sheets_holding_more_cells_than_a_return_could_are_refused():
    ctx = make_ctx(max_rows=100)
    book = Workbook()
    data = book.active
    data.title = "Data"
    data.append(list(COLUMNS))
    data.append([TYPED_ROW[c] for c in COLUMNS])
    for index in range(3):
        book.create_sheet(f"Notes {index}").sheet_state = "hidden"
    buffer = io.BytesIO()
    book.save(buffer)
    # Each sheet within the row limit, 40 blank-looking cells a row; together past the cells
    # a workbook may hold.
    rows = ("<row>" + '<c t="inlineStr"><is><t> </t></is></c>' * MAX_SHEET_COLUMNS + "</row>") * (
        (100 + MAX_BLANK_ROWS) // 4
    )

    def filled(xml: bytes) -> bytes:
        return xml.replace(b"<sheetData></sheetData>", f"<sheetData>{rows}</sheetData>".encode())

    content = patch_zip(
        buffer.getvalue(),
        replace={f"xl/worksheets/sheet{n}.xml": filled for n in (2, 3, 4)},
    )
    issue = only(refusal_issues(content, ctx), "file_too_large")
    assert "cells on its sheets" in issue.message


def test_a_part_stored_twice_is_refused():
    content = xlsx_bytes([TYPED_ROW])
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a") as archive, pytest.warns(UserWarning):
        archive.writestr(SHEET, b"<worksheet/>")  # readers differ on which one they take
    assert ("xlsx_damaged", SHEET) in refusal(buffer.getvalue())


def test_a_sheet_stored_outside_the_worksheets_is_refused():
    def elsewhere(rels: bytes) -> bytes:
        return rels.replace(b"worksheets/sheet1.xml", b"media/sheet1.xml")

    content = patch_zip(
        xlsx_bytes([TYPED_ROW]),
        replace={"xl/_rels/workbook.xml.rels": elsewhere},
        add={"xl/media/sheet1.xml": b"<worksheet/>"},
    )
    assert coded(refusal_issues(content), "xlsx_damaged") == [(None, None)]


def test_a_sheet_declaring_a_document_type_is_refused_as_damaged():
    def doctype(xml: bytes) -> bytes:
        return b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>' + xml

    assert coded(refusal_issues(workbook(change=doctype)), "xlsx_damaged") == [(None, None)]


# -- what the cell reader does not give, read from the sheet's XML -----------------------------


def test_an_error_value_is_read_as_shown_not_as_blank():
    def error(xml: bytes) -> bytes:
        return xml.replace(b'<c r="G2" t="n"><v>75</v></c>', b'<c r="G2" t="e"><v>#DIV/0!</v></c>')

    content = workbook(change=error)
    raw = read_return("r.xlsx", content, make_ctx())
    assert raw.frame.loc[0, "value"] == "#DIV/0!"
    result = validate_return(raw, make_ctx())
    assert (2, "value") in coded(result.errors, "not_a_number")


def test_a_shared_formula_is_named_in_each_cell_as_written_there():
    rows = [TYPED_ROW, data_row(numerator=30, denominator=60, value=50, period="Jul 2023")]
    rows[1]["kpi_code"] = "CRISIS-24H"

    def shared(xml: bytes) -> bytes:
        xml = add_formula("G2", "E2/F2*100", cached="75")(xml)
        xml = add_formula("G3", "", cached="50")(xml)
        first = b'<f t="shared" ref="G2:G3" si="0">E2/F2*100</f>'
        xml = xml.replace(b"<f>E2/F2*100</f>", first)
        return xml.replace(b"<f></f>", b'<f t="shared" si="0"/>')

    content = patch_zip(xlsx_bytes(rows), replace={SHEET: shared})
    raw = read_return("r.xlsx", content, make_ctx())
    warned = {issue.row: issue.message for issue in raw.file_warnings if issue.code == "formula"}
    assert "=E2/F2*100" in warned[2]
    assert "=E3/F3*100" in warned[3]


def test_rows_and_columns_are_numbered_as_in_the_sheet_when_the_data_start_lower_down():
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    for position, column in enumerate(COLUMNS, start=2):
        sheet.cell(row=3, column=position, value=column)
        sheet.cell(row=4, column=position, value=TYPED_ROW[column])
    buffer = io.BytesIO()
    book.save(buffer)
    raw = read_return("r.xlsx", buffer.getvalue(), make_ctx())
    assert raw.header_row == 3
    assert raw.frame.loc[0, "row"] == 4
    assert raw.frame.loc[0, "kpi_code"] == "EIP-2WK"
    assert raw.frame.loc[0, "value"] == "75"


def test_shared_strings_are_read_and_identifiers_in_them_found():
    def shared_cells(xml: bytes) -> bytes:
        xml = xml.replace(b'<c r="I2" t="inlineStr" />', b'<c r="I2" t="s"><v>1</v></c>')
        inline = b'<c r="A2" t="inlineStr"><is><t>EIP-2WK</t></is></c>'
        return xml.replace(inline, b'<c r="A2" t="s"><v>0</v></c>')

    content = workbook(change=shared_cells, shared=["EIP-2WK", "a note"])
    raw = read_return("r.xlsx", content, make_ctx())
    assert raw.frame.loc[0, ["kpi_code", "comment"]].tolist() == ["EIP-2WK", "a note"]
    leaked = workbook(change=shared_cells, shared=["EIP-2WK", "seen at SS1 2AB"])
    assert coded(refusal_issues(leaked), "person_level_value") == [(2, "comment")]


# -- CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_blank_csv_lines_count_towards_the_row_limit(quoted):
    ctx = make_ctx(max_rows=5)
    row = csv_bytes([data_row(comment='say "hello"' if quoted else "")])
    assert len(read_return("r.csv", row + b"\n" * 50, ctx).frame) == 1
    issues = refusal_issues(row + b"\n" * (MAX_BLANK_ROWS + 10), ctx, filename="r.csv")
    assert coded(issues, "too_many_rows") == [(None, None)]


def refusal_issues(content: bytes, ctx=None, filename="hostile.xlsx"):
    with pytest.raises(ReturnRejected) as refused:
        read_return(filename, content, ctx or make_ctx())
    return refused.value.issues


def test_a_mac_csv_with_a_version_line_is_read():
    # Excel for Mac's "CSV (Macintosh)" ends lines with a lone CR.
    content = (
        b"#template_version=2025.1\r"
        b"kpi_code,place_code,period,breakdown,numerator,denominator,value,marker,comment\r"
        b"MHST-PUPIL-COVERAGE,southend,2024-25,,30,60,50,,\r"
    )
    raw = read_return("mac.csv", content, make_ctx())
    assert raw.template_version == "2025.1"
    assert raw.header_row == 2
    assert raw.frame[["kpi_code", "numerator", "row"]].to_dict("records") == [
        {"kpi_code": "MHST-PUPIL-COVERAGE", "numerator": "30", "row": 3}
    ]
