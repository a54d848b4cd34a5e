"""MHSDS monthly data file: months and rolling windows, "*" suppression, pairing of measures."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpis.national import (
    OUTPUT_COLUMNS,
    PublicationFormatError,
    pair_measures,
    parse_day,
    parse_mhsds,
)
from kpis.periods import PeriodParseError

FILES = Path(__file__).parent / "files"
SAMPLE = FILES / "mhsds_main_jul2023.csv"
HEADER = (
    "REPORTING_PERIOD_START,REPORTING_PERIOD_END,STATUS,BREAKDOWN,PRIMARY_LEVEL,"
    "PRIMARY_LEVEL_DESCRIPTION,SECONDARY_LEVEL,SECONDARY_LEVEL_DESCRIPTION,MEASURE_ID,"
    "MEASURE_NAME,MEASURE_VALUE"
)
MHS01 = (
    "People in contact with secondary mental health, learning disabilities and autism services "
    "at the end of the reporting period"
)


def only(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in where.items():
        mask &= (frame[column] == wanted).to_numpy()
    matched = frame[mask]
    assert len(matched) == 1, f"{len(matched)} rows match {where}"
    return matched.iloc[0]


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


@pytest.fixture(scope="module")
def parsed():
    return parse_mhsds(SAMPLE.read_bytes(), filename=SAMPLE.name)


def test_publication_metadata(parsed):
    assert SAMPLE.read_text(encoding="utf-8").splitlines()[0] == HEADER
    assert parsed.publisher == "mhsds"
    assert parsed.layout == "mhsds"
    assert parsed.file_checksum == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert parsed.issues == []
    assert list(parsed.frame.columns) == list(OUTPUT_COLUMNS)
    assert len(parsed.frame) == 22
    assert set(parsed.frame["publisher"]) == {"mhsds"}
    assert set(parsed.frame["status"]) == {"Performance"}


def test_england_month(parsed):
    row = only(parsed.frame, indicator_id="MHS01", area_type="England", category="")
    assert (row["area_code"], row["area_name"]) == ("E92000001", "England")
    assert row["indicator_name"] == MHS01
    assert (row["period_label"], row["period_type"]) == ("Jul 2023", "month")
    assert row["period_start"] == pd.Timestamp(2023, 7, 1)
    assert row["period_end"] == pd.Timestamp(2023, 7, 31)
    assert row["period_raw"] == "01/07/2023 to 31/07/2023"
    assert row["value"] == 1411795.0
    assert np.isnan(row["numerator"]) and np.isnan(row["denominator"])
    assert (row["category_type"], row["category"], row["sex"], row["age"]) == ("", "", "", "")
    assert (row["suppressed"], row["marker"], row["note"], row["ci_method"]) == (
        False,
        "",
        "",
        "",
    )
    assert row["source_row"] == 2


def test_secondary_breakdown(parsed):
    row = only(parsed.frame, indicator_id="MHS01", category="Male")
    assert (row["area_code"], row["area_type"], row["category_type"]) == (
        "E92000001",
        "England",
        "Gender",
    )
    assert row["value"] == 640210.0


def test_sub_icb_icb_and_provider_codes_as_published(parsed):
    month = parsed.frame[
        (parsed.frame["indicator_id"] == "MHS01") & (parsed.frame["category"] == "")
    ]
    assert dict(zip(month["area_code"], month["value"], strict=True)) == {
        "E92000001": 1411795.0,
        "99G": 5735.0,
        "07G": 4385.0,
        "UNKNOWN": 115.0,
        "QH8": 38920.0,
        "R1L": 29480.0,
    }
    thurrock = only(month, area_code="07G")
    assert thurrock["area_name"] == "NHS Mid and South Essex ICB - 07G"
    assert thurrock["area_type"] == "Sub ICB - GP Practice or Residence"
    assert only(month, area_code="QH8")["area_type"] == "ICB - GP Practice or Residence"
    assert only(month, area_code="R1L")["area_type"] == "Provider"


def test_rolling_three_month_window(parsed):
    row = only(parsed.frame, indicator_id="EIP23i", area_code="07G")
    assert (row["period_label"], row["period_type"]) == (
        "3 months to Jul 2023",
        "rolling_3m_to_month",
    )
    assert row["period_start"] == pd.Timestamp(2023, 5, 1)
    assert row["period_end"] == pd.Timestamp(2023, 7, 31)
    assert row["value"] == 67.0
    assert only(parsed.frame, indicator_id="EIP23i", area_code="E92000001")["value"] == 68.75


def test_rolling_twelve_month_window(parsed):
    row = only(parsed.frame, indicator_id="MHS95", area_code="99G")
    assert (row["period_label"], row["period_type"]) == (
        "12 months to Jul 2023",
        "rolling_12m_to_month",
    )
    assert row["period_start"] == pd.Timestamp(2022, 8, 1)
    assert row["period_end"] == pd.Timestamp(2023, 7, 31)
    assert row["value"] == 1520.0


def test_star_is_suppressed(parsed):
    for measure in ("EIP23b", "EIP23i"):
        row = only(parsed.frame, indicator_id=measure, area_code="99G")
        assert row["suppressed"]
        assert np.isnan(row["value"])
        assert row["marker"] == "*"
    assert parsed.frame["suppressed"].sum() == 2


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2023-07-01", "2023-07-31"),
        ("01/07/2023", "31/07/2023"),
        ("01-07-2023", "31-07-2023"),
        ("1/7/2023", "31/7/2023"),
        ("01/07/23", "31/07/23"),
        ("2023-7-01", "2023-7-31"),
    ],
)
def test_the_date_spellings_nhs_england_has_used(start, end):
    row = f"{start},{end},Final,England,England,England,NONE,NONE,MHS01,People,100"
    frame = parse_mhsds(csv_bytes(row), filename="f.csv").frame
    assert frame["period_label"].tolist() == ["Jul 2023"]


def test_parse_day_rejects_impossible_dates():
    assert parse_day("29/02/2024").isoformat() == "2024-02-29"
    for bad in ("31/02/2025", "2025-13-01", "April 2025", "1/6/224"):
        with pytest.raises((PeriodParseError, ValueError)):
            parse_day(bad)


def test_trailing_spaces_and_other_windows():
    rows = (
        "01/06/2023,31/07/2023,Performance ,England,England,England,NONE,NONE,XX1,Two months,7",
        "15/07/2023,31/07/2023,Performance ,England,England,England,NONE,NONE,XX2,Half month,8",
        "01/07/2023,31/07/2023,Performance ,England,England,England,NONE,NONE,XX3,A month,9",
    )
    parsed = parse_mhsds(csv_bytes(*rows), filename="f.csv")
    assert parsed.frame["status"].tolist() == ["Performance"] * 3
    assert parsed.frame["period_label"].tolist() == ["", "", "Jul 2023"]
    assert parsed.issues == [
        "REPORTING_PERIOD_START|END '01/06/2023|31/07/2023' on 1 row was not read as a period: "
        "a 2-month window is not a period this service stores (months, financial quarters and "
        "years, calendar years, pooled years and rolling 3 or 12 months are). Those rows have "
        "no period.",
        "REPORTING_PERIOD_START|END '15/07/2023|31/07/2023' on 1 row was not read as a period: "
        "the window starts on 15 Jul 2023, not the first of a month. Those rows have no period.",
    ]


def test_unknown_marker_is_kept_and_reported():
    row = "01/07/2023,31/07/2023,Final,England,England,England,NONE,NONE,MHS01,People,n/k"
    parsed = parse_mhsds(csv_bytes(row), filename="f.csv")
    assert parsed.frame["marker"].tolist() == ["n/k"]
    assert not parsed.frame["suppressed"].iloc[0]
    assert parsed.issues == [
        "MEASURE_VALUE: 'n/k' (1 row) are neither numbers nor known markers; those values are "
        "left empty and the text is kept as the marker."
    ]


def test_missing_columns_are_named():
    header = HEADER.replace("STATUS,", "").replace("MEASURE_NAME,", "")
    row = "01/07/2023,31/07/2023,England,England,England,NONE,NONE,MHS01,100"
    with pytest.raises(PublicationFormatError) as caught:
        parse_mhsds(csv_bytes(row, header=header), filename="MHSDS Data_JulPrf_2023.csv")
    assert str(caught.value) == (
        "MHSDS Data_JulPrf_2023.csv does not have the NHS England Mental Health Services "
        "Monthly Statistics (MHSDS) layout: the header lacks the columns STATUS, MEASURE_NAME."
    )


def test_repeated_column_is_refused():
    header = HEADER + ",MEASURE_VALUE"
    with pytest.raises(PublicationFormatError, match="names MEASURE_VALUE more than once"):
        parse_mhsds(csv_bytes(header=header), filename="f.csv")


def test_ragged_rows_are_refused():
    row = "01/07/2023,31/07/2023,Final,England,England,England,NONE,NONE,MHS01,People,1,2,3"
    with pytest.raises(PublicationFormatError, match="not readable as CSV"):
        parse_mhsds(csv_bytes(row), filename="f.csv")


def test_pair_with_the_published_proportion(parsed):
    paired = pair_measures(parsed.frame, "EIP23b", "EIP23a", "EIP23i")
    assert list(paired.columns) == list(OUTPUT_COLUMNS)
    assert paired["area_code"].tolist() == ["E92000001", "07G", "99G", "R1L"]
    assert paired["indicator_id"].tolist() == ["EIP23i"] * 4
    assert set(paired["indicator_name"]) == {
        "Proportion entering treatment waiting two weeks or less"
    }
    assert set(paired["period_label"]) == {"3 months to Jul 2023"}
    assert paired["numerator"].tolist()[:2] == [2200.0, 10.0]
    assert paired["denominator"].tolist() == [3200.0, 15.0, 10.0, 60.0]
    assert paired["value"].tolist()[:2] == [68.75, 67.0]
    southend = paired.iloc[2]
    assert southend["suppressed"] and southend["marker"] == "*"
    assert np.isnan(southend["numerator"]) and np.isnan(southend["value"])
    assert paired["suppressed"].tolist() == [False, False, True, False]
    assert paired["source_row"].tolist() == [11, 14, 17, 20]
    assert paired["note"].tolist() == ["", "", "", ""]


def test_pair_computes_the_percentage_without_a_value_measure(parsed):
    paired = pair_measures(parsed.frame, "EIP23b", "EIP23a")
    assert paired["indicator_id"].tolist() == ["EIP23b/EIP23a"] * 4
    assert paired["value"].iloc[0] == 68.75
    assert paired["value"].iloc[3] == pytest.approx(200 / 3)
    assert np.isnan(paired["value"].iloc[2])
    assert paired["source_row"].tolist() == [10, 13, 16, 19]


def test_pair_names_missing_parts(parsed):
    paired = pair_measures(parsed.frame, "EIP23b", "EIP23a", "EIP99z")
    assert set(paired["note"]) == {"value EIP99z not published"}
    assert paired["indicator_id"].tolist() == ["EIP99z"] * 4
    assert paired["value"].isna().all()
    assert paired["indicator_name"].iloc[0] == (
        "Referrals on EIP pathway entering treatment within two weeks of referral in the "
        "reporting period / Referrals on EIP pathway entering treatment in the reporting period"
    )


def test_pair_refuses_ambiguous_rows(parsed):
    doubled = pd.concat([parsed.frame, parsed.frame])
    with pytest.raises(ValueError, match="EIP23b has 4 rows sharing"):
        pair_measures(doubled, "EIP23b", "EIP23a")
