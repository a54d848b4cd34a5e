"""Property-based tests of invariants that hold for every input, not just worked examples."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kpis.stats import (
    ESP2013,
    classify_change,
    compare_to_benchmark,
    compare_to_benchmark_two_levels,
    crude_rate,
    dsr,
    exclude_place_frame,
    linear_trend_projection,
    newcombe_difference,
    poisson_count_bounds,
    spc,
    spc_frame,
    wilson_bounds,
)

COUNTS = st.integers(min_value=0, max_value=1_000_000)
SETTINGS = settings(max_examples=150, deadline=None, database=None)


@st.composite
def binomial(draw, fractional: bool = False):
    """A (numerator, denominator) pair with 0 <= x <= n and n > 0."""
    n = draw(st.integers(min_value=1, max_value=1_000_000))
    if fractional:
        return draw(st.floats(min_value=0, max_value=n)), float(n)
    return draw(st.integers(min_value=0, max_value=n)), n


@SETTINGS
@given(binomial(fractional=True))
def test_wilson_contains_p_within_zero_one_and_nests(pair):
    x, n = pair
    low95, high95 = wilson_bounds([x], [n])
    low998, high998 = wilson_bounds([x], [n], 0.998)
    p = x / n
    # containment and [0, 1] hold exactly; nesting up to floating-point rounding (x ≈ n).
    assert 0.0 <= low998[0] <= p <= high998[0] <= 1.0
    assert low95[0] <= p <= high95[0]
    assert low998[0] <= low95[0] + 1e-12 and high95[0] <= high998[0] + 1e-12


@SETTINGS
@given(COUNTS)
def test_poisson_limits_contain_the_count_and_nest(x):
    low95, high95, _ = poisson_count_bounds([x])
    low998, high998, method = poisson_count_bounds([x], 0.998)
    assert 0.0 <= low998[0] <= low95[0] <= x <= high95[0] <= high998[0]
    assert method[0] == ("Byars" if x >= 10 else "Exact")


@SETTINGS
@given(COUNTS, st.integers(min_value=1, max_value=10_000_000))
def test_crude_rate_interval_contains_the_rate(x, n):
    result = crude_rate([x], [n])
    assert result.lower[0] <= result.value[0] <= result.upper[0]


@SETTINGS
@given(binomial(), binomial())
def test_newcombe_interval_contains_difference_within_minus_one_one(first, second):
    (x1, n1), (x2, n2) = first, second
    d95 = newcombe_difference([x1], [n1], [x2], [n2])
    d998 = newcombe_difference([x1], [n1], [x2], [n2], confidence=0.998)
    tolerance = 1e-12
    assert -1 - tolerance <= d998.lower[0] <= d95.lower[0] <= d95.value[0] + tolerance
    assert d95.value[0] - tolerance <= d95.upper[0] <= d998.upper[0] <= 1 + tolerance


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(["2023-24", "2024-25"]), COUNTS, COUNTS), min_size=1, max_size=12
    ),
    st.randoms(use_true_random=False),
)
def test_set_minus_place_adds_back_to_the_total_in_any_order(rows, random):
    frame = pd.DataFrame(rows, columns=["period", "x", "n"])
    frame["n"] = frame["x"] + frame["n"]
    rest = exclude_place_frame(frame, "period", "x", "n")
    totals = frame.groupby("period")[["x", "n"]].transform("sum")
    assert (rest["rest_numerator"] + frame["x"] == totals["x"]).all()
    assert (rest["rest_denominator"] + frame["n"] == totals["n"]).all()
    shuffled = frame.sample(frac=1.0, random_state=random.randrange(2**32))
    assert exclude_place_frame(shuffled, "period", "x", "n").sort_index().equals(rest)


@st.composite
def nested_intervals(draw):
    """A 95% interval inside a 99.8% interval, and a benchmark."""
    values = sorted(draw(st.lists(st.floats(-1e6, 1e6), min_size=4, max_size=4)))
    benchmark = draw(st.floats(-2e6, 2e6))
    return values[1], values[2], values[0], values[3], benchmark


@SETTINGS
@given(nested_intervals(), st.sampled_from(["higher_is_better", "lower_is_better", "neutral"]))
def test_two_level_comparison_agrees_with_one_level_at_95(intervals, direction):
    lower95, upper95, lower998, upper998, benchmark = intervals
    one = compare_to_benchmark([lower95], [upper95], [benchmark], direction)[0]
    two = compare_to_benchmark_two_levels(
        [lower95], [upper95], [lower998], [upper998], [benchmark], direction
    )[0]
    assert two == one or two.startswith(one + "_")


@SETTINGS
@given(st.floats(-10, 10), st.floats(0, 10), st.floats(-10, 10))
def test_change_is_significant_exactly_when_the_interval_excludes_zero(lower, width, null):
    category = classify_change([lower], [lower + width], null_value=null).category[0]
    expected = (
        "significant_increase"
        if lower > null
        else "significant_decrease"
        if lower + width < null
        else "no_significant_change"
    )
    assert category == expected


@SETTINGS
@given(
    st.lists(st.floats(1, 1e6), min_size=19, max_size=19),
    st.floats(min_value=0.0001, max_value=0.5),
)
def test_dsr_of_equal_age_specific_rates_is_that_rate(populations, rate):
    counts = np.asarray(populations) * rate
    assume(counts.sum() >= 10)
    result = dsr(counts, populations, ESP2013).iloc[0]
    assert result["value"] == pytest.approx(rate * 100_000, rel=1e-9)
    assert result["lower"] <= result["value"] <= result["upper"]


@SETTINGS
@given(st.floats(-100, 100), st.floats(-10, 10), st.integers(min_value=3, max_value=30))
def test_projection_of_an_exact_line_is_the_line(intercept, slope, n):
    x = np.arange(n, dtype=float)
    projection = linear_trend_projection(x, intercept + slope * x, n + 5)
    expected = intercept + slope * (n + 5)
    assert projection.projected[0] == pytest.approx(expected, abs=1e-6)
    assert projection.lower[0] <= projection.projected[0] <= projection.upper[0]


# --- SPC invariants ------------------------------------------------------------------------

# Values on a 1/64 grid keep every intermediate result out of the subnormal range, where
# doubling would stop being exact.
SERIES = st.lists(
    st.one_of(
        st.integers(-50, 50).map(float),
        st.integers(-(2**36), 2**36).map(lambda i: i / 64),
        st.just(float("nan")),
    ),
    min_size=1,
    max_size=40,
)


def quiet_spc(values, **options) -> pd.DataFrame:
    """spc() with trial-limit warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spc(values, **options)


def point_types(points: pd.DataFrame) -> list[str]:
    """Point types as plain strings."""
    return points["point_type"].astype(object).fillna("missing").tolist()


@SETTINGS
@given(SERIES)
def test_spc_doubling_every_value_changes_no_classification(values):
    # Doubling is exact in binary floating point, so every comparison keeps its outcome.
    base = quiet_spc(values)
    doubled = quiet_spc([2 * v for v in values])
    assert point_types(doubled) == point_types(base)
    np.testing.assert_array_equal(doubled["upl"], 2 * base["upl"])


@SETTINGS
@given(SERIES)
def test_spc_mirror_image_flags_the_same_points(values):
    base = quiet_spc(values)
    mirrored = quiet_spc([-v for v in values], improvement_direction="decrease")
    assert mirrored["special_cause_flag"].tolist() == base["special_cause_flag"].tolist()
    assert mirrored["outside_limits"].tolist() == base["outside_limits"].tolist()
    np.testing.assert_allclose(base["upl"] - base["mean"], base["mean"] - base["lpl"])


@SETTINGS
@given(st.lists(SERIES, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_spc_frame_equals_each_series_on_its_own(series_list, random):
    frame = pd.concat(
        [
            pd.DataFrame({"kpi": index, "period": range(len(values)), "value": values})
            for index, values in enumerate(series_list)
        ],
        ignore_index=True,
    ).sample(frac=1.0, random_state=random.randrange(2**32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        points = spc_frame(frame, series_key="kpi", order="period", value="value")
    for index, values in enumerate(series_list):
        mine = points[points["kpi"] == index].sort_values("period")
        alone = quiet_spc(values)
        assert point_types(mine) == point_types(alone)
        np.testing.assert_array_equal(mine["lpl"].to_numpy(), alone["lpl"].to_numpy())
