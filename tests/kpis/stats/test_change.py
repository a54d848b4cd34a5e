"""Change since baseline against Newcombe 1998 Table II and hand calculations."""

import math

import numpy as np
import pytest

from kpis.stats import classify_change, difference_from_intervals, newcombe_difference, rate_ratio

# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-890, Table II, method 10 (hybrid score
# without continuity correction), 95%. Rows: (x1, n1, x2, n2, difference, lower, upper).
# Note: 56/70 − 48/80 is 0.8 − 0.6 = 0.2000, with interval 0.0524 to 0.3339.
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
    (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
    (0, 10, 0, 20, 0.0000, -0.1611, 0.2775),
    (0, 10, 0, 10, 0.0000, -0.2775, 0.2775),
    (10, 10, 0, 20, 1.0000, 0.6791, 1.0000),
    (10, 10, 0, 10, 1.0000, 0.6075, 1.0000),
]


def test_newcombe_method_10_matches_table_ii():
    x1, n1, x2, n2, difference, lower, upper = (
        list(column) for column in zip(*NEWCOMBE_TABLE_II, strict=True)
    )
    result = newcombe_difference(x1, n1, x2, n2)
    assert result.value == pytest.approx(difference, abs=5e-5)
    assert result.lower == pytest.approx(lower, abs=5e-5)
    assert result.upper == pytest.approx(upper, abs=5e-5)
    assert set(result.method) == {"Newcombe hybrid score"}


def test_newcombe_with_an_empty_sample_is_not_calculated():
    result = newcombe_difference([1], [0], [3], [10])
    assert np.isnan(result.value[0]) and result.method[0] == "not_calculated"


def test_rate_ratio_log_normal_by_hand():
    # 50 events in 10,000 vs 40 in 10,000: RR = 1.25, ln RR = 0.223144,
    # SE = √(1/50 + 1/40) = √0.045 = 0.212132, z·SE = 0.415771
    # -> exp(0.223144 ∓ 0.415771) = 0.824789, 1.894424
    result = rate_ratio([50], [10_000], [40], [10_000])
    assert result.value[0] == pytest.approx(1.25)
    assert result.lower[0] == pytest.approx(0.824789, abs=1e-6)
    assert result.upper[0] == pytest.approx(1.894424, abs=1e-6)
    assert result.method[0] == "log-normal"


def test_rate_ratio_log_normal_undefined_with_zero_counts():
    result = rate_ratio([0], [100], [5], [100])
    assert np.isnan(result.lower[0]) and result.method[0] == "not_calculated"


def test_rate_ratio_exact_conditional_closed_forms():
    # 0 vs 10 events, equal populations: given 10 events, x1 = 0; Clopper-Pearson p_U solves
    # (1 − p)^10 = 0.025, p_U = 1 − 0.025^(1/10) = 0.308497, so RR_U = p/(1 − p)
    # = 1/0.025^(1/10) − 1 = 0.446126 and RR_L = 0. With n1 = 2·n2 it halves: 0.223063.
    result = rate_ratio([0, 0], [100, 200], [10, 10], [100, 100], method="exact_conditional")
    assert result.lower.tolist() == [0.0, 0.0]
    assert result.upper[0] == pytest.approx(0.025 ** (-1 / 10) - 1, abs=1e-6)
    assert result.upper[0] == pytest.approx(0.446126, abs=1e-6)
    assert result.upper[1] == pytest.approx(0.446126 / 2, abs=1e-6)
    # 10 vs 0: mirror image, RR_L = 1/0.446126 = 2.241520 and RR_U infinite.
    mirror = rate_ratio([10], [100], [0], [100], method="exact_conditional")
    assert mirror.lower[0] == pytest.approx(1 / 0.446126, abs=1e-5)
    assert math.isinf(mirror.upper[0])


def test_difference_from_intervals_se_from_width_by_hand():
    # DSR 120 (110-130) vs 100 (92-108): SE₁ = 20/(2·1.959964) = 5.102135,
    # SE₂ = 16/3.919928 = 4.081708, √(SE₁² + SE₂²) = 6.533920;
    # 95%: 20 ∓ 1.959964·6.533920 = 20 ∓ 12.806248; 99.8%: 20 ∓ 3.090232·6.533920 = 20 ∓ 20.191332
    result = difference_from_intervals([120], [110], [130], [100], [92], [108])
    assert result.value[0] == 20
    assert result.lower[0] == pytest.approx(20 - 12.806248, abs=1e-6)
    assert result.upper[0] == pytest.approx(20 + 12.806248, abs=1e-6)
    strict = difference_from_intervals([120], [110], [130], [100], [92], [108], confidence=0.998)
    assert strict.lower[0] == pytest.approx(20 - 20.191332, abs=1e-6)


def test_difference_from_intervals_mover_keeps_asymmetry():
    # 120 (112-131) vs 100 (95-108): lower 20 − √(8² + 8²) = 8.686292,
    # upper 20 + √(11² + 5²) = 32.083046 (Zou & Donner 2008 MOVER)
    result = difference_from_intervals([120], [112], [131], [100], [95], [108], method="mover")
    assert result.lower[0] == pytest.approx(8.686292, abs=1e-6)
    assert result.upper[0] == pytest.approx(32.083046, abs=1e-6)
    with pytest.raises(ValueError):
        difference_from_intervals([1], [0], [2], [1], [0], [2], confidence=0.998, method="mover")


def test_classify_change_categories_and_reasons():
    verdict = classify_change(
        [0.1, -0.3, -0.1, 0.1, np.nan, 0.0, 0.1],
        [0.3, -0.1, 0.2, 0.3, 1.0, 1.0, 0.3],
        overlapping=[False, False, False, True, False, False, False],
        series_break=[False, False, False, False, False, False, True],
    )
    assert verdict.category.tolist() == [
        "significant_increase",
        "significant_decrease",
        "no_significant_change",
        "not_tested",
        "not_tested",
        "no_significant_change",  # a limit exactly on 0 is not significant
        "not_tested",
    ]
    assert verdict.reason.tolist() == [
        "",
        "",
        "",
        "overlapping_periods",
        "no_interval",
        "",
        "series_break",
    ]


def test_classify_change_for_ratios_uses_one():
    # Rate ratio 0.824789-1.894424 (above) includes 1: no significant change.
    verdict = classify_change([0.824789, 1.1], [1.894424, 1.5], null_value=1.0)
    assert verdict.category.tolist() == ["no_significant_change", "significant_increase"]


def test_classify_newcombe_table_ii_rows():
    # From Table II: (a) 0.0524-0.3339 excludes 0; (d) −0.0381-0.1926 includes it.
    result = newcombe_difference([56, 5], [70, 56], [48, 0], [80, 29])
    verdict = classify_change(result.lower, result.upper)
    assert verdict.category.tolist() == ["significant_increase", "no_significant_change"]
