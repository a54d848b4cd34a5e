"""Telling publishers apart by header, and never failing with anything but a format error."""

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.national import (
    LAYOUTS,
    OUTPUT_COLUMNS,
    PublicationFormatError,
    detect_publisher,
    parse_fingertips,
    parse_mhsds,
    parse_publication,
    parse_talking_therapies,
)

FILES = Path(__file__).parent / "files"
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PARSERS = (parse_publication, parse_fingertips, parse_mhsds, parse_talking_therapies)


@pytest.mark.parametrize(
    ("name", "publisher"),
    [
        ("fingertips_mental_health.csv", "fingertips"),
        ("fingertipsr_write_csv.csv", "fingertips"),
        ("mhsds_main_jul2023.csv", "mhsds"),
        ("talking_therapies_monthly_jun2025.csv", "talking_therapies"),
        ("talking_therapies_quarterly_q3_2025_26.csv", "talking_therapies"),
    ],
)
def test_each_sample_is_recognised_and_dispatched(name, publisher):
    content = (FILES / name).read_bytes()
    assert detect_publisher(content) == publisher
    parsed = parse_publication(content, filename=name)
    assert parsed.publisher == publisher
    assert parsed.filename == name
    assert list(parsed.frame.columns) == list(OUTPUT_COLUMNS)


def test_byte_order_mark_and_utf16_are_read():
    content = (FILES / "mhsds_main_jul2023.csv").read_text(encoding="utf-8")
    assert detect_publisher(content.encode("utf-8-sig")) == "mhsds"
    parsed = parse_publication(content.encode("utf-16"), filename="u16.csv")
    assert len(parsed.frame) == 22


def test_unknown_header_is_refused():
    with pytest.raises(PublicationFormatError) as caught:
        detect_publisher(b"Area,Year,Rate\nE06000033,2021,4\n")
    assert str(caught.value) == (
        "The file does not match any publication this service reads (NHS England Mental Health "
        "Services Monthly Statistics (MHSDS); NHS Talking Therapies annual report; NHS Talking "
        "Therapies monthly; NHS Talking Therapies quarterly; OHID Fingertips indicator data): "
        "none of their columns is in the header, which begins 'Area', 'Year', 'Rate'."
    )


def test_partly_matching_header_names_the_closest_layout():
    header = "Indicator ID,Indicator Name,Area Code,Area Name,Time period,Value"
    with pytest.raises(PublicationFormatError) as caught:
        parse_publication(f"{header}\n".encode(), filename="ft.csv")
    assert str(caught.value).endswith(
        "The closest is OHID Fingertips indicator data, but the header lacks the columns "
        "Area Type, Sex, Age, Category Type, Category, Lower CI 95.0 limit, Upper CI 95.0 limit, "
        "Lower CI 99.8 limit, Upper CI 99.8 limit, Count, Denominator, Value note."
    )


def test_semicolon_file_gets_a_hint():
    content = (FILES / "mhsds_main_jul2023.csv").read_text(encoding="utf-8").replace(",", ";")
    with pytest.raises(PublicationFormatError, match="delimited by tabs or semicolons"):
        parse_publication(content.encode(), filename="semi.csv")


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\x00\x00"])
def test_empty_files_are_refused(content):
    for parse in PARSERS:
        with pytest.raises(PublicationFormatError, match="empty"):
            parse(content, filename="blank.csv")


def _assert_parses_or_refuses(content: bytes) -> None:
    for parse in PARSERS:
        try:
            parsed = parse(content, filename="fuzz.csv")
        except PublicationFormatError:
            continue
        assert list(parsed.frame.columns) == list(OUTPUT_COLUMNS)
        assert parsed.frame["suppressed"].dtype == bool
    try:
        detect_publisher(content)
    except PublicationFormatError:
        pass


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_format_errors(content):
    _assert_parses_or_refuses(content)


CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "*",
            "-",
            "c",
            "..",
            "NA",
            "1,200",
            "1e400",
            "nan",
            "England",
            "all",
            "All_ICB",
            "null",
            "NONE",
            "2019 - 21",
            "2099 - 01",
            "2020/21",
            "2020/21 - 22/23",
            "2006 Q1",
            "2006/07 Q4 - 2007/08 Q3",
            "Jan 0000",
            "0000",
            "2023-07-01",
            "0001-01-01",
            "9999-12-31",
            "31/02/2025",
            "1/6/24",
            '"',
            "\r\n",
        ]
    ),
)


@st.composite
def publisher_shaped_csv(draw) -> bytes:
    """A CSV with (most of) a real layout's header and random cells, in a random encoding."""
    layout = draw(st.sampled_from(LAYOUTS))
    header = [column.name for column in layout.columns]
    if draw(st.booleans()):
        header = list(draw(st.permutations(header)))
    if draw(st.booleans()):
        del header[draw(st.integers(0, len(header) - 1))]
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 1), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return buffer.getvalue().encode(encoding, errors="replace")


@SETTINGS
@given(publisher_shaped_csv())
def test_random_csv_only_ever_raises_format_errors(content):
    _assert_parses_or_refuses(content)
