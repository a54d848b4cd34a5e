"""The issues report CSV, neutralising spreadsheet formulas (OWASP CSV injection)."""

import csv
import io

from kpis.returns.report import issues_csv
from kpis.returns.spec import Issue


def test_columns_and_formula_cells_are_neutralised():
    issues = [
        Issue(2, "kpi_code", '=HYPERLINK("http://evil.example","x")', "Unknown KPI", "unknown_kpi"),
        Issue(3, "value", "+1+1", "Not a number", "not_a_number"),
        Issue(4, "value", "-2+3", "Not a number", "not_a_number"),
        Issue(5, "comment", "@SUM(A1:A2)", "a", "formula", "warning"),
        Issue(6, "comment", "\t=1", "b", "formula", "warning"),
        Issue(None, None, "", "No total", "expected_missing", "warning"),
        Issue(7, "value", "75", 'He said "hi", then left', "value_mismatch"),
    ]
    content = issues_csv(issues)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "value", "message", "severity", "code"]
    assert [r[2] for r in rows[1:]] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1:A2)",
        "'\t=1",
        "",
        "75",
    ]
    assert rows[1] == ["2", "kpi_code", rows[1][2], "Unknown KPI", "error", "unknown_kpi"]
    assert rows[6][:2] == ["", ""]
    assert rows[7][3] == 'He said "hi", then left'


def test_every_cell_is_quoted():
    content = issues_csv([Issue(2, "value", "1", "m", "c")]).decode("utf-8-sig")
    assert content.splitlines()[1] == '"2","value","1","m","error","c"'
