"""Intervals against published values and hand calculations (never against the code's output).

Constants used in the hand calculations:
z(95%) = 1.959964, z² = 3.841459; z(99.8%) = 3.090232, z² = 9.549536.
"""

import math

import numpy as np
import pandas as pd
import pytest

from kpis.stats import (
    ESP2013,
    ESP2013_18,
    ESP2013_18_AGE_BANDS,
    ESP2013_AGE_BANDS,
    crude_rate,
    dsr,
    dsr_frame,
    isr,
    mean_interval,
    proportion,
    wilson_bounds,
)


def poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed term by term (independent of the code)."""
    return sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(k + 1))


# --- proportions: Wilson score -------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "lower", "upper"),
    [
        # Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of
        # seven methods. Stat Med 1998;17:857-872, Table I, method 3 (score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998_table_i(x, n, lower, upper):
    low, high = wilson_bounds([x], [n])
    assert low[0] == pytest.approx(lower, abs=5e-5)
    assert high[0] == pytest.approx(upper, abs=5e-5)


def test_wilson_65_of_100_by_hand_at_95_and_99_8():
    # PHEindicatormethods' own example, wilson_lower(65, 100) / wilson_upper(65, 100):
    # 95%:   2x + z² = 133.841459; z·√(z² + 4x(1 − x/n)) = 1.959964·√(3.841459 + 91) = 19.087419
    #        2(n + z²) = 207.682918 -> (133.841459 ∓ 19.087419)/207.682918 = 0.552544, 0.736358
    # 99.8%: 2x + z² = 139.549536; 3.090232·√(9.549536 + 91) = 30.987116; 2(n + z²) = 219.099071
    #        -> (139.549536 ∓ 30.987116)/219.099071 = 0.495495, 0.778354
    result = proportion([65], [100])
    assert result.value[0] == 0.65
    assert result.lower[0] == pytest.approx(0.552544, abs=1e-6)
    assert result.upper[0] == pytest.approx(0.736358, abs=1e-6)
    strict = proportion([65], [100], confidence=0.998)
    assert strict.lower[0] == pytest.approx(0.495495, abs=1e-6)
    assert strict.upper[0] == pytest.approx(0.778354, abs=1e-6)
    assert proportion([65], [100], confidence=99.8).lower[0] == strict.lower[0]


def test_wilson_fractional_numerator_as_in_phe_tests():
    # PHEindicatormethods tests wilson_lower(0.445, 1). By hand: 2x + z² = 4.731459;
    # z·√(z² + 4·0.445·0.555) = 1.959964·√4.829359 = 4.307178; 2(1 + z²) = 9.682918
    # -> (4.731459 ∓ 4.307178)/9.682918 = 0.043817, 0.933462
    low, high = wilson_bounds([0.445], [1])
    assert low[0] == pytest.approx(0.043817, abs=1e-6)
    assert high[0] == pytest.approx(0.933462, abs=1e-6)


def test_wilson_edges_zero_numerator_and_numerator_equal_to_denominator():
    # x = 0: the square root is z, so the lower limit is (z² − z·z)/… = 0 exactly.
    # x = n = 10: √(z² + 0) = z, lower = (20 + z² − z²)/(2(10 + z²)) = 20/27.682918 = 0.722467,
    # upper = (20 + 2z²)/(2(10 + z²)) = 1 exactly.
    result = proportion([0, 10], [10, 10], multiplier=100)
    assert result.lower[0] == 0.0
    assert result.upper[0] == pytest.approx(27.7533, abs=1e-4)  # Newcombe (0/10): 0.2775
    assert result.lower[1] == pytest.approx(72.2467, abs=1e-4)
    assert result.upper[1] == 100.0
    assert result.value.tolist() == [0.0, 100.0]


def test_wilson_zero_or_missing_denominator_gives_nan_not_an_error():
    result = proportion([0, 3, np.nan, 2], [0, np.nan, 10, 4])
    assert np.isnan(result.value[:3]).all()
    assert np.isnan(result.lower[:3]).all() and np.isnan(result.upper[:3]).all()
    assert result.method.tolist() == ["not_calculated"] * 3 + ["Wilson"]


def test_wilson_accepts_pandas_nullable_integers():
    result = proportion(pd.Series([65, None], dtype="Int64"), pd.Series([100, 100]))
    assert result.lower[0] == pytest.approx(0.552544, abs=1e-6)
    assert np.isnan(result.lower[1])


@pytest.mark.parametrize(("x", "n"), [([-1], [10]), ([11], [10]), ([1], [-5])])
def test_wilson_refuses_impossible_counts(x, n):
    with pytest.raises(ValueError):
        proportion(x, n)


def test_confidence_level_outside_zero_one_is_refused():
    with pytest.raises(ValueError):
        proportion([1], [2], confidence=1.0)


# --- crude rates: Byar's at 10 and above, exact below ----------------------------------------


def test_rate_switches_from_exact_at_9_to_byars_at_10():
    # Count 9, exact: the tabulated exact Poisson 95% limits for 9 events are 4.1154 and 17.0848
    # (checked below from their defining equations P(X >= 9 | L) = 0.025, P(X <= 9 | U) = 0.025).
    # Count 10, Byar's: lower = 10(1 − 1/90 − z/(3√10))³ = 10 × 0.782291³ = 4.787450
    #                   upper = 11(1 − 1/99 + z/(3√11))³ = 11 × 1.186883³ = 18.391459
    result = crude_rate([9, 10], [100_000, 100_000])
    assert result.method.tolist() == ["Exact", "Byars"]
    assert result.value.tolist() == [9.0, 10.0]
    assert result.lower[0] == pytest.approx(4.1154, abs=5e-5)
    assert result.upper[0] == pytest.approx(17.0848, abs=5e-5)
    assert 1 - poisson_cdf(8, 4.1154) == pytest.approx(0.025, abs=1e-5)
    assert poisson_cdf(9, 17.0848) == pytest.approx(0.025, abs=1e-5)
    assert result.lower[1] == pytest.approx(4.787450, abs=1e-6)
    assert result.upper[1] == pytest.approx(18.391459, abs=1e-6)


def test_rate_with_zero_events_has_closed_form_exact_limits():
    # x = 0: lower 0; upper U solves e^(−U) = α/2, so U = −ln(0.025) = 3.688879 at 95% and
    # −ln(0.001) = 6.907755 at 99.8%. Per 1,000 of 500 people: × 1000/500 = × 2.
    result = crude_rate([0], [500], multiplier=1000)
    assert result.value[0] == 0.0 and result.lower[0] == 0.0
    assert result.upper[0] == pytest.approx(2 * 3.688879, abs=1e-5)
    strict = crude_rate([0], [500], confidence=0.998, multiplier=1000)
    assert strict.upper[0] == pytest.approx(2 * 6.907755, abs=1e-5)
    assert strict.method[0] == "Exact"


def test_rate_byars_at_65_and_multiplier():
    # Byar's, 65 events: lower 65(1 − 1/585 − z/(3√65))³ = 65 × 0.917256³ = 50.163188
    #                    upper 66(1 − 1/594 + z/(3√66))³ = 66 × 1.078735³ = 82.849139
    # 99.8%: 65 × 0.870525³ = 42.880261, 66 × 1.125110³ = 94.000291
    # Of a population of 50,000 per 100,000: × 2.
    result = crude_rate([65], [50_000])
    assert result.value[0] == pytest.approx(130.0)
    assert result.lower[0] == pytest.approx(2 * 50.163188, abs=1e-5)
    assert result.upper[0] == pytest.approx(2 * 82.849139, abs=1e-5)
    strict = crude_rate([65], [50_000], confidence=0.998)
    assert strict.lower[0] == pytest.approx(2 * 42.880261, abs=1e-5)
    assert strict.upper[0] == pytest.approx(2 * 94.000291, abs=1e-5)


def test_rate_missing_or_zero_denominator_is_not_calculated():
    result = crude_rate([5, np.nan, 3], [0, 100, np.nan])
    assert np.isnan(result.value).all() and np.isnan(result.upper).all()
    assert result.method.tolist() == ["not_calculated"] * 3


def test_rate_refuses_negative_counts():
    with pytest.raises(ValueError):
        crude_rate([-1], [100])


# --- means ---------------------------------------------------------------------------------


def test_mean_student_t_for_phe_example_values():
    # PHEindicatormethods' phe_mean example uses values 30, 40, 50, 60: mean 45,
    # sd = √((15² + 5² + 5² + 15²)/3) = √(500/3) = 12.909944, se = sd/√4 = 6.454972,
    # t(0.975, 3) = 3.182446 (t table) -> half-width 20.542603 -> 24.457397 to 65.542603.
    result = mean_interval([45], [math.sqrt(500 / 3)], [4])
    assert result.lower[0] == pytest.approx(24.457397, abs=1e-5)
    assert result.upper[0] == pytest.approx(65.542603, abs=1e-5)
    assert result.method[0] == "Student's t"


def test_mean_with_fewer_than_two_values_is_not_calculated():
    result = mean_interval([3.0], [0.0], [1])
    assert np.isnan(result.lower[0]) and result.method[0] == "not_calculated"


# --- indirectly standardised ratios ----------------------------------------------------------


def test_isr_byars_and_exact_on_observed():
    # 50 observed, 40 expected, × 100: ratio 125. Byar's on 50:
    # lower 50(1 − 1/450 − z/(3√50))³ = 50 × 0.905384³ = 37.108100 -> /40 × 100 = 92.770251
    # upper 51(1 − 1/459 + z/(3√51))³ = 51 × 1.089305³ = 65.920157 -> /40 × 100 = 164.800392
    # 5 observed, 4 expected: exact limits for 5 events 1.6235 and 11.6683 (tabulated; checked
    # by P(X >= 5 | 1.6235) = 0.025 and P(X <= 5 | 11.6683) = 0.025) -> × 100/4.
    result = isr([50, 5], [40, 4], refvalue=100)
    assert result.value.tolist() == [125.0, 125.0]
    assert result.lower[0] == pytest.approx(92.770251, abs=1e-5)
    assert result.upper[0] == pytest.approx(164.800392, abs=1e-5)
    assert result.lower[1] == pytest.approx(162.35 / 4, abs=5e-3)
    assert result.upper[1] == pytest.approx(1166.83 / 4, abs=5e-3)
    assert 1 - poisson_cdf(4, 1.6235) == pytest.approx(0.025, abs=1e-4)
    assert poisson_cdf(5, 11.6683) == pytest.approx(0.025, abs=1e-4)
    assert result.method.tolist() == ["Byars", "Exact"]


def test_isr_with_ratio_scale_one_and_no_expected():
    result = isr([12, 3], [10, 0])
    assert result.value[0] == pytest.approx(1.2)
    assert np.isnan(result.value[1]) and result.method[1] == "not_calculated"


# --- directly standardised rates (Dobson) ----------------------------------------------------


def test_esp2013_bands_and_18_band_variant():
    # Eurostat ESP 2013 as shipped by PHEindicatormethods (esp2013.Rd): 19 bands summing to 100,000.
    assert ESP2013.tolist() == [
        5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
        7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,
    ]  # fmt: skip
    assert ESP2013_AGE_BANDS[0] == "0-4" and ESP2013_AGE_BANDS[-1] == "90+"
    assert ESP2013_18[-1] == 2500 and ESP2013_18_AGE_BANDS[-1] == "85+"
    assert ESP2013.sum() == ESP2013_18.sum() == 100_000


def test_dsr_equal_age_specific_rates_by_hand():
    # 10 events in 1,000 people in each of the 19 bands: every rate is 1%, so the DSR is
    # 1000 per 100,000 whatever the weights. Dobson:
    #   Σw² = 25e6 + 3·30.25e6 + 2·36e6 + 42.25e6 + 4·49e6 + 42.25e6 + 36e6 + 30.25e6 + 25e6
    #         + 16e6 + 6.25e6 + 2.25e6 + 1e6 = 585e6
    #   var = Σ 10·(w/1000)² / (Σw)² = 10·585e6/1e6 / 1e10 = 5.85e-7; O = 190
    #   scale = √(5.85e-7/190) × 1e5 = 5.548826
    #   Byar's(190): lower 190 × 0.952018³ = 163.941718, upper 191 × 1.046691³ = 219.022514
    #   lower = 1000 + 5.548826 × (163.941718 − 190) = 855.4071
    #   upper = 1000 + 5.548826 × (219.022514 − 190) = 1161.0409
    result = dsr(np.full(19, 10.0), np.full(19, 1000.0))
    row = result.iloc[0]
    assert row["total_count"] == 190 and row["total_pop"] == 19_000
    assert row["value"] == pytest.approx(1000.0)
    assert row["lower"] == pytest.approx(855.4071, abs=1e-3)
    assert row["upper"] == pytest.approx(1161.0409, abs=1e-3)
    assert row["method"] == "Dobson" and row["reason"] == ""


def test_dsr_frame_with_a_stdpop_column_by_hand():
    # PHEindicatormethods' calculate_dsr example data (three bands, std pops 5500/12500/3500):
    # North: events 12, 25, 40 in 5000, 12000, 3000.
    #   Σ x·w/n = 12·1.1 + 25·1.041667 + 40·1.166667 = 13.2 + 26.041667 + 46.666667 = 85.908333
    #   DSR = 85.908333/21500 × 1e5 = 399.5736
    #   Σ x·(w/n)² = 14.52 + 27.126736 + 54.444444 = 96.091181; var = 96.091181/21500² = 2.078771e-7
    #   O = 77: Byar's 60.764993, 96.238030; scale = √(2.078771e-7/77) × 1e5 = 5.195866
    #   lower = 399.5736 + 5.195866 × (60.764993 − 77) = 315.2187
    #   upper = 399.5736 + 5.195866 × (96.238030 − 77) = 499.5319
    # South: events 10, 18, 35 (63 events) in 4800, 11000, 3200:
    #   Σ x·w/n = 11.458333 + 20.454545 + 38.28125 = 70.194129 -> DSR 326.4843
    frame = pd.DataFrame(
        {
            "area": ["North"] * 3 + ["South"] * 3,
            "events": [12, 25, 40, 10, 18, 35],
            "population": [5000, 12000, 3000, 4800, 11000, 3200],
            "std_pop": [5500, 12500, 3500] * 2,
        }
    )
    result = dsr_frame(frame, "area", "events", "population", stdpop="std_pop").set_index("area")
    assert result.loc["North", "value"] == pytest.approx(399.5736, abs=1e-4)
    assert result.loc["North", "lower"] == pytest.approx(315.2187, abs=1e-3)
    assert result.loc["North", "upper"] == pytest.approx(499.5319, abs=1e-3)
    assert result.loc["South", "value"] == pytest.approx(326.4843, abs=1e-4)
    assert result.loc["South", "total_count"] == 63


def test_dsr_not_calculated_below_ten_events_with_reason():
    # 9 events in the 90+ band only: below PHEindicatormethods' threshold of 10.
    frame = pd.DataFrame(
        {
            "place": ["A"] * 19 + ["B"] * 19,
            "events": [0.0] * 18 + [9.0] + [10.0] * 19,
            "population": [1000.0] * 38,
        }
    )
    result = dsr_frame(frame, "place", "events", "population").set_index("place")
    assert np.isnan(result.loc["A", ["value", "lower", "upper"]].astype(float)).all()
    assert result.loc["A", "reason"] == "total count < 10"
    assert result.loc["A", "method"] == "not_calculated"
    assert result.loc["B", "value"] == pytest.approx(1000.0)


def test_dsr_missing_counts_are_zero_and_bad_inputs_refused():
    counts = np.full(19, 10.0)
    counts[0] = np.nan  # treated as 0 events, as PHEindicatormethods' na.zero does
    assert dsr(counts, np.full(19, 1000.0)).iloc[0]["total_count"] == 180
    with pytest.raises(ValueError):
        dsr(np.full(19, 10.0), np.zeros(19))
    with pytest.raises(ValueError):
        dsr(np.full(18, 10.0), np.full(18, 1000.0))  # 18 bands against the 19-band ESP
    short = pd.DataFrame({"g": ["A"] * 18, "x": [1.0] * 18, "n": [10.0] * 18})
    with pytest.raises(ValueError):
        dsr_frame(short, "g", "x", "n")
    assert dsr(np.full(18, 10.0), np.full(18, 1000.0), ESP2013_18).iloc[0]["value"] == 1000.0
