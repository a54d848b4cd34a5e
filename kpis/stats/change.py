"""Change since baseline: differences and ratios with intervals, and a significance verdict.

Conventions: "1" is the later (current) period and "2" the baseline, so a positive difference
or a ratio above 1 is an increase since baseline.

Methods:

* difference of two independent proportions: Newcombe's hybrid score interval, method 10 of
  Newcombe RG, Stat Med 1998;17:873-890 (Wilson limits of each proportion combined by
  square-and-add);
* ratio of two crude rates: by default the log-normal interval exp(ln RR ± z·√(1/x₁ + 1/x₂))
  (undefined when either count is 0); optionally the exact conditional interval, which treats x₁
  given x₁ + x₂ as binomial and maps the Clopper-Pearson limits p to RR = p/(1−p) · n₂/n₁;
* difference of two estimates known only by their published intervals (DSRs, ISRs, means): by
  default each standard error is taken from the interval width, SE = (U − L)/(2·z), and the
  difference gets d ± z·√(SE₁² + SE₂²); optionally MOVER (Zou & Donner 2008), which keeps each
  interval's asymmetry: d − √((v₁−L₁)² + (U₂−v₂)²) to d + √((U₁−v₁)² + (v₂−L₂)²).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

from ._common import ArrayLike, IntervalResult, as_float, scale_confidence, z_value
from .intervals import NOT_CALCULATED, wilson_bounds

SIGNIFICANT_INCREASE = "significant_increase"
SIGNIFICANT_DECREASE = "significant_decrease"
NO_SIGNIFICANT_CHANGE = "no_significant_change"
NOT_TESTED = "not_tested"
REASON_SERIES_BREAK = "series_break"
REASON_OVERLAPPING = "overlapping_periods"
REASON_NO_INTERVAL = "no_interval"


class ChangeVerdict(NamedTuple):
    """Per-row verdict on a change, and why it was not tested where it was not."""

    category: npt.NDArray[np.str_]
    reason: npt.NDArray[np.str_]


def newcombe_difference(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, confidence: float = 0.95
) -> IntervalResult:
    """Return p₁ − p₂ with Newcombe's hybrid score interval (Newcombe 1998, method 10)."""
    x1, n1, x2, n2 = (as_float(value) for value in (x1, n1, x2, n2))
    lower1, upper1 = wilson_bounds(x1, n1, confidence)
    lower2, upper2 = wilson_bounds(x2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
    difference = p1 - p2
    lower = difference - np.sqrt((p1 - lower1) ** 2 + (upper2 - p2) ** 2)
    upper = difference + np.sqrt((upper1 - p1) ** 2 + (p2 - lower2) ** 2)
    valid = np.isfinite(lower) & np.isfinite(upper)
    method = np.where(valid, "Newcombe hybrid score", NOT_CALCULATED)
    return IntervalResult(np.where(valid, difference, np.nan), lower, upper, method)


def rate_ratio(
    x1: ArrayLike,
    n1: ArrayLike,
    x2: ArrayLike,
    n2: ArrayLike,
    confidence: float = 0.95,
    method: Literal["log_normal", "exact_conditional"] = "log_normal",
) -> IntervalResult:
    """Return (x₁/n₁)/(x₂/n₂) with a log-normal or exact conditional interval."""
    x1, n1, x2, n2 = (as_float(value) for value in (x1, n1, x2, n2))
    if np.any(x1 < 0) or np.any(x2 < 0) or np.any(n1 <= 0) or np.any(n2 <= 0):
        raise ValueError("counts must be >= 0 and person-time or populations > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (x1 / n1) / (x2 / n2)
    if method == "log_normal":
        lower, upper, valid = _log_normal_ratio_limits(ratio, x1, x2, confidence)
        label = "log-normal"
    elif method == "exact_conditional":
        lower, upper, valid = _exact_conditional_ratio_limits(x1, n1, x2, n2, confidence)
        label = "exact conditional (binomial)"
    else:
        raise ValueError(f"unknown rate ratio method {method!r}")
    return IntervalResult(
        np.where(valid, ratio, np.nan), lower, upper, np.where(valid, label, NOT_CALCULATED)
    )


def difference_from_intervals(
    value1: ArrayLike,
    lower1: ArrayLike,
    upper1: ArrayLike,
    value2: ArrayLike,
    lower2: ArrayLike,
    upper2: ArrayLike,
    input_confidence: float = 0.95,
    confidence: float = 0.95,
    method: Literal["se_from_width", "mover"] = "se_from_width",
) -> IntervalResult:
    """Return v₁ − v₂ with an interval built from each estimate's published interval."""
    v1, l1, u1, v2, l2, u2 = (as_float(a) for a in (value1, lower1, upper1, value2, lower2, upper2))
    difference = v1 - v2
    if method == "se_from_width":
        z_in, z_out = z_value(input_confidence), z_value(confidence)
        se = np.sqrt(((u1 - l1) / (2 * z_in)) ** 2 + ((u2 - l2) / (2 * z_in)) ** 2)
        lower, upper = difference - z_out * se, difference + z_out * se
        label = "normal, SE from interval width"
    elif method == "mover":
        if scale_confidence(input_confidence) != scale_confidence(confidence):
            raise ValueError("MOVER gives an interval at the inputs' own confidence level only")
        lower = difference - np.sqrt((v1 - l1) ** 2 + (u2 - v2) ** 2)
        upper = difference + np.sqrt((u1 - v1) ** 2 + (v2 - l2) ** 2)
        label = "MOVER"
    else:
        raise ValueError(f"unknown method {method!r}")
    valid = np.isfinite(lower) & np.isfinite(upper)
    return IntervalResult(
        np.where(valid, difference, np.nan), lower, upper, np.where(valid, label, NOT_CALCULATED)
    )


def classify_change(
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    null_value: float = 0.0,
    overlapping: ArrayLike = False,
    series_break: ArrayLike = False,
) -> ChangeVerdict:
    """Return significant_increase/decrease, no_significant_change or not_tested with a reason.

    1. A series break, then overlapping periods (e.g. rolling windows sharing months), make the
       comparison "not_tested" whatever the interval says.
    2. A missing interval is "not_tested" with reason "no_interval".
    3. Otherwise the change is significant when the interval excludes null_value (0 for
       differences, 1 for ratios); a limit exactly on null_value is not significant.
    """
    lower, upper = np.atleast_1d(as_float(lower)), np.atleast_1d(as_float(upper))
    size = np.broadcast(lower, upper).shape
    breaks = np.broadcast_to(np.asarray(series_break, dtype=bool), size)
    overlaps = np.broadcast_to(np.asarray(overlapping, dtype=bool), size)
    missing = np.isnan(lower) | np.isnan(upper)
    reason = np.select(
        [breaks, overlaps, missing],
        [REASON_SERIES_BREAK, REASON_OVERLAPPING, REASON_NO_INTERVAL],
        "",
    )
    category = np.select(
        [reason != "", lower > null_value, upper < null_value],
        [NOT_TESTED, SIGNIFICANT_INCREASE, SIGNIFICANT_DECREASE],
        NO_SIGNIFICANT_CHANGE,
    )
    return ChangeVerdict(category, reason)


def _log_normal_ratio_limits(
    ratio: npt.NDArray[np.float64],
    x1: npt.NDArray[np.float64],
    x2: npt.NDArray[np.float64],
    confidence: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Return exp(ln RR ± z·√(1/x₁ + 1/x₂)) and where it is defined (both counts positive)."""
    valid = (x1 > 0) & (x2 > 0) & np.isfinite(ratio)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half = z_value(confidence) * np.sqrt(1 / x1 + 1 / x2)
        log_ratio = np.log(ratio)
        lower = np.where(valid, np.exp(log_ratio - half), np.nan)
        upper = np.where(valid, np.exp(log_ratio + half), np.nan)
    return lower, upper, valid


def _exact_conditional_ratio_limits(
    x1: npt.NDArray[np.float64],
    n1: npt.NDArray[np.float64],
    x2: npt.NDArray[np.float64],
    n2: npt.NDArray[np.float64],
    confidence: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Return Clopper-Pearson limits of x₁/(x₁+x₂) mapped to the rate ratio scale.

    1. Given x₁ + x₂ events, x₁ is binomial with p = RR·n₁ / (RR·n₁ + n₂).
    2. Clopper-Pearson: p_L = Beta(α/2; x₁, x₂+1) (0 when x₁ = 0),
       p_U = Beta(1−α/2; x₁+1, x₂) (1 when x₂ = 0).
    3. RR = p/(1−p) · n₂/n₁, so p_U = 1 gives an infinite upper limit.
    """
    alpha = 1.0 - scale_confidence(confidence)
    valid = np.isfinite(x1) & np.isfinite(x2) & (x1 + x2 > 0)
    p_lower = np.where(x1 > 0, stats.beta.ppf(alpha / 2, np.maximum(x1, 1), x2 + 1), 0.0)
    p_upper = np.where(x2 > 0, stats.beta.ppf(1 - alpha / 2, x1 + 1, np.maximum(x2, 1)), 1.0)
    with np.errstate(divide="ignore"):
        lower = p_lower / (1 - p_lower) * n2 / n1
        upper = np.where(p_upper < 1, p_upper / (1 - p_upper), np.inf) * n2 / n1
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan), valid
