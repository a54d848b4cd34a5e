"""Property tests: malformed files never crash reading or validation with anything else than
ReturnRejected, and every issue is well formed, with a row and column where it concerns a cell."""

import io
import os
import zipfile
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.returns.read import read_return
from kpis.returns.spec import COLUMNS, ISSUE_CODES, Issue, ReturnRejected
from kpis.returns.validate import validate_return
from tests.kpis.returns import csv_bytes, data_row, make_ctx, xlsx_bytes

CTX = make_ctx(
    required_template_version="2024.1",
    expected=frozenset({("EIP-2WK", "southend", "2023-24 Q2")}),
    previous={("EIP-2WK", "southend", "all"): (50.0, 40.0, 60.0)},
    breakdown_categories={"sex": frozenset({"female", "male"})},
    max_rows=200,
)
# Codes of issues about one cell: they always name a row and a column.
CELL_CODES = {
    "unknown_kpi",
    "kpi_not_locally_supplied",
    "unknown_place",
    "place_not_permitted",
    "period_invalid",
    "period_not_open",
    "period_locked",
    "period_type_mismatch",
    "breakdown_invalid",
    "breakdown_not_allowed",
    "not_a_number",
    "not_whole_number",
    "negative_count",
    "unexpected_percent",
    "out_of_range",
    "numerator_above_denominator",
    "zero_denominator",
    "denominator_above_population",
    "value_mismatch",
    "duplicate_row",
    "missing_required",
    "formula",
    "formula_no_value",
    "small_count",
    "outside_limits",
    "far_from_previous",
    "person_level_value",
    "period_as_date",
}
# RETURNS_HYPOTHESIS_EXAMPLES=2000 for a longer search.
SETTINGS = settings(
    max_examples=int(os.environ.get("RETURNS_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_well_formed(issue: Issue, rows: int | None = None):
    assert isinstance(issue, Issue)
    assert issue.code in ISSUE_CODES, issue
    assert issue.severity in ("error", "warning")
    assert isinstance(issue.message, str) and issue.message
    assert isinstance(issue.value, str)
    assert issue.row is None or (isinstance(issue.row, int) and issue.row >= 1)
    assert issue.column is None or isinstance(issue.column, str)
    if issue.code in CELL_CODES:
        assert issue.row is not None and issue.column, issue


def outcome(filename: str, content: bytes):
    """Read and validate; the issues either way. Anything but ReturnRejected propagates."""
    try:
        raw = read_return(filename, content, CTX)
    except ReturnRejected as rejected:
        assert rejected.issues
        for issue in rejected.issues:
            assert_well_formed(issue)
            assert issue.severity == "error"
        return rejected.issues
    result = validate_return(raw, CTX)
    for issue in result.errors + result.warnings:
        assert_well_formed(issue)
    assert set(result.rows["row"]).issubset(set(raw.frame["row"]))
    error_rows = {i.row for i in result.errors if i.row is not None}
    assert not error_rows & set(result.rows["row"])
    return result.errors + result.warnings


TOKENS = st.sampled_from(
    [
        "",
        " ",
        "EIP-2WK",
        "eip-2wk",
        "CYP-ACCESS",
        "SMHS-EMPLOYMENT-GAP",
        "CQC-SCORE",
        "southend",
        "thurrock",
        "essex_north",
        "wales",
        "2023-24 Q2",
        "2023/24 Q1",
        "Q2 2023",
        "FY24",
        "Jul 2023",
        "2024-25",
        "sex:female",
        "sex:other",
        "age_band:65+",
        "all",
        "x:y:z",
        "*",
        "c",
        "..",
        "[x]",
        "0",
        "1",
        "3",
        "45",
        "60",
        "75",
        "-5",
        "1e309",
        "nan",
        "inf",
        "45%",
        "1,234",
        "12.5",
        "=1+1",
        "@x",
        "9434765919",
        "SS1 2AB",
        "\u00e9",
        '"',
        ",",
        "\n",
        "#template_version=2024.1",
    ]
)
CELLS = st.one_of(TOKENS, st.text(max_size=12))


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes(content):
    outcome("upload.csv", content)


@SETTINGS
@given(
    st.lists(st.sampled_from([*COLUMNS, "nhs_number", "extra", ""]), min_size=0, max_size=11),
    st.lists(st.lists(CELLS, min_size=0, max_size=11), min_size=0, max_size=8),
    st.sampled_from(["", "#template_version=2024.1\n", "#template_version=2023.1,,\n", "#\n"]),
)
def test_random_csv_text(header, rows, first_line):
    text = first_line + "\n".join(
        [",".join(header)] + [",".join(cell.replace("\x00", "") for cell in row) for row in rows]
    )
    outcome("upload.csv", text.encode("utf-8"))


@SETTINGS
@given(st.lists(st.fixed_dictionaries({c: CELLS for c in COLUMNS}), min_size=1, max_size=8))
def test_random_cells_in_a_well_formed_csv(rows):
    issues = outcome("upload.csv", csv_bytes(rows, version="2024.1"))
    rejected_codes = {i.code for i in issues} & {"person_level_value", "csv_malformed"}
    assert isinstance(issues, list) and (issues or not rejected_codes)


@lru_cache(maxsize=1)
def base_workbook() -> bytes:
    rows = [data_row(numerator=45, denominator=60, value=75), data_row(period="2023-24 Q1")]
    return xlsx_bytes(rows, version="2024.1", formats={(2, "value"): "0%"})


@SETTINGS
@given(st.integers(min_value=0, max_value=10_000))
def test_truncated_workbooks(cut):
    content = base_workbook()
    outcome("upload.xlsx", content[: cut % len(content)])


@SETTINGS
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=6))
def test_corrupted_workbooks(changes):
    content = bytearray(base_workbook())
    for position, byte in changes:
        content[position % len(content)] = byte
    outcome("upload.xlsx", bytes(content))


XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@SETTINGS
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                c: st.one_of(
                    TOKENS.filter(lambda t: "\n" not in t),
                    XML_TEXT,
                    st.none(),
                    st.integers(-(10**6), 10**6),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                )
                for c in COLUMNS
            }
        ),
        min_size=1,
        max_size=6,
    )
)
def test_random_cells_in_a_workbook(rows):
    outcome("upload.xlsx", xlsx_bytes(rows, version="2024.1"))


def test_zip_members_that_are_not_xml():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", b"\x00\x01 not xml")
        archive.writestr("xl/workbook.xml", b"<<<")
        archive.writestr("xl/_rels/workbook.xml.rels", b"<Relationships")
    issues = outcome("upload.xlsx", buffer.getvalue())
    assert [i.code for i in issues] == ["xlsx_damaged"]


# -- the two CSV parsers read the same cells ----------------------------------------------------


def _read_either_way(content: bytes):
    """The return as read by the Arrow fast path and by pandas alone: the issues if rejected.
    Arrow refusing every file (as it refuses a ragged one) leaves each to pandas."""
    from unittest.mock import patch

    import pyarrow as pa

    def read_with(arrow: bool):
        try:
            if arrow:
                return read_return("upload.csv", content, CTX)
            with patch("pyarrow.csv.read_csv", side_effect=pa.ArrowInvalid("refused")):
                return read_return("upload.csv", content, CTX)
        except ReturnRejected as rejected:
            return rejected.issues

    return read_with(True), read_with(False)


PLAIN_CELLS = st.one_of(
    TOKENS.filter(lambda t: '"' not in t and "\n" not in t),
    st.text(
        alphabet=st.characters(blacklist_characters='"\r\n\x00', blacklist_categories=("Cs",)),
        max_size=8,
    ),
)


@SETTINGS
@given(
    st.one_of(
        st.permutations(COLUMNS),
        st.lists(st.sampled_from([*COLUMNS, " kpi_code ", "extra", ""]), min_size=1, max_size=11),
    ),
    st.lists(
        st.one_of(
            st.lists(PLAIN_CELLS.filter(lambda t: "," not in t), min_size=9, max_size=9),
            st.lists(PLAIN_CELLS, min_size=0, max_size=11),
            st.just([]),
        ),
        min_size=0,
        max_size=8,
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.sampled_from(
        ["", "\ufeff", "#template_version=2024.1\n", "\ufeff# caf\u00e9 \u2013 note\n"]
    ),
)
def test_the_arrow_reader_and_pandas_read_the_same_return(
    header, rows, newline, ends_in_newline, start
):
    """Quote-free files (the only ones the Arrow path takes) come out exactly as pandas reads
    them: the same cells, row numbers, header findings and rejections; blank lines, ragged rows,
    Windows line ends, a byte-order mark and comment lines included."""
    text = start + newline.join([",".join(header)] + [",".join(row) for row in rows])
    if ends_in_newline:
        text += newline
    fast, reference = _read_either_way(text.encode("utf-8"))
    if isinstance(reference, list):
        assert fast == reference
        return
    assert not isinstance(fast, list), fast
    assert fast.frame.equals(reference.frame)
    assert (fast.data_rows, fast.header_row, fast.file_warnings, fast.template_version) == (
        reference.data_rows,
        reference.header_row,
        reference.file_warnings,
        reference.template_version,
    )
    for column, (codes, uniques) in fast.distinct.items():
        assert uniques[codes].tolist() == reference.frame[column].tolist()
        assert len(set(uniques.tolist())) == len(uniques)


def _parser_of(content: bytes):
    """Which parser read a CSV return ("arrow", the fast path, unless pandas was asked), and
    the return read (or the rejection)."""
    from unittest.mock import patch

    import pandas as pd

    with patch("pandas.read_csv", wraps=pd.read_csv) as pandas_read:
        try:
            read = read_return("upload.csv", content, CTX)
        except ReturnRejected as rejected:
            read = rejected
    return ("pandas" if pandas_read.called else "arrow"), read


def test_the_arrow_reader_leaves_quoted_cells_and_lone_carriage_returns_to_pandas():
    header = ",".join(COLUMNS).encode()
    row = b"EIP-2WK,southend,2023-24 Q2,,45,60,75,,"
    assert _parser_of(header + b"\r\n" + row + b"\r\n")[0] == "arrow"
    assert _parser_of(header + b"\n" + row + b'"1,5"\n')[0] == "pandas"
    assert _parser_of(header + b"\r" + row + b"\r")[0] == "pandas"
    parser, ragged = _parser_of(header + b"\n" + row + b",extra\n")  # pandas names the row
    assert parser == "pandas"
    assert [i.code for i in ragged.issues] == ["csv_malformed"] and ragged.issues[0].row == 2
    # Header cells are matched as written (spaces and all), data cells come out stripped, and
    # a trailing blank line is a record too.
    spaced = header.replace(b"place_code", b" place_code ") + b"\n"
    parser, read = _parser_of(spaced + row.replace(b"southend", b" southend ") + b"\n\n")
    assert parser == "arrow"
    assert read.frame["place_code"].tolist() == ["southend"]
    assert (read.data_rows, read.frame["row"].tolist()) == (2, [2])
