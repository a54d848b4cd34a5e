"""Downloads: rows in, CSV or XLSX out, every text cell safe to open in a spreadsheet.

No ORM here: views hand over plain rows (or a frame) from a selector. A cell that a spreadsheet
would run as a formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with a
single quote, as OWASP's CSV injection guidance says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from django.http import HttpResponse
from openpyxl import Workbook

from kpis.returns.report import neutralise

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value):
    """Text neutralised; numbers stay numbers; missing stays empty."""
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else value


def csv_bytes(rows: Iterable[Mapping], *, columns: Sequence[str]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads it as UTF-8) and a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: Iterable[Mapping], *, columns: Sequence[str], sheet: str = "data") -> bytes:
    """A one-sheet workbook with a header row; every text cell is stored as text."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(list(columns))
    for row in rows:
        worksheet.append([_cell(row.get(column)) for column in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_response(rows: Iterable[Mapping], *, columns: Sequence[str], filename: str):
    response = HttpResponse(csv_bytes(rows, columns=columns), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
