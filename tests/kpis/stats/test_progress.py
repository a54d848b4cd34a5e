"""Progress to target, trajectories, standards met and trend projections, by hand."""

import numpy as np
import pandas as pd
import pytest

from kpis.stats import (
    compare_to_trajectory,
    distance_achieved,
    linear_trend_projection,
    planned_trajectory,
    projection_status,
    share_of_periods_met,
    share_of_periods_met_frame,
    trend_projection_frame,
)


def test_distance_achieved_for_higher_is_better():
    # Baseline 50, target 60 (distance 10): current 55 -> 5/10 = 0.5; 60 -> 1.0 (met);
    # 45 -> -5/10 = -0.5 (worsening); 50 -> 0 (no change); 65 -> 1.5 (met).
    progress = distance_achieved([50] * 5, [55, 60, 45, 50, 65], [60] * 5)
    assert progress.share.tolist() == [0.5, 1.0, -0.5, 0.0, 1.5]
    assert progress.status.tolist() == ["improving", "met", "worsening", "no_change", "met"]


def test_distance_achieved_for_lower_is_better():
    # Waiting time baseline 20 weeks, target 18: current 19 -> (19 − 20)/(18 − 20) = 0.5.
    progress = distance_achieved([20], [19], [18], "lower_is_better")
    assert progress.share.tolist() == [0.5]
    assert progress.status.tolist() == ["improving"]


def test_baseline_already_meeting_or_equal_to_target():
    # Higher is better, baseline 70 against target 60: already met, no distance to share.
    # Baseline equal to target (60): met at baseline too. Lower is better, baseline 10 vs 12:
    # met at baseline.
    progress = distance_achieved(
        [70, 60, 10], [75, 58, 11], [60, 60, 12], ["higher_is_better"] * 2 + ["lower_is_better"]
    )
    assert np.isnan(progress.share).all()
    assert progress.status.tolist() == ["met_at_baseline"] * 3


def test_neutral_direction_reads_the_side_of_the_target_and_missing_values():
    # Neutral: target 40 below baseline 50 means lowering; current 45 -> (45 − 50)/(40 − 50) = 0.5.
    progress = distance_achieved([50, 50], [45, np.nan], [40, 60], "neutral")
    assert progress.share[0] == 0.5 and progress.status[0] == "improving"
    assert progress.status[1] == "not_assessable" and np.isnan(progress.share[1])


def test_planned_trajectory_by_date():
    # Baseline 50 on 1 Apr 2023, target 60 on 1 Apr 2024 (366 days, a leap year). On 1 Oct
    # 2023 (183 days in): 50 + 10 × 183/366 = 55. Held at 50 before and 60 after the span.
    times = pd.to_datetime(["2023-01-01", "2023-04-01", "2023-10-01", "2024-04-01", "2025-01-01"])
    planned = planned_trajectory(
        50, pd.Timestamp("2023-04-01"), 60, pd.Timestamp("2024-04-01"), times
    )
    assert planned.tolist() == pytest.approx([50, 50, 55, 60, 60])


def test_actuals_against_trajectory():
    # Planned 53 at month 3 of a 50 -> 62 line over 12 months (50 + 12·3/12 = 53).
    planned = planned_trajectory(50, 0, 62, 12, [3, 3])
    comparison = compare_to_trajectory([52, 54], planned)
    assert comparison.planned.tolist() == [53, 53]
    assert comparison.ahead_by.tolist() == [-1, 1]
    assert comparison.status.tolist() == ["off_track", "on_track"]
    lower = compare_to_trajectory([52], [53], "lower_is_better")
    assert lower.ahead_by.tolist() == [1] and lower.status.tolist() == ["on_track"]


def test_share_of_periods_meeting_a_standard():
    # Standard: at least 95%. Periods 90, 95, 96, missing, 94 -> 2 of 4 observed met.
    assert share_of_periods_met([90, 95, 96, np.nan, 94], 95) == 0.5
    # At most 18 weeks: 17, 19, 18 -> 2 of 3.
    assert share_of_periods_met([17, 19, 18], 18, "lower_is_better") == pytest.approx(2 / 3)
    assert np.isnan(share_of_periods_met([np.nan], 95))


def test_share_of_periods_met_per_series():
    frame = pd.DataFrame({"kpi": ["a"] * 3 + ["b"] * 2, "value": [96, 94, 97, 80, 99]})
    result = share_of_periods_met_frame(frame, "kpi", "value", 95).set_index("kpi")
    assert result["periods_met"].tolist() == [2, 1]
    assert result["share_met"].tolist() == pytest.approx([2 / 3, 0.5])


def test_linear_trend_projection_with_prediction_interval_by_hand():
    # x = 1..5, y = 2, 4, 5, 4, 5: x̄ = 3, ȳ = 4, Sxx = 10, Sxy = 4 + 0 + 0 + 0 + 2 = 6,
    # slope 0.6, intercept 4 − 1.8 = 2.2; fitted 2.8, 3.4, 4.0, 4.6, 5.2; residuals −0.8, 0.6,
    # 1.0, −0.6, −0.2; SSE = 2.4, s² = 2.4/3 = 0.8. At x₀ = 6: ŷ = 5.8,
    # se = √(0.8 × (1 + 1/5 + 9/10)) = √1.68 = 1.296148; t(0.975, 3) = 3.182446;
    # half-width 4.124922 -> 1.675078 to 9.924922.
    projection = linear_trend_projection([1, 2, 3, 4, 5], [2, 4, 5, 4, 5], 6)
    assert projection.slope[0] == pytest.approx(0.6)
    assert projection.intercept[0] == pytest.approx(2.2)
    assert projection.projected[0] == pytest.approx(5.8)
    assert projection.lower[0] == pytest.approx(1.675078, abs=1e-6)
    assert projection.upper[0] == pytest.approx(9.924922, abs=1e-6)


def test_trend_projection_needs_three_points():
    projection = linear_trend_projection([1, 2], [3, 4], 5)
    assert np.isnan(projection.lower[0]) and np.isnan(projection.projected[0])


def test_trend_projection_for_many_series_and_dates():
    # Series a as above. Series b rises exactly by 1 per step (y = x): s² = 0, so the interval
    # collapses onto 6. Series c has a missing y, leaving x = 1, 2, 4 and y = 1, 3, 2:
    # x̄ = 7/3, ȳ = 2, Sxx = 16/9 + 1/9 + 25/9 = 42/9,
    # Sxy = (−4/3)(−1) + (−1/3)(1) + (5/3)(0) = 1, slope = 1/(42/9) = 3/14,
    # projected at 6: 2 + (3/14)(6 − 7/3) = 2 + 11/14 = 39/14 = 2.785714.
    frame = pd.DataFrame(
        {
            "kpi": ["a"] * 5 + ["b"] * 5 + ["c"] * 4,
            "x": [1, 2, 3, 4, 5] * 2 + [1, 2, 3, 4],
            "y": [2, 4, 5, 4, 5, 1, 2, 3, 4, 5, 1, 3, np.nan, 2],
        }
    )
    result = trend_projection_frame(frame, "kpi", "x", "y", 6).set_index("kpi")
    assert result.loc["a", "upper"] == pytest.approx(9.924922, abs=1e-6)
    assert result.loc["b", ["projected", "lower", "upper"]].tolist() == pytest.approx([6, 6, 6])
    assert result.loc["c", "projected"] == pytest.approx(39 / 14)
    assert result.loc["c", "n"] == 3
    dated = frame.assign(x=pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["x"], unit="D"))
    by_date = trend_projection_frame(dated, "kpi", "x", "y", pd.Timestamp("2024-01-07"))
    assert by_date.set_index("kpi").loc["a", "lower"] == pytest.approx(1.675078, abs=1e-6)


def test_projection_status_against_target():
    # Interval 1.675078 to 9.924922: target 1.5 is below it (met if higher is better),
    # 10 above it (missed), 5 inside (too uncertain); lower is better flips meet/miss.
    assert projection_status([1.675078] * 3, [9.924922] * 3, [1.5, 10, 5]).tolist() == [
        "projected_to_meet",
        "projected_to_miss",
        "too_uncertain",
    ]
    lower = projection_status([1.675078] * 2, [9.924922] * 2, [1.5, 10], "lower_is_better")
    assert lower.tolist() == ["projected_to_miss", "projected_to_meet"]
