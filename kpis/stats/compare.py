"""Benchmark comparison as Fingertips does it, and "SET excluding the place" benchmarks.

Fingertips (OHID public health profiles, "benchmarking method: confidence intervals overlapping
reference value") calls an area "similar" when the benchmark lies inside the area's confidence
interval, and otherwise "better" or "worse" according to the indicator's polarity, or "higher" or
"lower" when no direction is preferred. With both 95% and 99.8% intervals, an area is better or
worse "at 99.8%" when the benchmark is outside the 99.8% interval, "at 95%" when it is outside
the 95% interval only. A benchmark exactly on a limit counts as inside (similar).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._common import ArrayLike, FloatArray, as_float, direction_signs

SIMILAR = "similar"
BETTER = "better"
WORSE = "worse"
HIGHER = "higher"
LOWER = "lower"
NOT_COMPARED = "not_compared"
#: Suffixes for two-level comparisons, e.g. "better_99_8" and "better_95".
LEVEL_998 = "_99_8"
LEVEL_95 = "_95"

_WORDS = (SIMILAR, BETTER, WORSE, HIGHER, LOWER, NOT_COMPARED)
_TWO_LEVEL_WORDS = (
    SIMILAR,
    *(word + LEVEL_95 for word in _WORDS[1:5]),
    *(word + LEVEL_998 for word in _WORDS[1:5]),
    NOT_COMPARED,
)


def compare_to_benchmark(
    lower: ArrayLike,
    upper: ArrayLike,
    benchmark: ArrayLike,
    direction: str | Iterable[str] = "higher_is_better",
) -> npt.NDArray[np.str_]:
    """Return similar/better/worse (or higher/lower when neutral) per row; one confidence level."""
    side, missing = _side(lower, upper, benchmark)
    words = _word_codes(side, direction)
    return np.asarray(_WORDS)[np.where(missing, 5, words)]


def compare_to_benchmark_two_levels(
    lower95: ArrayLike,
    upper95: ArrayLike,
    lower998: ArrayLike,
    upper998: ArrayLike,
    benchmark: ArrayLike,
    direction: str | Iterable[str] = "higher_is_better",
) -> npt.NDArray[np.str_]:
    """Return e.g. "better_99_8", "better_95", "similar", "worse_95" or "worse_99_8" per row."""
    side95, missing95 = _side(lower95, upper95, benchmark)
    side998, missing998 = _side(lower998, upper998, benchmark)
    at_998 = side998 != 0
    words = _word_codes(np.where(at_998, side998, side95), direction)
    codes = np.where(words == 0, 0, words + 4 * at_998)
    return np.asarray(_TWO_LEVEL_WORDS)[np.where(missing95 | missing998, 9, codes)]


def exclude_place(
    total_numerator: ArrayLike,
    total_denominator: ArrayLike,
    place_numerator: ArrayLike,
    place_denominator: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Return (numerator, denominator) of the total minus the place; a missing place counts 0."""
    numerator = as_float(total_numerator) - np.nan_to_num(as_float(place_numerator))
    denominator = as_float(total_denominator) - np.nan_to_num(as_float(place_denominator))
    if np.any(numerator < 0) or np.any(denominator < 0):
        raise ValueError("a place's count exceeds the total it is said to be part of")
    return numerator, denominator


def exclude_place_frame(
    frame: pd.DataFrame, group_by: str | Sequence[str], numerator: str, denominator: str
) -> pd.DataFrame:
    """Return rest_numerator/rest_denominator: each group's total minus the row's own counts."""
    keys = [group_by] if isinstance(group_by, str) else list(group_by)
    grouped = frame.groupby(keys, sort=False, dropna=False)
    rest_numerator, rest_denominator = exclude_place(
        grouped[numerator].transform("sum"),
        grouped[denominator].transform("sum"),
        frame[numerator],
        frame[denominator],
    )
    return pd.DataFrame(
        {"rest_numerator": rest_numerator, "rest_denominator": rest_denominator},
        index=frame.index,
    )


def _side(
    lower: ArrayLike, upper: ArrayLike, benchmark: ArrayLike
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Return +1 where the interval lies above the benchmark, -1 below, 0 overlapping; and NaNs."""
    arrays = (np.atleast_1d(as_float(value)) for value in (lower, upper, benchmark))
    lower, upper, benchmark = np.broadcast_arrays(*arrays)
    side = (benchmark < lower).astype(np.int8) - (benchmark > upper).astype(np.int8)
    missing = np.isnan(lower) | np.isnan(upper) | np.isnan(benchmark)
    return side, missing


def _word_codes(side: npt.NDArray[np.int8], direction: str | Iterable[str]) -> npt.NDArray[np.intp]:
    """Return indexes into _WORDS: 0 similar, 1 better, 2 worse, 3 higher, 4 lower."""
    sign = direction_signs(direction, side.shape[0])
    oriented = side * sign
    polar = np.where(oriented > 0, 1, 2)
    neutral = np.where(side > 0, 3, 4)
    return np.where(side == 0, 0, np.where(sign == 0, neutral, polar))
