"""Fuzzed returns through the upload service and a real worker.

A valid CSV or XLSX return, built from the return template for the lead's three open years, is
mutated (hostile cells, rows repeated, removed and blanked, headers renamed and reordered, the
template version changed, encodings and line endings changed, workbooks truncated and their
sheet XML damaged), uploaded through ``upload_create`` and validated by a Celery worker through
Redis. CSVs are also read in chunks, as a large file is, and loaded as history by the Strategy
Implementation Group for years whose periods staging creates. Whatever the file: the upload
ends in a final state, in bounded time and memory; every error of a cell names its row and
column; a file that fails keeps nothing (no staged rows, no periods or series); and a file
changed only in ways that do not matter is accepted.

SETSET_FUZZ_EXAMPLES=500 runs more examples of each (40 by default, about 30 s in all).
"""

from __future__ import annotations

import io
import os
import re
import resource
import time
import zipfile
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, Phase, event, given, note
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from kpis.models import Kpi, Period, ReportingExpectation, ReturnRow, ReturnUpload, Series
from kpis.returns.spec import COLUMNS, PERSON_LEVEL_CODES
from kpis.returns.template import build_csv, build_xlsx
from kpis.services.calendar import expectation_reopen, expectations_generate
from kpis.services.returns import upload_create, upload_withdraw
from strategy.access import Role

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

State = ReturnUpload.State
FINAL = (State.VALIDATED, State.VALIDATION_FAILED)
VERSION = "2025.1"
KPI = "MHST-PUPIL-COVERAGE"
# Per example: final within this, and the process (worker thread included) grown by no more.
FINISHED_WITHIN = 20.0
GROWS_BY_AT_MOST = 300 * 2**20
# Issues of the file as a whole, which name no cell: only a mutation of the whole file (its
# encoding, its zip, its template version, all its rows gone) may end in one of these.
FILE_LEVEL_CODES = frozenset(
    {
        "file_too_large",
        "file_too_slow",
        "empty_file",
        "unsupported_file_type",
        "encoding",
        "xlsx_damaged",
        "csv_malformed",
        "cells_beyond_template",
        "no_data",
        "too_many_rows",
        "template_out_of_date",
    }
)
FUZZ = fuzz_settings(
    max_examples=int(os.environ.get("SETSET_FUZZ_EXAMPLES", "40")),
    deadline=None,
    database=None,  # nothing written into the shared checkout; a failure prints its seed blob
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# ---------------------------------------------------------------------------------------------
# A return as cells, and what can be done to it


@dataclass
class Sheet:
    """A return's header and data rows as cell values (text for a CSV; numbers, dates and
    booleans too for a workbook), and its template version (None: not stated)."""

    header: list
    rows: list[list]
    version: str | None = VERSION

    def cell(self, row: int, column: int):
        """The data row and column index of a drawn position, or None without data rows."""
        if not self.rows:
            return None
        row %= len(self.rows)
        column %= max(len(self.header), 1)
        cells = self.rows[row]
        cells.extend([""] * (column + 1 - len(cells)))
        return cells, column

    def has_data(self) -> bool:
        return any(_text(value).strip() for cells in self.rows for value in cells)


@dataclass(frozen=True)
class Percent:
    """A number in a workbook cell formatted as a percentage (0.45 shown as 45%)."""

    fraction: float


@dataclass(frozen=True)
class Raw:
    """A workbook cell written as raw XML: its type attribute and its content."""

    kind: str
    inner: str


def _text(value) -> str:
    return value if isinstance(value, str) else "" if value is None else repr(value)


class Mutation:
    # Whether the file stays acceptable (a warning at most), whatever else it holds.
    harmless = False

    def keeps_valid(self, sheet: Sheet) -> bool:
        """Whether the file, as the mutations left it, is still acceptable for this one."""
        return self.harmless

    def apply(self, sheet: Sheet) -> None:
        raise NotImplementedError

    def file_level(self, sheet: Sheet, file_type: str) -> bool:
        """Whether the file as a whole may be refused, without naming a cell."""
        return False


@dataclass(frozen=True)
class SetCell(Mutation):
    row: int
    column: int
    value: object

    def apply(self, sheet):
        if (found := sheet.cell(self.row, self.column)) is not None:
            cells, column = found
            cells[column] = self.value

    def file_level(self, sheet, file_type):
        if isinstance(self.value, Raw):
            return True  # a workbook whose XML no spreadsheet would write may be damaged
        # The reader refuses a CSV with a NUL byte in its first 8 KB as a binary file, naming
        # no cell (beyond 8 KB the cell is named).
        return file_type == "csv" and "\x00" in _text(self.value)


@dataclass(frozen=True)
class RenameHeader(Mutation):
    column: int
    name: str

    def apply(self, sheet):
        if sheet.header:
            sheet.header[self.column % len(sheet.header)] = self.name

    def file_level(self, sheet, file_type):
        return file_type == "csv" and "\x00" in self.name


@dataclass(frozen=True)
class Reorder(Mutation):
    """The columns in another order, header and cells alike."""

    order: tuple
    harmless = True

    def apply(self, sheet):
        width = len(sheet.header)
        order = [i for i in self.order if i < width] + list(range(len(self.order), width))
        sheet.header[:] = [sheet.header[i] for i in order]
        for cells in sheet.rows:
            cells.extend([""] * (width - len(cells)))
            cells[:width] = [cells[i] for i in order]


@dataclass(frozen=True)
class DuplicateRow(Mutation):
    row: int

    def apply(self, sheet):
        if sheet.rows:
            index = self.row % len(sheet.rows)
            sheet.rows.insert(index + 1, list(sheet.rows[index]))


@dataclass(frozen=True)
class DeleteRow(Mutation):
    """A row left out: its figures are then missing, a warning only."""

    row: int
    harmless = True

    def apply(self, sheet):
        if sheet.rows:
            del sheet.rows[self.row % len(sheet.rows)]

    def keeps_valid(self, sheet):
        return sheet.has_data()

    def file_level(self, sheet, file_type):
        return not sheet.has_data()


@dataclass(frozen=True)
class BlankRow(Mutation):
    row: int
    blank: str = ""
    harmless = True

    def apply(self, sheet):
        index = self.row % (len(sheet.rows) + 1)
        sheet.rows.insert(index, [self.blank] * len(sheet.header))


@dataclass(frozen=True)
class Version(Mutation):
    version: str | None

    def apply(self, sheet):
        sheet.version = self.version

    def file_level(self, sheet, file_type):
        return True


@dataclass(frozen=True)
class Encoding:
    """How a CSV's text is written out: the encoding and the line ending."""

    encoding: str
    newline: str

    def utf8(self, content: bytes) -> bool:
        """Whether the bytes read as UTF-8 text (UTF-16 without its mark holds NUL bytes)."""
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return b"\x00" not in content and not content.startswith((b"\xff\xfe", b"\xfe\xff"))

    def harmless(self, content: bytes) -> bool:
        return self.utf8(content) and self.newline != "\r"

    def file_level(self, content: bytes) -> bool:
        # The reader takes lines ended by a lone carriage return (Excel for Mac's "CSV
        # (Macintosh)") after the template version line as all one comment line: "no header".
        return not self.utf8(content) or self.newline == "\r"


@dataclass(frozen=True)
class TruncateFile:
    at: float

    def apply(self, content: bytes) -> bytes:
        return content[: int(len(content) * self.at)]


@dataclass(frozen=True)
class TruncateSheet:
    """The Data sheet's XML cut short inside an otherwise sound zip."""

    at: float

    def apply(self, content: bytes) -> bytes:
        return _rezip(content, lambda xml: xml[: int(len(xml) * self.at)])


@dataclass(frozen=True)
class FlipSheetByte:
    """One byte of the Data sheet's XML changed."""

    at: float
    byte: int

    def apply(self, content: bytes) -> bytes:
        def flip(xml: bytes) -> bytes:
            position = int(len(xml) * self.at)
            return xml[:position] + bytes([self.byte]) + xml[position + 1 :]

        return _rezip(content, flip)


# ---------------------------------------------------------------------------------------------
# Writing the files


def csv_bytes(sheet: Sheet, encoding: Encoding) -> bytes:
    """The return as a CSV: every cell holding a comma, quote or line break quoted, as Excel
    does (Python's writer leaves a lone carriage return unquoted)."""
    newline = encoding.newline
    lines = [] if sheet.version is None else [f"#template_version={sheet.version}"]
    lines += [
        ",".join(_csv_field(_text(v)) for v in cells) for cells in [sheet.header, *sheet.rows]
    ]
    text = "".join(line + newline for line in lines)
    return text.encode(encoding.encoding, errors="replace")


def _csv_field(text: str) -> str:
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


_TEMPLATES: dict[tuple, bytes] = {}
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PLACEHOLDER = re.compile(
    r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is><t>RAW-CELL-([0-9]+)</t></is></c>'
)


def xlsx_bytes(sheet: Sheet, template: bytes) -> bytes:
    """The return written into the XLSX template with openpyxl; text with characters XML cannot
    hold is escaped as Excel escapes it (_x0001_), and raw cells are put into the sheet XML."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(template))
    data = workbook["Data"]
    for cells in data.iter_rows():
        for cell in cells:
            cell.value = None
    raws: list[Raw] = []
    for number, cells in enumerate([sheet.header, *sheet.rows], start=1):
        for position, value in enumerate(cells, start=1):
            cell = data.cell(row=number, column=position)
            if isinstance(value, Raw):
                cell.value = f"RAW-CELL-{len(raws)}"
                raws.append(value)
            elif isinstance(value, Percent):
                cell.value = value.fraction
                cell.number_format = "0.00%"
            elif isinstance(value, str):
                cell.value = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
            elif value is not None:
                cell.value = value
    workbook["About"]["B1"].value = sheet.version
    buffer = io.BytesIO()
    workbook.save(buffer)
    content = buffer.getvalue()
    if raws:

        def put_raw(xml: bytes) -> bytes:
            def raw(match):
                found = raws[int(match.group(3))]
                return f'<c r="{match.group(1)}"{match.group(2)} t="{found.kind}">{found.inner}</c>'

            text, count = _PLACEHOLDER.subn(raw, xml.decode())
            assert count == len(raws), "a raw cell was not written"
            return text.encode()

        content = _rezip(content, put_raw)
    return content


def _rezip(content: bytes, change) -> bytes:
    """The workbook with its Data sheet's XML changed (every other part as it was)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = change(part)
            target.writestr(info, part)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Strategies

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "   ",
        "\x00",
        "3\x000",
        "\x01",
        "\x1b[31m",
        "\x7f",
        "\t",
        "a\nb",
        "a\r\nb",
        "\r",
        "1e308",
        "1e309",
        "-1e309",
        "9" * 400,
        "1" + "0" * 25,
        "123456789012345",
        "1e-400",
        "-5",
        "-0",
        "0",
        "0.5",
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "0000",
        "9999",
        "0000-01-01",
        "9999-12-31",
        "Jan 0000",
        "Dec 9999",
        "0000-01",
        "2024-25 Q5",
        "31/02/2024",
        "2023-24",
        "2024/25",
        "FY24",
        "=1+1",
        "=A1",
        "+1",
        "@SUM(A1)",
        '=HYPERLINK("http://example.com")',
        "50%",
        "%",
        "150%",
        "-5%",
        "1,000",
        "1,00",
        "1.000,5",
        "0x10",
        "1_000",
        "\u00bd",
        "\u0663",
        "\uff11\uff12",
        "*",
        "c",
        "[c]",
        "..",
        "[x]",
        "all",
        "sex:female",
        "sex:",
        ":",
        "age_band:65+",
        KPI,
        KPI.lower(),
        "LIAISON-CORE24-COVERAGE",
        "SOUTHEND",
        "thurrock",
        "nowhere",
        "\ufeff",
        "\u200b",
        "\u202ecba",
        "\U0001f600",
        "x" * 5_000,
        "y" * 70_000,
        '"',
        '""',
        "'",
        ",",
        'a,"b",c',
        "#",
        "#template_version=1",
        "9434765919",
        "SS1 1AA",
        "someone@example.com",
        "TRUE",
        "#DIV/0!",
    ]
)
CELL_TEXT = st.one_of(
    HOSTILE_TEXT,
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
)
HEADER_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "KPI_CODE",
            "  period  ",
            "Numerator",
            "kpi code",
            "value",
            "comment",
            "notes",
            "NHS number",
            "Date of birth",
            "#kpi_code",
            "\ufeffkpi_code",
            "kpi_code\x00",
            "x" * 5_000,
        ]
    ),
    st.text(max_size=20),
)
ROW = st.integers(min_value=0, max_value=50)
COLUMN = st.integers(min_value=0, max_value=20)
# What is done to the file beyond its cells.
FILE_MUTATION = st.one_of(
    st.builds(RenameHeader, COLUMN, HEADER_TEXT),
    st.builds(Reorder, st.permutations(range(len(COLUMNS))).map(tuple)),
    st.builds(DuplicateRow, ROW),
    st.builds(DeleteRow, ROW),
    st.builds(BlankRow, ROW, st.sampled_from(["", " ", "\t"])),
    st.builds(Version, st.sampled_from([None, "", "2024.1", "x" * 300, "2025.1;"])),
)
CSV_CELLS = st.lists(st.builds(SetCell, ROW, COLUMN, CELL_TEXT), max_size=4)
XLSX_VALUE = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.builds(Percent, st.floats(min_value=-10, max_value=10)),
    st.sampled_from(
        [
            Raw("n", "<v>NaN</v>"),
            Raw("n", "<v>INF</v>"),
            Raw("n", "<v>-INF</v>"),
            Raw("n", "<v>1e999</v>"),
            Raw("n", "<v></v>"),
            Raw("n", "<v>abc</v>"),
            Raw("e", "<v>#DIV/0!</v>"),
            Raw("e", "<v>#N/A</v>"),
            Raw("b", "<v>1</v>"),
            Raw("b", "<v>7</v>"),
            Raw("n", "<f>1+1</f><v>2</v>"),
            Raw("str", "<f>A1</f><v>text</v>"),
            Raw("str", "<f>1/0</f><v></v>"),
            Raw("s", "<v>99999</v>"),
            Raw("d", "<v>2024-04-01T00:00:00</v>"),
            Raw("d", "<v>0000-01-01</v>"),
            Raw("inlineStr", "<is><r><t>rich</t></r><r><t> text</t></r></is>"),
        ]
    ),
)
XLSX_CELLS = st.lists(
    st.builds(SetCell, ROW, COLUMN, st.one_of(CELL_TEXT, XLSX_VALUE, XLSX_VALUE)), max_size=4
)
FRACTION = st.floats(min_value=0, max_value=1, exclude_max=True)
# Most files are sound as a whole, so that what is done to their cells is seen.
XLSX_DAMAGE = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.builds(TruncateFile, FRACTION),
    st.builds(TruncateSheet, FRACTION),
    st.builds(FlipSheetByte, FRACTION, st.sampled_from(list(b"<>/=\"' 019.-Eabcdefrvst&;"))),
)
ENCODING = st.builds(
    Encoding,
    st.sampled_from(
        ["utf-8"] * 5 + ["utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-32"]
    ),
    st.sampled_from(["\n"] * 4 + ["\r\n", "\r"]),
)


@st.composite
def figures(draw) -> list[dict]:
    """Figures for each open year that pass every check: a numerator of its denominator, and
    the value as a percentage given exactly, rounded, as a workbook percentage, or left to be
    calculated."""
    found = []
    for _ in range(3):
        denominator = draw(st.integers(min_value=1, max_value=10**6))
        numerator = draw(st.integers(min_value=0, max_value=denominator))
        found.append(
            {
                "numerator": numerator,
                "denominator": denominator,
                "value": numerator / denominator * 100,
                "given_as": draw(st.sampled_from(["exact", "rounded", "blank", "percent"])),
                "comment": draw(st.sampled_from(["", "on track", "Revised: see the note"])),
            }
        )
    return found


def filled(years: list[str], figures: list[dict], *, xlsx: bool) -> Sheet:
    """The CSV template for the lead's open years (its header and pre-filled keys), with the
    figures filled in: as text for a CSV, as numbers for a workbook."""
    template = build_csv(
        [{"kpi_code": KPI, "place_code": "southend", "period": y} for y in years], VERSION
    )
    lines = template.decode().splitlines()
    header = lines[1].split(",")
    rows = []
    for line, figure in zip(lines[2:], figures, strict=True):
        cells = dict(zip(header, line.split(","), strict=True))
        value = figure["value"]
        numerator, denominator = figure["numerator"], figure["denominator"]
        shown = {
            "exact": value,
            "rounded": round(value, 2),
            "blank": None,
            "percent": Percent(value / 100) if xlsx else f"{value:.4f}%",
        }[figure["given_as"]]
        if not xlsx:
            numerator, denominator = str(numerator), str(denominator)
            shown = "" if shown is None else shown if isinstance(shown, str) else repr(shown)
        cells.update(
            numerator=numerator, denominator=denominator, value=shown, comment=figure["comment"]
        )
        rows.append([cells[name] for name in header])
    return Sheet(header=header, rows=rows)


def xlsx_template(years: list[str]) -> bytes:
    key = tuple(years)
    if key not in _TEMPLATES:
        rows = [{"kpi_code": KPI, "place_code": "southend", "period": y} for y in years]
        _TEMPLATES[key] = build_xlsx(rows=rows, kpis=[Kpi.objects.get(code=KPI)], version=VERSION)
    return _TEMPLATES[key]


# ---------------------------------------------------------------------------------------------
# Fixtures and checks


@pytest.fixture
def open_years(open_period, make_user):
    """2022-23 and 2023-24 reopened as well, so a return holds three rows of Southend's."""
    admin = make_user("years-admin", Role.ADMINISTRATOR)
    until = timezone.localdate() + timedelta(days=30)
    for label in ("2022-23", "2023-24"):
        expectations_generate(period_label=label)
        for expectation in ReportingExpectation.objects.filter(period__label=label):
            expectation_reopen(expectation=expectation, user=admin, until=until)
    return ["2022-23", "2023-24", open_period]


@pytest.fixture
def checked_upload(celery_worker, lead):
    """Upload bytes (as the lead, unless another user is given), wait for the real worker, and
    check what every upload promises; returns the upload as the worker left it."""

    def upload(
        content: bytes,
        *,
        name: str,
        file_level: bool,
        harmless: bool,
        rows: int,
        chunked: bool = False,
        user=None,
        kind: str = ReturnUpload.Kind.QUARTERLY,
    ):
        user = user or lead
        periods, series = Period.objects.count(), Series.objects.count()
        peak = _max_rss()
        started = time.monotonic()
        upload, created = upload_create(user=user, filename=name, content=content, kind=kind)
        state = _final_state(upload.pk, within=30)
        elapsed = time.monotonic() - started
        grown = _max_rss() - peak
        upload.refresh_from_db()
        note(f"{upload.state} in {elapsed:.2f} s; issues {upload.issues[:6]!r}")
        event(upload.state)
        for code in sorted({issue["code"] for issue in upload.issues}):
            event(f"issue: {code}")
        assert state in FINAL, f"still {state!r} after 30 s"
        assert elapsed < FINISHED_WITHIN, f"{elapsed:.1f} s"
        assert grown < GROWS_BY_AT_MOST, f"grew by {grown / 2**20:.0f} MB"
        assert created  # every example's upload is withdrawn once checked
        assert (upload.stage, upload.percent) == ("Finished", 100)
        # A fault in the service ends the upload failed too, but is a traceback in the log.
        assert "internal_error" not in {issue["code"] for issue in upload.issues}, upload.issues
        errors = [issue for issue in upload.issues if issue["severity"] == "error"]
        if upload.state == State.VALIDATION_FAILED:
            assert upload.error_count >= 1 and errors
            if errors[0]["code"] == "person_level_deleted":
                # The notice that the file was deleted heads the errors that say why.
                errors = errors[1:]
                assert {i["code"] for i in errors} & PERSON_LEVEL_CODES, upload.issues
            for issue in errors:
                _assert_named(issue, file_level=file_level, rows=rows)
            assert not ReturnRow.objects.filter(upload=upload).exists()
            assert (Period.objects.count(), Series.objects.count()) == (periods, series)
        else:
            assert upload.error_count == 0 and not errors
            staged = ReturnRow.objects.filter(upload=upload).count()
            # Read whole, the count is of rows with figures; in chunks, of every record.
            assert 1 <= staged <= upload.row_count
            assert staged == upload.row_count or chunked
            if kind == ReturnUpload.Kind.QUARTERLY:
                assert Period.objects.count() == periods  # only periods expected from the lead
            # The same bytes again are a new upload (and a shrunk example checked anew).
            upload_withdraw(upload=upload, user=user, reason="fuzzed")
            assert not ReturnRow.objects.filter(upload=upload).exists()
        if harmless:
            assert upload.state == State.VALIDATED, upload.issues
        return upload

    return upload


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def _final_state(pk: int, *, within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        state = ReturnUpload.objects.filter(pk=pk).values_list("state", flat=True).get()
        if state in FINAL or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def _assert_named(issue: dict, *, file_level: bool, rows: int) -> None:
    """An error names the row and column of the cell at fault; only a file changed as a whole
    may be refused without naming one."""
    if issue["row"] is None or issue["column"] is None:
        assert file_level and issue["code"] in FILE_LEVEL_CODES, issue
        return
    assert isinstance(issue["row"], int) and 1 <= issue["row"] <= rows, issue
    assert str(issue["column"]).strip(), issue


# ---------------------------------------------------------------------------------------------
# The fuzz


@FUZZ
@given(
    figures=figures(),
    cells=CSV_CELLS,
    mutations=st.lists(FILE_MUTATION, max_size=3),
    encoding=ENCODING,
    chunked=st.booleans(),
    history_from=st.one_of(st.none(), st.integers(min_value=1901, max_value=2090)),
)
def test_any_csv_return_ends_final_naming_its_cells_and_keeping_nothing_if_it_fails(
    checked_upload,
    open_years,
    sig,
    settings,
    figures,
    cells,
    mutations,
    encoding,
    chunked,
    history_from,
):
    # Read whole, or as a large file is: checked and staged two lines at a time.
    settings.RETURN_CHUNK_BYTES = 10 if chunked else 5_000_000
    settings.RETURN_CHUNK_ROWS = 2
    years, user, kind = open_years, None, ReturnUpload.Kind.QUARTERLY
    if history_from is not None:
        # A history load by the group, of years most likely not known yet: staging creates
        # their periods, and a file that fails must take them away again.
        years = [f"{y}-{(y + 1) % 100:02d}" for y in range(history_from, history_from + 3)]
        user, kind = sig, ReturnUpload.Kind.HISTORY
    sheet = filled(years, figures, xlsx=False)
    mutations = [*cells, *mutations]
    for mutation in mutations:
        mutation.apply(sheet)
    content = csv_bytes(sheet, encoding)
    note(f"content: {content[:800]!r}")
    checked_upload(
        content,
        name="return.csv",
        file_level=encoding.file_level(content)
        or any(m.file_level(sheet, "csv") for m in mutations),
        harmless=encoding.harmless(content) and all(m.keeps_valid(sheet) for m in mutations),
        rows=content.count(b"\n") + content.count(b"\r") + 2,
        chunked=chunked,
        user=user,
        kind=kind,
    )


@FUZZ
@given(
    figures=figures(),
    cells=XLSX_CELLS,
    mutations=st.lists(FILE_MUTATION, max_size=3),
    damage=XLSX_DAMAGE,
)
def test_any_xlsx_return_ends_final_naming_its_cells_and_keeping_nothing_if_it_fails(
    checked_upload, open_years, figures, cells, mutations, damage
):
    sheet = filled(open_years, figures, xlsx=True)
    mutations = [*cells, *mutations]
    for mutation in mutations:
        mutation.apply(sheet)
    content = xlsx_bytes(sheet, xlsx_template(open_years))
    if damage is not None:
        content = damage.apply(content)
    checked_upload(
        content,
        name="return.xlsx",
        file_level=damage is not None or any(m.file_level(sheet, "xlsx") for m in mutations),
        harmless=damage is None and all(m.keeps_valid(sheet) for m in mutations),
        # A damaged sheet's XML may number its rows anew.
        rows=len(sheet.rows) + 2 if damage is None else 10**6,
    )
