"""Downloads keep numbers as numbers and never let a spreadsheet run a cell as a formula."""

import csv
import io

from openpyxl import load_workbook

from reporting.exports import csv_bytes, xlsx_bytes

ROWS = [
    {"place": '=HYPERLINK("http://x")', "value": 46.5, "note": "-1 revised"},
    {"place": "@SUM(A1)", "value": None, "note": "+ten"},
    {"place": "Southend", "value": -3, "note": "plain"},
]
COLUMNS = ["place", "value", "note"]


def test_csv_neutralises_formula_cells_and_keeps_the_rest():
    content = csv_bytes(ROWS, columns=COLUMNS)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [
        ["place", "value", "note"],
        ['\'=HYPERLINK("http://x")', "46.5", "'-1 revised"],
        ["'@SUM(A1)", "", "'+ten"],
        ["Southend", "-3", "plain"],
    ]


def test_xlsx_stores_text_as_neutralised_text_and_numbers_as_numbers():
    sheet = load_workbook(io.BytesIO(xlsx_bytes(ROWS, columns=COLUMNS))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [
        ["place", "value", "note"],
        ['\'=HYPERLINK("http://x")', 46.5, "'-1 revised"],
        ["'@SUM(A1)", None, "'+ten"],
        ["Southend", -3, "plain"],
    ]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
