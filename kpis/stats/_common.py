"""Shared helpers for the statistics engine: confidence levels, directions and array coercion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Direction words accepted everywhere, mapped to +1 (higher is better), -1 or 0 (neutral).
DIRECTION_SIGNS: dict[str, int] = {
    "higher_is_better": 1,
    "increase": 1,
    "lower_is_better": -1,
    "decrease": -1,
    "neutral": 0,
}


class IntervalResult(NamedTuple):
    """A point estimate with its lower and upper confidence limits and a per-row method label."""

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    method: npt.NDArray[np.str_]


def as_float(values: ArrayLike) -> FloatArray:
    """Return values as an (at least 1-d) float64 array, with None and pandas NA as NaN."""
    if isinstance(values, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return pd.array(values, dtype="Float64").to_numpy(np.float64, na_value=np.nan)
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def scale_confidence(confidence: float) -> float:
    """Return a confidence level as a fraction, accepting 95 or 0.95 as PHEindicatormethods does."""
    level = float(confidence)
    if level > 1:
        level /= 100.0
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence must be in (0, 1) or (1, 100), got {confidence!r}")
    return level


def z_value(confidence: float) -> float:
    """Return the two-sided standard normal quantile for a confidence level."""
    level = scale_confidence(confidence)
    return float(stats.norm.ppf(level + (1.0 - level) / 2.0))


def direction_signs(direction: str | Iterable[str], size: int) -> npt.NDArray[np.int8]:
    """Return +1/-1/0 per row for a direction word or an array of direction words."""
    if isinstance(direction, str):
        return np.full(size, _direction_sign(direction), dtype=np.int8)
    codes, unique = pd.factorize(np.asarray(direction, dtype=object).ravel())
    if codes.shape != (size,) or np.any(codes < 0):
        raise ValueError(f"direction must be one word or {size} words without gaps")
    signs = np.array([_direction_sign(str(word)) for word in unique], dtype=np.int8)
    return signs[codes]


def _direction_sign(word: str) -> int:
    """Return the sign of one direction word or raise a clear ValueError."""
    try:
        return DIRECTION_SIGNS[word]
    except KeyError:
        allowed = ", ".join(sorted(DIRECTION_SIGNS))
        raise ValueError(f"unknown direction {word!r}; expected one of {allowed}") from None
