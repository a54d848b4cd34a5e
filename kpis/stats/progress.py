"""Progress to target: distance travelled, planned trajectory, standards met, trend projection.

Directions are "higher_is_better"/"increase", "lower_is_better"/"decrease" or "neutral". A
target "meets" when the value is at or beyond it in the improvement direction, so a baseline
equal to its target is already met. For a neutral direction, the improvement direction of a
value-by-date target is read from the side of the baseline the target lies on.

The "on current trend" projection is an ordinary least-squares line through the observed points
with a prediction interval for a single future value, ŷ₀ ± t(n−2) · s · √(1 + 1/n + (x₀−x̄)²/Sxx);
it needs at least 3 points and always carries that interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from ._common import ArrayLike, FloatArray, as_float, direction_signs, scale_confidence

MET = "met"
MET_AT_BASELINE = "met_at_baseline"
IMPROVING = "improving"
NO_CHANGE = "no_change"
WORSENING = "worsening"
NOT_ASSESSABLE = "not_assessable"
ON_TRACK = "on_track"
OFF_TRACK = "off_track"
PROJECTED_TO_MEET = "projected_to_meet"
PROJECTED_TO_MISS = "projected_to_miss"
TOO_UNCERTAIN = "too_uncertain"


class DistanceProgress(NamedTuple):
    """Share of the baseline-to-target distance achieved, and a status word, per row."""

    share: FloatArray
    status: npt.NDArray[np.str_]


class TrajectoryComparison(NamedTuple):
    """Planned value, actual minus planned in the improvement direction, and status, per row."""

    planned: FloatArray
    ahead_by: FloatArray
    status: npt.NDArray[np.str_]


class TrendProjection(NamedTuple):
    """Least-squares line, the projected value at x_new and its prediction interval."""

    slope: FloatArray
    intercept: FloatArray
    n: npt.NDArray[np.int64]
    projected: FloatArray
    lower: FloatArray
    upper: FloatArray


def distance_achieved(
    baseline: ArrayLike,
    current: ArrayLike,
    target: ArrayLike,
    direction: str | Iterable[str] = "higher_is_better",
) -> DistanceProgress:
    """Return (current − baseline)/(target − baseline) and met/improving/... per row.

    1. The improvement sign comes from the direction (from target − baseline when neutral).
    2. A baseline at or beyond the target is "met_at_baseline" with share NaN: there is no
       distance to travel, including when baseline equals target.
    3. Otherwise share ≥ 1 is "met", 0 < share < 1 "improving", 0 "no_change", < 0 "worsening".
    """
    baseline, current, target = (as_float(a) for a in (baseline, current, target))
    baseline, current, target = np.broadcast_arrays(baseline, current, target)
    sign = _signs(direction, baseline.shape[0], target - baseline)
    gap = (target - baseline) * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (current - baseline) / (target - baseline)
    missing = np.isnan(baseline) | np.isnan(current) | np.isnan(target)
    status = np.select(
        [missing, gap <= 0, share >= 1, share > 0, share == 0],
        [NOT_ASSESSABLE, MET_AT_BASELINE, MET, IMPROVING, NO_CHANGE],
        WORSENING,
    )
    return DistanceProgress(np.where(missing | (gap <= 0), np.nan, share), status)


def planned_trajectory(
    baseline_value: ArrayLike,
    baseline_time: ArrayLike,
    target_value: ArrayLike,
    target_time: ArrayLike,
    times: ArrayLike,
) -> FloatArray:
    """Return the straight line from baseline to target at times, held flat outside that span."""
    t0, t1, t = (_as_time(value) for value in (baseline_time, target_time, times))
    start, end = as_float(baseline_value), as_float(target_value)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    return start + (end - start) * fraction


def compare_to_trajectory(
    actual: ArrayLike, planned: ArrayLike, direction: str | Iterable[str] = "higher_is_better"
) -> TrajectoryComparison:
    """Return how far each actual is ahead of plan (positive = better) and on/off track."""
    actual, planned = np.broadcast_arrays(as_float(actual), as_float(planned))
    sign = _signs(direction, actual.shape[0], np.zeros(actual.shape[0]))
    if np.any(sign == 0):
        raise ValueError("a trajectory needs a direction of improvement")
    ahead_by = (actual - planned) * sign
    status = np.where(
        np.isnan(ahead_by), NOT_ASSESSABLE, np.where(ahead_by >= 0, ON_TRACK, OFF_TRACK)
    )
    return TrajectoryComparison(planned, ahead_by, status)


def share_of_periods_met(
    values: ArrayLike, threshold: ArrayLike, direction: str | Iterable[str] = "higher_is_better"
) -> float:
    """Return the share of non-missing periods at or beyond the threshold (NaN if none)."""
    values = as_float(values)
    met, observed = _meets(values, as_float(threshold), direction)
    return float(met.sum() / observed.sum()) if observed.any() else float("nan")


def share_of_periods_met_frame(
    frame: pd.DataFrame,
    series_key: str | Sequence[str],
    value: str,
    threshold: float | str,
    direction: str | Iterable[str] = "higher_is_better",
) -> pd.DataFrame:
    """Return periods observed, periods met and share met per series; threshold: value or column."""
    keys = [series_key] if isinstance(series_key, str) else list(series_key)
    limit = frame[threshold] if isinstance(threshold, str) else threshold
    met, observed = _meets(as_float(frame[value]), as_float(limit), direction)
    counts = frame[keys].assign(periods_observed=observed, periods_met=met)
    result = counts.groupby(keys, sort=True, dropna=False).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        result["share_met"] = result["periods_met"] / result["periods_observed"]
    return result.reset_index()


def linear_trend_projection(
    x: ArrayLike, y: ArrayLike, x_new: ArrayLike, confidence: float = 0.95
) -> TrendProjection:
    """Return the least-squares line through (x, y) and its prediction interval at x_new."""
    x, y = _as_time(x), as_float(y)
    groups = np.zeros(x.shape[0], dtype=np.intp)
    x_new = np.atleast_1d(_as_time(x_new))
    fit = _grouped_fit(groups, x, y, 1)
    return _project(fit, np.zeros(x_new.shape[0], dtype=np.intp), x_new, confidence)


def trend_projection_frame(
    frame: pd.DataFrame,
    series_key: str | Sequence[str],
    x: str,
    y: str,
    x_new: object,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return per series the least-squares line and a prediction interval at x_new.

    ``x_new`` is one time for every series or a Series indexed by the series key. The fit is
    vectorised: every series' sums come from one groupby, with no loop over series.
    """
    keys = [series_key] if isinstance(series_key, str) else list(series_key)
    codes = frame.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
    index = frame[keys].drop_duplicates().set_index(keys).sort_index().index
    fit = _grouped_fit(codes, _as_time(frame[x]), as_float(frame[y]), index.shape[0])
    if isinstance(x_new, pd.Series):
        new = _as_time(x_new.reindex(index))
    else:
        new = np.full(index.shape[0], _as_time(x_new)[0])
    projection = _project(fit, np.arange(index.shape[0]), new, confidence)
    return pd.DataFrame(projection._asdict(), index=index).reset_index()


def projection_status(
    lower: ArrayLike,
    upper: ArrayLike,
    target: ArrayLike,
    direction: str | Iterable[str] = "higher_is_better",
) -> npt.NDArray[np.str_]:
    """Return projected_to_meet/miss when the prediction interval is wholly on one side."""
    lower, upper, target = np.broadcast_arrays(as_float(lower), as_float(upper), as_float(target))
    sign = _signs(direction, lower.shape[0], np.zeros(lower.shape[0]))
    if np.any(sign == 0):
        raise ValueError("a projection status needs a direction of improvement")
    meets = np.where(sign > 0, lower >= target, upper <= target)
    misses = np.where(sign > 0, upper < target, lower > target)
    missing = np.isnan(lower) | np.isnan(upper) | np.isnan(target)
    return np.select(
        [missing, meets, misses],
        [NOT_ASSESSABLE, PROJECTED_TO_MEET, PROJECTED_TO_MISS],
        TOO_UNCERTAIN,
    )


def _grouped_fit(
    groups: npt.NDArray[np.intp], x: FloatArray, y: FloatArray, size: int
) -> dict[str, FloatArray]:
    """Return per-group n, means, Sxx, slope, intercept and residual variance from sums.

    1. Points with a missing x or y are dropped.
    2. slope = Sxy/Sxx with Sxy = Σ(x−x̄)(y−ȳ), Sxx = Σ(x−x̄)²; intercept = ȳ − slope·x̄.
    3. s² = Σ residual² / (n − 2), NaN when n < 3 or all x are equal.
    """
    keep = np.isfinite(x) & np.isfinite(y)
    g, x, y = groups[keep], x[keep], y[keep]
    n = np.bincount(g, minlength=size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_bar = np.bincount(g, weights=x, minlength=size) / n
        y_bar = np.bincount(g, weights=y, minlength=size) / n
        dx, dy = x - x_bar[g], y - y_bar[g]
        sxx = np.bincount(g, weights=dx * dx, minlength=size)
        slope = np.bincount(g, weights=dx * dy, minlength=size) / sxx
        residual = dy - slope[g] * dx
        variance = np.bincount(g, weights=residual**2, minlength=size) / (n - 2)
    unusable = (n < 3) | ~(sxx > 0)
    variance = np.where(unusable, np.nan, variance)
    return {"n": n, "x_bar": x_bar, "y_bar": y_bar, "sxx": sxx, "slope": slope, "s2": variance}


def _project(
    fit: dict[str, FloatArray], rows: npt.NDArray[np.intp], x_new: FloatArray, confidence: float
) -> TrendProjection:
    """Return the projection at x_new for fitted groups rows, with its prediction interval."""
    alpha = 1.0 - scale_confidence(confidence)
    n, sxx, slope = fit["n"][rows], fit["sxx"][rows], fit["slope"][rows]
    x_bar, y_bar, s2 = fit["x_bar"][rows], fit["y_bar"][rows], fit["s2"][rows]
    projected = y_bar + slope * (x_new - x_bar)
    t = stats.t.ppf(1 - alpha / 2, np.where(n > 2, n - 2, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = t * np.sqrt(s2 * (1 + 1 / n + (x_new - x_bar) ** 2 / sxx))
    defined = np.isfinite(half)
    return TrendProjection(
        slope=np.where(defined, slope, np.nan),
        intercept=np.where(defined, y_bar - slope * x_bar, np.nan),
        n=n.astype(np.int64),
        projected=np.where(defined, projected, np.nan),
        lower=projected - half,
        upper=projected + half,
    )


def _meets(
    values: FloatArray, threshold: FloatArray, direction: str | Iterable[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Return per row whether the value meets the threshold, and whether it was observed."""
    values, threshold = np.broadcast_arrays(values, threshold)
    sign = _signs(direction, values.shape[0], np.zeros(values.shape[0]))
    if np.any(sign == 0):
        raise ValueError("a threshold standard needs a direction of improvement")
    observed = np.isfinite(values) & np.isfinite(threshold)
    met = observed & ((values - threshold) * sign >= 0)
    return met, observed


def _signs(direction: str | Iterable[str], size: int, fallback: FloatArray) -> FloatArray:
    """Return ±1 per row from the direction; neutral rows take the sign of fallback."""
    sign = direction_signs(direction, size).astype(np.float64)
    return np.where(sign == 0, np.sign(np.nan_to_num(fallback)), sign)


def _as_time(values: object) -> FloatArray:
    """Return times as float days (datetimes, dates, periods) or as given (numbers)."""
    if isinstance(values, pd.Series | pd.Index) and isinstance(values.dtype, pd.PeriodDtype):
        values = (
            values.dt.to_timestamp() if isinstance(values, pd.Series) else values.to_timestamp()
        )
    array = np.atleast_1d(np.asarray(values))
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    stamps = pd.to_datetime(pd.Series(array.ravel()))
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return days.to_numpy(np.float64, na_value=np.nan).reshape(array.shape)
