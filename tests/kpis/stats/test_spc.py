"""XmR SPC against NHSRplotthedots' published test snapshots and hand-worked series.

Hand calculations use the NHSRplotthedots constants: limits mean ± 2.66·mR̄, near limits
mean ± (2/3)·2.66·mR̄ = mean ± 1.773333·mR̄, moving ranges screened at 3.267·mR̄.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from kpis.stats import (
    SpcNotApplicable,
    SpcTrialLimitsWarning,
    assurance_type,
    not_applicable_reason,
    spc,
    spc_frame,
    spc_summary,
)

# NHSRplotthedots tests/testthat/test-ptd_spc_standard.R: set.seed(123); y = rnorm(20).
RNORM_123 = [
    -0.56047565,
    -0.23017749,
    1.55870831,
    0.07050839,
    0.12928774,
    1.71506499,
    0.46091621,
    -1.26506123,
    -0.68685285,
    -0.44566197,
    1.22408180,
    0.35981383,
    0.40077145,
    0.11068272,
    -0.55584113,
    1.78691314,
    0.49785048,
    -1.96661716,
    0.70135590,
    -0.47279141,
]


def types(points: pd.DataFrame) -> list[str]:
    """Point types as plain strings, 'missing' for rows without a type."""
    return points["point_type"].astype(object).fillna("missing").tolist()


def causes(points: pd.DataFrame) -> list[str]:
    """Special cause types as plain strings."""
    return points["special_cause_type"].astype(object).fillna("missing").tolist()


# --- limits: NHSRplotthedots snapshots ---------------------------------------------------------


def test_limits_match_nhsrplotthedots_snapshot():
    # tests/testthat/_snaps/ptd_spc_standard.md, r1: mean_col 0.1416238, lpl -3.01138,
    # upl 3.294627, no point outside the limits; _snaps/ptd_spc.md: 20 common cause points.
    points = spc(RNORM_123)
    assert points["mean"].iloc[0] == pytest.approx(0.1416238, abs=5e-8)
    assert points["lpl"].iloc[0] == pytest.approx(-3.01138, abs=5e-6)
    assert points["upl"].iloc[0] == pytest.approx(3.294627, abs=5e-7)
    assert not points["outside_limits"].any()
    assert types(points) == ["common_cause"] * 20


def test_outlier_screening_matches_nhsrplotthedots_snapshot():
    # Same data with y[15] <- 10 (R is 1-based): r2 (screen_outliers = TRUE) mean 0.6694159,
    # lpl -2.383666, upl 3.722497; r3 (screen_outliers = FALSE) lpl -4.596625, upl 5.935457.
    values = list(RNORM_123)
    values[14] = 10.0
    screened = spc(values)
    assert screened["mean"].iloc[0] == pytest.approx(0.6694159, abs=5e-8)
    assert screened["lpl"].iloc[0] == pytest.approx(-2.383666, abs=5e-7)
    assert screened["upl"].iloc[0] == pytest.approx(3.722497, abs=5e-7)
    unscreened = spc(values, screen_outliers=False)
    assert unscreened["lpl"].iloc[0] == pytest.approx(-4.596625, abs=5e-7)
    assert unscreened["upl"].iloc[0] == pytest.approx(5.935457, abs=5e-7)


def test_point_above_upper_limit_is_the_only_special_cause():
    # With the screened limits above, 10 > 3.722497: above the upper limit. By hand, no other
    # rule fires: the near limits are 0.669416 ∓ (2/3)·3.053081 = -1.365972 and 2.704804, and
    # only y[17] = -1.966617 lies between near and process limit (one point, so no 2-of-3);
    # the longest run on one side of 0.669416 is 4 (rows 6-9); differences change sign within
    # every 6 steps.
    values = list(RNORM_123)
    values[14] = 10.0
    points = spc(values)
    assert causes(points)[14] == "above_upper_limit"
    assert (
        types(points)
        == ["common_cause"] * 14 + ["special_cause_improvement"] + ["common_cause"] * 5
    )
    assert types(spc(values, improvement_direction="decrease"))[14] == "special_cause_concern"
    assert points["close_to_limits"].tolist() == [False] * 17 + [True, False, False]


def test_facets_match_nhsrplotthedots_summary_snapshot():
    # _snaps/ptd_spc.md, facet_field with the first and last ten values: facet 0 mean 0.0746,
    # lpl -2.60, upl 2.75; facet 1 mean 0.209, lpl -3.28, upl 3.70 (printed to 3 figures);
    # ten points each, so NHSRplotthedots' short-group warning applies (fewer than 12).
    frame = pd.DataFrame({"f": np.repeat([0, 1], 10), "x": np.tile(range(10), 2), "y": RNORM_123})
    with pytest.warns(SpcTrialLimitsWarning):
        summary = spc_summary(spc_frame(frame, series_key="f", order="x", value="y"), "f")
    assert summary["mean"].tolist() == pytest.approx([0.0746, 0.209], abs=5e-4)
    assert summary["lpl"].tolist() == pytest.approx([-2.60, -3.28], abs=5e-3)
    assert summary["upl"].tolist() == pytest.approx([2.75, 3.70], abs=5e-3)
    assert summary["n_points"].tolist() == [10, 10]
    assert summary["trial_limits"].tolist() == [True, True]


# --- run rules on hand-worked series -----------------------------------------------------------

# Shift: rows 0-12 alternate 9, 11 (seven 9s, six 11s: 129); rows 13-19 are 11, 12, 11, 12, 11,
# 12, 11 (80). Mean 209/20 = 10.45. Moving ranges: twelve of 2, |11 − 9| = 2, six of 1:
# 32/19 = 1.684211 (none screened: 3.267·1.684211 = 5.502). Limits 10.45 ∓ 4.48 = 5.97, 14.93;
# near limits 10.45 ∓ 2.986667 = 7.463333, 13.436667, so no point is near a limit. 9 is below
# and 11, 12 above the mean: rows 13-19 are 7 in a row above it.
SHIFT = [9, 11] * 6 + [9] + [11, 12, 11, 12, 11, 12, 11]


def test_run_of_seven_above_the_mean():
    points = spc(SHIFT)
    assert points["mean"].iloc[0] == pytest.approx(10.45)
    assert points["lpl"].iloc[0] == pytest.approx(5.97)
    assert points["upl"].iloc[0] == pytest.approx(14.93)
    assert causes(points) == ["common_cause"] * 13 + ["shift_above"] * 7
    assert types(points) == ["common_cause"] * 13 + ["special_cause_improvement"] * 7
    decrease = spc(SHIFT, improvement_direction="decrease")
    assert types(decrease)[13:] == ["special_cause_concern"] * 7
    neutral = spc(SHIFT, improvement_direction="neutral")
    assert types(neutral)[13:] == ["special_cause_neutral_high"] * 7


def test_run_of_six_is_not_a_shift():
    # Row 13 lowered from 11 to 9: sum 207, mean 10.35, moving ranges 12·2 + 0 + 3 + 5·1 = 32,
    # limits 10.35 ∓ 4.48, near 7.363333-13.336667. Rows 14-19 are only six above the mean.
    values = list(SHIFT)
    values[13] = 9
    points = spc(values)
    assert points["mean"].iloc[0] == pytest.approx(10.35)
    assert types(points) == ["common_cause"] * 20


# Trend: rows 0-11 alternate 10, 11 (126); rows 12-18 rise 10.2 ... 10.8 (73.5); row 19 is 10.
# Mean 209.5/20 = 10.475. Moving ranges: eleven of 1, 0.8, six of 0.1, 0.8: 13.2/19 = 0.694737.
# Limits 10.475 ∓ 1.848 = 8.627, 12.323; near 10.475 ∓ 1.232 = 9.243, 11.707: nothing near.
# Sides: 10.2-10.4 below, 10.5-10.8 above the mean, so no run of 7 on one side; rows 12-18
# have six rising differences: a 7-point trend.
TREND = [10, 11] * 6 + [10.2, 10.3, 10.4, 10.5, 10.6, 10.7, 10.8, 10.0]


def test_seven_point_rising_trend():
    points = spc(TREND)
    assert points["mean"].iloc[0] == pytest.approx(10.475)
    assert points["upl"].iloc[0] == pytest.approx(12.323)
    assert causes(points) == ["common_cause"] * 12 + ["trend_increasing"] * 7 + ["common_cause"]
    assert types(points)[12:19] == ["special_cause_improvement"] * 7


def test_seven_point_falling_trend_is_concern_when_increase_is_improvement():
    # Negating every value mirrors the series: the same rows fall instead of rising.
    points = spc([-value for value in TREND])
    assert causes(points)[12:19] == ["trend_decreasing"] * 7
    assert types(points)[12:19] == ["special_cause_concern"] * 7
    assert types(spc([-v for v in TREND], improvement_direction="decrease"))[12] == (
        "special_cause_improvement"
    )


def test_trend_as_in_nhsrplotthedots_test_vector():
    # ptd_seven_point_trend(c(2, 1:7, 3)) flags the 8th value, so rows 1-7 (0-based) trend.
    # Mean 33/9 = 3.666667, moving ranges 1·7 + 4 = 11/8 = 1.375 (4 < 3.267·1.375 = 4.49 kept),
    # limits 3.666667 ∓ 3.6575 = 0.009167, 7.324167: nothing outside. Near limits
    # 1.228333, 6.105: rows 1 (value 1) and 7 (value 7) are near, but each window of three holds
    # only one near point, so the 2-of-3 rule does not fire.
    with pytest.warns(SpcTrialLimitsWarning):
        points = spc([2, 1, 2, 3, 4, 5, 6, 7, 3])
    assert causes(points) == ["common_cause"] + ["trend_increasing"] * 7 + ["common_cause"]


def test_repeated_value_breaks_a_trend():
    # ptd_seven_point_trend(c(1:3, 3:6)) is all 0: equal neighbours are not a rise.
    with pytest.warns(SpcTrialLimitsWarning):
        points = spc([1, 2, 3, 3, 4, 5, 6])
    assert not any(cause.startswith("trend") for cause in causes(points))


# Two of three: rows alternate 1 (even) and -1 (odd) except rows 16, 17, 18 = 6.5, 1, 6.5.
# Sum 0 + 5.5 + 2 + 5.5 = 13, mean 0.65. Moving ranges: fifteen of 2, then 7.5, 5.5, 5.5, 7.5:
# 56/19 = 2.947368 (none screened: 9.629). 2.66·mR̄ = 7.84: limits -7.19, 8.49; near limits
# 0.65 ∓ 5.226667 = -4.576667, 5.876667. Rows 16 and 18 (6.5) lie between near and process
# limit, and rows 16-18 (6.5, 1, 6.5) are all above the mean.
TWO_OF_THREE = [1.0, -1.0] * 8 + [6.5, 1.0, 6.5, -1.0]


def test_two_of_three_near_the_limit_on_the_same_side():
    points = spc(TWO_OF_THREE)
    assert points["upl"].iloc[0] == pytest.approx(8.49)
    assert points["close_to_limits"].tolist() == [False] * 16 + [True, False, True, False]
    expected = ["common_cause"] * 16 + ["two_in_three_above", "common_cause"] * 2
    assert causes(points) == expected
    assert types(points)[16] == types(points)[18] == "special_cause_improvement"


def test_two_of_three_needs_all_three_on_the_same_side():
    # Row 17 back at -1: sum 11, mean 0.55; moving ranges fifteen of 2 and four of 7.5:
    # 60/19 = 3.157895, 2.66·mR̄ = 8.4, near limit 0.55 + 5.6 = 6.15 < 6.5 < 8.95 = upl.
    # Rows 16-18 are above, below, above the mean: no signal.
    values = list(TWO_OF_THREE)
    values[17] = -1.0
    points = spc(values)
    assert points["upl"].iloc[0] == pytest.approx(8.95)
    assert points["close_to_limits"].sum() == 2
    assert types(points) == ["common_cause"] * 20


def test_two_of_three_on_opposite_sides_as_in_nhsrplotthedots_test():
    # test-ptd_spc_standard.R: 16 values alternating 1, -1 with rows 15, 16 (1-based) set to
    # 5.5 and -5.5 (near opposite limits): both points are common cause.
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    assert types(spc(values))[-2:] == ["common_cause", "common_cause"]


# --- gaps, limit periods and rebasing ----------------------------------------------------------

# Rows 0-3 = 1, row 4 missing, rows 5-7 = 1, rows 8-15 = -1, 0.5 repeated. Observed sum
# 7 − 4 + 2 = 5 over 15 points: mean 1/3 (1 and 0.5 above it, -1 below). Moving ranges skip the
# gap: 0·3, 0·2, |-1 − 1| = 2, 1.5·7 = 12.5 over 13 ranges = 0.961538; limits
# 1/3 ∓ 2.557692 = -2.224359, 2.891026; near 1/3 ∓ 1.705128: nothing near or outside.
GAP = [1, 1, 1, 1, np.nan, 1, 1, 1] + [-1, 0.5] * 4


def test_gap_breaks_moving_ranges_and_runs():
    points = spc(GAP)
    assert points["mean"].iloc[0] == pytest.approx(1 / 3)
    assert points["lpl"].iloc[0] == pytest.approx(-2.224359, abs=1e-6)
    assert points["upl"].iloc[0] == pytest.approx(2.891026, abs=1e-6)
    assert points["n_limit_points"].iloc[0] == 15
    # 4 + 3 points above the mean either side of the gap are not a run of 7
    assert types(points) == ["common_cause"] * 4 + ["missing"] + ["common_cause"] * 11
    assert not points["in_limit_calculation"].iloc[4]


def test_missing_flag_acts_like_a_missing_value():
    values = list(GAP)
    values[4] = 1.0
    flagged = spc(values, missing=[index == 4 for index in range(16)])
    assert types(flagged) == types(spc(GAP))
    assert flagged["upl"].iloc[0] == pytest.approx(2.891026, abs=1e-6)


def test_without_the_gap_the_same_points_make_a_shift():
    # Row 4 observed as 1: mean 6/16 = 0.375, rows 0-7 are eight in a row above it. Moving
    # ranges 0·7, 2, 1.5·7 = 12.5/15 = 0.833333: limits 0.375 ∓ 2.216667; near 0.375 ∓ 1.477778
    # = -1.102778, 1.852778: nothing near.
    values = list(GAP)
    values[4] = 1.0
    points = spc(values)
    assert points["mean"].iloc[0] == pytest.approx(0.375)
    assert causes(points) == ["shift_above"] * 8 + ["common_cause"] * 8


def test_no_moving_range_across_a_gap_without_screening():
    # 1, 2, 1, 2, 1, 2, 1, gap, 12, 11, 12, 11, 12, 11, 12: mean (10 + 81)/14 = 6.5; twelve
    # moving ranges of 1 and none across the gap (|12 − 1| = 11 would be one otherwise):
    # mR̄ = 1, limits 6.5 ∓ 2.66 = 3.84, 9.16.
    values = [1, 2, 1, 2, 1, 2, 1, np.nan, 12, 11, 12, 11, 12, 11, 12]
    points = spc(values, screen_outliers=False)
    assert points["lpl"].iloc[0] == pytest.approx(3.84)
    assert points["upl"].iloc[0] == pytest.approx(9.16)


# Limit period: rows 0-11 alternate 10, 12 (mean 11, eleven moving ranges of 2, mR̄ = 2,
# limits 11 ∓ 5.32 = 5.68, 16.32), then eight points of 20.
BASELINE_THEN_STEP = [10, 12] * 6 + [20] * 8


def test_fix_after_n_points_uses_only_the_baseline_for_limits():
    points = spc(BASELINE_THEN_STEP, fix_after_n_points=12)
    assert points["mean"].unique().tolist() == [11.0]
    assert points["lpl"].iloc[-1] == pytest.approx(5.68)
    assert points["upl"].iloc[-1] == pytest.approx(16.32)
    assert points["in_limit_calculation"].tolist() == [True] * 12 + [False] * 8
    assert causes(points)[12:] == ["above_upper_limit"] * 8
    assert points["n_limit_points"].iloc[0] == 12 and not points["trial_limits"].any()


def test_without_fixing_all_points_set_the_limits_and_the_step_is_screened():
    # Mean (132 + 160)/20 = 14.6; moving ranges eleven of 2, |20 − 12| = 8, seven of 0:
    # 30/19 = 1.578947; 8 ≥ 3.267·1.578947 = 5.158 is screened out: 22/18 = 1.222222;
    # upl 14.6 + 2.66·1.222222 = 17.851111.
    points = spc(BASELINE_THEN_STEP)
    assert points["mean"].iloc[0] == pytest.approx(14.6)
    assert points["upl"].iloc[0] == pytest.approx(17.851111, abs=1e-6)


def test_fix_after_fewer_than_12_points_is_refused():
    with pytest.raises(ValueError):
        spc(BASELINE_THEN_STEP, fix_after_n_points=11)


def test_rebase_starts_a_new_limit_period():
    # Rows 0-11 alternate 10, 12: 11 ∓ 5.32. Rows 12-23 alternate 20, 24: mean 22, eleven
    # moving ranges of 4 (the |20 − 12| across the rebase is not one): 22 ∓ 10.64.
    points = spc([10, 12] * 6 + [20, 24] * 6, rebase_at=[12])
    assert points["limit_period"].tolist() == [0] * 12 + [1] * 12
    assert points["lpl"].iloc[0] == pytest.approx(5.68)
    assert points["lpl"].iloc[12] == pytest.approx(11.36)
    assert points["upl"].iloc[12] == pytest.approx(32.64)
    assert types(points) == ["common_cause"] * 24
    summary = spc_summary(points)
    assert summary["limit_period"].iloc[0] == 1 and summary["mean"].iloc[0] == 22.0


def test_fewer_than_12_points_gives_trial_limits_with_a_warning():
    with pytest.warns(SpcTrialLimitsWarning):
        points = spc([10, 12] * 5)
    assert points["trial_limits"].all() and points["n_limit_points"].iloc[0] == 10


def test_twelve_points_are_not_trial_limits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        points = spc([10, 12] * 6)
    assert not points["trial_limits"].any()


def test_constant_series_keeps_limits_on_the_mean():
    # Departure: every moving range is 0, so mR̄ = 0 and the limits equal the mean (5);
    # NHSRplotthedots' screen would discard all ranges and give NaN limits.
    points = spc([5.0] * 15)
    assert points["lpl"].iloc[0] == points["upl"].iloc[0] == 5.0
    assert types(points) == ["common_cause"] * 15


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("structure", ["rolling_12m", "rolling_3m", "ytd", "cumulative"])
def test_rolling_and_year_to_date_series_are_refused(structure):
    with pytest.raises(SpcNotApplicable) as refused:
        spc([10, 12] * 6, time_structure=structure)
    assert structure in refused.value.reason


def test_snapshot_series_are_accepted_and_unknown_structures_rejected():
    assert types(spc([10, 12] * 6, time_structure="snapshot")) == ["common_cause"] * 12
    with pytest.raises(ValueError):
        not_applicable_reason("fortnightly-ish")


def test_small_denominators_are_refused():
    values = [0.5] * 12
    assert not_applicable_reason("discrete", [100] * 11 + [29]) is not None
    with pytest.raises(SpcNotApplicable, match="p-chart or funnel"):
        spc(values, denominators=[100] * 11 + [29])
    assert types(spc(values, denominators=[30] * 12)) == ["common_cause"] * 12


def test_frame_can_mark_refused_series_instead_of_raising():
    frame = pd.DataFrame(
        {
            "kpi": ["a"] * 12 + ["b"] * 12,
            "period": list(range(12)) * 2,
            "value": [10, 12] * 12,
            "structure": ["discrete"] * 12 + ["rolling_12m"] * 12,
        }
    )
    with pytest.raises(SpcNotApplicable):
        spc_frame(
            frame,
            series_key="kpi",
            order="period",
            value="value",
            time_structure=frame["structure"],
        )
    points = spc_frame(
        frame,
        series_key="kpi",
        order="period",
        value="value",
        time_structure=frame["structure"],
        not_applicable="mark",
    )
    assert points["applicable"].tolist() == [True] * 12 + [False] * 12
    assert points["mean"].iloc[0] == 11.0 and points["mean"].iloc[12:].isna().all()
    assert points["point_type"].iloc[12:].isna().all()
    assert points["not_applicable_reason"].iloc[12].startswith("rolling_12m")


# --- assurance -------------------------------------------------------------------------------


def test_assurance_table_from_nhsrplotthedots_tests():
    # test-ptd_calculate_assurance_type.R: limits (1, 3), (5, 7), (1, 5) with target 4.
    lpl, upl = [1, 5, 1], [3, 7, 5]
    increase = assurance_type(lpl, upl, [4] * 3, "increase")
    assert list(increase) == ["consistent_fail", "consistent_pass", "inconsistent"]
    decrease = assurance_type(lpl, upl, [4] * 3, "decrease")
    assert list(decrease) == ["consistent_pass", "consistent_fail", "inconsistent"]
    assert assurance_type(lpl, upl, [4] * 3, "neutral").isna().all()


def test_assurance_from_a_series_target():
    # Limits -3.01138 to 3.294627 (snapshot above): target 0.5 inside -> inconsistent;
    # target 4 above the upper limit -> consistent fail for increase, pass for decrease.
    assert spc(RNORM_123, target=0.5)["assurance"].iloc[-1] == "inconsistent"
    assert spc(RNORM_123, target=4)["assurance"].iloc[-1] == "consistent_fail"
    decrease = spc(RNORM_123, target=4, improvement_direction="decrease")
    assert decrease["assurance"].iloc[-1] == "consistent_pass"
    assert spc(RNORM_123)["assurance"].isna().all()


# --- many series at once -----------------------------------------------------------------------


def test_frame_matches_single_series_in_any_row_order():
    frame = pd.DataFrame(
        {
            "kpi": ["shift"] * 20 + ["trend"] * 20,
            "period": pd.date_range("2023-04-01", periods=20, freq="MS").tolist() * 2,
            "value": SHIFT + TREND,
        }
    ).sample(frac=1.0, random_state=7)
    points = spc_frame(frame, series_key="kpi", order="period", value="value")
    assert points.index.equals(frame.index)
    ordered = points.sort_values(["kpi", "period"])
    assert types(ordered.iloc[:20]) == types(spc(SHIFT))
    assert types(ordered.iloc[20:]) == types(spc(TREND))
    directions = np.where(frame["kpi"] == "shift", "decrease", "increase")
    mixed = spc_frame(
        frame, series_key="kpi", order="period", value="value", improvement_direction=directions
    ).sort_values(["kpi", "period"])
    assert types(mixed.iloc[:20]) == types(spc(SHIFT, improvement_direction="decrease"))


def test_duplicate_periods_are_refused():
    frame = pd.DataFrame({"k": [1, 1], "t": [1, 1], "y": [1.0, 2.0]})
    with pytest.raises(ValueError, match="duplicate"):
        spc_frame(frame, series_key="k", order="t", value="y")
