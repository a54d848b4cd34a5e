"""The issues of a return as a CSV to download, safe to open in a spreadsheet.

Pure module. Uploaded values are echoed back in the report, so any cell that a spreadsheet would
run as a formula is neutralised as OWASP's CSV injection guidance says: a cell starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single quote, and every
cell is quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from kpis.returns.spec import Issue

REPORT_COLUMNS = ("row", "column", "value", "message", "severity", "code")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def issues_csv(issues: Iterable[Issue]) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so Excel reads it as UTF-8) of the issues."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for issue in issues:
        writer.writerow(
            [
                "" if issue.row is None else str(issue.row),
                neutralise(issue.column or ""),
                neutralise(issue.value or ""),
                neutralise(issue.message or ""),
                neutralise(issue.severity or ""),
                neutralise(issue.code or ""),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")
