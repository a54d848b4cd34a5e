"""Funnel plot control limits and outlier levels, as PHEindicatormethods computes them.

Reproduces ``calculate_funnel_limits``, ``assign_funnel_significance`` and
``calculate_funnel_points`` of PHEindicatormethods 2.0 (R/Funnels.R and R/utils.R of
ukhsa-collaboration/PHEindicatormethods, unchanged in 2.1), which follow the Fingertips technical
guidance (OHID, "Public Health Technical Guide", funnel plots):

* proportions: the control limits are the proportions whose Wilson score interval at
  p = 0.975 (95%) or 0.999 (99.8%) just reaches the overall average, solved in closed form
  (``sigma_adjustment``);
* ratios and rates: the limits come from exact Poisson limits of the observed count, found by
  bisection exactly as the package (and the Excel macro it was ported from) does, and the
  outlier levels from Byar's approximation (count >= 10) or exact chi-square limits (< 10);
* the 100 plotted points run from the axis minimum to the axis maximum on a rounded geometric
  grid, with the package's rounding of the axis ends (including R's ``nchar`` of a number, which
  counts 100000 as the five characters of "1e+05").

Departures from PHEindicatormethods, all deliberate:

* the upper proportion limit is capped at the multiplier (100% of it), where R caps it at the
  number 100 whatever the multiplier; the two agree for percentages (multiplier 100);
* rows with a missing numerator or denominator are left out of the average and get no
  significance level, instead of making every result missing;
* for ratios, as in R, ``multiplier`` does not scale the limits: ISR limits are always per 100
  and count limits are O/E - 1;
* for proportions and rates, ``average`` may be given (as numerator / denominator, not
  multiplied): the whole area's own figure when the plotted places overlap, so that no
  record counts twice in it. Without it the average is the package's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ._common import ArrayLike, FloatArray, as_float

STATISTICS = ("proportion", "ratio", "rate")
RATIO_TYPES = ("count", "isr")
RATE_TYPES = ("dsr", "crude")

HIGH_0001 = "High (0.001)"
HIGH_0025 = "High (0.025)"
LOW_0001 = "Low (0.001)"
LOW_0025 = "Low (0.025)"
NOT_SIGNIFICANT = "Not significant"
DSR_NOT_APPLICABLE = "Not applicable for events less than 10 for dsrs"
#: Factor levels of assign_funnel_significance, in R's order.
SIGNIFICANCE_LEVELS = (
    HIGH_0001,
    HIGH_0025,
    LOW_0001,
    LOW_0025,
    NOT_SIGNIFICANT,
    DSR_NOT_APPLICABLE,
)

#: The two control limits: name and one-sided tail probability (95% and 99.8% two-sided).
_LIMITS = (("2s", 0.025), ("3s", 0.001))
_GRID_POINTS = 100
_DSR_MIN_EVENTS = 10


def calculate_funnel_limits(
    numerator: ArrayLike,
    denominator: ArrayLike | None = None,
    *,
    statistic: str,
    multiplier: float,
    rate: ArrayLike | None = None,
    ratio_type: str | None = None,
    rate_type: str | None = None,
    years_of_data: float | None = None,
    average: float | None = None,
) -> pd.DataFrame:
    """Return the 100 plotted points of the 95% and 99.8% funnel limits (R calculate_funnel_limits).

    1. The denominator is the population (proportions), the expected count (ratios) or, for
       rates, ``multiplier * numerator / rate`` (a record with no events: no denominator for a
       DSR, its given denominator for a crude rate).
    2. The average is sum(numerator) / sum(denominator); the axis runs from 0 (or, when the
       largest denominator is at most twice the smallest, the smallest rounded down to one
       significant figure of 95% of it) to 105% of the largest rounded up to two figures; for
       rates the axis is per year and is then turned into events (times the average).
    3. Starting at max(1, axis minimum), each of the 100 points is the previous one times
       (axis maximum / previous)^(1 / (101 - j)) rounded, and at least the previous one plus 1
       (101 - j + 1 for ratios, as the package has it).
    4. Proportions: the limits are sigma_adjustment at p = 0.975 and 0.999, floored at 0.
       Ratios: for each observed count O the expected counts E at which O is on the exact
       Poisson limit; the limit is O / E (minus 1 for counts, times 100 for ISRs).
       Rates: the populations O / average-rate at the same Poisson limits; the limit is
       O / population times the multiplier, and the population is shown per year.

    Columns follow R: the x column (``Population``, ``Observed_events`` or ``Events``), then
    ``lower_2s_limit``, ``upper_2s_limit``, ``lower_3s_limit``, ``upper_3s_limit`` (with the
    expected events or yearly populations before each limit for ratios and rates), ``baseline``
    (not for ratios), ``statistic`` and ``method``.
    """
    statistic = _choice(statistic, STATISTICS, "statistic")
    x = as_float(numerator)
    if np.any(x < 0):
        raise ValueError("numerators must all be greater than or equal to zero")
    if statistic == "rate":
        rate_type = _choice(rate_type, RATE_TYPES, "rate_type")
        if years_of_data is None:
            raise ValueError("years_of_data is required for rates")
        den = _rate_denominator(x, rate, denominator, rate_type, multiplier, order="limits")
    else:
        if denominator is None:
            raise ValueError(f"a denominator is required for {statistic}s")
        den = as_float(denominator)
        if statistic == "ratio":
            ratio_type = _choice(ratio_type, RATIO_TYPES, "ratio_type")
    # Records without a numerator (or, but for rates, a denominator) are left out; a DSR record
    # without events has no derived denominator but still counts, as in R.
    keep = np.isfinite(x) if statistic == "rate" else np.isfinite(x) & np.isfinite(den)
    if average is None:
        average = x[keep].sum() / np.nansum(den[keep])
    axis_min, axis_max = _axis(den[keep], statistic, years_of_data)
    if statistic == "rate":
        axis_min, axis_max = math.floor(axis_min * average), math.ceil(axis_max * average)
    grid = _grid(max(1.0, axis_min), axis_max, ratio=statistic == "ratio")

    if statistic == "proportion":
        frame = _proportion_limits(grid, average, multiplier)
        label, method = "proportion", "Wilson"
    elif statistic == "ratio":
        frame = _ratio_limits(grid, ratio_type)
        label, method = f"ratio ({ratio_type})", "Poisson"
    else:
        frame = _rate_limits(grid, average, multiplier, years_of_data)
        label, method = f"rate ({rate_type} per {_thousands(multiplier)})", "Poisson"
    return frame.assign(statistic=label, method=method)


def assign_funnel_significance(
    numerator: ArrayLike,
    denominator: ArrayLike | None = None,
    *,
    statistic: str,
    rate: ArrayLike | None = None,
    rate_type: str | None = None,
    multiplier: float | None = None,
    average: float | None = None,
) -> pd.Categorical:
    """Return each record's outlier level against the funnel (R assign_funnel_significance).

    Levels, checked in this order: "High (0.001)", "High (0.025)", "Low (0.001)",
    "Low (0.025)", else "Not significant"; for DSRs a record with fewer than 10 events is "Not
    applicable for events less than 10 for dsrs". Proportions compare x/n with the Wilson-based
    limits at the record's own n; ratios compare 1 with the record's O/E limits (Byar's for
    O >= 10, exact below); rates compare the overall rate with the record's limits on the
    derived denominator. Records with a missing input get no level.
    """
    statistic = _choice(statistic, STATISTICS, "statistic")
    x = as_float(numerator)
    n = None if denominator is None else as_float(denominator)
    if np.any(x < 0):
        raise ValueError("numerators must be greater than or equal to zero")
    if n is not None and np.any(n <= 0):
        raise ValueError("denominators must be greater than zero")
    if statistic == "rate":
        rate_type = _choice(rate_type, RATE_TYPES, "rate_type")
        if multiplier is None:
            raise ValueError("multiplier is required for rates")
        n = _rate_denominator(x, rate, denominator, rate_type, multiplier, order="significance")
    elif n is None:
        raise ValueError(f"a denominator is required for {statistic}s")
    elif statistic == "proportion" and np.any(x > n):
        raise ValueError(
            "numerators must be less than or equal to denominator for a proportion statistic"
        )
    # A rate's derived denominator is missing for a DSR without events: R keeps such a record.
    present = np.isfinite(x) if statistic == "rate" else np.isfinite(x) & np.isfinite(n)

    if statistic == "proportion":
        if average is None:
            average = x[present].sum() / n[present].sum()
        value = x / n
        low_3s, low_2s, high_3s, high_2s = (
            value < _sigma_adjustment(0.999, n, average, "low", 1.0),
            value < _sigma_adjustment(0.975, n, average, "low", 1.0),
            value > _sigma_adjustment(0.999, n, average, "high", 1.0),
            value > _sigma_adjustment(0.975, n, average, "high", 1.0),
        )
    else:
        if statistic == "ratio":
            target = 1.0
        elif average is not None:
            target = average
        else:
            target = x[present].sum() / np.nansum(n[present])
        high_3s = target < _ratio_limit(x, n, 0.998, "low")
        high_2s = target < _ratio_limit(x, n, 0.95, "low")
        low_3s = target > _ratio_limit(x, n, 0.998, "high")
        low_2s = target > _ratio_limit(x, n, 0.95, "high")
    if statistic == "proportion":  # R checks Low before High for proportions only
        order = ((low_3s, LOW_0001), (low_2s, LOW_0025), (high_3s, HIGH_0001), (high_2s, HIGH_0025))
    else:
        order = ((high_3s, HIGH_0001), (high_2s, HIGH_0025), (low_3s, LOW_0001), (low_2s, LOW_0025))
    labels = np.select([mask for mask, _ in order], [word for _, word in order], NOT_SIGNIFICANT)
    if statistic == "rate" and rate_type == "dsr":
        labels = np.where(x < _DSR_MIN_EVENTS, DSR_NOT_APPLICABLE, labels)
    labels = np.where(present, labels, None)
    levels = list(SIGNIFICANCE_LEVELS if statistic == "rate" else SIGNIFICANCE_LEVELS[:5])
    return pd.Categorical(labels, categories=levels)


def calculate_funnel_points(
    numerator: ArrayLike,
    rate: ArrayLike,
    *,
    rate_type: str,
    years_of_data: float,
    multiplier: float,
    denominator: ArrayLike | None = None,
) -> pd.DataFrame:
    """Return each record's charted rate and yearly denominator (R calculate_funnel_points).

    ``rate_chart`` is the rate (missing for a DSR with fewer than 10 events) and
    ``denominator_derived`` is ``multiplier * numerator / rate / years_of_data`` (missing for
    such a DSR; a crude rate with no events uses ``denominator / years_of_data``).
    """
    rate_type = _choice(rate_type, RATE_TYPES, "rate_type")
    x, r = as_float(numerator), as_float(rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = (multiplier * x / r) / years_of_data
    if rate_type == "dsr":
        few = x < _DSR_MIN_EVENTS
        return pd.DataFrame(
            {
                "rate_chart": np.where(few, np.nan, r),
                "denominator_derived": np.where(few, np.nan, derived),
            }
        )
    if denominator is not None:
        derived = np.where(x == 0, as_float(denominator) / years_of_data, derived)
    elif np.any(x == 0):
        raise ValueError(_ZERO_EVENTS_MESSAGE)
    return pd.DataFrame({"rate_chart": r, "denominator_derived": derived})


# --- shared pieces ------------------------------------------------------------------------------

_ZERO_EVENTS_MESSAGE = (
    "for rates, where there are 0 events for a record, the denominator field needs to be "
    "provided using the denominator argument"
)


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str:
    """Return value if it is one of allowed, else raise a ValueError naming the choices."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _thousands(multiplier: float) -> str:
    """Format a multiplier as R's format(big.mark = ",", scientific = FALSE) does: 100,000."""
    return f"{int(multiplier):,}" if float(multiplier).is_integer() else f"{multiplier:,}"


def _rate_denominator(
    x: FloatArray,
    rate: ArrayLike | None,
    denominator: ArrayLike | None,
    rate_type: str,
    multiplier: float,
    order: str,
) -> FloatArray:
    """Return the denominators implied by rates: multiplier x events / rate, as R derives them.

    A record with no events has none for a DSR and its own denominator for a crude rate (R
    requires that denominator). ``order`` keeps R's two orders of operations.
    """
    if rate is None:
        raise ValueError("rates are required for statistic 'rate'")
    r = as_float(rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = multiplier * x / r if order == "limits" else x / r * multiplier
    if rate_type == "dsr":
        return np.where(x == 0, np.nan, derived)
    if denominator is None:
        if np.any(x == 0):
            raise ValueError(_ZERO_EVENTS_MESSAGE)
        return derived
    return np.where(x == 0, as_float(denominator), derived)


def _r_nchar(value: float) -> int:
    """Return R's nchar() of a whole number: its printed width, "1e+05" for 100000.

    R prints a double in fixed notation unless scientific notation is narrower: "d.ddde+XX"
    needs the significant digits, a point when there are two or more, and four or five more.
    """
    digits = str(int(value))
    significant = len(digits.rstrip("0")) or 1
    exponent = len(digits) - 1
    scientific = significant + (1 if significant > 1 else 0) + (4 if exponent < 100 else 5)
    return len(digits) if len(digits) <= scientific else scientific


def _signif_floor(value: float) -> float:
    """95% of value rounded down at its leading digit (R's signif.floor in Funnels.R)."""
    if value == 0:
        return 0.0
    n = _r_nchar(math.floor(value * 0.95)) - 1
    return math.floor(value * 0.95 / 10.0**n) * 10.0**n


def _signif_ceiling(value: float) -> float:
    """105% of value rounded up at its second digit (R's signif.ceiling in Funnels.R)."""
    if value == 0:
        return 0.0
    n = _r_nchar(math.ceil(value * 1.05)) - 2
    return math.ceil(value * 1.05 / 10.0**n) * 10.0**n


def _axis(den: FloatArray, statistic: str, years: float | None) -> tuple[float, float]:
    """Return the axis minimum and maximum in denominator units (per year for rates)."""
    smallest, largest = float(np.nanmin(den)), float(np.nanmax(den))
    per_year = years if statistic == "rate" else 1.0
    if largest > 2 * smallest:
        axis_min = 0.0
    else:
        axis_min = _signif_floor(smallest / per_year) * per_year
    return axis_min, _signif_ceiling(largest / per_year) * per_year


def _grid(first: float, axis_max: float, ratio: bool) -> FloatArray:
    """Return the 100 x values: a rounded geometric walk from first towards axis_max.

    Each point depends on the rounding of the one before, so the 99 steps are taken in turn.
    """
    points = np.empty(_GRID_POINTS)
    points[0] = first
    for j in range(2, _GRID_POINTS + 1):
        offset = j - 1 if ratio else j
        previous = points[j - 2]
        step = np.rint((axis_max / previous) ** (1 / (101 - offset)) * previous)
        points[j - 1] = max(step, previous + 1)
    return points


def _sigma_adjustment(
    p: float, population: ArrayLike, average: float, side: str, multiplier: float
) -> FloatArray:
    """Return the proportion (times multiplier) whose Wilson limit at p lies on the average.

    R's sigma_adjustment: with z = qnorm(p) and N the population,
    (a(N/z² + 1) ∓ √((8a(N/z² + 1))² − 64(1/z² + 1/N)·a·(N(a(N/z² + 2) − 1) + z²(a − 1)))/8)
    / (1/z² + 1/N) / N.
    """
    n = as_float(population)
    z2 = stats.norm.ppf(p) ** 2
    first = average * (n / z2 + 1)
    with np.errstate(invalid="ignore"):
        adj = np.sqrt(
            (-8 * average * (n / z2 + 1)) ** 2
            - 64
            * (1 / z2 + 1 / n)
            * average
            * (n * (average * (n / z2 + 2) - 1) + z2 * (average - 1))
        )
    last = 1 / z2 + 1 / n
    value = (first - adj / 8) / last if side == "low" else (first + adj / 8) / last
    return value / n * multiplier


def _proportion_limits(grid: FloatArray, average: float, multiplier: float) -> pd.DataFrame:
    """Proportion funnel: Wilson-based limits floored at 0 and capped at the multiplier."""
    columns: dict[str, FloatArray] = {"Population": grid}
    for name, tail in _LIMITS:
        p = 1 - tail
        low = _sigma_adjustment(p, grid, average, "low", multiplier)
        high = _sigma_adjustment(p, grid, average, "high", multiplier)
        columns[f"lower_{name}_limit"] = np.maximum(low, 0.0)
        columns[f"upper_{name}_limit"] = np.minimum(high, abs(multiplier))
    frame = pd.DataFrame(columns)
    order = ["Population", "lower_2s_limit", "upper_2s_limit", "lower_3s_limit", "upper_3s_limit"]
    return frame[order].assign(baseline=average * multiplier)


def _ratio_limits(grid: FloatArray, ratio_type: str) -> pd.DataFrame:
    """Ratio funnel: O / E where E puts O on the exact Poisson limit; O/E − 1 or 100·O/E."""
    columns: dict[str, FloatArray] = {"Observed_events": grid}
    for name, tail in _LIMITS:
        for bound, side in (("lower", "high"), ("upper", "low")):
            expected = poisson_funnel(grid, tail, side)
            ratio = grid / expected
            columns[f"{bound}_{name}_exp_events"] = expected
            columns[f"{bound}_{name}_limit"] = ratio - 1 if ratio_type == "count" else ratio * 100
    return pd.DataFrame(columns)


def _rate_limits(grid: FloatArray, average: float, multiplier: float, years: float) -> pd.DataFrame:
    """Rate funnel: populations O / rate on the exact Poisson limits of O; rates per multiplier."""
    columns: dict[str, FloatArray] = {"Events": grid}
    for name, tail in _LIMITS:
        for bound, side in (("lower", "high"), ("upper", "low")):
            population = poisson_funnel(grid, tail, side) / average
            columns[f"{bound}_{name}_population_1_year"] = population / years
            columns[f"{bound}_{name}_limit"] = grid / population * multiplier
    return pd.DataFrame(columns).assign(baseline=average * multiplier)


def poisson_funnel(obs: ArrayLike, p: float, side: str) -> FloatArray:
    """Return the Poisson mean putting obs on the tail p (R poisson_funnel, bisection).

    ``side="low"``: the mean with P(X >= obs) = p (the lower exact limit of obs);
    ``side="high"``: the mean with P(X <= obs) = p (the upper exact limit). As in the package,
    the mean is (1 + obs)·v/(1 − v) and v is bisected from 0.5 in 23 halvings (until the step is
    at most 1e-7), comparing the probabilities the package's series gives (see
    ``_package_poisson_probability``), so the result is the package's to the last bit of v.
    """
    x = as_float(obs)
    v = np.full(x.shape, 0.5)
    dv = 0.5
    while dv > 1e-7:
        dv /= 2
        mean = (1 + x) * v / (1 - v)
        probability = _package_poisson_probability(mean, x, side)
        move_down = probability > p if side == "low" else probability < p
        v = np.where(move_down, v - dv, v + dv)
    return (1 + x) * v / (1 - v)


def _package_poisson_probability(mean: FloatArray, obs: FloatArray, side: str) -> FloatArray:
    """Return P(X >= obs) ("low") or P(X <= obs) ("high") as the package's series computes it.

    R's poisson_cis sums the terms z^k/k! from k = 0 and stops at the first k above the mean
    whose term is at most 1e-10 of the running total, so both the tail and the total miss the
    terms from that K on: the result is (included part of the tail) / P(X < K). Computing the
    same ratio from exact Poisson probabilities matches R to rounding, where the untruncated
    probability could differ by up to ~1e-9 and flip a bisection step.
    """
    cutoff = _series_cutoff(mean)
    missed = stats.poisson.sf(cutoff - 1, mean)
    included = 1.0 - missed
    if side == "high":
        part = stats.poisson.cdf(np.minimum(obs, cutoff - 1), mean)
    else:
        part = np.where(obs <= cutoff - 1, stats.poisson.sf(obs - 1, mean) - missed, 0.0)
    return part / included


def _series_cutoff(mean: FloatArray) -> FloatArray:
    """Return the first k > mean with pmf(k) <= 1e-10 · P(X <= k − 1): where R's series stops."""
    low = np.floor(mean) + 1
    high = low + np.ceil(12 * np.sqrt(mean)) + 60

    def stops(k: FloatArray) -> FloatArray:
        return stats.poisson.logpmf(k, mean) <= math.log(1e-10) + stats.poisson.logcdf(k - 1, mean)

    # Binary search keeping stops(hi) true and stops(lo) false (lo = low - 1 stands for "not yet").
    lo, hi = low - 1, high
    while np.any(hi - lo > 1):
        active = hi - lo > 1
        mid = np.floor((lo + hi) / 2)
        ok = stops(mid)
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    return hi


def _ratio_limit(obs: FloatArray, expected: FloatArray, confidence: float, side: str) -> FloatArray:
    """Return a limit of obs / expected (R funnel_ratio_significance).

    Below 10 events the exact chi-square limits qchisq(0.5 ∓ c/2, 2O [+2]) / 2 (lower limit 0
    at O = 0); from 10 events Byar's approximation with z = qnorm(0.5 + c/2).
    """
    q = 0.5 + confidence / 2
    z = stats.norm.ppf(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        if side == "low":
            exact = stats.chi2.isf(q, 2 * obs) / 2
            byars = obs * (1 - 1 / (9 * obs) - z / 3 / np.sqrt(obs)) ** 3
            limit = np.where(obs < 10, np.where(obs == 0, 0.0, exact), byars)
        else:
            exact = stats.chi2.ppf(q, 2 * obs + 2) / 2
            adjusted = obs + 1
            byars = adjusted * (1 - 1 / (9 * adjusted) + z / 3 / np.sqrt(adjusted)) ** 3
            limit = np.where(obs < 10, exact, byars)
        return limit / expected
