"""The assessment pipeline on small frames whose results are worked out by hand."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from kpis import periods
from kpis.assessment import (
    Rule,
    add_baselines,
    add_benchmarks,
    add_change,
    add_intervals,
    add_progress,
    add_segments,
    apply_rules,
    assess,
)
from kpis.disclosure import Rule as DisclosureRule


def kpi_frame(**overrides):
    row = {
        "statistic": "proportion",
        "multiplier": 100.0,
        "direction": "higher_is_better",
        "time_structure": "discrete",
        "baseline_rule": "financial_year_2020_21",
        "baseline_label": "2020-21",
        "breaks": [],
        "target_kind": None,
        "target_value": np.nan,
        "target_applies_from": None,
        "target_due": None,
        "lag_days": 60,
        "rule": DisclosureRule(min_count=5, zero_shown=True),
    }
    row.update(overrides)
    return pd.DataFrame([row], index=pd.Index(["K"], name="code"))


PLACES = pd.DataFrame(
    {
        "total": ["set", "set", "set", None],
        "is_total": [False, False, True, False],
        "valid_to": [None, None, None, None],
    },
    index=["southend", "thurrock", "set", "england"],
)


def obs(rows, series=1, place="southend"):
    """Rows of (period label, numerator, denominator) for one series."""
    records = []
    for label, numerator, denominator in rows:
        spec = periods.parse_period(label)
        records.append(
            {
                "series": series,
                "period": label,
                "kpi": "K",
                "place": place,
                "label": spec.label,
                "period_start": pd.Timestamp(spec.start),
                "period_end": pd.Timestamp(spec.end),
                "numerator": float(numerator),
                "denominator": float(denominator),
                "value": numerator / denominator * 100,
                "source_suppressed": False,
                "ci_lower": np.nan,
                "ci_upper": np.nan,
                "fix_after_n_points": np.nan,
            }
        )
    return pd.DataFrame.from_records(records)


def test_rest_of_set_benchmark_excludes_the_place_itself():
    # Southend 45/50 = 90%; SET 100/200, so the rest of SET is 55/150 = 36.7%.
    # Wilson 99.8% for 45/50 (z = 3.0902): centre (0.9 + z²/100) / (1 + z²/50) = 0.8358,
    # half-width z·sqrt(0.9·0.1/50 + z²/10000) / (1 + z²/50) = 0.1362, lower 69.96% > 36.7%.
    frame = pd.concat(
        [obs([("2023-24", 45, 50)]), obs([("2023-24", 100, 200)], series=2, place="set")],
        ignore_index=True,
    )
    kpis = kpi_frame()
    result = add_benchmarks(add_intervals(frame, kpis), kpis, PLACES)
    southend = result[result["place"] == "southend"].iloc[0]
    assert southend["rest_of_set_value"] == pytest.approx(55 / 150 * 100)
    assert southend["benchmark_rest_of_set"] == "better_99_8"
    assert southend["lower998"] == pytest.approx(69.96, abs=0.01)
    # SET is not compared with itself.
    assert result[result["place"] == "set"].iloc[0]["benchmark_rest_of_set"] == ""


def test_lower_is_better_reverses_the_benchmark_words():
    frame = pd.concat(
        [obs([("2023-24", 45, 50)]), obs([("2023-24", 100, 200)], series=2, place="set")],
        ignore_index=True,
    )
    kpis = kpi_frame(direction="lower_is_better")
    result = add_benchmarks(add_intervals(frame, kpis), kpis, PLACES)
    assert result.iloc[0]["benchmark_rest_of_set"] == "worse_99_8"


def test_quarterly_baseline_is_the_2020_21_total_and_change_uses_newcombe():
    frame = obs(
        [
            ("2020-21 Q1", 10, 50),
            ("2020-21 Q2", 10, 50),
            ("2020-21 Q3", 10, 50),
            ("2020-21 Q4", 10, 50),
            ("2023-24 Q1", 40, 50),
        ]
    )
    kpis = kpi_frame()
    result = add_change(add_baselines(add_segments(frame, kpis), kpis), kpis)
    latest = result[result["label"] == "2023-24 Q1"].iloc[0]
    # Baseline 40/200 = 20%; now 40/50 = 80%: a difference of 60 percentage points.
    assert (latest["baseline_label"], latest["baseline_value"]) == ("2020-21", 20.0)
    assert latest["baseline_pandemic_affected"]
    assert latest["change"] == pytest.approx(60.0)
    assert latest["change_category"] == "significant_increase"
    assert latest["change_direction"] == "better"
    # Quarters inside the baseline year overlap it: not tested.
    inside = result[result["label"] == "2020-21 Q2"].iloc[0]
    assert inside["change_category"] == "not_tested"


def test_a_series_break_restarts_the_baseline():
    frame = obs([("2020-21", 10, 100), ("2021-22", 20, 100), ("2022-23", 30, 100)])
    kpis = kpi_frame(breaks=[date(2021, 4, 1)])
    result = add_baselines(add_segments(frame, kpis), kpis)
    by_label = result.set_index("label")
    assert by_label.loc["2020-21", "baseline_label"] == "2020-21"
    assert by_label.loc["2022-23", "baseline_label"] == "2021-22"
    assert bool(by_label.loc["2022-23", "baseline_first_available"])


def test_threshold_standard_share_of_periods_met_accumulates():
    # Values 70%, 50%, 65% against a 60% standard: met, not met, met.
    frame = obs([("2023-24 Q1", 7, 10), ("2023-24 Q2", 5, 10), ("2023-24 Q3", 13, 20)])
    kpis = kpi_frame(target_kind="threshold", target_value=60.0)
    result = add_progress(add_baselines(add_segments(frame, kpis), kpis), kpis)
    assert result["periods_met_share"].round(4).tolist() == [1.0, 0.5, 0.6667]


def test_value_by_date_progress_is_the_share_of_the_distance():
    # Lower is better: baseline 10%, now 7%, target 4% by the due date: half way.
    frame = obs([("2020-21", 10, 100), ("2023-24", 7, 100)])
    kpis = kpi_frame(direction="lower_is_better", target_kind="value_by_date", target_value=4.0)
    result = add_progress(add_baselines(add_segments(frame, kpis), kpis), kpis)
    assert result.iloc[1]["progress_share"] == pytest.approx(0.5)
    assert result.iloc[1]["progress_status"] == "improving"


def test_rules_take_the_first_match_and_fill_reasons():
    frame = pd.DataFrame(
        {
            "assessable": [False, True, True],
            "assurance": ["", "consistent_fail", ""],
            "cannot_assess_reason": ["stale data", "", ""],
        }
    )
    rules = [
        Rule(
            when={"assessable": [False]}, verdict="cannot_assess", reason="{cannot_assess_reason}"
        ),
        Rule(when={"assurance": ["consistent_fail"]}, verdict="off_track", reason="fails"),
        Rule(when={}, verdict="no_significant_change", reason="default"),
    ]
    result = apply_rules(frame, rules)
    assert result["verdict"].tolist() == ["cannot_assess", "off_track", "no_significant_change"]
    assert result["verdict_reason"].tolist() == ["stale data", "fails", "default"]


def test_a_single_value_cannot_be_assessed_and_says_why():
    frame = obs([("2023-24", 5, 10)])
    rules = [
        Rule(
            when={"assessable": [False]}, verdict="cannot_assess", reason="{cannot_assess_reason}"
        ),
        Rule(when={}, verdict="no_significant_change", reason="default"),
    ]
    result = assess(frame, kpi_frame(), PLACES, rules, as_of=date(2024, 6, 1))
    row = result.iloc[0]
    assert row["verdict"] == "cannot_assess"
    assert "this is the baseline period" in row["verdict_reason"]


def test_stale_series_cannot_be_assessed():
    frame = obs([("2019-20", 5, 10), ("2020-21", 6, 10)])
    rules = [
        Rule(when={"assessable": [False]}, verdict="cannot_assess", reason="{cannot_assess_reason}")
    ]
    result = assess(frame, kpi_frame(), PLACES, rules, as_of=date(2025, 9, 30))
    assert result.iloc[-1]["verdict_reason"].startswith("stale data")


def test_value_by_date_projects_the_trend_to_the_due_date_with_its_interval():
    # Lower is better: 10%, 9%, 8%, 7% in successive years, falling one point a year; the
    # target of 5% by March 2027 lies on the trend's path (projected 4% in 2026-27), so the
    # whole prediction interval is below the target: projected to meet.
    frame = obs(
        [("2020-21", 10, 100), ("2021-22", 9, 100), ("2022-23", 8, 100), ("2023-24", 7, 100)]
    )
    kpis = kpi_frame(
        direction="lower_is_better",
        target_kind="value_by_date",
        target_value=5.0,
        target_due=date(2027, 3, 31),
    )
    result = add_progress(add_baselines(add_segments(frame, kpis), kpis), kpis)
    latest = result.iloc[-1]
    assert latest["trend_projection"] == pytest.approx(4.0, abs=0.02)
    assert latest["trend_lower"] <= latest["trend_projection"] <= latest["trend_upper"]
    assert latest["progress_status"] == "projected_to_meet"
    # The planned path runs straight from 10% at March 2021 to 5% at March 2027: at March
    # 2024 (3 of 6 years) it is 7.5%.
    assert latest["planned_value"] == pytest.approx(7.5, abs=0.01)
    # Earlier rows keep their distance status and carry no projection.
    assert np.isnan(result.iloc[1]["trend_projection"])


def test_a_financial_year_value_is_charted_apart_from_the_months_it_sums():
    months = [
        (f"{name} {year}", numerator, 100)
        for (name, year), numerator in zip(
            [
                ("Apr", 2021),
                ("May", 2021),
                ("Jun", 2021),
                ("Jul", 2021),
                ("Aug", 2021),
                ("Sep", 2021),
                ("Oct", 2021),
                ("Nov", 2021),
                ("Dec", 2021),
                ("Jan", 2022),
                ("Feb", 2022),
                ("Mar", 2022),
            ],
            [40, 42, 44, 41, 43, 45, 42, 44, 46, 43, 45, 47],
            strict=True,
        )
    ]

    def typed(rows):
        frame = obs(rows)
        return frame.assign(period_type=[periods.parse_period(p).type for p in frame["period"]])

    alone = assess(typed(months), kpi_frame(), PLACES, [], as_of=date(2022, 6, 1))
    # The annual report's 2021-22 figure (540 of 1,200 = 45%) joins the same series; it
    # ends on the day March 2022 ends, which in one chart would be two points at one time.
    together = assess(
        typed([*months, ("2021-22", 540, 1200)]), kpi_frame(), PLACES, [], as_of=date(2022, 6, 1)
    )
    monthly = together[together["label"] != "2021-22"].sort_values("period_end")
    # The months' XmR mean is their own: (40 + 42 + ... + 47) / 12 = 43.5 per cent.
    assert monthly["spc_mean"].iloc[0] == pytest.approx(43.5)
    assert monthly["spc_mean"].tolist() == pytest.approx(
        alone.sort_values("period_end")["spc_mean"].tolist()
    )
    year = together[together["label"] == "2021-22"].iloc[0]
    # A chart of its own, of one point: its mean is itself, not the months'.
    assert year["spc_mean"] == pytest.approx(45.0)


def test_a_breakdown_is_compared_with_the_same_breakdown_elsewhere():
    def series(rows, series, place, category):
        dimension = "all" if category == "all" else "age_band"
        return obs(rows, series=series, place=place).assign(dimension=dimension, category=category)

    # Southend 65+: 45/50 = 90%; England 65+: 100/200 = 50%, England all ages 900/1,000 =
    # 90%. Against England's 65+ figure Southend's 65+ is better (Wilson 99.8% lower bound
    # 69.96%, as above); against all ages it would look similar.
    frame = pd.concat(
        [
            series([("2023-24", 45, 50)], 1, "southend", "65+"),
            series([("2023-24", 400, 1000)], 2, "southend", "all"),
            series([("2023-24", 100, 200)], 3, "england", "65+"),
            series([("2023-24", 900, 1000)], 4, "england", "all"),
            series([("2023-24", 60, 100)], 5, "set", "65+"),
            series([("2023-24", 700, 2000)], 6, "set", "all"),
        ],
        ignore_index=True,
    )
    kpis = kpi_frame()
    result = add_benchmarks(add_intervals(frame, kpis), kpis, PLACES).set_index("series")
    assert result.loc[1, "benchmark_england"] == "better_99_8"
    assert result.loc[2, "benchmark_england"] == "worse_99_8"  # 40% against 90%
    # The rest of SET for Southend's 65+ is (60 - 45) / (100 - 50) = 30%, not from all ages.
    assert result.loc[1, "rest_of_set_value"] == pytest.approx(30.0)
    assert result.loc[2, "rest_of_set_value"] == pytest.approx(300 / 1000 * 100)


def test_the_publishers_own_comparison_stands_in_only_where_none_can_be_computed():
    kpis = kpi_frame(statistic="dsr", multiplier=100_000.0)
    frame = pd.concat(
        [
            obs([("2019 to 2021", 67, 600_000)], series=1, place="southend"),
            obs([("2019 to 2021", 50, 500_000)], series=2, place="thurrock"),
        ],
        ignore_index=True,
    )
    # Southend has no interval (a standardised rate published without one) and there is no
    # England value to compare with; Fingertips said "Worse 95%". Thurrock likewise, but said
    # "Not compared", which is no comparison at all.
    frame["ci_lower"] = np.nan
    frame["source_comparison"] = ["Worse 95%", "Not compared"]
    result = add_benchmarks(add_intervals(frame, kpis), kpis, PLACES).set_index("place")
    assert result.loc["southend", "benchmark_england"] == "worse_95"
    assert result.loc["southend", "benchmark_england_by_source"]
    assert result.loc["thurrock", "benchmark_england"] == ""
    assert not result.loc["thurrock", "benchmark_england_by_source"]


def test_a_comparison_the_service_can_make_is_its_own():
    kpis = kpi_frame()
    frame = pd.concat(
        [
            obs([("2023-24", 45, 50)], series=1, place="southend"),
            obs([("2023-24", 500, 1000)], series=2, place="england"),
        ],
        ignore_index=True,
    ).assign(source_comparison="Similar")
    result = add_benchmarks(add_intervals(frame, kpis), kpis, PLACES).set_index("place")
    # 45/50 = 90% (99.8% lower bound 69.96%) against England's 50%: better, by the service.
    assert result.loc["southend", "benchmark_england"] == "better_99_8"
    assert not result.loc["southend", "benchmark_england_by_source"]
