"""Fingertips-style benchmark comparison and the "SET excluding the place" helper, by hand."""

import numpy as np
import pandas as pd
import pytest

from kpis.stats import (
    compare_to_benchmark,
    compare_to_benchmark_two_levels,
    exclude_place,
    exclude_place_frame,
    proportion,
)


def test_one_level_polarity_and_neutral():
    # Interval 1 to 2 against benchmarks 0.5 (interval above it), 2.5 (below it), 1.5 (inside).
    lower, upper = [1, 1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2, 2]
    benchmark = [0.5, 2.5, 1.5, 0.5, 2.5, 0.5, 2.5]
    direction = ["higher_is_better"] * 3 + ["lower_is_better"] * 2 + ["neutral"] * 2
    assert compare_to_benchmark(lower, upper, benchmark, direction).tolist() == [
        "better",
        "worse",
        "similar",
        "worse",
        "better",
        "higher",
        "lower",
    ]


def test_benchmark_on_a_limit_counts_as_similar():
    assert compare_to_benchmark([1, 1], [2, 2], [1, 2]).tolist() == ["similar", "similar"]


def test_missing_interval_or_benchmark_is_not_compared():
    result = compare_to_benchmark([np.nan, 1], [2, 2], [1.5, np.nan])
    assert result.tolist() == ["not_compared", "not_compared"]


def test_two_levels_separate_99_8_from_95_only():
    # Benchmark 0.5: outside 95% (1-2) and 99.8% (0.8-2.2) -> better at 99.8%.
    # Benchmark 0.9: outside 95% only -> better at 95%. Benchmark 1.5: similar.
    # Benchmark 2.1: above 95% only -> worse at 95%; 2.5 above both -> worse at 99.8%.
    result = compare_to_benchmark_two_levels(
        [1] * 5, [2] * 5, [0.8] * 5, [2.2] * 5, [0.5, 0.9, 1.5, 2.1, 2.5]
    )
    assert result.tolist() == ["better_99_8", "better_95", "similar", "worse_95", "worse_99_8"]
    neutral = compare_to_benchmark_two_levels(
        [1, 1], [2, 2], [0.8, 0.8], [2.2, 2.2], [0.9, 2.5], "neutral"
    )
    assert neutral.tolist() == ["higher_95", "lower_99_8"]


def test_two_levels_with_wilson_intervals_by_hand():
    # 65/100 has Wilson 95% limits 0.552544-0.736358 and 99.8% limits 0.495495-0.778354
    # (see test_intervals). Benchmark 0.52 lies inside 99.8% but below 95%: better at 95% only;
    # benchmark 0.45 is below both: better at 99.8%; 0.6 inside: similar.
    p95 = proportion([65] * 3, [100] * 3)
    p998 = proportion([65] * 3, [100] * 3, confidence=0.998)
    result = compare_to_benchmark_two_levels(
        p95.lower, p95.upper, p998.lower, p998.upper, [0.52, 0.45, 0.6], "higher_is_better"
    )
    assert result.tolist() == ["better_95", "better_99_8", "similar"]


def test_unknown_direction_is_refused():
    with pytest.raises(ValueError):
        compare_to_benchmark([1], [2], [3], "up")


def test_exclude_place_is_total_minus_place():
    # SET total 120/400; Southend 30/100 -> rest of SET 90/300. A missing place counts as 0.
    numerator, denominator = exclude_place([120, 120], [400, 400], [30, np.nan], [100, np.nan])
    assert numerator.tolist() == [90, 120] and denominator.tolist() == [300, 400]
    with pytest.raises(ValueError):
        exclude_place([10], [100], [11], [50])


def test_exclude_place_frame_by_period():
    # Period 1: places 10/100, 20/200, 30/300 -> totals 60/600; rest = 50/500, 40/400, 30/300.
    # Period 2: 5/50 and 15/150 -> totals 20/200; rest = 15/150 and 5/50.
    frame = pd.DataFrame(
        {
            "period": [1, 1, 1, 2, 2],
            "place": ["Southend", "Essex", "Thurrock", "Southend", "Essex"],
            "x": [10, 20, 30, 5, 15],
            "n": [100, 200, 300, 50, 150],
        }
    )
    result = exclude_place_frame(frame, "period", "x", "n")
    assert result["rest_numerator"].tolist() == [50, 40, 30, 15, 5]
    assert result["rest_denominator"].tolist() == [500, 400, 300, 150, 50]
    assert result.index.equals(frame.index)
