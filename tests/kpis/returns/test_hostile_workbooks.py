"""Workbooks shaped to cost a reader unbounded work are read within bounds or refused."""

import io

from openpyxl import Workbook

from kpis.returns.read import MAX_BLANK_ROWS, MAX_SHEET_COLUMNS, read_return
from kpis.returns.spec import COLUMNS, ReturnRejected
from tests.kpis.returns import data_row, make_ctx

GOOD_ROW = [data_row()[column] for column in COLUMNS]


def workbook_bytes(fill) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    sheet.append(list(COLUMNS))
    fill(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rejection_codes(name: str, content: bytes, ctx=None) -> list[tuple[str, str]]:
    try:
        read_return(name, content, ctx or make_ctx())
    except ReturnRejected as rejected:
        return [(issue.code, issue.value) for issue in rejected.issues]
    return []


def test_a_cell_far_to_the_right_is_refused_before_the_sheet_is_read():
    def fill(sheet):
        for row in range(2, 32):
            for position, value in enumerate(GOOD_ROW, start=1):
                sheet.cell(row=row, column=position, value=value)
        # One cell in the last column Excel has (XFD), which used to pad every row read.
        sheet.cell(row=31, column=16_384, value="NHS number 943 476 5919")

    assert rejection_codes("wide.xlsx", workbook_bytes(fill)) == [
        ("cells_beyond_template", "XFD31")
    ]


def test_cells_up_to_the_margin_are_read_and_one_past_it_is_refused():
    def within(sheet):
        sheet.append(GOOD_ROW)
        sheet.cell(row=2, column=MAX_SHEET_COLUMNS, value="a lead's own note")

    raw = read_return("notes.xlsx", workbook_bytes(within), make_ctx())
    assert raw.data_rows == 1

    def beyond(sheet):
        sheet.append(GOOD_ROW)
        sheet.cell(row=2, column=MAX_SHEET_COLUMNS + 1, value="one column too far")

    assert rejection_codes("notes.xlsx", workbook_bytes(beyond)) == [
        ("cells_beyond_template", "AO2")
    ]


def test_blank_and_whitespace_rows_count_towards_the_row_limit():
    ctx = make_ctx(max_rows=5)

    def fill(sheet):
        sheet.append(GOOD_ROW)
        for _ in range(MAX_BLANK_ROWS + 5):
            sheet.append([" "])

    assert [code for code, _ in rejection_codes("blank.xlsx", workbook_bytes(fill), ctx)] == [
        "too_many_rows"
    ]


def test_a_few_trailing_blank_rows_are_no_error():
    def fill(sheet):
        sheet.append(GOOD_ROW)
        for _ in range(50):
            sheet.append([" "])

    raw = read_return("trailing.xlsx", workbook_bytes(fill), make_ctx(max_rows=5))
    assert raw.data_rows == 1
