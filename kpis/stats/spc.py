"""XmR statistical process control as NHS England's Making Data Count ("plot the dots").

Follows NHSRplotthedots (nhs-r-community, R package; ``ptd_spc``, ``ptd_spc_standard``,
``ptd_calculate_point_type``, ``ptd_calculate_assurance_type``, ``ptd_add_short_group_warnings``)
and its defaults:

* centre line: the mean of the limit-period points; process limits: mean ± 2.66 × mean moving
  range; "near" limits mean ± (2/3 × 2.66) × mean moving range;
* ``screen_outliers=True``: moving ranges not strictly below 3.267 × their mean are left out and
  the mean moving range is recomputed once;
* special cause, in this order of precedence for labelling: a point above the upper or below the
  lower limit; a run of 7 or more points each rising (or each falling) on the one before (6 equal
  signs of consecutive differences; a repeated value breaks it); 2 of 3 consecutive points in the
  band between the near and the process limit (outside points do not count) with all three on the
  same side of the mean (only the near-limit points are flagged); a run of 7 or more points on
  the same side of the mean (a point on the mean breaks it). Every point of a trend or a run is
  flagged. A trend point takes the direction of the difference to its right when the next point
  is part of a trend too, otherwise the difference to its left, exactly as NHSRplotthedots does
  (including its quirk that a zero right-hand difference, a plateau between two trends, reads as
  decreasing);
* special cause types (``special_cause_type``) rename NHSRplotthedots' labels: "Above UCL" ->
  "above_upper_limit", "7 Point Trend (Increasing)" -> "trend_increasing", "2 in 3 Above CL" ->
  "two_in_three_above", "7 Points Above CL" -> "shift_above", and likewise below/decreasing;
* point types: "common_cause", "special_cause_improvement", "special_cause_concern", and for a
  neutral direction "special_cause_neutral_high" / "special_cause_neutral_low";
* assurance (last point's limits against the target): target above the upper limit is
  "consistent_fail" when improvement is an increase and "consistent_pass" when a decrease; below
  the lower limit the reverse; otherwise "inconsistent"; none for neutral direction or no target;
* ``fix_after_n_points`` must be at least 12; a limit period of fewer than 12 points gives trial
  limits, flagged per row (``trial_limits``, NHSRplotthedots' ``short_group_warning``) and warned
  with ``SpcTrialLimitsWarning``.

Departures, each because NHSRplotthedots does not define the case or refuses it:

* gaps: NHSRplotthedots requires series without gaps. Here a missing period (NaN value or a
  ``missing`` flag) is kept as a row, gives no moving range on either side and breaks every run
  (shift, trend, two-in-three window); its point type is missing; ``fix_after_n_points`` and the
  12-point trial-limit threshold count observed points only;
* a limit period whose moving ranges are all 0 keeps a mean moving range of 0 (NHSRplotthedots'
  screen drops every range and returns NaN limits);
* assurance is missing when the last limits are NaN (fewer than 2 points), not "inconsistent";
* ``fix_after_n_points`` may be combined with rebasing: it then applies within each limit period;
* refusals (``SpcNotApplicable``): rolling (``rolling_*``), year-to-date and cumulative series,
  whose overlapping periods break the independence XmR limits assume ("discrete" and
  "snapshot", a point-in-time count, are accepted); and proportions with any denominator below
  ``min_denominator`` (default 30), for which a p-chart or funnel plot is the right tool.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._common import ArrayLike, FloatArray, as_float, direction_signs

LIMIT_SIGMA = 2.66
NEAR_LIMIT_SIGMA = 2 * LIMIT_SIGMA / 3
SCREEN_MULTIPLE = 3.267
RUN_LENGTH = 7
MIN_LIMIT_POINTS = 12
DEFAULT_MIN_DENOMINATOR = 30
ACCEPTED_TIME_STRUCTURES = ("discrete", "snapshot")
REFUSED_TIME_STRUCTURES = ("rolling", "ytd", "year_to_date", "cumulative", "pooled")

SPECIAL_CAUSE_TYPES = (
    "common_cause",
    "above_upper_limit",
    "below_lower_limit",
    "trend_increasing",
    "trend_decreasing",
    "two_in_three_above",
    "two_in_three_below",
    "shift_above",
    "shift_below",
)
POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
ASSURANCE_TYPES = ("consistent_pass", "consistent_fail", "inconsistent")

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]


class SpcNotApplicable(ValueError):
    """Raised when XmR limits would mislead for this series; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SpcTrialLimitsWarning(UserWarning):
    """Warned when a limit period has fewer than 12 points, so its limits are trial limits."""


@dataclass(frozen=True)
class _Layout:
    """Row layout of sorted series: series and limit-period codes and their first/last rows."""

    series: IntArray
    segment: IntArray
    starts: BoolArray
    segment_first: IntArray
    series_first: IntArray
    series_last: IntArray


def not_applicable_reason(
    time_structure: str,
    denominators: ArrayLike | None = None,
    min_denominator: float | None = DEFAULT_MIN_DENOMINATOR,
) -> str | None:
    """Return why XmR limits do not apply to a series, or None when they do."""
    structure = time_structure.strip().lower()
    if structure.startswith(REFUSED_TIME_STRUCTURES):
        return f"{structure} series overlap in time; SPC needs discrete or snapshot periods"
    if structure not in ACCEPTED_TIME_STRUCTURES:
        raise ValueError(f"unknown time structure {time_structure!r}")
    if denominators is not None and min_denominator is not None:
        values = as_float(denominators)
        if np.any(values[np.isfinite(values)] < min_denominator):
            return f"denominator below {min_denominator:g}: use a p-chart or funnel plot"
    return None


def spc(
    values: ArrayLike,
    *,
    improvement_direction: str = "increase",
    target: float | None = None,
    time_structure: str = "discrete",
    fix_after_n_points: int | None = None,
    rebase_at: Sequence[int] = (),
    missing: ArrayLike | None = None,
    denominators: ArrayLike | None = None,
    min_denominator: float | None = DEFAULT_MIN_DENOMINATOR,
    screen_outliers: bool = True,
) -> pd.DataFrame:
    """Return per-point XmR results for one series in time order (raises SpcNotApplicable)."""
    y = as_float(values)
    frame = pd.DataFrame({"series": 0, "order": np.arange(y.shape[0]), "value": y})
    frame["rebase"] = frame["order"].isin(list(rebase_at))
    frame["missing"] = False if missing is None else np.asarray(missing, dtype=bool)
    frame["denominator"] = np.nan if denominators is None else as_float(denominators)
    points = _spc_points(
        frame,
        keys="series",
        order="order",
        value="value",
        improvement_direction=improvement_direction,
        target=np.nan if target is None else target,
        time_structure=time_structure,
        fix_after_n_points=fix_after_n_points,
        rebase="rebase",
        missing="missing",
        denominator=None if denominators is None else "denominator",
        min_denominator=min_denominator,
        screen_outliers=screen_outliers,
        not_applicable="raise",
    )
    return points.drop(columns=["series", "order", "applicable", "not_applicable_reason"])


def spc_frame(
    frame: pd.DataFrame,
    *,
    series_key: str | Sequence[str],
    order: str,
    value: str,
    improvement_direction: str | ArrayLike = "increase",
    target: float | ArrayLike | None = None,
    time_structure: str | ArrayLike = "discrete",
    fix_after_n_points: int | ArrayLike | None = None,
    rebase: str | None = None,
    missing: str | None = None,
    denominator: str | None = None,
    min_denominator: float | None = DEFAULT_MIN_DENOMINATOR,
    screen_outliers: bool = True,
    not_applicable: str = "raise",
) -> pd.DataFrame:
    """Return per-point XmR results for many series at once, in the input's row order.

    Per-series settings (direction, target, time structure, fix_after_n_points) are scalars or
    per-row arrays aligned with ``frame``; a series takes its first row's value (the target: its
    last row's, as NHSRplotthedots does). ``rebase`` (True on the first row of a new limit
    period), ``missing`` (True for a missing period) and ``denominator`` name columns.
    ``not_applicable="mark"`` blanks refused series and names the reason instead of raising
    ``SpcNotApplicable``.

    Columns added: limit_period, in_limit_calculation, mean, lpl, upl, outside_limits,
    relative_to_mean, close_to_limits, special_cause_type, special_cause_flag, point_type,
    n_limit_points, trial_limits, assurance, applicable, not_applicable_reason.
    """
    return _spc_points(
        frame,
        keys=series_key,
        order=order,
        value=value,
        improvement_direction=improvement_direction,
        target=target,
        time_structure=time_structure,
        fix_after_n_points=fix_after_n_points,
        rebase=rebase,
        missing=missing,
        denominator=denominator,
        min_denominator=min_denominator,
        screen_outliers=screen_outliers,
        not_applicable=not_applicable,
    )


def _spc_points(
    frame: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    order: str,
    value: str,
    improvement_direction: str | ArrayLike,
    target: float | ArrayLike | None,
    time_structure: str | ArrayLike,
    fix_after_n_points: int | ArrayLike | None,
    rebase: str | None,
    missing: str | None,
    denominator: str | None,
    min_denominator: float | None,
    screen_outliers: bool,
    not_applicable: str,
) -> pd.DataFrame:
    """Compute spc_frame's result; called one level below every public entry point."""
    if not_applicable not in ("raise", "mark"):
        raise ValueError("not_applicable must be 'raise' or 'mark'")
    if frame.shape[0] == 0:
        raise ValueError("SPC needs at least one row")
    keys = [keys] if isinstance(keys, str) else list(keys)
    perm, layout = _sort_layout(frame, keys, order, rebase)
    y = as_float(frame[value])[perm]
    if missing is not None:
        y = np.where(_flags(frame[missing])[perm], np.nan, y)
    signs = _series_signs(improvement_direction, perm, layout)
    targets = _per_row_float(target, perm.shape[0], np.nan)[perm]
    fix = _fix_per_segment(fix_after_n_points, perm, layout)
    reasons = _series_reasons(frame, time_structure, denominator, min_denominator, perm, layout)
    refused = reasons[layout.series] != ""
    if not_applicable == "raise" and refused.any():
        raise SpcNotApplicable(str(reasons[reasons != ""][0]))
    result = _xmr(y, layout, fix, signs, screen_outliers)
    result["assurance"] = _assurance(result, targets, signs, layout)
    _warn_trial_limits(result["trial_limits"], layout, refused)
    result["applicable"] = ~refused
    result["not_applicable_reason"] = pd.array(reasons[layout.series], dtype="string")
    return _assemble(frame[[*keys, order, value]], result, perm, refused)


def _assemble(
    out: pd.DataFrame, result: dict[str, object], perm: IntArray, refused: BoolArray
) -> pd.DataFrame:
    """Return the input columns with each sorted-order result column put back in input order."""
    out = out.copy()
    inverse = np.argsort(perm)
    for name, column in result.items():
        if name in ("applicable", "not_applicable_reason"):
            out[name] = column[inverse]
        else:
            out[name] = _blank(_take(column, inverse), refused[inverse])
    return out


def spc_summary(
    points: pd.DataFrame, series_key: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Return one row per series: latest limit period's limits, counts, last point, assurance."""
    keys = [series_key] if isinstance(series_key, str) else list(series_key or [])
    frame = points.assign(
        n_points=1,
        special_cause_improvement=points["point_type"] == "special_cause_improvement",
        special_cause_concern=points["point_type"] == "special_cause_concern",
    )
    if not keys:
        keys = ["_series"]
        frame["_series"] = 0
    grouped = frame.groupby(keys, sort=True, dropna=False, observed=True)
    counts = grouped[["n_points", "special_cause_improvement", "special_cause_concern"]].sum()
    last = grouped.tail(1).set_index(keys)
    latest = ["limit_period", "mean", "lpl", "upl", "n_limit_points", "trial_limits"]
    summary = last[latest].join(counts)
    summary["latest_point_type"] = last["point_type"]
    summary["assurance"] = last["assurance"]
    return summary.reset_index(drop=series_key is None)


def assurance_type(
    lpl: ArrayLike,
    upl: ArrayLike,
    target: ArrayLike,
    improvement_direction: str | Sequence[str] = "increase",
) -> pd.Categorical:
    """Return consistent_pass/consistent_fail/inconsistent per row, as NHSRplotthedots does.

    A target above the upper limit is a consistent fail when improvement is an increase and a
    consistent pass when it is a decrease; below the lower limit the reverse; otherwise
    inconsistent. Neutral direction, a missing target or missing limits give a missing value.
    """
    lpl, upl, target = np.broadcast_arrays(*(as_float(a) for a in (lpl, upl, target)))
    sign = direction_signs(improvement_direction, lpl.shape[0])
    return pd.Categorical.from_codes(_assurance_codes(lpl, upl, target, sign), ASSURANCE_TYPES)


def _sort_layout(
    frame: pd.DataFrame, keys: list[str], order: str, rebase: str | None
) -> tuple[IntArray, _Layout]:
    """Return the permutation sorting rows by series then time, and the sorted row layout."""
    series = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    when, _ = pd.factorize(frame[order], sort=True)
    if np.any(when < 0):
        raise ValueError(f"column {order!r} has missing values")
    perm = np.lexsort((when, series))
    series, when = series[perm], when[perm]
    new_series = np.r_[True, series[1:] != series[:-1]]
    if np.any(~new_series & np.r_[False, when[1:] == when[:-1]]):
        raise ValueError(f"duplicate {order!r} values within a series")
    starts = new_series.copy()
    if rebase is not None:
        starts |= _flags(frame[rebase])[perm]
    series_first = np.flatnonzero(new_series)
    layout = _Layout(
        series=np.cumsum(new_series) - 1,
        segment=np.cumsum(starts) - 1,
        starts=starts,
        segment_first=np.flatnonzero(starts),
        series_first=series_first,
        series_last=np.r_[series_first[1:] - 1, series.shape[0] - 1],
    )
    return perm, layout


def _flags(column: pd.Series) -> BoolArray:
    """Return a boolean column as a numpy array, missing values counting as False."""
    return pd.array(column, dtype="boolean").to_numpy(dtype=bool, na_value=False)


def _per_row(setting: object, n: int) -> npt.NDArray[np.generic]:
    """Return a scalar setting repeated for every row, or a per-row array as given."""
    if np.ndim(setting) == 0:
        return np.full(n, setting, dtype=object)
    array = np.asarray(setting, dtype=object)
    if array.shape != (n,):
        raise ValueError(f"per-row settings need {n} values, got shape {array.shape}")
    return array


def _per_row_float(setting: float | ArrayLike | None, n: int, default: float) -> FloatArray:
    """Return a numeric setting per row, with None or missing values replaced by default."""
    if np.ndim(setting) == 0:
        return np.full(n, default if setting is None else float(setting))
    values = as_float(setting)
    if values.shape != (n,):
        raise ValueError(f"per-row settings need {n} values, got shape {values.shape}")
    return np.where(np.isnan(values), default, values)


def _series_signs(
    direction: str | ArrayLike, perm: IntArray, layout: _Layout
) -> npt.NDArray[np.int8]:
    """Return each row's improvement sign, taken from its series' first row."""
    if isinstance(direction, str):
        return direction_signs(direction, perm.shape[0])
    words = _per_row(direction, perm.shape[0])[perm][layout.series_first]
    return direction_signs(words, words.shape[0])[layout.series]


def _fix_per_segment(
    fix_after_n_points: int | ArrayLike | None, perm: IntArray, layout: _Layout
) -> FloatArray:
    """Return each row's limit-period size: its segment's first row setting, inf when unset."""
    fix = _per_row_float(fix_after_n_points, perm.shape[0], np.inf)[perm]
    if np.any(fix < MIN_LIMIT_POINTS):
        raise ValueError(f"fix_after_n_points must be at least {MIN_LIMIT_POINTS}")
    return fix[layout.segment_first][layout.segment]


def _series_reasons(
    frame: pd.DataFrame,
    time_structure: str | ArrayLike,
    denominator: str | None,
    min_denominator: float | None,
    perm: IntArray,
    layout: _Layout,
) -> npt.NDArray[np.str_]:
    """Return per series (in series-code order) why SPC is refused, '' where it applies."""
    structures = _per_row(time_structure, perm.shape[0])[perm][layout.series_first]
    unique, inverse = np.unique(structures.astype(str), return_inverse=True)
    by_structure = np.array([not_applicable_reason(word) or "" for word in unique], dtype=object)
    reasons = by_structure[inverse]
    if denominator is not None and min_denominator is not None:
        below = as_float(frame[denominator])[perm] < min_denominator
        small = np.bincount(layout.series, weights=below, minlength=reasons.shape[0]) > 0
        message = f"denominator below {min_denominator:g}: use a p-chart or funnel plot"
        reasons = np.where((reasons == "") & small, message, reasons)
    return reasons.astype(str)


def _xmr(
    y: FloatArray, layout: _Layout, fix: FloatArray, signs: npt.NDArray[np.int8], screen: bool
) -> dict[str, npt.NDArray[np.generic] | pd.Categorical]:
    """Return limits, rule flags and point classification for sorted rows."""
    observed = np.isfinite(y)
    in_limit = observed & (_rank_observed(observed, layout) < fix)
    mean, amr, n_limit = _limits(y, in_limit, layout, screen)
    seg = layout.segment
    lpl, upl = mean[seg] - LIMIT_SIGMA * amr[seg], mean[seg] + LIMIT_SIGMA * amr[seg]
    nlpl, nupl = mean[seg] - NEAR_LIMIT_SIGMA * amr[seg], mean[seg] + NEAR_LIMIT_SIGMA * amr[seg]
    with np.errstate(invalid="ignore"):
        outside = (y > upl) | (y < lpl)
        rtm = np.where(observed & np.isfinite(mean[seg]), np.sign(y - mean[seg]), 0).astype(np.int8)
        close = ~outside & ((y < nlpl) | (y > nupl))
    cause = _special_cause(y, rtm, close, outside, layout)
    cause = np.where(observed, cause, -1)
    return {
        "limit_period": seg - seg[layout.series_first[layout.series]],
        "in_limit_calculation": in_limit,
        "mean": mean[seg],
        "lpl": lpl,
        "upl": upl,
        "outside_limits": outside,
        "relative_to_mean": rtm,
        "close_to_limits": close,
        "special_cause_type": pd.Categorical.from_codes(cause, SPECIAL_CAUSE_TYPES),
        "special_cause_flag": cause > 0,
        "point_type": pd.Categorical.from_codes(_point_type(cause, signs), POINT_TYPES),
        "n_limit_points": n_limit[seg],
        "trial_limits": n_limit[seg] < MIN_LIMIT_POINTS,
    }


def _rank_observed(observed: BoolArray, layout: _Layout) -> FloatArray:
    """Return each row's 0-based rank among observed rows of its limit period."""
    running = np.cumsum(observed)
    before = (running - observed)[layout.segment_first]
    return (running - 1 - before[layout.segment]).astype(np.float64)


def _limits(
    y: FloatArray, in_limit: BoolArray, layout: _Layout, screen: bool
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Return per-segment mean, mean moving range and number of limit points.

    1. The mean is over the limit-period points.
    2. Moving ranges |yᵢ − yᵢ₋₁| count only where both rows are limit-period points of the same
       segment, so a gap (missing row) leaves out the ranges on both of its sides.
    3. Screening keeps ranges strictly below 3.267 × the first mean moving range and recomputes
       the mean once; a mean moving range of 0 is kept as 0.
    """
    seg, size = layout.segment, layout.segment_first.shape[0]
    n_limit = np.bincount(seg, weights=in_limit, minlength=size).astype(np.intp)
    total = np.bincount(seg, weights=np.where(in_limit, y, 0.0), minlength=size)
    pair = in_limit & np.r_[False, in_limit[:-1]] & ~layout.starts
    moving_range = np.abs(y - np.r_[np.nan, y[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n_limit
        amr = _mean_by_segment(moving_range, pair, seg, size)
        if screen:
            keep = pair & ((moving_range < SCREEN_MULTIPLE * amr[seg]) | (amr[seg] == 0))
            amr = _mean_by_segment(moving_range, keep, seg, size)
    return mean, amr, n_limit


def _mean_by_segment(values: FloatArray, mask: BoolArray, seg: IntArray, size: int) -> FloatArray:
    """Return the mean of values where mask holds, per segment (NaN for an empty segment)."""
    total = np.bincount(seg, weights=np.where(mask, values, 0.0), minlength=size)
    return total / np.bincount(seg, weights=mask, minlength=size)


def _special_cause(
    y: FloatArray, rtm: npt.NDArray[np.int8], close: BoolArray, outside: BoolArray, layout: _Layout
) -> IntArray:
    """Return SPECIAL_CAUSE_TYPES codes by NHSRplotthedots' precedence of rules."""
    starts = layout.starts
    step = np.where(starts, np.nan, y - np.r_[np.nan, y[:-1]])
    diff = np.nan_to_num(np.sign(step)).astype(np.int8)
    trend = _in_trend(diff, starts)
    trend_sign = _trend_sign(diff, trend, starts)
    two_in_three = _in_two_in_three(rtm, close, layout.segment)
    shift = _in_run(rtm, starts, RUN_LENGTH)
    above = rtm > 0
    return np.select(
        [outside, trend, two_in_three, shift],
        [
            np.where(rtm == 1, 1, 2),
            np.where(trend_sign == 1, 3, 4),
            np.where(above, 5, 6),
            np.where(above, 7, 8),
        ],
        0,
    )


def _in_run(codes: npt.NDArray[np.int8], starts: BoolArray, length: int) -> BoolArray:
    """Return True on rows inside a run of >= length equal non-zero codes within a segment."""
    breaks = starts | np.r_[True, codes[1:] != codes[:-1]]
    run = np.cumsum(breaks) - 1
    return (codes != 0) & (np.bincount(run)[run] >= length)


def _in_trend(diff: npt.NDArray[np.int8], starts: BoolArray) -> BoolArray:
    """Return True on points of a 7-point trend: 6 equal signs of difference and their points."""
    steps = _in_run(diff, starts, RUN_LENGTH - 1)
    return steps | np.r_[steps[1:], False]


def _trend_sign(diff: npt.NDArray[np.int8], trend: BoolArray, starts: BoolArray) -> IntArray:
    """Return each trend point's direction: right-hand difference if the next point trends too."""
    next_same = np.r_[~starts[1:], False]
    right = np.r_[diff[1:], 0]
    use_right = trend & np.r_[trend[1:], False] & next_same
    return np.where(use_right, right, diff)


def _in_two_in_three(rtm: npt.NDArray[np.int8], close: BoolArray, seg: IntArray) -> BoolArray:
    """Return near-limit points in a 3-point window with >= 2 near-limit, all on one side."""
    n = rtm.shape[0]
    if n < 3:
        return np.zeros(n, dtype=bool)
    near = close.astype(np.int8)
    count = near[:-2] + near[1:-1] + near[2:]
    side = rtm[:-2].astype(np.int16) + rtm[1:-1] + rtm[2:]
    window = (seg[:-2] == seg[2:]) & (count >= 2) & (np.abs(side) == 3)
    padded = np.r_[False, False, window, False, False]  # padded[j + 2] is the window from row j
    hit = padded[2:] | padded[1:-1] | padded[:-2]  # windows starting at rows i, i - 1 and i - 2
    return hit & close


def _point_type(cause: IntArray, signs: npt.NDArray[np.int8]) -> IntArray:
    """Return POINT_TYPES codes from special cause codes and improvement direction."""
    side = np.where(cause <= 0, 0, np.where(cause % 2 == 1, 1, -1))
    oriented = side * signs
    polar = np.where(oriented > 0, 1, np.where(oriented < 0, 2, 0))
    neutral = np.where(side > 0, 3, np.where(side < 0, 4, 0))
    codes = np.where(signs == 0, neutral, polar)
    return np.where(cause < 0, -1, codes)


def _assurance_codes(
    lpl: FloatArray, upl: FloatArray, target: FloatArray, sign: npt.NDArray[np.int8]
) -> IntArray:
    """Return ASSURANCE_TYPES codes (-1 where undefined)."""
    above, below = target > upl, target < lpl
    codes = np.select([above & (sign > 0), above, below & (sign > 0), below], [1, 0, 0, 1], 2)
    undefined = np.isnan(target) | np.isnan(lpl) | np.isnan(upl) | (sign == 0)
    return np.where(undefined, -1, codes)


def _assurance(
    result: dict[str, npt.NDArray[np.generic] | pd.Categorical],
    targets: FloatArray,
    signs: npt.NDArray[np.int8],
    layout: _Layout,
) -> pd.Categorical:
    """Return each series' assurance from its last row's limits and target, broadcast to rows."""
    last = layout.series_last
    lpl, upl = np.asarray(result["lpl"]), np.asarray(result["upl"])
    codes = _assurance_codes(lpl[last], upl[last], targets[last], signs[last])
    return pd.Categorical.from_codes(codes[layout.series], ASSURANCE_TYPES)


def _warn_trial_limits(trial: BoolArray, layout: _Layout, refused: BoolArray) -> None:
    """Warn once when any applicable limit period has fewer than 12 points."""
    short = trial[layout.segment_first] & ~refused[layout.segment_first]
    if np.any(short):
        warnings.warn(
            f"{int(short.sum())} limit period(s) have fewer than {MIN_LIMIT_POINTS} points; "
            "their limits are trial limits",
            SpcTrialLimitsWarning,
            stacklevel=4,
        )


def _take(column: npt.NDArray[np.generic] | pd.Categorical, inverse: IntArray) -> object:
    """Return a sorted-order column back in input row order."""
    if isinstance(column, pd.Categorical):
        return pd.Categorical.from_codes(column.codes[inverse], column.categories)
    return np.asarray(column)[inverse]


def _blank(column: object, refused: BoolArray) -> object:
    """Return column with refused series' rows set to missing."""
    if not refused.any():
        return column
    if isinstance(column, pd.Categorical):
        codes = np.where(refused, -1, column.codes)
        return pd.Categorical.from_codes(codes, column.categories)
    array = np.asarray(column)
    if array.dtype == bool:
        return pd.array(np.where(refused, None, array), dtype="boolean")
    return np.where(refused, np.nan, array.astype(np.float64))
