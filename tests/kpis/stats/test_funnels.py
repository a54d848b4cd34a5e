"""Funnel limits and outlier levels against PHEindicatormethods' own published test data.

The CSV files in files/phe/ are the R package's tests/testthat data (see files/phe/README.md);
each test repeats the call the package's testFunnels.R makes and compares every published number
to the last digit it was printed with.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kpis.stats import (
    assign_funnel_significance,
    calculate_funnel_limits,
    calculate_funnel_points,
    wilson_bounds,
)
from kpis.stats.funnels import poisson_funnel

FILES = Path(__file__).parent / "files" / "phe"
LIMITS = ["lower_2s_limit", "upper_2s_limit", "lower_3s_limit", "upper_3s_limit"]


def published(name: str) -> pd.DataFrame:
    """A published CSV with every cell kept as the text R wrote."""
    return pd.read_csv(FILES / name, dtype=str, keep_default_na=False)


def assert_as_printed(actual, printed) -> None:
    """Each value equals the printed one to within half a unit of its last printed digit."""
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == (len(printed),)
    for value, text in zip(actual, printed, strict=True):
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert abs(value - float(text)) <= 0.5 * 10.0**-decimals * (1 + 1e-9), (value, text)


# --- proportions ---------------------------------------------------------------------------------


def proportion_inputs() -> pd.DataFrame:
    return pd.read_csv(FILES / "testdata_funnel_prop_inputs.csv")


def test_proportion_limits_match_published_outputs():
    # testFunnels.R: calculate_funnel_limits(numerator, denominator, statistic = "proportion",
    # multiplier = 100, type = "standard") against testdata_funnel_prop_outputs.csv.
    data = proportion_inputs()
    expected = published("testdata_funnel_prop_outputs.csv")
    result = calculate_funnel_limits(
        data["numerator"], data["denominator"], statistic="proportion", multiplier=100
    )
    assert len(result) == 100
    assert result["Population"].tolist() == expected["Population"].astype(float).tolist()
    for ours, theirs in zip(LIMITS, expected.columns[1:5], strict=True):
        assert_as_printed(result[ours], expected[theirs])
    assert_as_printed(result["baseline"], expected["Baseline"])
    assert set(result["statistic"]) == {"proportion"} and set(result["method"]) == {"Wilson"}


def test_proportion_limits_with_axis_starting_above_zero_match_published_outputs():
    # Areas under 31,000 only: the largest denominator is within twice the smallest, so the axis
    # starts at 95% of the smallest rounded down (10,000) and ends at 105% of the largest rounded
    # up at its second digit (33,000).
    data = proportion_inputs().query("denominator < 31000")
    expected = published("testdata_funnel_prop_outputs_with_axis_variation.csv")
    result = calculate_funnel_limits(
        data["numerator"], data["denominator"], statistic="proportion", multiplier=100
    )
    assert result["Population"].iloc[[0, -1]].tolist() == [10_000, 33_000]
    assert result["Population"].tolist() == expected["Population"].astype(float).tolist()
    for ours, theirs in zip(LIMITS, expected.columns[1:5], strict=True):
        assert_as_printed(result[ours], expected[theirs])
    assert_as_printed(result["baseline"], expected["Baseline"])


def test_proportion_significance_matches_published_levels():
    data = proportion_inputs()
    levels = assign_funnel_significance(
        data["numerator"], data["denominator"], statistic="proportion"
    )
    assert list(levels) == data["significance"].tolist()
    assert list(levels.categories) == [
        "High (0.001)",
        "High (0.025)",
        "Low (0.001)",
        "Low (0.025)",
        "Not significant",
    ]


def test_proportion_limit_is_where_the_wilson_interval_reaches_the_average():
    # By definition of sigma_adjustment: a proportion on the lower 95% limit has a Wilson 95%
    # upper bound equal to the average, and one on the upper limit a lower bound equal to it.
    data = pd.DataFrame({"x": [30.0, 50.0], "n": [100.0, 100.0]})  # average 0.4
    result = calculate_funnel_limits(data["x"], data["n"], statistic="proportion", multiplier=1)
    n = result["Population"].to_numpy()
    middle = slice(10, 90)  # away from the 0 and 1 caps
    for name, confidence in (("2s", 0.95), ("3s", 0.998)):
        low = result[f"lower_{name}_limit"].to_numpy()[middle]
        high = result[f"upper_{name}_limit"].to_numpy()[middle]
        _, upper_of_low = wilson_bounds(low * n[middle], n[middle], confidence)
        lower_of_high, _ = wilson_bounds(high * n[middle], n[middle], confidence)
        np.testing.assert_allclose(upper_of_low, 0.4, rtol=1e-9)
        np.testing.assert_allclose(lower_of_high, 0.4, rtol=1e-9)


def test_proportion_upper_limit_is_capped_at_the_multiplier():
    # R caps at the number 100 whatever the multiplier; here the cap is 100% of the multiplier.
    data = pd.DataFrame({"x": [8.0, 9.0], "n": [10.0, 10.0]})
    per_thousand = calculate_funnel_limits(
        data["x"], data["n"], statistic="proportion", multiplier=1000
    )
    assert per_thousand["upper_3s_limit"].max() == 1000
    assert per_thousand["baseline"].iloc[0] == pytest.approx(850)


# --- ratios --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_ratio_limits_match_published_outputs(ratio_type):
    data = pd.read_csv(FILES / "testdata_funnel_ratio_inputs.csv")
    expected = published("testdata_funnel_ratio_outputs.csv")
    result = calculate_funnel_limits(
        data["obs"],
        data["expected"],
        statistic="ratio",
        multiplier=100,
        ratio_type=ratio_type,
    )
    assert result["Observed_events"].tolist() == expected.iloc[:, 0].astype(float).tolist()
    for bound in ("lower_2s", "upper_2s", "lower_3s", "upper_3s"):
        assert_as_printed(result[f"{bound}_exp_events"], expected[f"{bound}_exp_events"])
        assert_as_printed(result[f"{bound}_limit"], expected[f"{bound}_{ratio_type}"])
    assert set(result["statistic"]) == {f"ratio ({ratio_type})"}
    assert set(result["method"]) == {"Poisson"}


def test_ratio_significance_matches_published_levels():
    data = pd.read_csv(FILES / "testdata_funnel_ratio_inputs.csv")
    levels = assign_funnel_significance(data["obs"], data["expected"], statistic="ratio")
    assert list(levels) == data["significance"].tolist()


def test_poisson_funnel_solves_the_exact_poisson_limit_equations():
    # For O events: the expected count E with P(X <= O | E) = 0.025 is the exact upper limit
    # chi2(0.975, 2O + 2)/2, and the one with P(X >= O | E) = 0.025 the exact lower limit
    # chi2(0.025, 2O)/2 (Garwood). The bisection is on v = E/(E + O + 1) and stops at a step of
    # 2^-24, so E is within (O + 1)·2^-23/(1 − v)² of the exact limit.
    obs = np.array([1.0, 10.0, 250.0])
    for side, exact in (
        ("high", stats.chi2.ppf(0.975, 2 * obs + 2) / 2),
        ("low", stats.chi2.ppf(0.025, 2 * obs) / 2),
    ):
        v = exact / (exact + obs + 1)
        step = (obs + 1) * 2.0**-23 / (1 - v) ** 2
        assert np.all(np.abs(poisson_funnel(obs, 0.025, side) - exact) <= step)


# --- rates ---------------------------------------------------------------------------------------


def rate_funnel_inputs() -> pd.DataFrame:
    return pd.read_csv(FILES / "testdata_funnel_rate_input_funnels.csv")


def assert_rate_outputs(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert result["Events"].tolist() == expected["Events"].astype(float).tolist()
    for column in expected.columns[1:-1]:
        assert_as_printed(result[column], expected[column])
    assert set(result["statistic"]) == set(expected["statistic"])


def test_dsr_limits_match_published_outputs():
    data = rate_funnel_inputs()
    result = calculate_funnel_limits(
        data["ev"],
        statistic="rate",
        rate=data["rate"],
        rate_type="dsr",
        multiplier=1e5,
        years_of_data=3,
    )
    assert_rate_outputs(result, published("testdata_funnel_rate_outputs.csv"))
    assert result["statistic"].iloc[0] == "rate (dsr per 100,000)"


def test_crude_rate_limits_with_a_small_count_match_published_outputs():
    data = rate_funnel_inputs()
    data.loc[data["ev"] == data["ev"].max(), "ev"] = 5
    result = calculate_funnel_limits(
        data["ev"],
        statistic="rate",
        rate=data["rate"],
        rate_type="crude",
        multiplier=1e5,
        years_of_data=3,
    )
    assert_rate_outputs(result, published("testdata_funnel_rate_outputs_2.csv"))


def test_crude_rate_limits_with_no_events_and_denominators_match_published_outputs():
    # The package's test: populations 1e5 × events / rate, the largest count set to 0 events at
    # rate 0, then areas with more than half the largest population kept (axis from 286 events).
    data = rate_funnel_inputs()[["ev", "rate"]]
    data["pop"] = 1e5 * data["ev"] / data["rate"]
    largest = data["ev"] == data["ev"].max()
    data.loc[largest, ["ev", "rate"]] = 0
    data = data[data["pop"] > data["pop"].max() / 2]
    result = calculate_funnel_limits(
        data["ev"],
        data["pop"],
        statistic="rate",
        rate=data["rate"],
        rate_type="crude",
        multiplier=1e5,
        years_of_data=3,
    )
    assert_rate_outputs(result, published("testdata_funnel_rate_outputs_3.csv"))


RATE_SIGNIFICANCE_CASES = [
    # (rate column, rate type, multiplier, published column, drop the zero-count row)
    ("rate_dsr", "dsr", 1e5, "dsr_per_100000_with_0", False),
    ("rate_dsr", "dsr", 100, "dsr_per_100_with_0", False),
    ("rate_dsr", "dsr", 1e5, "dsr_per_100000_without_0", True),
    ("rate_dsr", "dsr", 100, "dsr_per_100_without_0", True),
    ("rate_crude_per_100000", "crude", 1e5, "crude_per_100000_with_0", False),
    ("rate_crude_per_100", "crude", 100, "crude_per_100_with_0", False),
    ("rate_crude_per_100000", "crude", 1e5, "crude_per_100000_without_0", True),
    ("rate_crude_per_100", "crude", 100, "crude_per_100_without_0", True),
]


@pytest.mark.parametrize(
    ("rate", "rate_type", "multiplier", "column", "drop_zero"), RATE_SIGNIFICANCE_CASES
)
def test_rate_significance_matches_published_levels(rate, rate_type, multiplier, column, drop_zero):
    data = pd.read_csv(FILES / "testdata_funnel_rate_dsr_inputs.csv")
    if drop_zero:
        data = data[data["count"] != 0]
    levels = assign_funnel_significance(
        data["count"],
        data["pop"],
        statistic="rate",
        rate=data[rate],
        rate_type=rate_type,
        multiplier=multiplier,
    )
    assert list(levels) == data[column].tolist()


def test_funnel_points_for_dsrs_drop_counts_under_ten():
    data = rate_funnel_inputs()
    data.loc[data["ev"] == data["ev"].max(), "ev"] = 5
    points = calculate_funnel_points(
        data["ev"], data["rate"], rate_type="dsr", years_of_data=3, multiplier=1e5
    )
    expected = rate_funnel_inputs()
    np.testing.assert_allclose(points["rate_chart"], expected["rate_chart"], rtol=1e-9)
    np.testing.assert_allclose(
        points["denominator_derived"], expected["denominator_derived"], rtol=1e-9
    )
    assert points["rate_chart"].isna().sum() == 1


def test_funnel_points_for_crude_rates_with_and_without_denominators():
    data = rate_funnel_inputs()
    points = calculate_funnel_points(
        data["ev"], data["rate"], rate_type="crude", years_of_data=3, multiplier=1e5
    )
    np.testing.assert_allclose(points["rate_chart"], data["rate_chart_crude"], rtol=1e-9)
    np.testing.assert_allclose(
        points["denominator_derived"], data["denominator_derived_crude"], rtol=1e-9
    )
    zero = data.copy()
    zero.loc[zero["ev"] == zero["ev"].max(), "ev"] = 0
    points = calculate_funnel_points(
        zero["ev"],
        zero["rate"],
        denominator=zero["pop"],
        rate_type="crude",
        years_of_data=5,
        multiplier=1e5,
    )
    np.testing.assert_allclose(
        points["denominator_derived"], data["denominator_derived_crude_with_denom"], rtol=1e-9
    )


# --- axis rounding and refusals ------------------------------------------------------------------


def test_axis_minimum_follows_r_printing_a_round_number_in_scientific_notation():
    # R's signif.floor takes nchar(floor(0.95 × 12,631,579)) = nchar(12000000), and R prints
    # 12000000 as "1.2e+07" (7 characters, not 8), so it rounds at 10^6: 12,000,000 rather than
    # the 10,000,000 the function was written for. The axis starts there either way R runs it.
    data = pd.DataFrame({"x": [6_315_790.0, 10_000_000.0], "n": [12_631_579.0, 20_000_000.0]})
    result = calculate_funnel_limits(data["x"], data["n"], statistic="proportion", multiplier=100)
    assert result["Population"].iloc[0] == 12_000_000
    assert result["Population"].iloc[-1] == 21_000_000  # 105% of 20,000,000 = 21,000,000


def test_funnels_refuse_unknown_statistics_and_impossible_counts():
    with pytest.raises(ValueError, match="statistic"):
        calculate_funnel_limits([1], [2], statistic="pop", multiplier=100)
    with pytest.raises(ValueError, match="ratio_type"):
        calculate_funnel_limits([1], [2], statistic="ratio", multiplier=100)
    with pytest.raises(ValueError, match="years_of_data"):
        calculate_funnel_limits([1], statistic="rate", rate=[2], rate_type="dsr", multiplier=1e5)
    with pytest.raises(ValueError, match="denominators must be greater than zero"):
        assign_funnel_significance([65, 80, 30], [100, 100, 0], statistic="proportion")
    with pytest.raises(ValueError, match="greater than or equal to zero"):
        assign_funnel_significance([65, -80, 30], [100, 100, 200], statistic="proportion")
    with pytest.raises(ValueError, match="less than or equal to denominator"):
        assign_funnel_significance([65, 80, 30], [100, 100, 20], statistic="proportion")
    with pytest.raises(ValueError, match="denominator field needs to be provided"):
        calculate_funnel_points([0, 5], [0, 2], rate_type="crude", years_of_data=1, multiplier=1)


def test_significance_leaves_records_with_missing_inputs_unlabelled():
    levels = assign_funnel_significance(
        [10232, np.nan, 15123, 13213], [15232, 16123, 17932, 18475], statistic="proportion"
    )
    assert pd.isna(levels[1]) and levels.notna().sum() == 3


def test_limits_leave_out_records_with_missing_inputs():
    data = proportion_inputs()
    with_gaps = pd.concat(
        [data, pd.DataFrame({"numerator": [np.nan, 5.0], "denominator": [100.0, np.nan]})]
    )
    result = calculate_funnel_limits(
        with_gaps["numerator"], with_gaps["denominator"], statistic="proportion", multiplier=100
    )
    expected = published("testdata_funnel_prop_outputs.csv")
    assert_as_printed(result["lower_2s_limit"], expected["Lower2s0025limit"])
