"""Return templates: an XLSX workbook with definitions and data validation, and a CSV.

Pure module: the rows to pre-fill and the KPI definitions in, the file's bytes out. The template
version is embedded so an upload made from an out-of-date template can be refused: in an XLSX on
a hidden 'About' sheet (cell B1, next to 'template_version'), as a custom document property and as
a defined name; in a CSV as the first line ``#template_version=<version>``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

from kpis.returns.read import ABOUT_SHEET, DATA_SHEET, VERSION_KEY
from kpis.returns.spec import COLUMNS

# Rows below the pre-filled ones that still carry data validation.
SPARE_ROWS = 1000
GUIDE = (
    ("How to fill in this return", ""),
    ("kpi_code, place_code, period", "Pre-filled; choose from the lists for any row you add."),
    (
        "breakdown",
        "Blank or 'all' for the total; otherwise 'dimension:category', e.g. 'sex:female'. "
        "The Definitions sheet lists each KPI's breakdowns.",
    ),
    (
        "numerator, denominator",
        "Counts of people or events (whole numbers). For a proportion or rate, give both: the "
        "value is then calculated.",
    ),
    (
        "value",
        "In the KPI's unit (see Definitions): 45 for 45%. A cell formatted as a percentage is "
        "read as it is shown.",
    ),
    (
        "Figures not given",
        "* or c: suppressed; .. : not available. Leave no required figure blank.",
    ),
    ("marker", "* or c if the row is suppressed, .. if not available, or a note marker."),
    ("comment", "Explain unusual changes; a comment is required when the service asks."),
    ("Aggregates only", "Never enter NHS numbers, names, dates of birth or postcodes."),
)


def _get(item, name: str, default=None):
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def _number_text(value) -> str:
    if value is None or value == "":
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _kpi_definition(kpi) -> dict:
    valid = _get(kpi, "valid_range") or {}
    valid_min = _get(kpi, "valid_min", valid.get("min"))
    valid_max = _get(kpi, "valid_max", valid.get("max"))
    if valid_min is None and valid_max is None:
        valid_range = "any"
    elif valid_max is None:
        valid_range = f"{_number_text(valid_min)} or more"
    elif valid_min is None:
        valid_range = f"up to {_number_text(valid_max)}"
    else:
        valid_range = f"{_number_text(valid_min)} to {_number_text(valid_max)}"
    breakdowns = _get(kpi, "breakdowns", None)
    if breakdowns is None:
        breakdowns = _get(kpi, "breakdown_dimensions", ()) or ()
    return {
        "KPI code": _get(kpi, "code", ""),
        "Title": _get(kpi, "title", "") or "",
        "Statistic": _get(kpi, "statistic", "") or "",
        "Unit": _get(kpi, "unit", "") or "",
        "Multiplier": _number_text(_get(kpi, "multiplier", 1)),
        "Valid range": valid_range,
        "Numerator": _get(kpi, "numerator", "") or "",
        "Denominator": _get(kpi, "denominator", "") or "",
        "Breakdowns": ", ".join(breakdowns) or "none (total only)",
        "Age band": _get(kpi, "age_band", "") or "",
    }


def _distinct(values: Iterable) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if v not in (None, "")))


def _put(sheet, row: int, column: int, value):
    """Write a value as it is: text starting with '=' stays text, never a formula."""
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


def build_xlsx(
    *,
    rows: list[dict],
    kpis: list,
    version: str,
    places: Iterable[str] | None = None,
    periods: Iterable[str] | None = None,
) -> bytes:
    """An XLSX return template: Data (pre-filled keys), Definitions, Guide, hidden Lists, About.

    ``rows`` are dicts with kpi_code, place_code and period (and optionally breakdown);
    ``kpis`` are dicts or objects (a ``Kpi`` works) with code, title, unit, statistic,
    multiplier, valid_min and valid_max (or valid_range), numerator, denominator, breakdowns
    and age_band. ``places`` and ``periods`` fill the drop-downs; by default those in ``rows``.
    """
    from openpyxl import Workbook
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    bold = Font(bold=True)
    workbook = Workbook()
    data = workbook.active
    data.title = DATA_SHEET
    for position, name in enumerate(COLUMNS, start=1):
        _put(data, 1, position, name).font = bold
        letter = get_column_letter(position)
        data.column_dimensions[letter].width = 40 if name == "comment" else 16
        if name not in ("numerator", "denominator", "value"):
            # Text, so Excel keeps '2023-24 Q2' and 'Jul 2023' as typed rather than as dates.
            data.column_dimensions[letter].number_format = "@"
    data.freeze_panes = "A2"
    for number, row in enumerate(rows, start=2):
        for position, name in enumerate(("kpi_code", "place_code", "period", "breakdown"), 1):
            value = row.get(name)
            if value not in (None, ""):
                _put(data, number, position, str(value)).number_format = "@"
    last = max(len(rows) + 1 + SPARE_ROWS, 2)

    definitions = workbook.create_sheet("Definitions")
    described = [_kpi_definition(kpi) for kpi in kpis]
    headings = list(_kpi_definition({}).keys())
    for position, heading in enumerate(headings, start=1):
        _put(definitions, 1, position, heading).font = bold
        width = 60 if heading in ("Title", "Numerator", "Denominator") else 18
        definitions.column_dimensions[get_column_letter(position)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for number, item in enumerate(described, start=2):
        for position, heading in enumerate(headings, start=1):
            _put(definitions, number, position, item[heading]).alignment = wrap
    definitions.freeze_panes = "B2"

    guide = workbook.create_sheet("Guide")
    guide.column_dimensions["A"].width = 32
    guide.column_dimensions["B"].width = 100
    for number, (topic, text) in enumerate(GUIDE, start=1):
        _put(guide, number, 1, topic).font = bold
        _put(guide, number, 2, text).alignment = wrap

    lists = workbook.create_sheet("Lists")
    lists.sheet_state = "hidden"
    choices = {
        "kpi_code": _distinct(
            [d["KPI code"] for d in described] + [r.get("kpi_code") for r in rows]
        ),
        "place_code": _distinct(
            places if places is not None else [r.get("place_code") for r in rows]
        ),
        "period": _distinct(periods if periods is not None else [r.get("period") for r in rows]),
    }
    for position, (name, values) in enumerate(choices.items(), start=1):
        _put(lists, 1, position, name).font = bold
        for number, value in enumerate(values, start=2):
            _put(lists, number, position, value)
        if not values:
            continue
        letter = get_column_letter(position)
        target = get_column_letter(COLUMNS.index(name) + 1)
        validation = DataValidation(
            type="list",
            formula1=f"Lists!${letter}$2:${letter}${len(values) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"Unknown {name}",
            error=f"Choose a {name} from the list.",
        )
        data.add_data_validation(validation)
        validation.add(f"{target}2:{target}{last}")

    for name in ("numerator", "denominator", "value"):
        letter = get_column_letter(COLUMNS.index(name) + 1)
        cell = f"{letter}2"
        markers = f'{cell}="*",{cell}="c",{cell}=".."'
        if name == "value":
            rule = f"OR(ISNUMBER({cell}),{markers})"
            message = "Enter a number in the KPI's unit, or * or c (suppressed) or .. (missing)."
        else:
            rule = f"OR(AND(ISNUMBER({cell}),{cell}>=0,{cell}=INT({cell})),{markers})"
            message = "Enter a whole number of 0 or more, or * or c (suppressed) or .. (missing)."
        validation = DataValidation(
            type="custom",
            formula1=rule,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"Check the {name}",
            error=message,
        )
        data.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{last}")
    marker = get_column_letter(COLUMNS.index("marker") + 1)
    validation = DataValidation(
        type="list",
        formula1='"*,c,..,[x],[z]"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="information",
        error="Usual markers: * or c (suppressed), .. (not available). Other notes are kept.",
    )
    data.add_data_validation(validation)
    validation.add(f"{marker}2:{marker}{last}")

    about = workbook.create_sheet(ABOUT_SHEET)
    about.sheet_state = "hidden"
    for number, (key, value) in enumerate(
        (
            (VERSION_KEY, version),
            ("produced_by", "SET Outcomes (Southend, Essex and Thurrock Mental Health Strategy)"),
            ("columns", ", ".join(COLUMNS)),
        ),
        start=1,
    ):
        _put(about, number, 1, key)
        _put(about, number, 2, value).number_format = "@"
    workbook.custom_doc_props.append(StringProperty(name=VERSION_KEY, value=version))
    workbook.defined_names[VERSION_KEY] = DefinedName(VERSION_KEY, attr_text=f"{ABOUT_SHEET}!$B$1")
    workbook.active = 0

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def build_csv(rows: list[dict], version: str) -> bytes:
    """A CSV return template: ``#template_version=<version>``, the header, pre-filled keys."""
    buffer = io.StringIO()
    buffer.write(f"#template_version={version}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else str(row.get(name)) for name in COLUMNS])
    return buffer.getvalue().encode("utf-8")
