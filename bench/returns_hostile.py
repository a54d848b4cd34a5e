"""Benchmark hostile uploads under the size limit; prints figures, asserts nothing.

Builds files shaped to cost a reader as much as an upload of at most ``max_bytes`` (20 MB, and
30 times that unzipped) can: rows of whitespace to the limits (with cell references, and
without, which compresses a thousandfold), rows of 16,384 cells without references, a cell in
the far corner or a far column, one long shared string in every row, hidden sheets of
whitespace, a shared-strings table to the limit, every one of the 40 columns read filled;
CSVs of long cells, of blank lines, of empty records, with a NUL deep inside or a quote never
closed; beside them the largest ordinary return (100,000 rows) as a CSV and as workbooks (plain,
percent-formatted, a formula in every row). Each is read and validated in a fresh process (the
pure path: ``read_return`` then ``validate_return``), and for each it prints the wall seconds
of each step, the peak resident memory (VmHWM) and the outcome. The budget: any upload under
the size limit validated within 60 s and 1 GiB on one core, or refused with a reason.

Run:  .venv/bin/python bench/returns_hostile.py [--cases xlsx_far_corner,csv_nul_deep]
      [--timeout 600] [--keep DIR]

The files take a few minutes to build; ``--keep DIR`` keeps them for the next run.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from kpis.returns.spec import COLUMNS  # noqa: E402

MAX_BYTES = 20_000_000  # settings.RETURN_MAX_BYTES
MAX_ROWS = 100_000  # settings.RETURN_MAX_ROWS
UNZIPPED = 30 * MAX_BYTES  # read.UNZIPPED_FACTOR x the upload limit
EXCEL_ROWS = 1_048_576
HEADER = COLUMNS  # the return template's columns


# ---------------------------------------------------------------------------------------------
# Workbooks written part by part (openpyxl would take minutes over some of these)


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_PERCENT_STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    b'<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    b'<borders count="1"><border/></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    b'<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    b'<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    b"</cellXfs></styleSheet>"
)


def write_workbook(
    path: Path,
    sheets: list[tuple[str, str, Callable[[], Iterator[bytes]]]],
    strings: Callable[[], Iterator[bytes]] | None = None,
) -> None:
    """A workbook of ``(title, state, rows)`` sheets, each sheet's XML given as chunks of
    ``<row>`` elements; ``strings`` gives the ``<si>`` elements of a shared-strings part."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    types = [
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>',
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>',
    ]
    rels = [f'<Relationship Id="rIdS" Type="{rel}/styles" Target="styles.xml"/>']
    entries = []
    for index, (title, state, _) in enumerate(sheets, start=1):
        types.append(
            f'<Override PartName="/xl/worksheets/sheet{index}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
        rels.append(
            f'<Relationship Id="rId{index}" Type="{rel}/worksheet" '
            f'Target="worksheets/sheet{index}.xml"/>'
        )
        shown = "" if state == "visible" else f' state="{state}"'
        entries.append(f'<sheet name="{title}" sheetId="{index}"{shown} r:id="rId{index}"/>')
    if strings is not None:
        types.append(
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
        rels.append(
            f'<Relationship Id="rIdT" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(types)
            + "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>{"".join(entries)}</sheets>'
            "</workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(rels)
            + "</Relationships>",
        )
        archive.writestr("xl/styles.xml", _PERCENT_STYLES)
        if strings is not None:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                part.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{main}">'.encode())
                for chunk in strings():
                    part.write(chunk)
                part.write(b"</sst>")
        for index, (_, _, rows) in enumerate(sheets, start=1):
            with archive.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True) as part:
                part.write(
                    f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{main}">'
                    "<sheetData>".encode()
                )
                for chunk in rows():
                    part.write(chunk)
                part.write(b"</sheetData></worksheet>")


def _cell(ref: str, value, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def _row(number: int, values, styles=None) -> str:
    cells = "".join(
        _cell(f"{_letter(i)}{number}", v, (styles or {}).get(i, 0)) for i, v in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def _header_and_a_row() -> bytes:
    return (_row(1, HEADER) + _row(2, ROW)).encode()


ROW = ("EIP-2WK", "southend", "2023-24 Q2", "", 45, 60, 75, "", "")


def _valid_rows(rows: int) -> tuple[list[tuple], object]:
    """Rows and a context from the CSV benchmark's generator (errors at 0.1%)."""
    import csv

    from returns_validate import generate

    content, ctx = generate(rows, 0.001, 20240401)
    records = list(csv.reader(io.StringIO(content.decode())))[1:]
    typed = []
    for record in records:
        cells = list(record)
        for i in (4, 5, 6):
            try:
                number = float(cells[i])
                cells[i] = int(number) if number.is_integer() else number
            except ValueError:
                pass
        typed.append(tuple(cells))
    return typed, ctx


def _until(limit: int, chunk: Callable[[int], str], step: int) -> Iterator[bytes]:
    """Rows from ``chunk(first_row)``, ``step`` rows at a time, until about ``limit`` bytes of
    XML or Excel's last row."""
    written = 0
    row = 3
    while written < limit and row + step <= EXCEL_ROWS:
        data = chunk(row).encode()
        written += len(data)
        yield data
        row += step


def xlsx_whitespace_rows(path: Path, budget: int = UNZIPPED) -> None:
    """Header, one row, then rows of a space in every one of the 40 columns readable, with
    their cell references as Excel writes them."""

    def rows():
        yield _header_and_a_row()
        cells = "".join(f'<c r="{_letter(i)}%d" t="s"><v>0</v></c>' for i in range(40))
        yield from _until(
            budget - 10_000_000,
            lambda first: "".join(
                f'<row r="{n}">{cells % ((n,) * 40)}</row>' for n in range(first, first + 1000)
            ),
            1000,
        )

    write_workbook(path, [("Data", "visible", rows)], strings=lambda: iter([b"<si><t> </t></si>"]))


def xlsx_whitespace_unnumbered(path: Path, budget: int = UNZIPPED) -> None:
    """The same without cell references (valid, and it compresses a thousandfold): rows of a
    space in 40 cells each, to the unzipped limit."""
    row = ("<row>" + '<c t="s"><v>0</v></c>' * 40 + "</row>") * 1000

    def rows():
        yield _header_and_a_row()
        yield from _until(budget - 10_000_000, lambda first: row, 1000)

    write_workbook(path, [("Data", "visible", rows)], strings=lambda: iter([b"<si><t> </t></si>"]))


def xlsx_wide_unnumbered(path: Path, budget: int = UNZIPPED) -> None:
    """Header, one row, then rows of 16,384 cells without references (so no reference names a
    far column) to the unzipped limit."""
    row = "<row>" + "<c/>" * 16_383 + "<c><v>1</v></c></row>"

    def rows():
        yield _header_and_a_row()
        yield from _until(budget - 10_000_000, lambda first: row * 10, 10)

    write_workbook(path, [("Data", "visible", rows)])


def xlsx_long_shared_string(path: Path, budget: int = UNZIPPED) -> None:
    """One shared string of 32,767 characters (Excel's most for a cell) in every cell of the
    comment column, 100,000 rows."""

    def rows():
        yield _row(1, HEADER).encode()
        for first in range(2, MAX_ROWS + 2, 1000):
            yield "".join(
                _row(n, ROW[:-1])[:-6] + f'<c r="I{n}" t="s"><v>0</v></c></row>'
                for n in range(first, first + 1000)
            ).encode()

    write_workbook(
        path,
        [("Data", "visible", rows)],
        strings=lambda: iter([f"<si><t>{'x' * 32_767}</t></si>".encode()]),
    )


def xlsx_far_corner(path: Path) -> None:
    """Header, one row, and one cell in column AN of Excel's last row."""

    def rows():
        yield _header_and_a_row()
        yield f'<row r="{EXCEL_ROWS}"><c r="AN{EXCEL_ROWS}"><v>1</v></c></row>'.encode()

    write_workbook(path, [("Data", "visible", rows)])


def xlsx_far_column(path: Path) -> None:
    """Header, one row, and one cell in column XFD (refused by the scan for far cells)."""

    def rows():
        yield (_row(1, HEADER) + _row(2, ROW)[:-6] + '<c r="XFD2"><v>1</v></c></row>').encode()

    write_workbook(path, [("Data", "visible", rows)])


def xlsx_hidden_sheets(path: Path, budget: int = UNZIPPED) -> None:
    """A one-row Data sheet and hidden sheets of whitespace to the unzipped limit."""
    cells = "".join(f'<c r="{_letter(i)}%d" t="s"><v>0</v></c>' for i in range(40))
    per_row = len(cells % ((100_000,) * 40)) + 20
    sheet_rows = MAX_ROWS + 10_000
    count = max(1, (budget - 10_000_000) // (per_row * sheet_rows))

    def whitespace():
        for first in range(1, sheet_rows, 1000):
            yield "".join(
                f'<row r="{n}">{cells % ((n,) * 40)}</row>'
                for n in range(first, min(first + 1000, sheet_rows + 1))
            ).encode()

    sheets = [("Data", "visible", lambda: iter([_header_and_a_row()]))]
    sheets += [(f"Notes {i}", "hidden", whitespace) for i in range(count)]
    write_workbook(path, sheets, strings=lambda: iter([b"<si><t> </t></si>"]))


def xlsx_shared_strings(path: Path, budget: int = UNZIPPED) -> None:
    """A one-row Data sheet and as many distinct shared strings as the limits allow."""

    def strings():
        number = 0
        written = 0
        while written < budget - 10_000_000:
            chunk = "".join(f"<si><t>{n:x}</t></si>" for n in range(number, number + 10_000))
            number += 10_000
            written += len(chunk)
            yield chunk.encode()

    write_workbook(path, [("Data", "visible", lambda: iter([_header_and_a_row()]))], strings)


def _wide_workbook(path: Path, budget: int, notes: int) -> None:
    """100,000 data rows of the template's nine columns and ``notes`` more, every note a
    different shared string (of letters: nothing that looks like an identifier)."""
    per_row = (9 + notes) * 30 + notes * 25
    rows = min(MAX_ROWS, budget // per_row)

    def word(number: int) -> str:
        letters = ""
        while True:
            number, rest = divmod(number, 26)
            letters += chr(97 + rest)
            if not number:
                return "note " + letters

    def sheet():
        yield _row(1, (*HEADER, *(f"note {i}" for i in range(notes)))).encode()
        for first in range(2, rows + 2, 1000):
            chunk = []
            for n in range(first, min(first + 1000, rows + 2)):
                index = (n - 2) * notes
                cells = "".join(
                    f'<c r="{_letter(9 + i)}{n}" t="s"><v>{index + i}</v></c>' for i in range(notes)
                )
                chunk.append(_row(n, ROW)[:-6] + cells + "</row>")
            yield "".join(chunk).encode()

    def strings():
        for first in range(0, rows * notes, 10_000):
            yield "".join(
                f"<si><t>{word(k)}</t></si>"
                for k in range(first, min(first + 10_000, rows * notes))
            ).encode()

    write_workbook(path, [("Data", "visible", sheet)], strings)


def xlsx_full_margin(path: Path, budget: int = UNZIPPED) -> None:
    """100,000 data rows in all 40 columns read (the template's nine and 31 of notes)."""
    _wide_workbook(path, budget, 31)


def xlsx_most_cells(path: Path, budget: int = UNZIPPED) -> None:
    """100,000 data rows of 21 columns (the template's nine and 12 of notes): as many cells
    as a workbook may hold, each note a different shared string."""
    _wide_workbook(path, budget, 12)


def _max_rows_workbook(path: Path, *, formulas: bool, percent: bool) -> None:
    rows_data, _ = _valid_rows(MAX_ROWS)

    def rows():
        yield _row(1, HEADER).encode()
        chunk = []
        for number, values in enumerate(rows_data, start=2):
            text = _row(number, values, {6: 1} if percent else None)
            if formulas and isinstance(values[6], int | float):
                ref = f"G{number}"
                text = text.replace(
                    f'<c r="{ref}"><v>', f'<c r="{ref}"><f>E{number}/F{number}*100</f><v>'
                )
            chunk.append(text)
            if len(chunk) == 1000:
                yield "".join(chunk).encode()
                chunk = []
        yield "".join(chunk).encode()

    write_workbook(path, [("Data", "visible", rows)])


def xlsx_max_rows(path: Path) -> None:
    """100,000 ordinary rows (the CSV benchmark's), the largest return accepted."""
    _max_rows_workbook(path, formulas=False, percent=False)


def xlsx_max_rows_percent(path: Path) -> None:
    """100,000 ordinary rows, the value column formatted as a percentage."""
    _max_rows_workbook(path, formulas=False, percent=True)


def xlsx_max_rows_formulas(path: Path) -> None:
    """100,000 ordinary rows, each value a formula with its saved result."""
    _max_rows_workbook(path, formulas=True, percent=False)


# ---------------------------------------------------------------------------------------------
# CSV


def _csv_header() -> bytes:
    return (",".join(HEADER) + "\n").encode()


def _csv_row(comment: str = "") -> bytes:
    return f"EIP-2WK,southend,2023-24 Q2,,45,60,75,,{comment}\n".encode()


def csv_max_rows(path: Path) -> None:
    """100,000 ordinary rows, the largest return accepted."""
    from returns_validate import generate

    content, _ = generate(MAX_ROWS, 0.001, 20240401)
    path.write_bytes(content)


def csv_long_cells(path: Path) -> None:
    """Rows whose comment is 1 MB of text, to the size limit."""
    row = _csv_row("x" * 1_000_000)
    path.write_bytes(_csv_header() + row * ((MAX_BYTES - 1000) // len(row)))


def csv_one_cell(path: Path) -> None:
    """One row whose comment fills the file."""
    path.write_bytes(_csv_header() + _csv_row("y" * (MAX_BYTES - 1000)))


def csv_nul_deep(path: Path) -> None:
    """Ordinary rows to the size limit with one NUL byte in a comment half way down."""
    rows = (MAX_BYTES - 1000) // len(_csv_row("note"))
    half = (min(rows, MAX_ROWS) - 1) // 2
    path.write_bytes(
        _csv_header() + _csv_row("note") * half + _csv_row("no\x00te") + _csv_row("note") * half
    )


def csv_blank_lines(path: Path) -> None:
    """One row, then blank lines to the size limit."""
    path.write_bytes(_csv_header() + _csv_row() + b"\n" * (MAX_BYTES - 1000))


def csv_commas(path: Path) -> None:
    """One row, then lines of eight commas (blank rows as Excel saves them) to the limit."""
    line = b",,,,,,,,\n"
    path.write_bytes(_csv_header() + _csv_row() + line * ((MAX_BYTES - 1000) // len(line)))


def csv_open_quote(path: Path) -> None:
    """A quote opened in the first row's comment and never closed, then text to the limit."""
    rows = (MAX_BYTES - 1000) // len(_csv_row("more"))
    path.write_bytes(_csv_header() + _csv_row('"never closed') + _csv_row("more") * rows)


CASES: dict[str, Callable[[Path], None]] = {
    "csv_max_rows": csv_max_rows,
    "csv_long_cells": csv_long_cells,
    "csv_one_cell": csv_one_cell,
    "csv_nul_deep": csv_nul_deep,
    "csv_blank_lines": csv_blank_lines,
    "csv_commas": csv_commas,
    "csv_open_quote": csv_open_quote,
    "xlsx_max_rows": xlsx_max_rows,
    "xlsx_max_rows_percent": xlsx_max_rows_percent,
    "xlsx_max_rows_formulas": xlsx_max_rows_formulas,
    "xlsx_full_margin": xlsx_full_margin,
    "xlsx_most_cells": xlsx_most_cells,
    "xlsx_whitespace_rows": xlsx_whitespace_rows,
    "xlsx_whitespace_unnumbered": xlsx_whitespace_unnumbered,
    "xlsx_wide_unnumbered": xlsx_wide_unnumbered,
    "xlsx_long_shared_string": xlsx_long_shared_string,
    "xlsx_far_corner": xlsx_far_corner,
    "xlsx_far_column": xlsx_far_column,
    "xlsx_hidden_sheets": xlsx_hidden_sheets,
    "xlsx_shared_strings": xlsx_shared_strings,
}


def build(case: str, path: Path) -> None:
    """The case's file; one made to fill the unzipped limit is made smaller until it is under
    the upload limit too."""
    make = CASES[case]
    if "budget" not in make.__code__.co_varnames:
        make(path)
        return
    budget = UNZIPPED
    while True:
        make(path, budget)
        size = path.stat().st_size
        if size <= MAX_BYTES:
            return
        budget = int(budget * MAX_BYTES / size * 0.97)


# ---------------------------------------------------------------------------------------------
# Measuring, in a fresh process per file


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(case: str, path: Path) -> None:
    import pandas as pd

    pd.set_option("mode.string_storage", "python")  # as the product runs (kpis.apps)
    from dataclasses import replace

    from kpis.returns.read import read_return
    from kpis.returns.spec import ReturnRejected
    from kpis.returns.validate import validate_return

    if case.endswith("_max_rows") or "_max_rows_" in case:
        from returns_validate import BREAKDOWNS, KPIS, PLACES, context

        from kpis.periods import month

        months = -(-MAX_ROWS // (KPIS * PLACES * len(BREAKDOWNS)))
        periods = [month(2000 + i // 12, i % 12 + 1).label for i in range(months)]
        ctx = context(KPIS, PLACES, periods, MAX_ROWS)  # as the CSV benchmark's
    else:
        from tests.kpis.returns import make_ctx

        ctx = make_ctx()
    ctx = replace(ctx, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    content = path.read_bytes()
    figures = {"before_mb": peak_rss_mb()}
    started = time.perf_counter()
    try:
        raw = read_return(path.name, content, ctx)
    except ReturnRejected as rejected:
        raw = None
        codes = sorted({issue.code for issue in rejected.issues})
        figures["outcome"] = "refused: " + ", ".join(codes)
        figures["reason"] = rejected.issues[0].message[:160]
    figures["read_s"] = time.perf_counter() - started
    figures["read_mb"] = peak_rss_mb()
    if raw is not None:
        started = time.perf_counter()
        result = validate_return(raw, ctx)
        figures["validate_s"] = time.perf_counter() - started
        figures["outcome"] = (
            f"read {len(raw.frame):,} rows: {len(result.errors):,} errors, "
            f"{len(result.warnings):,} warnings"
        )
    figures["peak_mb"] = peak_rss_mb()
    print(json.dumps(figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", type=Path, help="build the files here and keep them")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    directory = args.keep or Path(tempfile.mkdtemp(prefix="returns_hostile_"))
    directory.mkdir(parents=True, exist_ok=True)
    print(
        f"{'case':24} {'MB':>6} {'build s':>7} {'read s':>7} {'valid s':>7} {'peak MB':>8}  outcome"
    )
    for case in args.cases.split(","):
        suffix = ".csv" if case.startswith("csv") else ".xlsx"
        path = directory / f"{case}{suffix}"
        started = time.perf_counter()
        if not path.exists():
            build(case, path)
        built = time.perf_counter() - started
        size = path.stat().st_size / 1e6
        command = [sys.executable, __file__, "--child", case, str(path)]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=args.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"{case:24} {size:6.1f} {built:7.1f}  over {args.timeout:.0f} s", flush=True)
            continue
        if done.returncode != 0:
            wall = time.perf_counter() - started
            tail = (done.stderr.strip().splitlines() or ["?"])[-1][:100]
            print(f"{case:24} {size:6.1f} {built:7.1f}  failed ({wall:.1f} s): {tail}", flush=True)
            continue
        f = json.loads(done.stdout.strip().splitlines()[-1])
        validate = f"{f['validate_s']:7.2f}" if "validate_s" in f else f"{'-':>7}"
        print(
            f"{case:24} {size:6.1f} {built:7.1f} {f['read_s']:7.2f} {validate} "
            f"{f['peak_mb']:8.0f}  {f['outcome']}"
        )
    if args.keep is None:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


if __name__ == "__main__":
    main()
