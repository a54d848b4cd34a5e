"""Reading an uploaded return (CSV or XLSX) into a frame of strings, refusing unsafe files.

Pure module: bytes in, a ``RawReturn`` (or ``ReturnRejected`` with the reasons) out. The file type
is judged by content, never by the file name alone. What is checked here is what makes the file
unreadable or unacceptable as a whole: type, encoding, size, macros, external links, embedded
objects, the header, and person-level data (returns hold aggregates only). Row-by-row checks of
the figures are in ``validate.py``.

Any file under the size limit is read with bounded work: blank rows count towards the row limit,
a workbook is scanned for what would make it costly before a cell is read (see "XLSX" below),
and a read still running at its deadline (``READ_SECONDS``) is refused with the reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import pyexpat
import re
import unicodedata
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import monotonic
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
# Text a worksheet may hold, and the shared-strings table, as a multiple of the upload limit (a
# reader copies a shared string into every cell that uses it).
TEXT_FACTOR = 2
# A workbook part that holds no cells (the workbook, its relationships, document properties)
# is never larger than this.
MAX_SMALL_PART_BYTES = 10_000_000
# Seconds reading a file may take before it is refused (ReturnContext.read_seconds overrides):
# with checking its rows after, validation stays within a minute.
READ_SECONDS = 45.0

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


class _Deadline:
    """When reading must be done by: checked between steps and pieces of work, so a file that
    would take longer is refused with the reason rather than read on."""

    def __init__(self, name: str, seconds: float):
        self.name = name
        self.seconds = seconds
        self.end = monotonic() + seconds

    def check(self) -> None:
        if monotonic() >= self.end:
            raise _reject(
                "file_too_slow",
                f"The file took too long to read: '{self.name}' was not read within "
                f"{self.seconds:g} seconds. Expected a return of the template's shape: delete "
                "empty rows, extra sheets and formatting beyond the return's cells, or split it "
                "into smaller returns, and upload it again.",
            )


def read_return(filename: str, content: bytes, ctx: ReturnContext) -> RawReturn:
    """Read a return; raise ``ReturnRejected`` with every reason when it cannot be accepted."""
    name = filename or "the file"
    seconds = READ_SECONDS if ctx.read_seconds is None else ctx.read_seconds
    deadline = _Deadline(name, seconds)
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
        return _read_xlsx(name, content, ctx, deadline)
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
    return _read_csv(name, content, ctx, deadline)


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


def _read_csv(name: str, content: bytes, ctx: ReturnContext, deadline: _Deadline) -> RawReturn:
    text = _decode(name, content, ctx.row_offset)
    deadline.check()
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
        # A line ends at LF, CRLF or a lone CR (Excel for Mac's "CSV (Macintosh)").
        ends = [i for i in (text.find("\n", position), text.find("\r", position)) if i >= 0]
        end = min(ends) if ends else len(text)
        match = _VERSION_LINE.match(text[position:end].strip())
        if match and version is None:
            version = match.group(1)
        comments += 1
        position = end + (2 if text[end : end + 2] == "\r\n" else 1)
        if comments > _row_limit(ctx):
            raise _too_many_rows(name, ctx)
    body = text[position:]
    if not body.strip():
        raise _reject(
            "no_data",
            f"'{name}' has no header row; expected a header ({', '.join(COLUMNS)}) and data rows.",
        )
    # The same body as bytes, for Arrow: after the byte-order mark and the comment lines.
    start = len(text[:position].encode()) + (3 if content.startswith(codecs.BOM_UTF8) else 0)
    # Blank records count towards the row limit too (a file of millions of empty lines is
    # refused, not read): without quote marks every line is a record, so they are counted
    # before anything is parsed; with them, the parser stops at the limit.
    if b'"' not in content[start:] and _lines(content[start:]) > _row_limit(ctx):
        raise _too_many_rows(name, ctx)
    deadline.check()
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
        with pd.read_csv(
            io.StringIO(body),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            sep=",",
            engine="c",
            iterator=True,
        ) as records:
            table = records.get_chunk(_row_limit(ctx) + 1)
    except pd.errors.ParserError as error:
        raise ReturnRejected(
            _csv_bad_lines(name, body, comments, str(error), ctx, deadline)
        ) from None
    except (ValueError, UnicodeError, csv.Error, pd.errors.EmptyDataError) as error:
        raise _reject(
            "csv_malformed",
            f"'{name}' cannot be read as CSV ({error}); expected comma-separated values.",
        ) from None
    if len(table) > _row_limit(ctx):  # the header and more records than the limit
        raise _too_many_rows(name, ctx)
    deadline.check()
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


def _lines(body: bytes) -> int:
    """Lines of a text, however they end (CR LF, LF or CR alone)."""
    breaks = body.count(b"\n") + body.count(b"\r") - body.count(b"\r\n")
    return breaks + (not body.endswith((b"\n", b"\r")))


def _csv_bad_lines(
    name: str, body: str, comments: int, detail: str, ctx: ReturnContext, deadline: _Deadline
) -> list[Issue]:
    """Every record with more fields than the header (only read when pandas has refused), up
    to the row limit."""
    row_offset = ctx.row_offset
    issues = []
    try:
        reader = csv.reader(io.StringIO(body))
        width = None
        for index, record in enumerate(reader):
            if index > _row_limit(ctx):
                break
            if not index % 8192:
                deadline.check()
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
#
# A workbook is read in two stages, each of bounded cost:
#
# 1. Its parts are checked without reading a cell: the size unpacked, macros, external links,
#    embedded objects, parts outside the workbook; then the shared-strings table and each
#    worksheet's XML are scanned once, streaming (expat, nothing kept per cell), for what
#    would make reading them unbounded: a cell beyond the template's columns, rows (blank ones
#    too) past the row limit, more text than the limit (a shared string counted in every cell
#    that uses it, as a reader copies it there), merged ranges past the limit. The scan of the
#    data sheet also notes what the cell reader does not give: which cells are formatted as
#    percentages, their formulas and their error values (#DIV/0!).
# 2. Only then are the cells read, by calamine (Rust, about twenty times openpyxl's speed),
#    one sheet at a time: the data sheet, the About sheet's version, then every other sheet
#    screened for person-level data.


def _zip_checks(name: str, archive: zipfile.ZipFile, ctx: ReturnContext) -> list[Issue]:
    """Macros, external links, embedded objects, parts outside the workbook and decompression
    bombs: from the zip's directory and its small parts."""
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
    # Two parts of one name (readers differ on which they take), a part named outside the
    # package (an absolute path, '..'), or packed otherwise than spreadsheet programs pack
    # them (deflated or stored; bzip2 and LZMA unpack far more slowly).
    seen: set[str] = set()
    for info in infos:
        lower = info.filename.lower()
        outside = lower.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", lower)
        packed = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        if lower in seen or outside or "\\" in lower or not packed:
            why = (
                "is stored twice"
                if lower in seen
                else "is packed in an unusual way"
                if not packed
                else "is named outside the workbook"
            )
            issues.append(
                Issue(
                    None,
                    None,
                    info.filename[:200],
                    f"'{name}' has a part that {why} ({info.filename[:200]}); expected a "
                    "workbook saved by Excel or another spreadsheet program: save it again as "
                    "'Excel Workbook (.xlsx)' and re-upload.",
                    "xlsx_damaged",
                )
            )
        seen.add(lower)
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


@dataclass(frozen=True)
class _Sheet:
    title: str
    state: str  # "visible", "hidden" or "veryHidden"
    part: str  # the zip member holding its XML


@dataclass
class _Book:
    """What the workbook's own parts say: its worksheets in order (chart sheets left out), and
    the template version as a custom document property or a defined name."""

    sheets: list[_Sheet]
    property_version: str | None = None
    name_version: str | None = None


def _member(archive: zipfile.ZipFile, path: str) -> str | None:
    """The zip member a path names, ignoring case (as the cell reader finds parts)."""
    path = path.lower()
    return next((n for n in archive.namelist() if n.lower() == path), None)


def _small_part(name: str, archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    """A part that holds no cells (the workbook, its relationships, the document properties),
    parsed whole: refused when it is larger than any spreadsheet program writes one."""
    size = archive.getinfo(member).file_size
    if size > MAX_SMALL_PART_BYTES:
        raise _reject(
            "file_too_large",
            f"'{name}' has a part {member} of {size:,} bytes; a workbook's {member} is at most "
            f"{MAX_SMALL_PART_BYTES:,}. Copy the return's cells into the current template and "
            "upload that.",
            value=str(size),
        )
    data = archive.read(member)
    if b"<!DOCTYPE" in data.upper():
        raise ElementTree.ParseError(f"{member} declares a document type")
    return ElementTree.fromstring(data)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _workbook(name: str, archive: zipfile.ZipFile) -> _Book:
    """The worksheets and the version from xl/workbook.xml, its relationships and
    docProps/custom.xml. A sheet must be stored where spreadsheet programs store it
    (xl/worksheets/), so that the part scanned is the part read."""
    rels_member = _member(archive, "xl/_rels/workbook.xml.rels")
    targets: dict[str, tuple[str, str]] = {}
    if rels_member is not None:
        for relation in _small_part(name, archive, rels_member):
            if _local(relation.tag) == "Relationship":
                kind = (relation.get("Type") or "").rpartition("/")[2]
                targets[relation.get("Id") or ""] = (kind, relation.get("Target") or "")
    book = _Book(sheets=[])
    root = _small_part(name, archive, _member(archive, "xl/workbook.xml") or "xl/workbook.xml")
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "sheet":
            rel = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
            kind, target = targets.get(rel, ("", ""))
            if kind == "chartsheet":
                continue
            # Where the cell reader looks for the part.
            if target.startswith("/xl/"):
                path = target[1:]
            elif target.startswith("xl/"):
                path = target
            else:
                path = f"xl/{target}"
            member = _member(archive, path)
            if (
                member is None
                or not _is_worksheet(member.lower())
                or "/" in member[len("xl/worksheets/") :]
            ):
                raise _reject(
                    "xlsx_damaged",
                    f"'{name}' has a sheet '{element.get('name')}' stored outside the workbook's "
                    f"worksheets ({target[:200] or 'no part'}); expected a workbook saved by "
                    "Excel or another spreadsheet program: save it again as 'Excel Workbook "
                    "(.xlsx)' and re-upload.",
                    value=target[:200],
                )
            book.sheets.append(
                _Sheet(element.get("name") or "", element.get("state") or "visible", member)
            )
        elif tag == "definedName" and element.get("name") == VERSION_KEY:
            if element.get("localSheetId") is None and (element.text or "").startswith('"'):
                book.name_version = element.text.strip('"').strip()
    custom = _member(archive, "docProps/custom.xml")
    if custom is not None:
        for prop in _small_part(name, archive, custom):
            if (prop.get("name") or "").strip().lower() != VERSION_KEY:
                continue
            value = next(iter(prop), None)
            if value is not None and value.text is not None:
                book.property_version = value.text.strip()
                break
    return book


def _percent_styles(archive: zipfile.ZipFile, deadline: _Deadline) -> frozenset[str]:
    """The cell formats (their index, as a cell's s attribute spells it) that show numbers as
    percentages, from xl/styles.xml, streamed."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    member = _member(archive, "xl/styles.xml")
    if member is None:
        return frozenset()
    custom: dict[str, str] = {}
    formats: list[str] = []
    inside = ""  # numFmts or cellXfs
    with archive.open(member) as source:
        parser = pyexpat.ParserCreate()
        parser.StartDoctypeDeclHandler = _no_doctype

        def start(tag, attrs):
            nonlocal inside
            tag = tag.rpartition(":")[2]
            if tag in ("numFmts", "cellXfs"):
                inside = tag
            elif tag == "numFmt" and inside == "numFmts":
                custom[attrs.get("numFmtId", "")] = attrs.get("formatCode", "")
            elif tag == "xf" and inside == "cellXfs":
                formats.append(attrs.get("numFmtId", "0"))

        def end(tag):
            nonlocal inside
            if tag.rpartition(":")[2] == inside:
                inside = ""

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        while chunk := source.read(1 << 20):
            parser.Parse(chunk, False)
            deadline.check()
        parser.Parse(b"", True)

    def shown(format_id: str) -> str | None:
        if format_id in custom:
            return custom[format_id]
        return BUILTIN_FORMATS.get(int(format_id)) if format_id.isdigit() else None

    shown_as_percent = (_is_percent_format(shown(format_id)) for format_id in formats)
    return frozenset(str(index) for index, percent in enumerate(shown_as_percent) if percent)


def _no_doctype(*_) -> None:
    raise ValueError("the XML declares a document type; a workbook's parts never do")


class _Stop(Exception):
    """A scan has found what it stops at."""


def _shared_string_sizes(
    name: str, archive: zipfile.ZipFile, ctx: ReturnContext, deadline: _Deadline
) -> array:
    """The length of each shared string (at most: phonetic runs count too), streamed; refused
    when the table holds more strings or text than a return could use."""
    member = _member(archive, "xl/sharedStrings.xml")
    if member is None:
        return array("q")
    most_strings = _cell_limit(ctx)
    most_text = TEXT_FACTOR * ctx.max_bytes
    sizes = array("q")  # eight bytes a string, not a Python int's thirty-six
    total = 0
    # Counted first at the speed of unzipping (a table of millions of strings is refused
    # before it is parsed), then parsed for the length of each.
    counted = 0
    tags = (b"<si>", b"<si ", b"<si/")
    with archive.open(member) as source:
        tail = b""
        while chunk := source.read(1 << 22):
            if not tail and (found := re.search(rb"<([A-Za-z_][\w.-]*):sst\b", chunk[:4096])):
                tags += tuple(b"<" + found.group(1) + b":" + tag[1:] for tag in tags)
            edge = tail[-8:]
            counted += _count(edge + chunk, tags) - _count(edge, tags)
            tail = chunk
            if counted > most_strings:
                break
    parser = pyexpat.ParserCreate()
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.buffer_text = True

    def start(tag, _attrs):
        if tag == "si" or tag.endswith(":si"):
            sizes.append(0)
            if len(sizes) > most_strings:
                raise _Stop

    def text(data):
        nonlocal total
        if sizes:
            sizes[-1] += len(data)
            total += len(data)

    parser.StartElementHandler = start
    parser.CharacterDataHandler = text
    try:
        if counted > most_strings:
            raise _Stop
        with archive.open(member) as source:
            while chunk := source.read(1 << 20):
                parser.Parse(chunk, False)
                deadline.check()
                if total > most_text:
                    raise _Stop
            parser.Parse(b"", True)
    except _Stop:
        raise _reject(
            "file_too_large",
            f"'{name}' holds more text than a return could use (over {most_strings:,} "
            f"different cell texts or {most_text:,} characters); expected a return of up to "
            f"{ctx.max_rows:,} rows. Copy the return's cells into the current template and "
            "upload that.",
        ) from None
    except (pyexpat.ExpatError, ValueError) as error:
        raise _damaged_sheet(name, error) from None
    return sizes


@dataclass
class _SheetScan:
    """What the passes over a worksheet's XML found, no cell read."""

    # Counted without parsing: row and cell elements (at least; exactly, in a part as
    # spreadsheet programs write them).
    rows: int = 0
    cells: int = 0
    # The first cell beyond the template's columns (scanning stopped there).
    far: str | None = None
    # A limit passed (scanning stopped there).
    refused: ReturnRejected | None = None
    # Of the data sheet: (row, 0-based column) of cells formatted as percentages, the formula
    # text of formula cells, the error value (#DIV/0!) of error cells.
    percent: set[tuple[int, int]] = field(default_factory=set)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)


def _row_limit(ctx: ReturnContext) -> int:
    """Rows a sheet may span, header and blank rows included."""
    return ctx.max_rows + MAX_BLANK_ROWS + 1


def _cell_limit(ctx: ReturnContext) -> int:
    """Cells a workbook may hold on all its sheets: as many as one sheet of the row limit and
    half the margin's columns (a return of the template's nine columns holds under half that).
    Its values read take at most about half a gigabyte."""
    return _row_limit(ctx) * MAX_SHEET_COLUMNS // 2


# Tags as spreadsheet programs write them (one written otherwise is still counted exactly by
# the parse that follows: this count only refuses a hostile file sooner).
_ROW_TAGS = (b"<row ", b"<row>", b"<row/")
_CELL_TAGS = (b"<c ", b"<c>", b"<c/")


def _count_sheet(
    name: str,
    archive: zipfile.ZipFile,
    member: str,
    ctx: ReturnContext,
    deadline: _Deadline,
    cells_left: int,
) -> _SheetScan:
    """First pass, at the speed of unzipping: row and cell elements counted (a prefixed
    element, <x:c, is counted by the prefix the part's first element uses), stopping at the
    row limit or when the workbook holds more cells than ``cells_left``."""
    scan = _SheetScan()
    most_rows = _row_limit(ctx)
    row_tags, cell_tags = _ROW_TAGS, _CELL_TAGS
    tail = b""
    with archive.open(member) as source:
        while chunk := source.read(1 << 22):
            if not tail:  # the first chunk: the prefix of the root element, if any
                found = re.search(rb"<([A-Za-z_][\w.-]*):worksheet\b", chunk[:4096])
                if found:
                    prefix = b"<" + found.group(1) + b":"
                    row_tags += tuple(prefix + t[1:] for t in _ROW_TAGS)
                    cell_tags += tuple(prefix + t[1:] for t in _CELL_TAGS)
            # A tag split between two chunks is counted once, in the window across them.
            edge = tail[-8:]
            window = edge + chunk
            scan.rows += _count(window, row_tags) - _count(edge, row_tags)
            scan.cells += _count(window, cell_tags) - _count(edge, cell_tags)
            tail = chunk
            if scan.rows > most_rows:
                scan.refused = _too_many_rows(name, ctx)
                break
            if scan.cells > cells_left:
                scan.refused = _too_many_cells(name, ctx)
                break
            deadline.check()
    return scan


def _count(data: bytes, needles: tuple[bytes, ...]) -> int:
    return sum(data.count(needle) for needle in needles)


# Columns a return may use: letters -> 0-based index (AN: 39).
_COLUMN_OF = {
    (chr(64 + i // 26) if i >= 26 else "") + chr(65 + i % 26): i for i in range(MAX_SHEET_COLUMNS)
}
_REFERENCE = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")


def _position(reference: str) -> tuple[int, int]:
    """(1-based row, 0-based column) of a cell reference such as 'AN12'."""
    found = _REFERENCE.fullmatch(reference)
    if found is None or int(found.group(2)) == 0:
        raise ValueError(f"'{reference[:40]}' is not a cell reference")
    column = 0
    for letter in found.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return int(found.group(2)), column - 1


def _scan_sheet(
    name: str,
    archive: zipfile.ZipFile,
    member: str,
    ctx: ReturnContext,
    deadline: _Deadline,
    scan: _SheetScan,
    *,
    sizes: array | None,
    cells_left: int,
    detail: bool,
    percent_styles: frozenset[str] = frozenset(),
    count_shared: bool = False,
) -> tuple[int, int, int]:
    """Second pass, a streaming parse: every cell placed as the cell reader places it (by its
    reference, or after the cell before; elements by their local name, whatever their
    namespace), stopping at the first cell beyond the margin or limit passed. Returns the
    cells, the shared-string cells and the characters of text the cells hold themselves (with
    ``count_shared``, the shared strings' too, at their length).

    ``sizes``: the shared strings' lengths (None: text not counted); ``cells_left``: the cells
    the workbook may still hold; ``detail``: note percent, formula and error cells (the data
    sheet)."""
    from openpyxl.formula.translate import Translator

    most_rows = _row_limit(ctx)
    most_text = TEXT_FACTOR * ctx.max_bytes
    known = 0 if sizes is None else len(sizes)
    count_text = sizes is not None
    count_shared = count_shared and count_text
    shared_cells = 0
    row = 0  # of the row being read
    column = -1  # of the last cell
    low, high = 1 << 30, 0  # the rows spanned
    rows = 0
    cells = 0
    merges = 0
    text = 0
    at = (0, 0)  # the current cell
    kind = None  # its t attribute
    # Where character data goes: 0 nowhere, 1 a shared string's index, 2 text, 3 an error
    # value, 4 a formula.
    sink = 0
    formula: list[str] = []
    formula_attrs: dict = {}
    shared: dict[str, Translator] = {}
    percent_default = "0" in percent_styles
    note_percent = detail and bool(percent_styles)

    def refuse(rejection: ReturnRejected) -> None:
        scan.refused = rejection
        raise _Stop

    def too_much_text() -> None:
        refuse(
            _reject(
                "file_too_large",
                f"'{name}' has a sheet holding more than {most_text:,} characters of text; "
                f"expected a return of up to {ctx.max_rows:,} rows. Delete what is not the "
                "return, or split it into smaller returns.",
            )
        )

    column_of = _COLUMN_OF.get

    def start(tag, attrs):
        # Called for every element: the commonest (v, c, row) are tried first.
        nonlocal row, column, low, high, rows, cells, merges, at, kind, sink, formula
        nonlocal formula_attrs, shared_cells
        if sink:
            end_text()
        if tag == "v":
            if kind is None or kind == "n" or kind == "b":
                return
            if kind == "s":
                shared_cells += 1
                if count_shared:
                    sink = 1
            elif kind == "e":
                if detail:
                    sink = 3
                    parser.CharacterDataHandler = characters
            elif count_text:
                sink = 2  # a formula's text result, an ISO date
                parser.CharacterDataHandler = characters
        elif tag == "c":
            reference = attrs.get("r")
            if reference is None:
                column += 1
                number = row
            else:
                letters = reference.rstrip("0123456789")
                column = column_of(letters, -1)
                if column < 0 or len(reference) - len(letters) > 7:
                    number, column = _position(reference)
                else:
                    number = int(reference[len(letters) :])
            if column >= MAX_SHEET_COLUMNS:
                scan.far = reference or f"{_letter(column)}{number}"
                raise _Stop
            if number < low or number > high:
                low, high = min(low, number), max(high, number)
                if high - low >= most_rows:
                    refuse(_too_many_rows(name, ctx))
            cells += 1
            if cells > cells_left:
                refuse(_too_many_cells(name, ctx))
            at = (number, column)
            kind = attrs.get("t")
            if note_percent:
                style = attrs.get("s")
                if (style in percent_styles) if style is not None else percent_default:
                    scan.percent.add(at)
        elif tag == "row":
            reference = attrs.get("r")
            if reference is None:
                row += 1
            elif reference.isdigit() and int(reference):
                row = int(reference)
            else:
                raise ValueError(f"row '{reference[:40]}' is not a row number")
            column = -1
            rows += 1
            if row < low or row > high:
                low, high = min(low, row), max(high, row)
            if high - low >= most_rows or rows > most_rows:
                refuse(_too_many_rows(name, ctx))
        elif ":" in tag:
            start(tag.rpartition(":")[2], attrs)  # <x:c>: read by its local name
        elif tag == "t" or tag == "is":
            if count_text:
                sink = 2  # an inline string
                parser.CharacterDataHandler = characters
        elif tag == "f":
            if detail:
                sink = 4
                formula = []
                formula_attrs = attrs
                parser.CharacterDataHandler = characters
        elif tag == "mergeCell":
            merges += 1
            if merges > most_rows:
                refuse(
                    _reject(
                        "file_too_large",
                        f"'{name}' has more than {most_rows:,} merged cell ranges on one sheet; "
                        "a return needs none. Unmerge the cells (Home > Merge & Center > "
                        "Unmerge Cells) and upload it again.",
                    )
                )

    def characters(data):
        nonlocal text
        if sink == 1:
            index = int(data) if data.isdigit() else -1
            if 0 <= index < known:
                text += sizes[index]
        elif sink == 2:
            text += len(data)
        elif sink == 3:
            scan.errors[at] = scan.errors.get(at, "") + data
        elif sink == 4:
            formula.append(data)
        else:
            return
        if text > most_text:
            too_much_text()

    def end_text():
        # What character data went to ends where the next element starts (or the part ends):
        # the parse needs no handler for every element's end.
        nonlocal sink
        if sink == 4:
            _note_formula(scan, at, "".join(formula), formula_attrs, shared, Translator)
        sink = 0
        if not count_shared:
            parser.CharacterDataHandler = None  # set again for the next text, error, formula

    parser = pyexpat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.StartElementHandler = start
    if count_shared:
        parser.CharacterDataHandler = characters
    try:
        with archive.open(member) as source:
            while chunk := source.read(1 << 20):
                parser.Parse(chunk, False)
                deadline.check()
            parser.Parse(b"", True)
        end_text()
    except _Stop:
        pass
    except (pyexpat.ExpatError, ValueError) as error:
        raise _damaged_sheet(name, error) from None
    return cells, shared_cells, text


def _too_many_cells(name: str, ctx: ReturnContext) -> ReturnRejected:
    return _reject(
        "file_too_large",
        f"'{name}' holds more than {_cell_limit(ctx):,} cells on its sheets; a return holds at "
        f"most {ctx.max_rows:,} rows of the template's columns. Delete the sheets and rows that "
        "are not the return, or split it into smaller returns.",
    )


def _note_formula(scan: _SheetScan, at, text: str, attrs: dict, shared: dict, Translator) -> None:
    """A formula cell's formula, as openpyxl gives it: a shared formula's followers have it
    translated from the first cell to their own."""
    value = "=" + text
    if attrs.get("t") == "shared":
        key = attrs.get("si")
        coordinate = f"{_letter(at[1])}{at[0]}"
        if key in shared:
            value = shared[key].translate_formula(coordinate)
        elif text:
            shared[key] = Translator(value, coordinate)
    scan.formulas[at] = value.lstrip("=").strip()


def _pick_sheet(sheets: list[_Sheet]) -> _Sheet | None:
    for sheet in sheets:
        if sheet.title.strip().lower() == DATA_SHEET.lower():
            return sheet
    visible = [s for s in sheets if s.state == "visible"]
    return (visible or sheets or [None])[0]


def _rows(reader, title: str):
    """(1-based row number, cells from column A) of a sheet, blank rows included, as calamine
    reads it: text as str, numbers as float, dates, times and booleans as Python's own, blank
    and error cells as ''."""
    sheet = reader.get_sheet_by_name(title)
    if sheet.start is None:
        return
    # Rows above the first cell come as empty rows; columns start at the first cell's.
    pad = [""] * sheet.start[1]
    for number, cells in enumerate(sheet.iter_rows(), start=1):
        yield number, (pad + cells if pad else cells)


def _xlsx_version(reader, book: _Book) -> str | None:
    for sheet in book.sheets:
        if sheet.title.strip().lower() != ABOUT_SHEET.lower():
            continue
        for number, row in _rows(reader, sheet.title):
            if number > 50:
                break
            cells = row[:6]
            for index, cell in enumerate(cells[:-1]):
                if isinstance(cell, str) and cell.strip().lower() == VERSION_KEY:
                    found = cells[index + 1]
                    if found is not None and str(found).strip():
                        return _number_text(found).strip()
    return book.property_version or book.name_version


def _calamine_fault(error: BaseException) -> bool:
    """A fault the cell reader raised: its own errors, or a Rust panic (a BaseException)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def _read_xlsx(name: str, content: bytes, ctx: ReturnContext, deadline: _Deadline) -> RawReturn:
    from python_calamine import CalamineWorkbook

    archive = _open_zip(name, content)
    try:
        issues = _zip_checks(name, archive, ctx)
        if any(issue.code in ("file_too_large", "xlsx_damaged") for issue in issues):
            raise ReturnRejected(issues)
        try:
            book = _workbook(name, archive)
        except (ElementTree.ParseError, ValueError, pyexpat.ExpatError) as error:
            if issues:
                raise ReturnRejected(issues) from None
            raise _reject(
                "xlsx_damaged",
                f"'{name}' cannot be opened as an Excel workbook ({type(error).__name__}: "
                f"{error}); expected a complete .xlsx file: save it again and re-upload.",
            ) from None
        except ReturnRejected:
            if issues:
                raise ReturnRejected(issues) from None
            raise
        data_sheet = _pick_sheet(book.sheets)
        members = {o for o in archive.namelist() if _is_worksheet(o.lower())}
        members |= {sheet.part for sheet in book.sheets}
        # Counted first, all of them (cheap), so a workbook of too many rows or cells is
        # refused before any is parsed; then each parsed, the cells it may hold shrinking.
        scans = {}
        cells_left = _cell_limit(ctx)
        for member in sorted(members):
            scans[member] = scan = _count_sheet(name, archive, member, ctx, deadline, cells_left)
            if scan.refused is not None and not issues:
                raise scan.refused
            cells_left -= scan.cells
        # With other reasons to refuse the file, the sheets are scanned for cells beyond the
        # margin only (to give every reason at once), not for their text.
        sizes = None if issues else _shared_string_sizes(name, archive, ctx, deadline)
        percent_styles = frozenset() if issues else _percent_styles(archive, deadline)
        cells_left = _cell_limit(ctx)
        most_text = TEXT_FACTOR * ctx.max_bytes
        longest = max(sizes, default=0) if sizes is not None else 0
        refusals = []
        for member in sorted(members):
            scan = scans[member]
            if scan.refused is None:
                cells, shared_cells, text = _scan_sheet(
                    name,
                    archive,
                    member,
                    ctx,
                    deadline,
                    scan,
                    sizes=sizes,
                    cells_left=cells_left,
                    detail=data_sheet is not None and member == data_sheet.part,
                    percent_styles=percent_styles,
                )
                cells_left -= cells
                # The shared strings' text, counted exactly only when the longest of them in
                # every cell that uses one could be too much.
                bound = text + shared_cells * longest
                if scan.refused is None and scan.far is None and bound > most_text:
                    _scan_sheet(
                        name,
                        archive,
                        member,
                        ctx,
                        deadline,
                        scan,
                        sizes=sizes,
                        cells_left=_cell_limit(ctx),
                        detail=False,
                        count_shared=True,
                    )
            if scan.far is not None:
                issues.append(
                    Issue(
                        None,
                        None,
                        scan.far,
                        f"'{name}' has a cell in column {scan.far.rstrip('0123456789')} "
                        f"({member.rsplit('/', 1)[-1]}, cell {scan.far}); a return holds only "
                        f"the template's columns, up to column {_letter(MAX_SHEET_COLUMNS - 1)}. "
                        "Delete the columns to the right of the return's own and upload it "
                        "again.",
                        "cells_beyond_template",
                    )
                )
            elif scan.refused is not None:
                refusals.append(scan.refused)
        del sizes
        if issues:
            raise ReturnRejected(issues)
        if refusals:
            raise refusals[0]
    except (*ZIP_ERRORS, pyexpat.ExpatError) as error:
        raise _reject(
            "xlsx_damaged",
            f"'{name}' starts like an Excel workbook (a zip archive) but is damaged or incomplete "
            f"({type(error).__name__}: {error}); expected a complete .xlsx file: save it again "
            "and re-upload.",
        ) from None
    if data_sheet is None:
        raise _reject("no_data", f"'{name}' has no worksheets; expected a 'Data' sheet.")
    deadline.check()
    try:
        reader = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except BaseException as error:
        if not _calamine_fault(error):
            raise
        raise _reject(
            "xlsx_damaged",
            f"'{name}' cannot be opened as an Excel workbook ({type(error).__name__}: {error}); "
            "expected a complete .xlsx file: save it again and re-upload.",
        ) from None
    try:
        version = _xlsx_version(reader, book)
        scan = scans[data_sheet.part]
        table, percent, dates = _sheet_cells(
            name, _rows(reader, data_sheet.title), scan, ctx, deadline
        )
        if personal := _identifiers_on_other_sheets(reader, book, data_sheet, deadline):
            raise ReturnRejected(personal)
    except ReturnRejected:
        raise
    except BaseException as error:
        if not _calamine_fault(error):
            raise
        raise _damaged_sheet(name, error) from None
    finally:
        reader.close()
    if not table:
        raise _reject(
            "no_data",
            f"'{name}' sheet '{data_sheet.title}' is empty; expected a header and data rows.",
        )
    deadline.check()
    width = max(len(cells) for _, cells in table)
    header_row, header = table[0]
    header = [*header, *[""] * (width - len(header))]
    rows = np.array([number for number, _ in table[1:]], dtype=np.int64)
    data = pd.DataFrame(
        [[*cells, *[""] * (width - len(cells))] for _, cells in table[1:]],
        columns=range(width),
        dtype=object,
    )
    del table
    if data.empty:
        data = pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
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
    formula_cells = scan.formulas
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


def _identifiers_on_other_sheets(
    reader, book: _Book, data_sheet: _Sheet, deadline: _Deadline
) -> list[Issue]:
    """The person-level screen over every other sheet, hidden ones too: each distinct cell
    text is matched once, and a hit is named by sheet, column and row, its value masked."""
    issues: list[Issue] = []
    for sheet in book.sheets:
        if sheet.title == data_sheet.title:
            continue
        deadline.check()
        first_seen: dict[str, tuple[int, int]] = {}
        for row_number, values in _rows(reader, sheet.title):
            if not row_number % 4096:
                deadline.check()
            for position, value in enumerate(values):
                if value != "" and value is not None and (text := _cell_text(value).strip()):
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
    kind = value.__class__
    if kind is str:
        return value
    if kind is float:  # the most common after text: calamine reads every number as a float
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time | timedelta):
        return str(value)
    return _number_text(value)


def _sheet_cells(name: str, rows, scan: _SheetScan, ctx: ReturnContext, deadline: _Deadline):
    """Rows of strings (with their spreadsheet row numbers), percent cells and date periods."""
    table: list[tuple[int, list[str]]] = []
    percent: list[tuple[int, int]] = []
    dates: list[tuple[int, int, str, str]] = []
    number_positions: set[int] = set()
    period_position = None
    data_rows = 0
    rows_after_header = 0
    errors: dict[int, list[tuple[int, str]]] = {}
    for (row, column), value in scan.errors.items():
        errors.setdefault(row, []).append((column, value))
    for row_number, cells in rows:
        if not row_number % 4096:
            deadline.check()
        if table:
            # Blank rows count towards the limit too, so a sheet of millions of empty or
            # whitespace rows is refused at the limit rather than read to its end.
            rows_after_header += 1
            if rows_after_header > ctx.max_rows + MAX_BLANK_ROWS:
                raise _too_many_rows(name, ctx)
        values = [value if value.__class__ is str else _cell_text(value) for value in cells]
        for column, value in errors.get(row_number, ()):
            values += [""] * (column + 1 - len(values))
            values[column] = value.strip()  # calamine reads an error (#DIV/0!) as blank
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
            if (row_number, position) in scan.percent and position < len(cells):
                value = cells[position]
                if isinstance(value, int | float) and not isinstance(value, bool):
                    percent.append((row_number, position))
        if period_position is not None and period_position < len(cells):
            found = cells[period_position]
            if isinstance(found, datetime | date) and found.day == 1:
                label = f"{found.strftime('%b')} {found.year}"
                dates.append((row_number, period_position, values[period_position], label))
                values[period_position] = label
    return table, percent, dates


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
