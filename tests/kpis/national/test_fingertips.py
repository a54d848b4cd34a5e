"""Fingertips indicator data: the sample export's rows, read back value by value."""

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpis.national import (
    OUTPUT_COLUMNS,
    PublicationFormatError,
    fingertips_period,
    parse_fingertips,
)
from kpis.national.fingertips import LAYOUT
from kpis.periods import PeriodParseError, parse_period

FILES = Path(__file__).parent / "files"
SAMPLE = FILES / "fingertips_mental_health.csv"

# The header Fingertips' own web-service tests expect (PholioVisualisation DataControllerTest),
# plus the "Time period range" column newer exports add.
FINGERTIPS_HEADER = (
    "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,"
    "Category Type,Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,"
    "Lower CI 99.8 limit,Upper CI 99.8 limit,Count,Denominator,Value note,Recent Trend,"
    "Compared to England value or percentiles,Compared to Region value or percentiles,"
    "Time period Sortable,New data,Compared to goal,Time period range"
)


def only(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in where.items():
        mask &= (frame[column] == wanted).to_numpy()
    matched = frame[mask]
    assert len(matched) == 1, f"{len(matched)} rows match {where}"
    return matched.iloc[0]


@pytest.fixture(scope="module")
def parsed():
    return parse_fingertips(SAMPLE.read_bytes(), filename=SAMPLE.name)


def test_sample_uses_the_published_header():
    assert SAMPLE.read_text(encoding="utf-8").splitlines()[0] == FINGERTIPS_HEADER
    assert set(LAYOUT.required) <= set(FINGERTIPS_HEADER.split(","))


def test_publication_metadata(parsed):
    assert parsed.publisher == "fingertips"
    assert parsed.file_checksum == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert list(parsed.frame.columns) == list(OUTPUT_COLUMNS)
    # 18 data rows; the England 2021/22 self-harm row (row 14) repeats row 9 under a parent code.
    assert len(parsed.frame) == 17
    assert 14 not in set(parsed.frame["source_row"])
    assert parsed.issues == [
        "Time period '2020/21 - 22/23' on 1 row was not read as a period: pooled financial "
        "years (2020/21 to the end of 22/23) are not a period type this service stores. "
        "Those rows have no period.",
        "1 row repeated an earlier row exactly and was dropped (rows 14).",
    ]


def test_pooled_years_row_for_southend(parsed):
    row = only(parsed.frame, indicator_id="41001", area_code="E06000033", sex="Persons")
    assert row["indicator_name"] == "Suicide rate"
    assert row["area_name"] == "Southend-on-Sea"
    assert row["area_type"] == "Counties & UAs (from Apr 2023)"
    assert row["age"] == "10+ yrs"
    assert (row["period_label"], row["period_type"], row["period_raw"]) == (
        "2019 to 2021",
        "pooled_calendar_years",
        "2019 - 21",
    )
    assert row["period_start"] == pd.Timestamp(2019, 1, 1)
    assert row["period_end"] == pd.Timestamp(2021, 12, 31)
    assert (row["value"], row["lower95"], row["upper95"]) == (11.9, 9.2, 15.1)
    assert (row["lower998"], row["upper998"]) == (8.0, 17.0)
    assert row["numerator"] == 67.0
    assert np.isnan(row["denominator"])
    assert (row["suppressed"], row["marker"], row["note"], row["ci_method"]) == (
        False,
        "",
        "",
        "",
    )
    assert row["source_row"] == 4


def test_set_areas_and_england(parsed):
    frame = parsed.frame
    suicide = frame[(frame["indicator_id"] == "41001") & (frame["period_raw"] == "2019 - 21")]
    assert dict(zip(suicide["area_code"], suicide["value"], strict=True)) == {
        "E92000001": 10.4,
        "E10000012": 10.1,
        "E06000033": 11.9,
        "E06000034": 9.1,
    }
    harm = only(frame, indicator_id="21001", area_code="E06000034", period_label="2021-22")
    assert (harm["value"], harm["numerator"], harm["denominator"]) == (143.2, 252.0, 176000.0)
    assert harm["period_type"] == "financial_year"
    assert harm["period_start"] == pd.Timestamp(2021, 4, 1)
    assert harm["period_end"] == pd.Timestamp(2022, 3, 31)
    essex = only(frame, indicator_id="21001", area_code="E10000012", period_label="2021-22")
    assert (essex["value"], essex["lower998"], essex["upper998"]) == (175.0, 165.8, 184.5)


def test_sub_icb_rows_keep_their_e38_codes(parsed):
    row = only(parsed.frame, indicator_id="848", area_code="E38000168")
    assert row["area_name"] == "NHS Mid and South Essex ICB - 99G"
    assert row["area_type"] == "Sub-ICBs (from Apr 2023)"
    assert (row["value"], row["numerator"], row["denominator"]) == (14.2, 25120.0, 176902.0)
    assert row["period_label"] == "2022-23"


def test_suppressed_rows_keep_the_value_note(parsed):
    southend = only(parsed.frame, indicator_id="41001", area_code="E06000033", sex="Female")
    assert southend["suppressed"]
    assert np.isnan(southend["value"]) and np.isnan(southend["numerator"])
    assert southend["note"] == "Value cannot be calculated as number of cases is too small"
    assert southend["marker"] == ""
    assert southend["period_label"] == "2020 to 2022"
    thurrock = only(parsed.frame, indicator_id="41001", area_code="E06000034", sex="Female")
    assert thurrock["suppressed"]
    assert thurrock["note"] == "Value suppressed for disclosure control due to small count"


def test_missing_value_that_is_not_suppression(parsed):
    row = only(parsed.frame, indicator_id="21001", area_code="E10000012", period_label="2020-21")
    assert np.isnan(row["value"])
    assert not row["suppressed"]
    assert row["note"] == "Value missing in source data"


def test_note_on_a_published_value(parsed):
    row = only(parsed.frame, indicator_id="848", area_code="E92000001")
    assert row["value"] == 13.2
    assert not row["suppressed"]
    assert row["note"] == "Aggregated from all known lower geography values"


def test_category_breakdown(parsed):
    row = only(parsed.frame, indicator_id="21001", category="Most deprived decile (IMD2019)")
    assert row["category_type"] == (
        "County & UA deprivation deciles in England (IMD2019, 4/23 geography)"
    )
    assert row["area_code"] == "E92000001"
    assert (row["value"], row["numerator"], row["denominator"]) == (236.8, 13021.0, 5613408.0)


def test_unstored_period_is_kept_without_a_period(parsed):
    row = only(parsed.frame, indicator_id="90813")
    assert (row["period_label"], row["period_type"]) == ("", "")
    assert pd.isna(row["period_start"]) and pd.isna(row["period_end"])
    assert row["period_raw"] == "2020/21 - 22/23"
    assert row["value"] == 560.4


def test_dtypes(parsed):
    frame = parsed.frame
    assert frame["value"].dtype == np.float64
    assert frame["suppressed"].dtype == bool
    assert frame["source_row"].dtype == np.int64
    assert str(frame["period_start"].dtype) == "datetime64[ns]"
    assert frame["area_code"].map(type).eq(str).all()


def test_fingertipsr_written_frame_reads_the_same():
    """fingertips_data() strips spaces from names; write.csv adds row names and writes NA."""
    path = FILES / "fingertipsr_write_csv.csv"
    parsed = parse_fingertips(path.read_bytes(), filename=path.name)
    assert parsed.issues == []
    frame = parsed.frame
    assert list(frame["area_code"]) == ["E92000001", "E06000033", "E06000033"]
    assert list(frame["period_label"]) == ["2019 to 2021", "2019 to 2021", "2020 to 2022"]
    assert frame["value"].iloc[:2].tolist() == [10.4, 11.9]
    assert frame["category_type"].tolist() == ["", "", ""]
    suppressed = frame.iloc[2]
    assert suppressed["suppressed"] and np.isnan(suppressed["value"])
    assert suppressed["marker"] == ""
    assert suppressed["note"] == "Value cannot be calculated as number of cases is too small"


def test_wrong_header_is_refused_naming_the_missing_columns():
    path = FILES / "fingertips_wrong_header.csv"
    with pytest.raises(PublicationFormatError) as caught:
        parse_fingertips(path.read_bytes(), filename=path.name)
    assert str(caught.value) == (
        "fingertips_wrong_header.csv does not have the OHID Fingertips indicator data layout: "
        "the header lacks the columns Time period, Value note."
    )


def test_other_publishers_file_is_refused():
    path = FILES / "mhsds_main_jul2023.csv"
    with pytest.raises(PublicationFormatError, match="lacks the columns Indicator ID"):
        parse_fingertips(path.read_bytes(), filename=path.name)


def test_header_only_file_gives_an_empty_frame():
    parsed = parse_fingertips((FINGERTIPS_HEADER + "\n").encode(), filename="empty.csv")
    assert parsed.frame.empty
    assert list(parsed.frame.columns) == list(OUTPUT_COLUMNS)
    assert parsed.issues == ["The file has a header but no data rows."]


def test_windows_1252_file_is_read_and_noted():
    cells = ["41001", "Suicide rate", "", "", "E06000033", "Southend-on-Sea", "UA", "Persons"]
    cells += ["10+ yrs", "", "", "2019 - 21", "11.9", "", "", "", "", "", ""]
    cells += ["Provisional \u2013 see metadata"] + [""] * 7
    text = FINGERTIPS_HEADER + "\n" + ",".join(cells) + "\n"
    parsed = parse_fingertips(text.encode("cp1252"), filename="latin.csv")
    assert parsed.issues == ["The file is not UTF-8; it was read as Windows-1252."]
    assert parsed.frame["note"].iloc[0] == "Provisional \u2013 see metadata"
    assert parsed.frame["value"].iloc[0] == 11.9


# Spellings from Fingertips' TimePeriodFormatterTest (PholioVisualisation.FormattingTest).
@pytest.mark.parametrize(
    ("text", "label", "kind", "start", "end"),
    [
        ("2006", "2006", "calendar_year", date(2006, 1, 1), date(2006, 12, 31)),
        (
            "2006 - 07",
            "2006 to 2007",
            "pooled_calendar_years",
            date(2006, 1, 1),
            date(2007, 12, 31),
        ),
        (
            "2006 - 08",
            "2006 to 2008",
            "pooled_calendar_years",
            date(2006, 1, 1),
            date(2008, 12, 31),
        ),
        (
            "2018 - 20",
            "2018 to 2020",
            "pooled_calendar_years",
            date(2018, 1, 1),
            date(2020, 12, 31),
        ),
        (
            "1999 - 01",
            "1999 to 2001",
            "pooled_calendar_years",
            date(1999, 1, 1),
            date(2001, 12, 31),
        ),
        ("2006/07", "2006-07", "financial_year", date(2006, 4, 1), date(2007, 3, 31)),
        ("2020/21", "2020-21", "financial_year", date(2020, 4, 1), date(2021, 3, 31)),
        ("2006/07 Q1", "2006-07 Q1", "quarter", date(2006, 4, 1), date(2006, 6, 30)),
        ("2020/21 Q3", "2020-21 Q3", "quarter", date(2020, 10, 1), date(2020, 12, 31)),
        ("2006 Q1", "2005-06 Q4", "quarter", date(2006, 1, 1), date(2006, 3, 31)),
        ("2006 Q4", "2006-07 Q3", "quarter", date(2006, 10, 1), date(2006, 12, 31)),
        (
            "2006/07 Q1 - 2006/07 Q4",
            "12 months to Mar 2007",
            "rolling_12m_to_month",
            date(2006, 4, 1),
            date(2007, 3, 31),
        ),
        (
            "2006/07 Q2 - 2007/08 Q1",
            "12 months to Jun 2007",
            "rolling_12m_to_month",
            date(2006, 7, 1),
            date(2007, 6, 30),
        ),
        (
            "2006 Q2 - 2007 Q1",
            "12 months to Mar 2007",
            "rolling_12m_to_month",
            date(2006, 4, 1),
            date(2007, 3, 31),
        ),
        ("2006/07 Q1-Q4", "2006-07", "financial_year", date(2006, 4, 1), date(2007, 3, 31)),
        ("2013/14 Q1", "2013-14 Q1", "quarter", date(2013, 4, 1), date(2013, 6, 30)),
        ("Jan 2009", "Jan 2009", "month", date(2009, 1, 1), date(2009, 1, 31)),
        (
            "Jan 2009 - Dec 2009",
            "12 months to Dec 2009",
            "rolling_12m_to_month",
            date(2009, 1, 1),
            date(2009, 12, 31),
        ),
        (
            "Aug 2006 - Jul 2007",
            "12 months to Jul 2007",
            "rolling_12m_to_month",
            date(2006, 8, 1),
            date(2007, 7, 31),
        ),
    ],
)
def test_fingertips_period_spellings(text, label, kind, start, end):
    spec = fingertips_period(text)
    assert (spec.label, spec.type, spec.start, spec.end) == (label, kind, start, end)
    # The canonical label is one parse_period reads back to the same dates.
    assert parse_period(spec.label) == spec


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2006/07 - 08/09", "pooled financial years"),
        ("2006/07 Q1-Q3", "year-to-date"),
        ("2013/14 Q1 - 2014/15 Q4", "spans 24 months"),
        ("Aug 2006 - Jul 2009", "spans 36 months"),
        ("2006/08", "not a financial year"),
        ("", "blank"),
        ("2008 - 06", "run forward"),
    ],
)
def test_fingertips_periods_not_stored(text, reason):
    with pytest.raises(PeriodParseError, match=reason):
        fingertips_period(text)
