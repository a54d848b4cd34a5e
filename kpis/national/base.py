"""Shared machinery of the national publication parsers: reading, header checks, numbers, periods.

Pure module: bytes in, pandas out; no ORM and no network. Every parser produces the frame
described by ``OUTPUT_COLUMNS``. Work is vectorised over columns; the only Python loops run over
the *distinct* spellings of a period or a marker, never over rows.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from kpis import periods as P
from kpis.periods import PeriodParseError, PeriodSpec

#: ONS code used for England rows that a publisher labels only "England".
ENGLAND_CODE = "E92000001"

#: The normalised frame every parser returns, in this column order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "publisher",
    "indicator_id",
    "indicator_name",
    "area_code",
    "area_name",
    "area_type",
    "period_label",
    "period_type",
    "period_start",
    "period_end",
    "period_raw",
    "sex",
    "age",
    "category_type",
    "category",
    "numerator",
    "denominator",
    "value",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "ci_method",
    "compared_to_england",
    "suppressed",
    "marker",
    "note",
    "status",
    "source_row",
)
TEXT_COLUMNS: tuple[str, ...] = (
    "publisher",
    "indicator_id",
    "indicator_name",
    "area_code",
    "area_name",
    "area_type",
    "period_label",
    "period_type",
    "period_raw",
    "sex",
    "age",
    "category_type",
    "category",
    "ci_method",
    "compared_to_england",
    "marker",
    "note",
    "status",
)
FLOAT_COLUMNS: tuple[str, ...] = (
    "numerator",
    "denominator",
    "value",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
)
DATE_COLUMNS: tuple[str, ...] = ("period_start", "period_end")

#: Cell markers meaning "withheld to protect confidentiality" (statistical disclosure control).
SUPPRESSION_MARKERS: frozenset[str] = frozenset({"*", "c", "[c]"})
#: Other markers publishers put in number columns: not available, not applicable, and so on.
OTHER_MARKERS: frozenset[str] = frozenset(
    {
        "-",
        "..",
        ".",
        ":",
        "x",
        "[x]",
        "z",
        "[z]",
        "NULL",
        "null",
        "Null",
        "N/A",
        "n/a",
        "NA",
        "NONE",
    }
)
KNOWN_MARKERS = SUPPRESSION_MARKERS | OTHER_MARKERS

#: Periods outside these years are typing or parsing errors, not data.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2100
MAX_LISTED = 8  # distinct problems named one by one in the issues before summarising the rest


class PublicationFormatError(ValueError):
    """The bytes are not the publication they claim to be; the message says what is wrong."""


@dataclass(frozen=True)
class ParsedPublication:
    """One parsed file: the normalised frame, who published it, its checksum and what was odd."""

    frame: pd.DataFrame
    publisher: str
    file_checksum: str
    issues: list[str] = field(default_factory=list)
    filename: str = ""
    layout: str = ""
    #: File rows of areas not asked for, left unread (wide files read for some areas only).
    rows_skipped: int = 0


def header_key(name: object) -> str:
    """A column name reduced to lower-case letters and digits, so 'Lower CI 95.0 limit',
    fingertipsR's 'LowerCI95.0limit' and 'LOWER_CI_95_0_LIMIT' all compare equal."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


@dataclass(frozen=True)
class Column:
    """A column of a publisher's layout: where it goes (target) and how the publisher names it."""

    target: str
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    def keys(self) -> frozenset[str]:
        return frozenset(header_key(n) for n in (self.name, *self.aliases))


@dataclass(frozen=True)
class Layout:
    """One CSV layout a publisher releases.

    A wide layout has one column per measure after its identifying columns (NHS England's
    annual report CSVs): every column not named in ``columns`` is a measure.
    """

    key: str
    publisher: str
    title: str
    columns: tuple[Column, ...]
    wide: bool = False

    def match(self, header: Sequence[str]) -> tuple[dict[str, int], list[str], list[str]]:
        """Positions of this layout's columns in a header, the required columns it lacks (as the
        publisher spells them) and the columns it names more than once."""
        keys = [header_key(h) for h in header]
        positions: dict[str, int] = {}
        missing: list[str] = []
        repeated: list[str] = []
        for column in self.columns:
            wanted = column.keys()
            found = [i for i, k in enumerate(keys) if k in wanted]
            if found:
                positions[column.target] = found[0]
                if len(found) > 1:
                    repeated.append(column.name)
            elif column.required:
                missing.append(column.name)
        return positions, missing, repeated

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


@dataclass
class RawTable:
    """A file read against one layout: text cells by target column, plus source_row.

    For a wide layout, ``measures`` holds the measure columns read (named as the header names
    them), on the same index as ``cells``.
    """

    layout: Layout
    cells: pd.DataFrame
    checksum: str
    issues: list[str]
    measures: pd.DataFrame | None = None


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def decode(content: bytes) -> tuple[str, list[str]]:
    """Text of a file: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252."""
    if not isinstance(content, bytes | bytearray | memoryview):
        raise PublicationFormatError("The publication must be given as bytes.")
    content = bytes(content)
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    try:
        return content.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("cp1252")
        encoding = "Windows-1252"
    except UnicodeDecodeError:
        text = content.decode("latin-1")
        encoding = "Latin-1"
    return text, [f"The file is not UTF-8; it was read as {encoding}."]


#: A header is read from the text's first characters only: no header is longer.
HEADER_SPAN = 1_000_000


def read_header(text: str) -> list[str]:
    """The first record of a CSV text, cells stripped."""
    try:
        start = text[:HEADER_SPAN].replace("\x00", "")
        first = next(csv.reader(io.StringIO(start)), [])
    except csv.Error as error:
        raise PublicationFormatError(f"The header row is not valid CSV ({error}).") from error
    return [cell.strip().lstrip("\ufeff").strip() for cell in first]


def _describe_header(header: Sequence[str]) -> str:
    if len(header) == 1 and any(sep in header[0] for sep in ("\t", ";", "|")):
        return " The header is a single cell: the file looks delimited by tabs or semicolons."
    return ""


def choose_layout(header: Sequence[str], layouts: Iterable[Layout], *, filename: str) -> Layout:
    """The layout a header matches, or PublicationFormatError naming the columns it lacks."""
    results = [(layout, *layout.match(header)) for layout in layouts]
    complete = [r for r in results if not r[2]]
    if complete:
        layout, positions, _, repeated = max(complete, key=lambda r: len(r[1]))
        if repeated:
            raise PublicationFormatError(
                f"{filename}: the header names {', '.join(repeated)} more than once, so the "
                f"{layout.title} columns are ambiguous."
            )
        return layout
    if not results:
        raise PublicationFormatError(f"{filename}: no layout to check the header against.")
    closest, _, missing, _ = min(results, key=lambda r: len(r[2]) / max(len(r[0].required), 1))
    titles = sorted({r[0].title for r in results})
    lacks = f"the header lacks the column{'s' if len(missing) != 1 else ''} {', '.join(missing)}."
    if len(titles) == 1:
        message = f"{filename} does not have the {closest.title} layout: {lacks}"
    elif len(missing) == len(closest.required):
        shown = ", ".join(f"'{h[:40]}'" for h in list(header)[:4]) or "nothing"
        message = (
            f"{filename} does not match any publication this service reads ({'; '.join(titles)}):"
            f" none of their columns is in the header, which begins {shown}."
        )
    else:
        message = (
            f"{filename} does not match any publication this service reads ({'; '.join(titles)})."
            f" The closest is {closest.title}, but {lacks}"
        )
    raise PublicationFormatError(message + _describe_header(header))


def read_table(
    content: bytes,
    *,
    filename: str,
    layouts: Sequence[Layout],
    measures: Iterable[str] | None = None,
) -> RawTable:
    """Read a publisher's CSV into text cells named by target column, refusing a wrong header.

    source_row is the record number in the file, the header being 1 (so the first data row is
    2, as a spreadsheet shows it). Rows that are entirely blank are dropped. For a wide layout
    only the measure columns whose names are in ``measures`` (compared by header_key) are read,
    or all of them when ``measures`` is None: a large annual file is read for the few measures
    the catalogue uses, not its fifty.
    """
    text, issues = decode(content)
    if "\x00" in text:
        text = text.replace("\x00", "")
        issues.append("The file contains NUL characters; they were removed.")
    if not text.strip():
        raise PublicationFormatError(f"{filename} is empty.")
    header = read_header(text)
    layout = choose_layout(header, layouts, filename=filename)
    positions, _, _ = layout.match(header)
    measure_positions: dict[str, int] = {}
    if layout.wide:
        wanted = None if measures is None else {header_key(m) for m in measures}
        identifying = set(positions.values())
        measure_positions = {
            name: i
            for i, name in enumerate(header)
            if i not in identifying and name and (wanted is None or header_key(name) in wanted)
        }
    usecols = sorted({*positions.values(), *measure_positions.values()}) if layout.wide else None
    try:
        # From UTF-8 bytes: a StringIO of a large text holds four bytes a character.
        raw = pd.read_csv(
            io.BytesIO(text.encode("utf-8")),
            encoding="utf-8",
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            usecols=usecols,
        )
    except Exception as error:  # pandas raises several types for malformed CSV
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PublicationFormatError(f"{filename} is not readable as CSV: {message}.") from error
    if usecols is None and raw.shape[1] < len(header):
        raise PublicationFormatError(f"{filename}: the rows have fewer fields than the header.")
    body = raw.iloc[1:]
    cells = pd.DataFrame(index=body.index)
    for column in layout.columns:
        if column.target in positions:
            cells[column.target] = body[positions[column.target]].fillna("").astype(str).str.strip()
        else:
            cells[column.target] = ""
    cells["source_row"] = (body.index.to_numpy() + 1).astype(np.int64)
    measure_cells = (
        pd.DataFrame(
            # Not stripped here: parse_numbers reads padded numbers and strips the rest.
            {name: body[i].fillna("").astype(str) for name, i in measure_positions.items()},
            index=body.index,
        )
        if layout.wide
        else None
    )
    blank = cells.drop(columns="source_row").eq("").all(axis=1)
    if measure_cells is not None:
        blank &= measure_cells.apply(lambda col: col.str.strip().eq("")).all(axis=1)
    if blank.any() and usecols is None:
        # Blank in the layout's columns; entirely blank only if the other columns are too.
        others = body.loc[blank].fillna("").astype(str)
        blank.loc[blank] = others.apply(lambda col: col.str.strip().eq("")).all(axis=1)
    if blank.any():
        cells = cells[~blank]
        if measure_cells is not None:
            measure_cells = measure_cells[~blank]
    if measure_cells is not None:
        measure_cells = measure_cells.reset_index(drop=True)
    return RawTable(
        layout=layout,
        cells=cells.reset_index(drop=True),
        checksum=checksum(content),
        issues=issues,
        measures=measure_cells,
    )


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"


def parse_numbers(text: pd.Series, *, label: str, issues: list[str]) -> tuple[pd.Series, pd.Series]:
    """Numbers from text cells, and the raw text of cells that are not numbers (the markers).

    Thousands separators ("1,200") are accepted. Unknown non-numeric text is reported in issues.
    Plain numbers are converted in one vectorised pass; only the rest (markers, thousands,
    oddities) go through the patterns, so a million-row column costs one C-level parse.
    """
    text = text.astype(str)
    quick = pd.to_numeric(text, errors="coerce").astype("float64")
    plain = np.isfinite(quick.to_numpy())
    values = quick.where(plain)
    markers = pd.Series("", index=text.index, dtype=object)
    rest = text[~plain]
    if len(rest):
        rest_values, rest_markers = _parse_awkward_numbers(rest)
        values.loc[rest.index] = rest_values
        markers.loc[rest.index] = rest_markers
    unknown = markers[markers.ne("") & ~markers.isin(KNOWN_MARKERS)]
    if len(unknown):
        counts = unknown.value_counts()
        named = [
            f"'{v}' ({n} row{'s' if n != 1 else ''})" for v, n in counts.head(MAX_LISTED).items()
        ]
        more = (
            f" and {len(counts) - MAX_LISTED} other spellings" if len(counts) > MAX_LISTED else ""
        )
        issues.append(
            f"{label}: {', '.join(named)}{more} are neither numbers nor known markers; "
            "those values are left empty and the text is kept as the marker."
        )
    return values.astype("float64"), markers.astype(str)


def _parse_awkward_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers with thousands separators, and the markers, of cells to_numeric did not read."""
    cleaned = text.str.strip()
    thousands = cleaned.str.fullmatch(_THOUSANDS)
    cleaned = cleaned.where(~thousands, cleaned.str.replace(",", "", regex=False))
    numeric = cleaned.str.fullmatch(_NUMBER)
    values = pd.to_numeric(cleaned.where(numeric, "nan"), errors="coerce").astype("float64")
    numeric = numeric & np.isfinite(values.to_numpy())
    return values.where(numeric), cleaned.where(~numeric & cleaned.ne(""), "")


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_UK_DAY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})(?: 00:00(?::00)?)?$")


def parse_day(text: str) -> date:
    """A date as NHS England files write it: 2023-07-01, 01/07/2023, 01-07-2023, 1/7/2023 or
    01/07/23."""
    cleaned = str(text).strip()
    match = _ISO_DAY.match(cleaned)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)
    match = _UK_DAY.match(cleaned)
    if match:
        day, month, year_text = match.groups()
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return date(year, int(month), int(day))
    raise PeriodParseError(f"'{cleaned}' is not a date (expected e.g. 2023-07-01 or 01/07/2023).")


def window_period(start: date, end: date, *, publication_quarters: bool) -> PeriodSpec:
    """The period a reporting window covers: one month, or a rolling 3 or 12 months to its end.

    With publication_quarters (a quarterly release) a 3-month window aligned with a financial
    quarter is that quarter, and April to March is that financial year.
    """
    if start.day != 1:
        raise PeriodParseError(f"the window starts on {start:%d %b %Y}, not the first of a month")
    if end != month_end(end.year, end.month):
        raise PeriodParseError(f"the window ends on {end:%d %b %Y}, not the last day of a month")
    months = (end.year * 12 + end.month) - (start.year * 12 + start.month) + 1
    if months < 1:
        raise PeriodParseError("the window ends before it starts")
    if months == 1:
        return P.month(start.year, start.month)
    if publication_quarters:
        if months == 3 and start.month in (1, 4, 7, 10):
            return P.quarter_of(start)
        if months == 12 and start.month == 4:
            return P.financial_year(start.year)
    if months in (3, 12):
        return P.rolling(months, end.year, end.month)
    raise PeriodParseError(
        f"a {months}-month window is not a period this service stores (months, financial "
        "quarters and years, calendar years, pooled years and rolling 3 or 12 months are)"
    )


_PERIOD_ERRORS = (PeriodParseError, ValueError, KeyError, IndexError, OverflowError, TypeError)


def map_periods(
    raw: pd.Series,
    convert: Callable[[str], PeriodSpec],
    *,
    label: str,
    issues: list[str],
) -> pd.DataFrame:
    """period_label, period_type, period_start and period_end for each row, converting each
    distinct spelling once. Spellings that do not convert leave the period empty and are named
    in issues with the number of rows they affect."""
    raw = raw.astype(str)
    counts = raw.value_counts(sort=False)
    labels: dict[str, str] = {}
    types: dict[str, str] = {}
    starts: dict[str, date] = {}
    ends: dict[str, date] = {}
    failures: list[tuple[str, int, str]] = []
    for text, count in counts.items():
        try:
            spec = convert(text)
            if spec.start.year < EARLIEST_YEAR or spec.end.year > LATEST_YEAR:
                raise PeriodParseError(
                    f"it falls outside {EARLIEST_YEAR} to {LATEST_YEAR}, so is not plausible"
                )
        except _PERIOD_ERRORS as error:
            reason = str(error).strip() or type(error).__name__
            failures.append((text, int(count), reason))
            continue
        labels[text] = spec.label
        types[text] = spec.type
        starts[text] = spec.start
        ends[text] = spec.end
    for text, count, reason in failures[:MAX_LISTED]:
        shown = text if text else "(blank)"
        issues.append(
            f"{label} '{shown}' on {count} row{'s' if count != 1 else ''} was not read as a "
            f"period: {reason}. Those rows have no period."
        )
    if len(failures) > MAX_LISTED:
        rest = sum(c for _, c, _ in failures[MAX_LISTED:])
        issues.append(
            f"{len(failures) - MAX_LISTED} other {label} spellings ({rest} rows) were not read "
            "as periods either."
        )
    return pd.DataFrame(
        {
            "period_label": _lookup(raw, labels).astype(str),
            "period_type": _lookup(raw, types).astype(str),
            "period_start": _to_datetime(raw.map(starts)),
            "period_end": _to_datetime(raw.map(ends)),
        },
        index=raw.index,
    )


def _lookup(raw: pd.Series, table: dict[str, str]) -> pd.Series:
    mapped = raw.map(table).astype(object)
    return mapped.where(mapped.notna(), "")


def _to_datetime(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype(object).where(values.notna(), None)).astype(
        "datetime64[ns]"
    )


def join_parts(parts: Sequence[pd.Series], sep: str = "; ") -> pd.Series:
    """Join text columns row by row with sep, skipping empty parts (vectorised)."""
    result = parts[0].astype(str)
    for part in parts[1:]:
        part = part.astype(str)
        result = pd.Series(
            np.where(
                result.eq(""),
                part,
                np.where(part.eq(""), result, result + sep + part),
            ),
            index=result.index,
        ).astype(str)
    return result


def blank_placeholders(text: pd.Series, pattern: str) -> pd.Series:
    """Text with placeholder spellings ('NONE', 'null', 'All_ICB' ...) replaced by ''."""
    text = text.astype(str)
    return text.where(~text.str.fullmatch(pattern, case=False), "")


def coerce_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's OUTPUT_COLUMNS in order with their fixed dtypes; absent ones filled empty."""
    out = frame.copy()
    for column in TEXT_COLUMNS:
        if column not in out:
            out[column] = ""
        out[column] = out[column].fillna("").astype(str)
    for column in FLOAT_COLUMNS:
        if column not in out:
            out[column] = np.nan
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    for column in DATE_COLUMNS:
        if column not in out:
            out[column] = pd.NaT
        out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    if "suppressed" not in out:
        out["suppressed"] = False
    out["suppressed"] = out["suppressed"].astype("boolean").fillna(False).astype(bool)
    out["source_row"] = out["source_row"].astype(np.int64)
    return out[list(OUTPUT_COLUMNS)]


def finalise(
    frame: pd.DataFrame, *, publisher: str, issues: list[str], repeats_checked: bool = False
) -> pd.DataFrame:
    """The frame in OUTPUT_COLUMNS order with fixed dtypes; exact repeats dropped (and reported),
    rows sharing indicator, area, period and breakdown but differing in value reported.

    ``repeats_checked`` skips those checks for a parser that made them on the file's own rows
    (a wide file, whose rows are many times fewer than the normalised frame's)."""
    out = coerce_columns(frame.assign(publisher=publisher))
    if not repeats_checked:
        identity = [
            "indicator_id",
            "area_code",
            "area_type",
            "period_raw",
            "sex",
            "age",
            "category_type",
            "category",
            "status",
        ]
        out = report_repeats(
            out.drop(columns="publisher"),
            identity=identity,
            issues=issues,
            what="indicator, area, period and breakdown",
        ).assign(publisher=publisher)[list(OUTPUT_COLUMNS)]
    if out.empty:
        issues.append("The file has a header but no data rows.")
    return out.reset_index(drop=True)


def report_repeats(
    rows: pd.DataFrame,
    *,
    identity: list[str],
    issues: list[str],
    what: str = "organisation and breakdown",
) -> pd.DataFrame:
    """A file's rows with exact repeats dropped (and reported); rows sharing the identity
    columns (``what`` they name) but differing otherwise are reported and kept."""
    content = [c for c in rows.columns if c != "source_row"]
    repeats = rows.duplicated(subset=content)
    if repeats.any():
        n = int(repeats.sum())
        issues.append(
            f"{n} row{'s' if n != 1 else ''} repeated an earlier row exactly and "
            f"{'were' if n != 1 else 'was'} dropped "
            f"(rows {_row_list(rows.loc[repeats, 'source_row'])})."
        )
        rows = rows[~repeats]
    clashes = rows.duplicated(subset=identity, keep=False)
    if clashes.any():
        issues.append(
            f"{int(clashes.sum())} rows share {what} with another row but differ "
            f"(rows {_row_list(rows.loc[clashes, 'source_row'])}); all are kept."
        )
    return rows


def publication(
    frame: pd.DataFrame,
    *,
    table: RawTable,
    filename: str,
    issues: list[str],
    repeats_checked: bool = False,
    rows_skipped: int = 0,
) -> ParsedPublication:
    """A parser's normalised rows, finalised, with the file's provenance."""
    publisher = table.layout.publisher
    return ParsedPublication(
        frame=finalise(frame, publisher=publisher, issues=issues, repeats_checked=repeats_checked),
        publisher=publisher,
        file_checksum=table.checksum,
        issues=issues,
        filename=filename,
        layout=table.layout.key,
        rows_skipped=rows_skipped,
    )


def _row_list(rows: pd.Series) -> str:
    values = [str(r) for r in rows.head(MAX_LISTED)]
    return ", ".join(values) + (", ..." if len(rows) > MAX_LISTED else "")
