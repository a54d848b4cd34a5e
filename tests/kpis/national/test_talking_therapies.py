"""NHS Talking Therapies monthly and quarterly measures files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpis.national import OUTPUT_COLUMNS, PublicationFormatError, parse_talking_therapies

FILES = Path(__file__).parent / "files"
MONTHLY = FILES / "talking_therapies_monthly_jun2025.csv"
QUARTERLY = FILES / "talking_therapies_quarterly_q3_2025_26.csv"
MONTHLY_HEADER = (
    "REPORTING_PERIOD_START,REPORTING_PERIOD_END,GROUP_TYPE,ORG_CODE1,ORG_NAME1,ORG_CODE2,"
    "ORG_NAME2,MEASURE_ID,MEASURE_NAME,MEASURE_VALUE_SUPPRESSED"
)
EPUT = "ESSEX PARTNERSHIP UNIVERSITY NHS FOUNDATION TRUST"


def only(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, wanted in where.items():
        mask &= (frame[column] == wanted).to_numpy()
    matched = frame[mask]
    assert len(matched) == 1, f"{len(matched)} rows match {where}"
    return matched.iloc[0]


@pytest.fixture(scope="module")
def monthly():
    return parse_talking_therapies(MONTHLY.read_bytes(), filename=MONTHLY.name)


@pytest.fixture(scope="module")
def quarterly():
    return parse_talking_therapies(QUARTERLY.read_bytes(), filename=QUARTERLY.name)


def test_monthly_file(monthly):
    assert MONTHLY.read_text(encoding="utf-8").splitlines()[0] == MONTHLY_HEADER
    assert (monthly.publisher, monthly.layout) == ("talking_therapies", "talking_therapies_monthly")
    assert monthly.issues == []
    assert list(monthly.frame.columns) == list(OUTPUT_COLUMNS)
    assert len(monthly.frame) == 12
    assert set(monthly.frame["period_label"]) == {"Jun 2025"}
    assert set(monthly.frame["period_type"]) == {"month"}
    assert set(monthly.frame["period_start"]) == {pd.Timestamp(2025, 6, 1)}
    assert set(monthly.frame["period_end"]) == {pd.Timestamp(2025, 6, 30)}


def test_monthly_england_rows(monthly):
    row = only(monthly.frame, indicator_id="M001", area_type="England")
    assert (row["area_code"], row["area_name"]) == ("E92000001", "England")
    assert row["indicator_name"] == "Count_ReferralsReceived"
    assert row["value"] == 145215.0
    assert row["source_row"] == 2
    assert only(monthly.frame, indicator_id="M195", area_type="England")["value"] == 48.2


def test_monthly_commissioners_and_providers(monthly):
    referrals = monthly.frame[
        (monthly.frame["indicator_id"] == "M001") & (monthly.frame["category"] == "")
    ]
    assert dict(zip(referrals["area_code"], referrals["value"], strict=True)) == {
        "E92000001": 145215.0,
        "QH8": 3370.0,
        "99G": 690.0,
        "07G": 455.0,
        "R1L": 2510.0,
    }
    provider = only(monthly.frame, indicator_id="M186", area_code="R1L")
    assert (provider["area_name"], provider["area_type"], provider["value"]) == (
        EPUT,
        "Provider",
        70.1,
    )
    both = only(monthly.frame, indicator_id="M001", category="R1L")
    assert (both["area_code"], both["area_type"], both["category_type"], both["value"]) == (
        "99G",
        "SubICB-Provider",
        "Provider",
        325.0,
    )


def test_monthly_markers(monthly):
    dash = only(monthly.frame, indicator_id="M004", area_code="E92000001")
    assert (dash["marker"], dash["suppressed"]) == ("-", False)
    assert np.isnan(dash["value"])
    star = only(monthly.frame, indicator_id="M004", area_code="99G")
    assert (star["marker"], star["suppressed"]) == ("*", True)
    assert np.isnan(star["value"])


def test_quarterly_file(quarterly):
    frame = quarterly.frame
    assert (quarterly.publisher, quarterly.layout) == (
        "talking_therapies",
        "talking_therapies_quarterly",
    )
    assert quarterly.issues == []
    assert len(frame) == 9
    assert set(frame["period_label"]) == {"2025-26 Q3"}
    assert set(frame["period_type"]) == {"quarter"}
    assert set(frame["period_raw"]) == {"2025-10-01 to 2025-12-31"}


def test_quarterly_areas_and_breakdowns(quarterly):
    frame = quarterly.frame
    total = only(frame, area_code="E92000001", category_type="")
    assert total["value"] == 452310.0
    disability = only(frame, area_code="E92000001", category_type="Disability")
    assert (disability["category"], disability["value"]) == ("01 Behaviour and Emotional", 16719.0)
    region = only(frame, area_code="Y61")
    assert region["area_type"] == "CommissioningRegion"
    assert region["category_type"] == "Ethnic Group"
    assert region["category"] == "Asian or Asian British; Any other Asian background"
    icb = only(frame, area_code="QH8")
    assert (icb["area_name"], icb["area_type"], icb["value"]) == (
        "NHS MID AND SOUTH ESSEX INTEGRATED CARE BOARD",
        "ICB",
        10240.0,
    )
    southend = only(frame, area_code="99G", area_type="SubICB")
    assert (southend["area_name"], southend["value"]) == (
        "NHS MID AND SOUTH ESSEX ICB - 99G",
        2085.0,
    )
    female = only(frame, area_code="07G", category="Female")
    assert (female["category_type"], female["value"]) == ("Gender", 905.0)
    provider = only(frame, indicator_id="M053")
    assert (provider["area_code"], provider["area_name"], provider["value"]) == ("R1L", EPUT, 95.0)
    both = only(frame, area_type="SubICB-Provider")
    assert (both["area_code"], both["category_type"], both["category"]) == (
        "99G",
        "Provider",
        "R1L",
    )


def test_quarterly_suppression(quarterly):
    row = only(quarterly.frame, area_code="07G", category_type="Ethnic Group")
    assert row["category"] == "Mixed; White and Black Caribbean"
    assert (row["suppressed"], row["marker"]) == (True, "*")
    assert np.isnan(row["value"])


def test_march_2021_value_column_name():
    header = MONTHLY_HEADER.replace("MEASURE_VALUE_SUPPRESSED", "MEASURE_VALUE")
    text = header + "\n01/03/2021,31/03/2021,England,all,all,all,all,M001,Count_Referrals,98\n"
    frame = parse_talking_therapies(text.encode(), filename="mar21.csv").frame
    assert (frame["period_label"].iloc[0], frame["value"].iloc[0]) == ("Mar 2021", 98.0)


def test_missing_columns_named_for_the_closer_layout():
    header = MONTHLY_HEADER.replace(",ORG_CODE2,ORG_NAME2", "")
    with pytest.raises(PublicationFormatError) as caught:
        parse_talking_therapies((header + "\n").encode(), filename="tt.csv")
    assert str(caught.value) == (
        "tt.csv does not match any publication this service reads (NHS Talking Therapies "
        "annual report; NHS Talking Therapies monthly; NHS Talking Therapies quarterly). The "
        "closest is NHS Talking Therapies monthly, but the header lacks the columns "
        "ORG_CODE2, ORG_NAME2."
    )


def test_mhsds_file_is_not_talking_therapies():
    path = FILES / "mhsds_main_jul2023.csv"
    with pytest.raises(PublicationFormatError, match="GROUP_TYPE"):
        parse_talking_therapies(path.read_bytes(), filename=path.name)


def test_annual_report_is_read_wide_for_the_measures_asked():
    content = (FILES / "psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv").read_bytes()
    parsed = parse_talking_therapies(
        content,
        filename="psych-ther-ann-rep-csv-2020-21-main-csv-v2.csv",
        measures={"Count_Recovery", "M192", "Percentage_Recovery"},
    )
    frame = parsed.frame
    assert parsed.layout == "talking_therapies_annual"
    assert set(frame["indicator_id"]) == {"Count_Recovery", "Percentage_Recovery"}
    assert len(frame) == 2 * 14 and set(frame["period_label"]) == {"2020-21"}
    southend = frame[
        frame["area_code"].eq("99G")
        & frame["category_type"].eq("")
        & frame["indicator_id"].eq("Count_Recovery")
    ].iloc[0]
    assert (southend["value"], southend["source_row"], southend["area_type"]) == (1380, 5, "CCG")
    older = frame[frame["category"].eq("65+") & frame["indicator_id"].eq("Count_Recovery")]
    assert older["category_type"].tolist() == ["Age Group"]
    england = frame[frame["area_type"].eq("England")]
    assert set(england["area_code"]) == {"E92000001"}
    indian = frame[frame["category"].eq("Asian or Asian British; Indian")]
    assert indian["suppressed"].all() and indian["marker"].eq("*").all()
