"""Reading an uploaded return (CSV or XLSX) into a frame of strings, refusing unsafe files.

Pure module: bytes in, a ``RawReturn`` (or ``ReturnRejected`` with the reasons) out. The file type
is judged by content, never by the file name alone. What is checked here is what makes the file
unreadable or unacceptable as a whole: type, encoding, size, macros, external links, embedded
objects, the header, and person-level data (returns hold aggregates only). Row-by-row checks of
the figures are in ``validate.py``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from kpis.returns.spec import (
    COLUMNS,
    NUMBER_COLUMNS,
    REQUIRED_COLUMNS,
    Issue,
    ReturnContext,
    ReturnRejected,
)

VERSION_KEY = "template_version"
DATA_SHEET = "Data"
ABOUT_SHEET = "About"

ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    KeyError,
)
# A decompressed workbook may be this many times the upload limit before it is refused.
UNZIPPED_FACTOR = 30
# Columns of a worksheet read: the template's nine and room for a few of a lead's own notes.
MAX_SHEET_COLUMNS = 40
# Blank rows a sheet may hold beyond its row limit (spreadsheets often carry trailing ones).
MAX_BLANK_ROWS = 10_000

_VERSION_LINE = re.compile(r'^\ufeff?"?#\s*template_version\s*[=:]\s*([^,"\s]+)', re.I)

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-format Excel workbook (.xls), a password-protected workbook or another "
        "Office 97-2003 file",
    ),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "a Rich Text (RTF) document"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# Header names (lower case, letters and digits only) that mean person-level data.
PERSON_LEVEL_HEADERS = frozenset(
    {
        "nhs",
        "nhsno",
        "nhsnum",
        "nhsnumber",
        "dob",
        "dateofbirth",
        "birthdate",
        "postcode",
        "postalcode",
        "patient",
        "patientname",
        "patientid",
        "name",
        "fullname",
        "firstname",
        "forename",
        "forenames",
        "surname",
        "lastname",
        "familyname",
        "address",
        "hospitalnumber",
        "mrn",
    }
)
_PERSON_LEVEL_FRAGMENTS = (
    "nhsnumber",
    "nhsno",
    "dateofbirth",
    "birthdate",
    "postcode",
    "patientname",
    "nationalinsurance",
    "emailaddress",
    "phonenumber",
    "telephone",
)
# Words of a header that name an identifier on their own, or with a word for a person.
_IDENTIFIER_WORDS = frozenset({"email", "mail", "phone", "telephone", "mobile", "tel", "address"})
_NUMBER_WORDS = frozenset({"number", "no", "num", "id", "identifier", "ref", "reference"})
_PERSON_WORDS = frozenset(
    {"client", "patient", "person", "pupil", "resident", "user", "child", "customer", "individual"}
)
_NAME_WORDS = frozenset({"name", "names", "forename", "surname", "initials"})


def looks_person_level(header: str) -> bool:
    """Whether a column header names person-level data: NHS, CHI or National Insurance numbers,
    dates of birth, names, addresses, postcodes, e-mail addresses, telephone numbers, or a
    person's local id ("Client name", "NI number", "D.O.B (dd/mm/yyyy)", "Service user ID")."""
    squashed = _squash(header)
    if squashed in PERSON_LEVEL_HEADERS or any(f in squashed for f in _PERSON_LEVEL_FRAGMENTS):
        return True
    if squashed.startswith("dob"):  # D.O.B, DOB (dd/mm/yyyy)
        return True
    words = re.findall(r"[a-z0-9]+", str(header).lower().replace("e-mail", "email"))
    found = set(words)
    numbered = bool(found & _NUMBER_WORDS)
    if found & _IDENTIFIER_WORDS or "dob" in found:
        return True
    if numbered and found & {"nhs", "chi", "ni", "nino", "hospital", "mrn"}:
        return True
    if found & _PERSON_WORDS and (numbered or found & _NAME_WORDS):
        return True
    # A name with nothing to say whose: "Name", "Full name", "First name", "Given name".
    return bool(found & _NAME_WORDS) and found <= _NAME_WORDS | {
        "full",
        "first",
        "last",
        "given",
        "family",
        "middle",
    }


# Ten digits, spaced 3-3-4 or not, as a cell of their own or inside text (not within a longer
# run of digits).
_NHS_NUMBER_INSIDE = r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}"
_NHS_NUMBER_RUN = re.compile(r"(?<![0-9])([0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4})(?![0-9])")
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# UK telephone numbers: +44 or 0, then ten digits (or nine), spaced as people write them.
_UK_PHONE = r"(?:^|[^0-9])(?:\+44 ?\(?0?\)? ?|0)(?:[0-9][ -]?){9,10}(?:[^0-9]|$)"
# The UK postcode shapes (outward code, optional space, inward code), as in BS 7666; matched
# ignoring case.
_POSTCODE_SHAPE = (
    r"(?:GIR ?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y]) ?[0-9][ABD-HJLNP-UW-Z]{2})"
)
_POSTCODE = f"^{_POSTCODE_SHAPE}$"
_POSTCODE_INSIDE = f"(?:^|[^A-Za-z0-9]){_POSTCODE_SHAPE}(?:[^A-Za-z0-9]|$)"


@dataclass
class RawReturn:
    """A return as read: every expected column as stripped strings, plus ``row``."""

    frame: pd.DataFrame
    file_type: str  # "csv" or "xlsx"
    template_version: str | None
    file_warnings: list[Issue] = field(default_factory=list)
    # Cell-level problems found while reading that do not stop the rest being validated.
    file_errors: list[Issue] = field(default_factory=list)
    # (row, column) of number cells formatted as percentages in a workbook: 0.45 shown as 45%.
    percent_cells: frozenset[tuple[int, str]] = frozenset()
    header_row: int = 1
    # Data records below the header, blank ones included (a quoted cell may span lines).
    data_rows: int = 0
    # Each column of ``frame`` factorised: per row a code into the distinct values, so the
    # validator parses each distinct spelling once without factorising the column again.
    distinct: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _reject(code: str, message: str, *, row=None, column=None, value: str = "") -> ReturnRejected:
    return ReturnRejected([Issue(row, column, value, message, code)])


def _damaged_sheet(name: str, error: Exception) -> ReturnRejected:
    return _reject(
        "xlsx_damaged",
        f"'{name}' cannot be read ({type(error).__name__}: {error}); expected a complete "
        ".xlsx file: save it again and re-upload.",
    )


def read_return(filename: str, content: bytes, ctx: ReturnContext) -> RawReturn:
    """Read a return; raise ``ReturnRejected`` with every reason when it cannot be accepted."""
    name = filename or "the file"
    if len(content) > ctx.max_bytes:
        raise _reject(
            "file_too_large",
            f"'{name}' is {len(content):,} bytes; the largest accepted is {ctx.max_bytes:,} "
            "bytes. Split it into smaller returns.",
            value=str(len(content)),
        )
    if not content.strip():
        raise _reject("empty_file", f"'{name}' is empty; expected a CSV or XLSX return.")
    if content[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _read_xlsx(name, content, ctx)
    for signature, description in _SIGNATURES:
        if content.startswith(signature):
            raise _reject(
                "unsupported_file_type",
                f"'{name}' is {description}; expected a CSV (UTF-8) or an Excel .xlsx workbook.",
                value=description,
            )
    if content.startswith(_UTF16_BOMS) or content[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise _reject(
            "encoding",
            f"'{name}' is UTF-16 or UTF-32 text (Excel's 'Unicode Text'); expected CSV in UTF-8. "
            "In Excel use Save As 'CSV UTF-8 (Comma delimited)'.",
            value="UTF-16",
        )
    if b"\x00" in content[:8192]:
        raise _reject(
            "unsupported_file_type",
            f"'{name}' is a binary file, not text; expected a CSV (UTF-8) or an Excel .xlsx "
            "workbook.",
            value="binary",
        )
    return _read_csv(name, content, ctx)


# ---------------------------------------------------------------------------------------------
# CSV


def _decode(name: str, content: bytes, row_offset: int = 0) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # The decoder counts from after a byte-order mark, which it has already taken off.
        start = error.start + (3 if content.startswith(codecs.BOM_UTF8) else 0)
        lines = content[:start].split(b"\n")
        line = len(lines)
        header = 1 + next(
            (
                i
                for i, text in enumerate(lines)
                if not text.lstrip(b'\xef\xbb\xbf"').startswith(b"#")
            ),
            len(lines) - 1,
        )
        if line > header:
            line += row_offset  # a data row of a chunk: numbered as in the whole file
        byte = content[start : start + 1]
        raise _reject(
            "encoding",
            f"'{name}' is not UTF-8 text: byte 0x{byte.hex().upper()} on line {line} cannot be "
            "read (the file was probably saved as Windows-1252, Excel's plain 'CSV'). Expected "
            "UTF-8: in Excel use Save As 'CSV UTF-8 (Comma delimited)'.",
            row=line,
            value=f"0x{byte.hex().upper()}",
        ) from None


def _read_csv(name: str, content: bytes, ctx: ReturnContext) -> RawReturn:
    text = _decode(name, content, ctx.row_offset)
    head = text.lstrip()[:200].lower()
    if head.startswith("<"):
        kind = "an HTML or XML document"
        if "excel.sheet" in text[:2000].lower():
            kind = "an Excel 2003 XML spreadsheet"
        raise _reject(
            "unsupported_file_type",
            f"'{name}' is {kind}, not a CSV; expected a CSV (UTF-8) or an Excel .xlsx workbook.",
            value=kind,
        )
    # Leading comment lines ("#template_version=2024.1") count as spreadsheet rows.
    version = None
    comments = 0
    position = 0
    while position < len(text) and text[position : position + 2].lstrip('"').startswith("#"):
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        match = _VERSION_LINE.match(text[position:end].strip())
        if match and version is None:
            version = match.group(1)
        comments += 1
        position = end + 1
    body = text[position:]
    if not body.strip():
        raise _reject(
            "no_data",
            f"'{name}' has no header row; expected a header ({', '.join(COLUMNS)}) and data rows.",
        )
    # The same body as bytes, for Arrow: after the byte-order mark and the comment lines.
    start = len(text[:position].encode()) + (3 if content.startswith(codecs.BOM_UTF8) else 0)
    if (read := _read_csv_arrow(content[start:])) is not None:
        header, factored, records = read
        return _build(
            name=name,
            file_type="csv",
            header=header,
            header_row=comments + 1,
            factored=factored,
            rows=np.arange(2, records + 2) + comments + ctx.row_offset,
            version=version,
            ctx=ctx,
        )
    try:
        table = pd.read_csv(
            io.StringIO(body),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            sep=",",
            engine="c",
        )
    except pd.errors.ParserError as error:
        raise ReturnRejected(
            _csv_bad_lines(name, body, comments, str(error), ctx.row_offset)
        ) from None
    except (ValueError, UnicodeError, csv.Error, pd.errors.EmptyDataError) as error:
        raise _reject(
            "csv_malformed",
            f"'{name}' cannot be read as CSV ({error}); expected comma-separated values.",
        ) from None
    table = table.fillna("")
    table.columns = range(table.shape[1])
    header = [str(value) for value in table.iloc[0].tolist()]
    data = table.iloc[1:].reset_index(drop=True)
    rows = np.arange(2, len(table) + 1) + comments + ctx.row_offset
    return _build(
        name=name,
        file_type="csv",
        header=header,
        header_row=comments + 1,
        factored={position: _factor(data[position]) for position in data.columns},
        rows=rows,
        version=version,
        ctx=ctx,
    )


def _read_csv_arrow(body: bytes) -> tuple[list[str], dict, int] | None:
    """The header, each column factorised (data rows only) and the number of data records,
    read by Arrow's CSV parser straight into dictionary-encoded columns: several times faster
    than pandas for a large file. Only for the plain shape, no quote marks, where both parsers
    read the same cells; anything Arrow refuses (a ragged row, say) is left to pandas, whose
    errors the messages are written for."""
    if b'"' in body or b"\x00" in body:
        return None
    if b"\r" in body and body.count(b"\r") != body.count(b"\r\n"):
        return None
    end = body.find(b"\n")
    first = (body if end < 0 else body[:end]).removesuffix(b"\r")
    if not first:
        return None  # pandas finds no columns in a file that starts with a blank line
    width = first.count(b",") + 1
    try:
        table = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={
                    f"f{i}": pa.dictionary(pa.int32(), pa.string()) for i in range(width)
                },
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_columns != width or table.num_rows == 0:
        return None
    table = table.unify_dictionaries()
    header = []
    factored = {}
    for position, column in enumerate(table.columns):
        # to_pylist, not to_numpy: the latter is many times slower for a dictionary's strings.
        uniques = column.chunk(0).dictionary.to_pylist()
        codes = np.concatenate(
            [chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks]
        ).astype(np.intp)
        header.append(uniques[codes[0]])
        cleaned = np.array([u.strip() for u in uniques], dtype=object)
        factored[position] = (codes[1:], cleaned)
    return header, factored, table.num_rows - 1


def _csv_bad_lines(
    name: str, body: str, comments: int, detail: str, row_offset: int = 0
) -> list[Issue]:
    """Every record with more fields than the header (only read when pandas has refused)."""
    issues = []
    try:
        reader = csv.reader(io.StringIO(body))
        width = None
        for index, record in enumerate(reader):
            if width is None:
                width = len(record)
            elif len(record) > width:
                row = index + 1 + comments + row_offset
                issues.append(
                    Issue(
                        row,
                        None,
                        str(len(record)),
                        f"Row {row} has {len(record)} fields; the header has "
                        f"{width}. Expected one value per column (quote text containing commas).",
                        "csv_malformed",
                    )
                )
    except csv.Error as error:
        detail = f"{detail}; {error}"
    if not issues:
        issues.append(
            Issue(
                None,
                None,
                "",
                f"'{name}' cannot be read as CSV: {detail}. Expected comma-separated values "
                "with text containing commas or quotes in double quotes.",
                "csv_malformed",
            )
        )
    return issues


# ---------------------------------------------------------------------------------------------
# XLSX


def _zip_checks(name: str, archive: zipfile.ZipFile, ctx: ReturnContext) -> list[Issue]:
    """Macros, external links, embedded objects and decompression bombs: from the zip parts."""
    infos = archive.infolist()
    names = {info.filename.lower(): info.filename for info in infos}
    issues: list[Issue] = []
    unzipped = sum(info.file_size for info in infos)
    if unzipped > UNZIPPED_FACTOR * ctx.max_bytes:
        issues.append(
            Issue(
                None,
                None,
                str(unzipped),
                f"'{name}' unpacks to {unzipped:,} bytes; the largest accepted is "
                f"{UNZIPPED_FACTOR * ctx.max_bytes:,}. Split it into smaller returns.",
                "file_too_large",
            )
        )
        return issues
    content_types = ""
    if "[content_types].xml" in names:
        content_types = archive.read(names["[content_types].xml"]).decode("utf-8", "replace")
    macro_parts = sorted(
        original
        for lower, original in names.items()
        if lower.endswith("vbaproject.bin")
        or lower.startswith(("xl/macrosheets/", "xl/activex/", "xl/dialogsheets/"))
    )
    lowered_types = content_types.lower()
    if "macroenabled" in lowered_types:
        macro_parts.append("[Content_Types].xml: macroEnabled workbook")
    if "vbaproject" in lowered_types and not any("vbaproject" in p.lower() for p in macro_parts):
        macro_parts.append("[Content_Types].xml: vbaProject")
    for part in macro_parts:
        issues.append(
            Issue(
                None,
                None,
                part,
                f"'{name}' contains macros or ActiveX controls ({part}); returns must not. "
                "Expected a plain .xlsx workbook: copy the data into the current template.",
                "macros",
            )
        )
    external = [
        original
        for lower, original in names.items()
        if lower.startswith("xl/externallinks/") or lower == "xl/connections.xml"
    ]
    for lower, original in names.items():
        if not lower.endswith(".rels"):
            continue
        try:
            tree = ElementTree.fromstring(archive.read(original))
        except ElementTree.ParseError:
            if re.search(rb"TargetMode\s*=\s*[\"']External", archive.read(original), re.I):
                external.append(f"{original} (unreadable, with external targets)")
            continue
        for relation in tree:
            if (relation.get("TargetMode") or "").lower() != "external":
                continue
            if (relation.get("Type") or "").endswith("/hyperlink"):
                continue  # a clickable link in a cell reads no data
            external.append(f"{original} -> {relation.get('Target')}")
    for part in external:
        issues.append(
            Issue(
                None,
                None,
                part,
                f"'{name}' links to external workbooks or data sources ({part}); returns must "
                "not. Expected values only: paste as values (Paste Special > Values) and remove "
                "the links (Data > Edit Links > Break Link).",
                "external_links",
            )
        )
    for original in sorted(o for lower, o in names.items() if _is_worksheet(lower)):
        if (far := _cell_beyond_margin(archive, original)) is not None:
            issues.append(
                Issue(
                    None,
                    None,
                    far,
                    f"'{name}' has a cell in column {far.rstrip('0123456789')} "
                    f"({original.rsplit('/', 1)[-1]}, cell {far}); a return holds only the "
                    f"template's columns, up to column {_letter(MAX_SHEET_COLUMNS)}. Delete the "
                    "columns to the right of the return's own and upload it again.",
                    "cells_beyond_template",
                )
            )
    for original in sorted(o for lower, o in names.items() if lower.startswith("xl/embeddings/")):
        issues.append(
            Issue(
                None,
                None,
                original,
                f"'{name}' contains an embedded object or file ({original}); returns must not. "
                "Expected a workbook holding only the return's cells.",
                "embedded_object",
            )
        )
    return issues


def _is_worksheet(part: str) -> bool:
    return part.startswith("xl/worksheets/") and part.endswith(".xml")


# A cell reference past column AN (the 40th): AO-AZ, BA-ZZ, or any three-letter column.
_FAR_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="((?:A[O-Z]|[B-Z][A-Z]|[A-Z]{3})[0-9]+)"')


def _cell_beyond_margin(archive: zipfile.ZipFile, part: str) -> str | None:
    """The first cell of a worksheet part beyond the columns a return may use, if any, found by
    streaming the part's XML (so a sheet is never held whole to look)."""
    tail = b""
    with archive.open(part) as stream:
        while piece := stream.read(1 << 20):
            window = tail + piece
            if found := _FAR_CELL.search(window):
                return found.group(1).decode("ascii")
            tail = window[-256:]  # a reference split across two pieces
    return None


def _open_zip(name: str, content: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        lower = {n.lower() for n in archive.namelist()}
    except ZIP_ERRORS as error:
        raise _reject(
            "xlsx_damaged",
            f"'{name}' starts like an Excel workbook (a zip archive) but is damaged or incomplete "
            f"({error}); expected a complete .xlsx file: save it again and re-upload.",
        ) from None
    if "xl/workbook.xml" in lower:
        return archive
    kinds = (
        ("xl/workbook.bin", "an Excel binary workbook (.xlsb)"),
        ("word/document.xml", "a Word document"),
        ("ppt/presentation.xml", "a PowerPoint presentation"),
        ("content.xml", "an OpenDocument file (.ods)"),
    )
    kind = next((k for part, k in kinds if part in lower), "a zip archive")
    raise _reject(
        "unsupported_file_type",
        f"'{name}' is {kind}, not an Excel .xlsx workbook; expected a CSV (UTF-8) or .xlsx: "
        "save it as 'Excel Workbook (.xlsx)'.",
        value=kind,
    )


def _is_percent_format(number_format: str | None) -> bool:
    if not number_format or "%" not in number_format:
        return False
    # A % in quotes or escaped with a backslash is shown as it is, without scaling by 100.
    unquoted = re.sub(r'"[^"]*"|\\.', "", number_format)
    return "%" in unquoted


def _number_text(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _load_workbook(name: str, content: bytes, data_only: bool):
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_workbook(
                io.BytesIO(content), read_only=True, data_only=data_only, keep_links=False
            )
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds on damaged files
        raise _reject(
            "xlsx_damaged",
            f"'{name}' cannot be opened as an Excel workbook ({type(error).__name__}: {error}); "
            "expected a complete .xlsx file: save it again and re-upload.",
        ) from None


def _pick_sheet(workbook):
    sheets = workbook.worksheets
    for sheet in sheets:
        if sheet.title.strip().lower() == DATA_SHEET.lower():
            return sheet
    visible = [s for s in sheets if getattr(s, "sheet_state", "visible") == "visible"]
    return (visible or sheets or [None])[0]


def _xlsx_version(workbook) -> str | None:
    for sheet in workbook.worksheets:
        if sheet.title.strip().lower() != ABOUT_SHEET.lower():
            continue
        for values in sheet.iter_rows(max_row=50, max_col=6, values_only=True):
            cells = list(values)
            for index, cell in enumerate(cells[:-1]):
                if isinstance(cell, str) and cell.strip().lower() == VERSION_KEY:
                    found = cells[index + 1]
                    if found is not None and str(found).strip():
                        return _number_text(found).strip()
    try:
        for prop in workbook.custom_doc_props:
            if prop.name.strip().lower() == VERSION_KEY and prop.value is not None:
                return str(prop.value).strip()
    except (AttributeError, TypeError):
        pass
    try:
        defined = workbook.defined_names.get(VERSION_KEY)
    except (AttributeError, TypeError):
        defined = None
    if defined is not None and (defined.attr_text or "").startswith('"'):
        return defined.attr_text.strip('"').strip()
    return None


def _read_xlsx(name: str, content: bytes, ctx: ReturnContext) -> RawReturn:
    archive = _open_zip(name, content)
    try:
        issues = _zip_checks(name, archive, ctx)
    except ZIP_ERRORS as error:
        raise _reject(
            "xlsx_damaged",
            f"'{name}' starts like an Excel workbook (a zip archive) but is damaged or incomplete "
            f"({type(error).__name__}: {error}); expected a complete .xlsx file: save it again "
            "and re-upload.",
        ) from None
    if issues:
        raise ReturnRejected(issues)
    workbook = _load_workbook(name, content, data_only=True)
    try:
        sheet = _pick_sheet(workbook)
        if sheet is None:
            raise _reject("no_data", f"'{name}' has no worksheets; expected a 'Data' sheet.")
        version = _xlsx_version(workbook)
        table, percent, dates, formulas_possible = _sheet_cells(name, sheet, ctx)
        sheet_title = sheet.title
        if personal := _identifiers_on_other_sheets(workbook, sheet, ctx):
            raise ReturnRejected(personal)
    except ReturnRejected:
        raise
    except Exception as error:  # noqa: BLE001 - damaged sheet XML surfaces as many kinds
        raise _damaged_sheet(name, error) from None
    finally:
        workbook.close()
    if not table:
        raise _reject(
            "no_data", f"'{name}' sheet '{sheet_title}' is empty; expected a header and data rows."
        )
    width = max(len(cells) for _, cells in table)
    header_row, header = table[0]
    header = [*header, *[""] * (width - len(header))]
    rows = np.array([number for number, _ in table[1:]], dtype=np.int64)
    data = pd.DataFrame(
        [[*cells, *[""] * (width - len(cells))] for _, cells in table[1:]],
        columns=range(width),
        dtype=object,
    )
    if data.empty:
        data = pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
    formula_cells: dict[tuple[int, int], str] = {}
    if formulas_possible:
        formula_cells = _formula_cells(name, content, sheet_title, ctx)
    raw = _build(
        name=name,
        file_type="xlsx",
        header=header,
        header_row=header_row,
        factored={position: _factor(data[position]) for position in data.columns},
        rows=rows,
        version=version,
        ctx=ctx,
    )
    by_index = _column_index(header)
    names = {index: column for column, index in by_index.items()}
    raw.percent_cells = frozenset(
        (row, names[col]) for row, col in percent if col in names and names[col] in NUMBER_COLUMNS
    )
    formula_columns = {names[col] for _, col in formula_cells if col in names}
    frame_rows = raw.frame["row"].tolist()
    cached = {
        column: dict(zip(frame_rows, raw.frame[column].tolist(), strict=True))
        for column in formula_columns
    }
    for (row, col), formula in sorted(formula_cells.items()):
        column = names.get(col)
        if row == header_row or column is None or row not in cached[column]:
            continue  # the header, an ignored column or a blank row
        found = str(cached[column][row])
        if found == "":
            raw.file_errors.append(
                Issue(
                    row,
                    column,
                    f"={formula}",
                    f"The cell holds a formula (={formula}) with no saved result; expected a "
                    "value. Open the file in Excel, let it calculate and save, or paste as values.",
                    "formula_no_value",
                )
            )
        else:
            raw.file_warnings.append(
                Issue(
                    row,
                    column,
                    found,
                    f"The cell holds a formula (={formula}); its saved result {found} will be "
                    "used. Confirm it is right, or paste as values.",
                    "formula",
                    "warning",
                )
            )
    for row, col, found, month_label in dates:
        if names.get(col) != "period":
            continue
        raw.file_warnings.append(
            Issue(
                row,
                "period",
                found,
                f"Excel stored the period as a date ({found}); it was read as '{month_label}'. "
                "Confirm that is the period meant, or format the column as Text.",
                "period_as_date",
                "warning",
            )
        )
    return raw


def _identifiers_on_other_sheets(workbook, data_sheet, ctx: ReturnContext) -> list[Issue]:
    """The person-level screen over every other sheet, hidden ones too: each distinct cell
    text is matched once, and a hit is named by sheet, column and row, its value masked."""
    issues: list[Issue] = []
    for sheet in workbook.worksheets:
        if sheet.title == data_sheet.title:
            continue
        sheet.reset_dimensions()
        first_seen: dict[str, tuple[int, int]] = {}
        rows = sheet.iter_rows(max_col=MAX_SHEET_COLUMNS, values_only=True)
        for row_number, values in enumerate(rows, start=1):
            if row_number > ctx.max_rows + MAX_BLANK_ROWS:
                break
            for position, value in enumerate(values):
                if value is not None and (text := _cell_text(value).strip()):
                    first_seen.setdefault(text, (row_number, position))
        if not first_seen:
            continue
        texts = np.array(list(first_seen), dtype=object)
        for mask, what in zip(_identifiers(texts), IDENTIFIER_KINDS, strict=True):
            for text in texts[mask].tolist():
                row, position = first_seen[text]
                shown = _mask_identifier(text)
                column = f"{sheet.title}!{_letter(position)}"
                issues.append(
                    Issue(
                        row,
                        column,
                        shown,
                        f"Sheet '{sheet.title}' (cell {_letter(position)}{row}) holds what looks "
                        f"like {what} ({shown}); returns hold aggregate figures only, on every "
                        "sheet, hidden ones included. Remove it and upload again.",
                        "person_level_value",
                    )
                )
    return sorted(issues, key=lambda issue: (issue.column, issue.row))


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time | timedelta):
        return str(value)
    return _number_text(value)


def _sheet_cells(name: str, sheet, ctx: ReturnContext):
    """Rows of strings (with their spreadsheet row numbers), percent cells and date periods."""
    sheet.reset_dimensions()
    table: list[tuple[int, list[str]]] = []
    percent: list[tuple[int, int]] = []
    dates: list[tuple[int, int, str, str]] = []
    number_positions: set[int] = set()
    period_position = None
    data_rows = 0
    rows_after_header = 0
    # Only the template's columns and a margin are read: a cell far to the right (column XFD)
    # would otherwise have every row padded to 16,384 cells.
    for row_number, cells in enumerate(sheet.iter_rows(max_col=MAX_SHEET_COLUMNS), start=1):
        if table:
            # Blank rows count towards the limit too, so a sheet of millions of empty or
            # whitespace rows is refused at the limit rather than read to its end.
            rows_after_header += 1
            if rows_after_header > ctx.max_rows + MAX_BLANK_ROWS:
                raise _too_many_rows(name, ctx)
        values = [_cell_text(getattr(cell, "value", None)) for cell in cells]
        while values and not values[-1].strip():
            values.pop()
        if not values:
            continue
        if not table:
            table.append((row_number, values))
            index = _column_index(values)
            number_positions = {index[c] for c in NUMBER_COLUMNS if c in index}
            period_position = index.get("period")
            continue
        data_rows += 1
        if data_rows > ctx.max_rows:
            raise _too_many_rows(name, ctx)
        table.append((row_number, values))
        for position in number_positions:
            if position < len(cells):
                cell = cells[position]
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    if _is_percent_format(cell.number_format):
                        percent.append((row_number, position))
        if period_position is not None and period_position < len(cells):
            found = cells[period_position].value
            if isinstance(found, datetime | date) and found.day == 1:
                label = f"{found.strftime('%b')} {found.year}"
                dates.append((row_number, period_position, values[period_position], label))
                values[period_position] = label
    formulas_possible = _sheet_has_formulas(sheet)
    return table, percent, dates, formulas_possible


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _sheet_has_formulas(sheet) -> bool:
    path = getattr(sheet, "_worksheet_path", None)
    archive = getattr(sheet.parent, "_archive", None)
    if not path or archive is None:
        return True
    try:
        with archive.open(path) as source:
            tail = b""
            while chunk := source.read(1 << 20):
                if _FORMULA_TAG.search(tail + chunk):
                    return True
                tail = chunk[-8:]
    except ZIP_ERRORS:
        return True
    return False


def _formula_cells(name: str, content: bytes, title: str, ctx) -> dict[tuple[int, int], str]:
    """(row, 0-based column) -> formula text of every formula cell of the sheet."""
    workbook = _load_workbook(name, content, data_only=False)
    found: dict[tuple[int, int], str] = {}
    try:
        sheet = workbook[title]
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=MAX_SHEET_COLUMNS)
        for row_number, cells in enumerate(rows, start=1):
            for position, cell in enumerate(cells):
                if getattr(cell, "data_type", None) == "f":
                    text = str(cell.value or "").lstrip("=")
                    found[(row_number, position)] = text
            if row_number > ctx.max_rows + MAX_BLANK_ROWS:
                break
    except Exception as error:  # noqa: BLE001 - damaged sheet XML surfaces as many kinds
        raise _damaged_sheet(name, error) from None
    finally:
        workbook.close()
    return found


# ---------------------------------------------------------------------------------------------
# Both formats


def _normal(header: str) -> str:
    return str(header).strip().lower()


def _column_index(header: list[str]) -> dict[str, int]:
    """Expected column -> position of its first occurrence in the header."""
    index: dict[str, int] = {}
    for position, text in enumerate(header):
        key = _normal(text)
        if key in COLUMNS and key not in index:
            index[key] = position
    return index


def _too_many_rows(name: str, ctx: ReturnContext) -> ReturnRejected:
    return _reject(
        "too_many_rows",
        f"'{name}' has more than {ctx.max_rows:,} data rows; the largest accepted is "
        f"{ctx.max_rows:,}. Split it into smaller returns.",
    )


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _header_issues(name: str, header: list[str], header_row: int) -> list[Issue]:
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for position, text in enumerate(header):
        key = _normal(text)
        if key in COLUMNS:
            if key in seen:
                issues.append(
                    Issue(
                        header_row,
                        key,
                        str(text),
                        f"Column '{key}' appears twice in the header (columns {_letter(seen[key])} "
                        f"and {_letter(position)}); expected each column once.",
                        "duplicate_column",
                    )
                )
            else:
                seen[key] = position
            continue
        if looks_person_level(text):
            issues.append(
                Issue(
                    header_row,
                    str(text).strip()[:120],
                    str(text).strip()[:120],
                    f"Column '{str(text).strip()[:120]}' (column {_letter(position)}) looks like "
                    "person-level data; returns hold aggregate figures only. Remove the column "
                    "and any personal details, then upload again.",
                    "person_level_column",
                )
            )
    squashed_header = {_squash(t): str(t).strip()[:120] for t in header if str(t).strip()}
    missing = [column for column in REQUIRED_COLUMNS if column not in seen]
    for column in missing:
        near = squashed_header.get(_squash(column))
        hint = f" (found '{near}': rename it to '{column}')" if near else ""
        found = ", ".join(f"'{str(t).strip()}'" for t in header if str(t).strip())[:300]
        separator = ""
        if len([t for t in header if str(t).strip()]) == 1 and re.search(r"[;\t|]", header[0]):
            separator = " The header looks separated by ';', tabs or '|': use commas."
        issues.append(
            Issue(
                header_row,
                column,
                "",
                f"Required column '{column}' is missing{hint}; the header found was "
                f"{found or '(empty)'}. Expected the columns {', '.join(COLUMNS)}.{separator}",
                "missing_column",
            )
        )
    return issues


def _factor(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values, white space stripped (each distinct string stripped once)."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=False)
    cleaned = np.array(["" if u is None else str(u).strip() for u in uniques], dtype=object)
    return codes, cleaned


def _nhs_valid(digits: list[str]) -> np.ndarray:
    """Modulus 11 check of ten-digit strings (NHS Data Dictionary)."""
    matrix = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8)
    matrix = matrix.reshape(-1, 10).astype(np.int64) - 48
    weights = np.arange(10, 1, -1)
    check = 11 - (matrix[:, :9] * weights).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    return (check != 10) & (check == matrix[:, 9])


def _identifiers(uniques: np.ndarray) -> tuple[np.ndarray, ...]:
    """Masks over distinct values, one for each of ``IDENTIFIER_KINDS``: a valid NHS number or
    a UK postcode as the whole cell or inside its text, an e-mail address, a UK telephone
    number. Arrow matches the shapes over the whole array at once, on each value's ASCII form;
    only values that hold a candidate are looked at one by one."""
    texts = _ascii_forms(uniques)
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False)
    nhs = np.zeros(len(texts), dtype=bool)
    maybe = np.flatnonzero(lengths >= 10)
    if len(maybe):
        maybe = maybe[_matches(texts.take(maybe), _NHS_NUMBER_INSIDE)]
    if len(maybe):
        nhs[maybe] = [_holds_nhs_number(text) for text in texts.take(maybe).to_pylist()]
    postcode = np.zeros(len(texts), dtype=bool)
    maybe = np.flatnonzero((lengths >= 5) & (lengths <= 8))
    if len(maybe):
        postcode[maybe] = _matches(texts.take(maybe), _POSTCODE, ignore_case=True)
    maybe = np.flatnonzero(lengths > 8)
    if len(maybe):
        # Inside text, written as postcodes are (upper case, between words).
        postcode[maybe] |= _matches(texts.take(maybe), _POSTCODE_INSIDE)
    email = _matches(texts, _EMAIL) if len(texts) else np.zeros(0, dtype=bool)
    phone = _matches(texts, _UK_PHONE) if len(texts) else np.zeros(0, dtype=bool)
    return nhs, postcode, email, phone


IDENTIFIER_KINDS = ("an NHS number", "a UK postcode", "an e-mail address", "a telephone number")


def _holds_nhs_number(text: str) -> bool:
    """Whether any run of ten digits (spaced 3-3-4 or not) in the text passes modulus 11."""
    candidates = [re.sub(r"[ -]", "", found.group(1)) for found in _NHS_NUMBER_RUN.finditer(text)]
    return bool(candidates) and bool(_nhs_valid(candidates).any())


def _ascii_forms(uniques: np.ndarray) -> pa.Array:
    """The values as identifiers are matched: one with characters beyond ASCII is taken in its
    compatibility form (NFKC), with the digits of any script as 0-9 and letters upper-cased,
    so an NHS number or postcode typed in full-width or Arabic-Indic digits is still found."""
    texts = pa.array(uniques, type=pa.string())
    beyond = np.flatnonzero(~pc.string_is_ascii(texts).to_numpy(zero_copy_only=False))
    if not len(beyond):
        return texts
    values = np.asarray(uniques, dtype=object).copy()
    values[beyond] = [_ascii_form(str(value)) for value in values[beyond]]
    return pa.array(values, type=pa.string())


def _ascii_form(text: str) -> str:
    normal = unicodedata.normalize("NFKC", text)
    digits = (
        str(digit) if (digit := unicodedata.decimal(char, None)) is not None else char
        for char in normal
    )
    return "".join(digits).upper()


def _matches(texts: pa.Array, pattern: str, *, ignore_case: bool = False) -> np.ndarray:
    found = pc.match_substring_regex(texts, pattern, ignore_case=ignore_case)
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _mask_identifier(text: str) -> str:
    """Enough of an identifier to find the cell, not enough to disclose it."""
    text = text.strip()
    return text[:3] + "\u2026" if len(text) > 3 else "\u2026"


def _build(
    *,
    name: str,
    file_type: str,
    header: list[str],
    header_row: int,
    factored: dict[int, tuple[np.ndarray, np.ndarray]],
    rows: np.ndarray,
    version: str | None,
    ctx: ReturnContext,
) -> RawReturn:
    """The return from its header and its data columns, each factorised (codes per row into
    distinct values, white space stripped); ``rows`` numbers the data rows as in the file."""
    issues = _header_issues(name, header, header_row)
    keep = np.zeros(len(rows), dtype=bool)
    for codes, uniques in factored.values():
        keep |= (uniques != "")[codes]
    count = int(keep.sum())
    if count > ctx.max_rows:
        raise _too_many_rows(name, ctx)
    rows = np.asarray(rows, dtype=np.int64)
    personal: list[tuple[int, int, Issue]] = []
    for position, (codes, uniques) in factored.items():
        column = _normal(header[position]) if position < len(header) else ""
        column = column or _letter(position)
        for mask, what in zip(_identifiers(uniques), IDENTIFIER_KINDS, strict=True):
            if not mask.any():
                continue
            hit = mask[codes] & keep
            for row, value in zip(rows[hit].tolist(), uniques[codes[hit]].tolist(), strict=True):
                shown = _mask_identifier(value)
                personal.append(
                    (
                        row,
                        position,
                        Issue(
                            row,
                            column,
                            shown,
                            f"The cell holds what looks like {what} ({shown}); returns hold "
                            "aggregate figures only, never person-level data. Remove it and "
                            "upload again.",
                            "person_level_value",
                        ),
                    )
                )
    issues += [issue for _, _, issue in sorted(personal, key=lambda item: item[:2])]
    if count == 0 and not issues:
        issues.append(
            Issue(
                None,
                None,
                "",
                f"'{name}' has a header but no data rows; expected at least one row of figures.",
                "no_data",
            )
        )
    if issues:
        raise ReturnRejected(issues)
    index = _column_index(header)
    columns = {}
    distinct = {}
    for column in COLUMNS:
        if column in index and index[column] in factored:
            codes, uniques = _distinct_of(*factored[index[column]], keep)
        else:
            codes, uniques = np.zeros(count, dtype=np.intp), np.array([""], dtype=object)
        distinct[column] = (codes, uniques)
        columns[column] = uniques[codes]
    frame = pd.DataFrame(columns, dtype=object)
    frame["row"] = rows[keep]
    known = set(index.values())
    file_warnings = [
        Issue(
            header_row,
            str(text).strip()[:120],
            str(text).strip()[:120],
            f"Column '{str(text).strip()[:120]}' is not a return column and was ignored; expected "
            f"only {', '.join(COLUMNS)}.",
            "extra_column",
            "warning",
        )
        for position, text in enumerate(header)
        if str(text).strip() and position not in known and _normal(text) not in COLUMNS
    ]
    return RawReturn(
        frame=frame,
        file_type=file_type,
        template_version=version,
        file_warnings=file_warnings,
        header_row=header_row,
        data_rows=len(rows),
        distinct=distinct,
    )


def _distinct_of(
    codes: np.ndarray, cleaned: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the kept rows into their distinct values: spellings that are equal once
    stripped are merged, and values no kept row holds are dropped."""
    if len(set(cleaned.tolist())) == len(cleaned):
        codes, uniques = codes[keep], cleaned  # stripping merged no spellings
    else:
        merged, uniques = pd.factorize(pd.Series(cleaned, dtype=object), use_na_sentinel=False)
        codes = merged[codes[keep]]
    used = np.bincount(codes, minlength=len(uniques)) > 0
    if used.all():
        return codes, np.asarray(uniques, dtype=object)
    renumbered = np.cumsum(used) - 1
    return renumbered[codes], np.asarray(uniques, dtype=object)[used]
