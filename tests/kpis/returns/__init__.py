"""Builders shared by the return tests: a context, CSV and XLSX files, zip patching."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from kpis.returns.read import read_return
from kpis.returns.spec import COLUMNS, KpiSpec, PlaceSpec, ReturnContext
from kpis.returns.validate import validate_return

SOUTHEND_POPULATION = {"all": 183_000, "0-17": 40_000, "18-64": 110_000, "65+": 33_000}


def make_ctx(**changes) -> ReturnContext:
    kpis = {
        "EIP-2WK": KpiSpec(
            "EIP-2WK", "proportion", 100, 0, 100, ("sex", "age_band"), True, None, "quarter"
        ),
        "CYP-ACCESS": KpiSpec("CYP-ACCESS", "count", 1, 0, None, (), True, "0-17"),
        "SMHS-EMPLOYMENT-GAP": KpiSpec("SMHS-EMPLOYMENT-GAP", "pp_gap", 1, -100, 100, (), True),
        "SELF-HARM": KpiSpec("SELF-HARM", "dsr", 100_000, 0, None, ("sex",), True),
        "WELLBEING": KpiSpec("WELLBEING", "survey_estimate", 100, 0, 100, (), True, "16+"),
        "CQC-SCORE": KpiSpec("CQC-SCORE", "score", 1, 0, 10, (), True),
        "CYP-ADMISSIONS": KpiSpec(
            "CYP-ADMISSIONS", "crude_rate", 100_000, 0, None, (), True, "0-17"
        ),
        "SMI-MORTALITY": KpiSpec("SMI-MORTALITY", "isr", 100, 0, None, (), True),
        "NATIONAL": KpiSpec("NATIONAL", "proportion", 100, 0, 100, (), False),
        "CRISIS-24H": KpiSpec("CRISIS-24H", "proportion", 100, 0, 100, (), True, None, "month"),
    }
    places = {
        "southend": PlaceSpec("southend", SOUTHEND_POPULATION),
        "thurrock": PlaceSpec("thurrock"),
        "essex_north": PlaceSpec("essex_north"),
    }
    values = dict(
        kpis=kpis,
        places=places,
        reportable_places=frozenset({"southend", "thurrock"}),
        period_status={"2023-24 Q2": "open", "2023-24 Q1": "locked", "Jul 2023": "open"},
    )
    values.update(changes)
    return ReturnContext(**values)


def data_row(**cells) -> dict:
    """A clean EIP-2WK row (45 / 60 x 100 = 75), with changes."""
    row = {
        "kpi_code": "EIP-2WK",
        "place_code": "southend",
        "period": "2023-24 Q2",
        "breakdown": "",
        "numerator": "45",
        "denominator": "60",
        "value": "75",
        "marker": "",
        "comment": "",
    }
    row.update(cells)
    return row


def csv_bytes(rows, *, header=COLUMNS, version: str | None = None, encoding="utf-8") -> bytes:
    """A CSV return; without ``version`` the header is row 1 and data start at row 2."""
    buffer = io.StringIO()
    if version is not None:
        buffer.write(f"#template_version={version}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, dict):
            writer.writerow([row.get(column, "") for column in header])
        else:
            writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(
    rows,
    *,
    header=COLUMNS,
    sheet="Data",
    formats: dict[tuple[int, str], str] | None = None,
    version: str | None = None,
    extra_sheets=(),
) -> bytes:
    """An XLSX return written by openpyxl. Rows are dicts (or lists) of cell values.

    ``formats`` maps (spreadsheet row, column name) to a number format, e.g. '0%'.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    data = workbook.active
    data.title = sheet
    for title in extra_sheets:
        workbook.create_sheet(title)
    data.append(list(header))
    for row in rows:
        data.append([row.get(c) for c in header] if isinstance(row, dict) else list(row))
    for (row_number, column), number_format in (formats or {}).items():
        data.cell(
            row=row_number, column=list(header).index(column) + 1
        ).number_format = number_format
    if version is not None:
        about = workbook.create_sheet("About")
        about.sheet_state = "hidden"
        about.append(["template_version", version])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def patch_zip(content: bytes, *, replace=None, add=None, drop=()) -> bytes:
    """A copy of a zip with parts replaced (bytes, or a function of the old bytes) or added."""
    replace = replace or {}
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            data = source.read(info.filename)
            if info.filename in replace:
                change = replace[info.filename]
                data = change(data) if callable(change) else change
            target.writestr(info.filename, data)
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return buffer.getvalue()


def add_formula(cell: str, formula: str, *, cached: str | None):
    """A function patching sheet XML: ``cell`` gets ``<f>formula</f>`` (and ``<v>cached</v>``)."""

    def change(xml: bytes) -> bytes:
        text = xml.decode()
        pattern = re.compile(rf'<c r="{cell}"[^>]*?(?:/>|>.*?</c>)', re.S)
        value = f"<v>{cached}</v>" if cached is not None else ""
        replacement = f'<c r="{cell}"><f>{formula}</f>{value}</c>'
        text, count = pattern.subn(replacement, text)
        assert count == 1, f"cell {cell} not found in the sheet XML"
        return text.encode()

    return change


def read(content: bytes, ctx=None, filename="return.csv"):
    return read_return(filename, content, ctx or make_ctx())


def check(content: bytes, ctx=None, filename="return.csv"):
    ctx = ctx or make_ctx()
    return validate_return(read_return(filename, content, ctx), ctx)


def coded(issues, code):
    """(row, column) of the issues with a code."""
    return [(i.row, i.column) for i in issues if i.code == code]


def only(issues, code):
    found = [i for i in issues if i.code == code]
    assert len(found) == 1, f"expected one {code}, found {found}"
    return found[0]
