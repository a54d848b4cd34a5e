"""Confidence intervals for proportions, crude rates, means, DSRs and ISRs.

The methods and their defaults follow PHEindicatormethods (UKHSA, R package; functions
``phe_proportion``, ``phe_rate``, ``phe_mean``, ``calculate_dsr`` and ``calculate_ISRatio``):

* proportions: Wilson score interval;
* crude rates and indirectly standardised ratios: Byar's approximation when the count is 10 or
  more, otherwise the exact Poisson interval from chi-square (here gamma) quantiles;
* means: Student's t interval;
* directly standardised rates: Dobson's method (Byar's limits on the total count, scaled by the
  DSR's standard error), not computed when the total count is below 10.

Departures from PHEindicatormethods, all deliberate:

* a zero or missing denominator (and a missing numerator) gives NaN with method
  ``"not_calculated"`` instead of stopping the whole calculation, so one bad row cannot block a
  batch; negative counts, negative denominators and numerators above denominators still raise;
* any confidence level in (0, 1) is accepted (PHEindicatormethods accepts 0.9 to 1 only), and
  95 or 99.8 are read as percentages as it does;
* Wilson limits are clipped to [0, 1] and to either side of x/n, removing floating-point
  overshoot of order 1e-16.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from ._common import ArrayLike, FloatArray, IntervalResult, as_float, scale_confidence, z_value

#: European Standard Population 2013, 19 bands 0-4, 5-9, ..., 85-89, 90+ (PHEindicatormethods).
# fmt: off
ESP2013: FloatArray = np.array(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
     7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000],
    dtype=np.float64,
)
# fmt: on
ESP2013_AGE_BANDS: tuple[str, ...] = tuple(
    [f"{age}-{age + 4}" for age in range(0, 90, 5)] + ["90+"]
)
#: 18-band variant with 85+ = 1500 + 1000 = 2500; PHEindicatormethods ships only the 19 bands.
ESP2013_18: FloatArray = np.append(ESP2013[:17], ESP2013[17:].sum())
ESP2013_18_AGE_BANDS: tuple[str, ...] = ESP2013_AGE_BANDS[:17] + ("85+",)

NOT_CALCULATED = "not_calculated"
DSR_SUPPRESSED_REASON = "total count < 10"
BYARS_THRESHOLD = 10


def wilson_bounds(x: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, ...]:
    """Return Wilson score (lower, upper) limits of x/n; NaN where n is 0 or either is missing."""
    x, n = as_float(x), as_float(n)
    _check_binomial(x, n)
    z = z_value(confidence)
    valid = np.isfinite(x) & np.isfinite(n) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = 2 * x + z**2
        spread = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
        denominator = 2 * (n + z**2)
        p = x / n
        lower = np.clip(np.minimum((centre - spread) / denominator, p), 0.0, 1.0)
        upper = np.clip(np.maximum((centre + spread) / denominator, p), 0.0, 1.0)
    lower = np.where(x == 0, 0.0, lower)
    upper = np.where(x == n, 1.0, upper)
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def proportion(
    x: ArrayLike, n: ArrayLike, confidence: float = 0.95, multiplier: float = 1.0
) -> IntervalResult:
    """Return proportion x/n with Wilson score limits, scaled by multiplier (100 for percent)."""
    x, n = as_float(x), as_float(n)
    lower, upper = wilson_bounds(x, n, confidence)
    valid = np.isfinite(lower)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(valid, x / n, np.nan)
    method = np.where(valid, "Wilson", NOT_CALCULATED)
    return IntervalResult(value * multiplier, lower * multiplier, upper * multiplier, method)


def byars_bounds(x: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, ...]:
    """Return Byar's (lower, upper) limits for Poisson counts; a negative lower limit is NaN."""
    x = as_float(x)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    return np.where(lower < 0, np.nan, lower), upper


def exact_poisson_bounds(x: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, ...]:
    """Return exact Poisson (lower, upper) limits: chi2(a/2, 2x)/2 and chi2(1-a/2, 2x+2)/2."""
    x = as_float(x)
    alpha = 1.0 - scale_confidence(confidence)
    positive = np.where(x > 0, x, 1.0)
    lower = np.where(x > 0, stats.gamma.ppf(alpha / 2, positive), 0.0)
    upper = stats.gamma.ppf(1 - alpha / 2, x + 1)
    return np.where(np.isnan(x), np.nan, lower), upper


def poisson_count_bounds(x: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, ...]:
    """Return (lower, upper, method) for counts: Byar's when x >= 10, exact Poisson below."""
    x = as_float(x)
    if np.any(x < 0):
        raise ValueError("counts must all be greater than or equal to zero")
    byars_lower, byars_upper = byars_bounds(x, confidence)
    exact_lower, exact_upper = exact_poisson_bounds(x, confidence)
    use_byars = x >= BYARS_THRESHOLD
    lower = np.where(use_byars, byars_lower, exact_lower)
    upper = np.where(use_byars, byars_upper, exact_upper)
    method = np.where(use_byars, "Byars", np.where(np.isnan(x), NOT_CALCULATED, "Exact"))
    return lower, upper, method


def crude_rate(
    x: ArrayLike, n: ArrayLike, confidence: float = 0.95, multiplier: float = 100_000
) -> IntervalResult:
    """Return crude rate x/n*multiplier with Byar's (x >= 10) or exact Poisson (x < 10) limits."""
    x, n = as_float(x), as_float(n)
    if np.any(n < 0):
        raise ValueError("denominators must all be greater than or equal to zero")
    return _scaled_count(x, n, multiplier, confidence)


def _scaled_count(
    count: np.ndarray, divisor: np.ndarray, factor: float, confidence: float
) -> IntervalResult:
    """count / divisor x factor, with Byar's or exact Poisson limits on the count."""
    lower, upper, method = poisson_count_bounds(count, confidence)
    valid = np.isfinite(count) & np.isfinite(divisor) & (divisor > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(valid, factor / divisor, np.nan)
    method = np.where(valid, method, NOT_CALCULATED)
    return IntervalResult(count * scale, lower * scale, upper * scale, method)


def mean_interval(
    mean: ArrayLike, sd: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> IntervalResult:
    """Return mean with Student's t limits mean ± t(n-1)·sd/√n; NaN when n < 2."""
    mean, sd, n = as_float(mean), as_float(sd), as_float(n)
    if np.any(sd < 0):
        raise ValueError("standard deviations must all be greater than or equal to zero")
    alpha = 1.0 - scale_confidence(confidence)
    valid = np.isfinite(mean) & np.isfinite(sd) & (n >= 2)
    degrees = np.where(valid, n - 1, 1.0)
    half = stats.t.ppf(1 - alpha / 2, degrees) * sd / np.sqrt(np.where(valid, n, 1.0))
    method = np.where(valid, "Student's t", NOT_CALCULATED)
    value = np.where(valid, mean, np.nan)
    return IntervalResult(value, value - half, value + half, method)


def isr(
    observed: ArrayLike, expected: ArrayLike, confidence: float = 0.95, refvalue: float = 1.0
) -> IntervalResult:
    """Return indirectly standardised ratio O/E*refvalue with Byar's/exact limits on O."""
    return _scaled_count(as_float(observed), as_float(expected), refvalue, confidence)


def expected_events(
    population: ArrayLike, ref_count: ArrayLike, ref_population: ArrayLike
) -> FloatArray:
    """Return per-band expected events: reference rate times local population (NaN counts as 0)."""
    population, ref_count = as_float(population), as_float(ref_count)
    return np.nan_to_num(ref_count) / as_float(ref_population) * np.nan_to_num(population)


def dsr(
    counts: ArrayLike,
    populations: ArrayLike,
    stdpop: ArrayLike = ESP2013,
    confidence: float = 0.95,
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Return Dobson DSRs from (groups × bands) arrays of counts and populations, a row a group."""
    counts, populations = np.atleast_2d(as_float(counts)), np.atleast_2d(as_float(populations))
    weights = as_float(stdpop)
    if counts.shape != populations.shape or counts.shape[1] != weights.shape[0]:
        raise ValueError("counts, populations and stdpop must share the number of age bands")
    _check_dsr_inputs(counts, populations, weights)
    events = np.nan_to_num(counts)
    ratio = weights / populations
    return _dobson(
        total_count=events.sum(axis=1),
        total_pop=populations.sum(axis=1),
        weighted=(events * ratio).sum(axis=1),
        squared=(events * ratio**2).sum(axis=1),
        total_std=np.full(events.shape[0], weights.sum()),
        confidence=confidence,
        multiplier=multiplier,
    )


def dsr_frame(
    frame: pd.DataFrame,
    group_by: str | Sequence[str],
    count: str,
    population: str,
    stdpop: str | ArrayLike = ESP2013,
    confidence: float = 0.95,
    multiplier: float = 100_000,
) -> pd.DataFrame:
    """Return Dobson DSRs per group of a long frame of age-band rows (bands in stdpop order)."""
    keys = [group_by] if isinstance(group_by, str) else list(group_by)
    weights = _row_stdpop(frame, keys, stdpop)
    counts, populations = as_float(frame[count]), as_float(frame[population])
    _check_dsr_inputs(counts, populations, weights)
    events = np.nan_to_num(counts)
    ratio = weights / populations
    parts = frame[keys].assign(
        total_count=events,
        total_pop=populations,
        weighted=events * ratio,
        squared=events * ratio**2,
        total_std=weights,
    )
    sums = parts.groupby(keys, sort=True, dropna=False).sum()
    columns = {name: sums[name].to_numpy() for name in sums.columns}
    result = _dobson(**columns, confidence=confidence, multiplier=multiplier)
    result.index = sums.index
    return result.reset_index()


def _row_stdpop(frame: pd.DataFrame, keys: list[str], stdpop: str | ArrayLike) -> FloatArray:
    """Return the standard population of each row, by column name or by position in its group."""
    if isinstance(stdpop, str):
        return as_float(frame[stdpop])
    weights = as_float(stdpop)
    sizes = frame.groupby(keys, sort=False)[keys[0]].transform("size").to_numpy()
    if np.any(sizes != weights.shape[0]):
        raise ValueError(f"every group must have exactly {weights.shape[0]} age-band rows")
    return weights[frame.groupby(keys, sort=False).cumcount().to_numpy()]


def _dobson(
    *,
    total_count: FloatArray,
    total_pop: FloatArray,
    weighted: FloatArray,
    squared: FloatArray,
    total_std: FloatArray,
    confidence: float,
    multiplier: float,
) -> pd.DataFrame:
    """Return DSR, Dobson limits, method and reason from per-group sums.

    1. DSR = Σ(xᵢ·wᵢ/nᵢ) / Σwᵢ × multiplier.
    2. var(DSR) = Σ(xᵢ·(wᵢ/nᵢ)²) / (Σwᵢ)².
    3. limit = DSR + √(var/O) × (Byar's limit of O − O) × multiplier, O the total count.
    4. Groups with O < 10 get NaN and the reason "total count < 10".
    """
    value = weighted / total_std * multiplier
    variance = squared / total_std**2
    byars_lower, byars_upper = byars_bounds(total_count, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(variance / total_count) * multiplier
    suppressed = total_count < BYARS_THRESHOLD
    return pd.DataFrame(
        {
            "total_count": total_count,
            "total_pop": total_pop,
            "value": np.where(suppressed, np.nan, value),
            "lower": np.where(suppressed, np.nan, value + scale * (byars_lower - total_count)),
            "upper": np.where(suppressed, np.nan, value + scale * (byars_upper - total_count)),
            "method": np.where(suppressed, NOT_CALCULATED, "Dobson"),
            "reason": np.where(suppressed, DSR_SUPPRESSED_REASON, ""),
        }
    )


def _check_binomial(x: FloatArray, n: FloatArray) -> None:
    """Raise ValueError for negative counts or denominators, or numerators above non-zero n."""
    if np.any(x < 0):
        raise ValueError("numerators must all be greater than or equal to zero")
    if np.any(n < 0):
        raise ValueError("denominators must all be greater than or equal to zero")
    if np.any((x > n) & (n > 0)):
        raise ValueError("numerators must be less than or equal to (non-zero) denominators")


def _check_dsr_inputs(
    counts: npt.NDArray[np.float64], populations: npt.NDArray[np.float64], weights: FloatArray
) -> None:
    """Raise ValueError for inputs PHEindicatormethods' calculate_dsr also refuses."""
    if np.any(counts < 0):
        raise ValueError("numerators must all be greater than or equal to zero")
    if not np.all(populations > 0):
        raise ValueError("populations must all be present and greater than zero")
    if np.any(weights < 0) or np.any(np.isnan(weights)):
        raise ValueError("standard populations must all be present and non-negative")
