from datetime import date

import pandas as pd
import pytest

from kpis import periods
from kpis.timeseries import NotDerivable, baseline, derive


def frame(rows, series=1):
    """Rows of (period label, numerator, denominator, value) for one series."""
    records = []
    for label, numerator, denominator, value in rows:
        spec = periods.parse_period(label)
        records.append(
            {
                "series": series,
                "label": spec.label,
                "period_start": pd.Timestamp(spec.start),
                "period_end": pd.Timestamp(spec.end),
                "numerator": numerator,
                "denominator": denominator,
                "value": value,
            }
        )
    return pd.DataFrame.from_records(records)


def test_discrete_months_sum_to_a_quarter_and_the_proportion_is_recomputed():
    months = frame(
        [("Apr 2023", 10, 100, 10.0), ("May 2023", 20, 100, 20.0), ("Jun 2023", 30, 200, 15.0)]
    )
    result = derive(months, time_structure="discrete", to=periods.QUARTER, multiplier=100)
    # (10 + 20 + 30) / (100 + 100 + 200) = 60 / 400 = 15%, not the mean of 10, 20 and 15.
    assert result[["label", "numerator", "denominator", "value"]].to_dict("records") == [
        {"label": "2023-24 Q1", "numerator": 60, "denominator": 400, "value": 15.0}
    ]


def test_a_quarter_with_a_missing_month_is_not_derived():
    months = frame([("Apr 2023", 10, 100, 10.0), ("Jun 2023", 30, 200, 15.0)])
    assert derive(months, time_structure="discrete", to=periods.QUARTER).empty


def test_discrete_quarters_sum_to_a_year_of_counts():
    quarters = frame(
        [
            ("2022-23 Q1", None, None, 5),
            ("2022-23 Q2", None, None, 7),
            ("2022-23 Q3", None, None, 0),
            ("2022-23 Q4", None, None, 3),
        ]
    )
    result = derive(quarters, time_structure="discrete", to=periods.FINANCIAL_YEAR)
    assert result[["label", "value"]].to_dict("records") == [{"label": "2022-23", "value": 15}]


def test_year_to_date_quarters_are_differences_and_the_year_is_march():
    ytd = frame(
        [
            ("Jun 2023", None, None, 30),
            ("Sep 2023", None, None, 70),
            ("Dec 2023", None, None, 100),
            ("Mar 2024", None, None, 150),
        ]
    )
    quarters = derive(ytd, time_structure="ytd", to=periods.QUARTER)
    # Q1 = 30; Q2 = 70 - 30; Q3 = 100 - 70; Q4 = 150 - 100.
    assert quarters[["label", "value"]].to_dict("records") == [
        {"label": "2023-24 Q1", "value": 30},
        {"label": "2023-24 Q2", "value": 40},
        {"label": "2023-24 Q3", "value": 30},
        {"label": "2023-24 Q4", "value": 50},
    ]
    year = derive(ytd, time_structure="ytd", to=periods.FINANCIAL_YEAR)
    assert year[["label", "value"]].to_dict("records") == [{"label": "2023-24", "value": 150}]


def test_year_to_date_quarter_after_a_gap_is_not_derived():
    ytd = frame([("Jun 2023", None, None, 30), ("Dec 2023", None, None, 100)])
    quarters = derive(ytd, time_structure="ytd", to=periods.QUARTER)
    assert quarters["label"].tolist() == ["2023-24 Q1"]


def test_rolling_values_take_the_period_end_never_a_sum():
    rolling = frame(
        [
            ("12 months to Jan 2021", 40, 1000, 4.0),
            ("12 months to Feb 2021", 41, 1000, 4.1),
            ("12 months to Mar 2021", 42, 1000, 4.2),
        ]
    )
    year = derive(rolling, time_structure="rolling_12m", to=periods.FINANCIAL_YEAR)
    assert year[["label", "value"]].to_dict("records") == [{"label": "2020-21", "value": 4.2}]
    quarter = derive(rolling, time_structure="rolling_12m", to=periods.QUARTER)
    assert quarter[["label", "value"]].to_dict("records") == [{"label": "2020-21 Q4", "value": 4.2}]


def test_snapshot_years_are_the_march_value():
    snapshot = frame([("Dec 2020", None, None, 3), ("Mar 2021", None, None, 4)])
    year = derive(snapshot, time_structure="snapshot", to=periods.FINANCIAL_YEAR)
    assert year["value"].tolist() == [4]


def test_pooled_values_are_never_split():
    pooled = frame([("2018 to 2020", 30, 300000, 10.0)])
    with pytest.raises(NotDerivable):
        derive(pooled, time_structure="pooled_3y", to=periods.FINANCIAL_YEAR)


def test_discrete_baseline_is_the_2020_21_total_from_quarters():
    quarters = frame(
        [
            ("2019-20 Q4", 9, 90, 10.0),
            ("2020-21 Q1", 5, 50, 10.0),
            ("2020-21 Q2", 10, 50, 20.0),
            ("2020-21 Q3", 15, 50, 30.0),
            ("2020-21 Q4", 20, 50, 40.0),
            ("2021-22 Q1", 25, 50, 50.0),
        ]
    )
    result = baseline(
        quarters,
        rule="financial_year_2020_21",
        time_structure="discrete",
        period_label="2020-21",
        breaks=[],
        as_of=date(2023, 9, 30),
        multiplier=100,
    )
    # (5 + 10 + 15 + 20) / (4 * 50) = 50 / 200 = 25%.
    assert (result.label, result.numerator, result.denominator, result.value) == (
        "2020-21",
        50,
        200,
        25.0,
    )
    assert result.pandemic_affected and not result.first_available


def test_rolling_baseline_is_the_12_months_to_march_2021():
    rolling = frame(
        [("12 months to Feb 2021", 41, 1000, 4.1), ("12 months to Mar 2021", 42, 1000, 4.2)]
    )
    result = baseline(
        rolling,
        rule="twelve_months_to_march_2021",
        time_structure="rolling_12m",
        period_label="12 months to March 2021",
        breaks=[],
        as_of=date(2023, 9, 30),
    )
    assert (result.label, result.value) == ("12 months to Mar 2021", 4.2)


def test_pooled_baseline_is_the_stated_period():
    pooled = frame([("2017 to 2019", 30, 3000, 10.0), ("2018 to 2020", 33, 3000, 11.0)])
    result = baseline(
        pooled,
        rule="pooled_period",
        time_structure="pooled_3y",
        period_label="2018-20",
        breaks=[],
        as_of=date(2023, 9, 30),
    )
    assert (result.label, result.value, result.first_available) == ("2018 to 2020", 11.0, False)


def test_without_2020_21_data_the_first_available_period_is_flagged():
    years = frame([("2021-22", 3, 30, 10.0), ("2022-23", 4, 30, 13.3)])
    result = baseline(
        years,
        rule="financial_year_2020_21",
        time_structure="discrete",
        period_label="2020-21",
        breaks=[],
        as_of=date(2023, 9, 30),
    )
    assert (result.label, result.first_available, result.pandemic_affected) == (
        "2021-22",
        True,
        False,
    )


def test_baseline_never_runs_across_a_series_break():
    years = frame([("2020-21", 1, 10, 10.0), ("2021-22", 2, 10, 20.0), ("2022-23", 3, 10, 30.0)])
    after_break = baseline(
        years,
        rule="financial_year_2020_21",
        time_structure="discrete",
        period_label="2020-21",
        breaks=[date(2021, 4, 1)],
        as_of=date(2023, 3, 31),
    )
    assert (after_break.label, after_break.first_available) == ("2021-22", True)
    assert "series break" in after_break.reason
    # Before the break, the 2020-21 baseline stands.
    before_break = baseline(
        years,
        rule="financial_year_2020_21",
        time_structure="discrete",
        period_label="2020-21",
        breaks=[date(2021, 4, 1)],
        as_of=date(2021, 3, 31),
    )
    assert (before_break.label, before_break.first_available) == ("2020-21", False)
