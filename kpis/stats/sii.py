"""Slope and relative index of inequality (SII, RII), as PHEindicatormethods computes them.

Reproduces ``phe_sii`` of PHEindicatormethods 2.0 (R/SII_function.R, with ``FindXValues``,
``SimulationFunc`` and ``calc_reliability`` of R/utils.R; ukhsa-collaboration and
dhsc-govuk/PHEindicatormethods, unchanged in 2.1), after Low & Low, J Public Health
2004;26:388-395:

1. Quantiles are ordered by their label. a = population share, b = the midpoint of the
   quantile's range in the cumulative population share (relative rank).
2. The point estimate is the least-squares fit, without intercept, of √a·y on √a and b·√a;
   y is the indicator value (or its log for rates, logit for proportions, with
   ``transform=True``). SII = slope × multiplier, RII = (intercept + slope) / intercept (its
   inverse when the multiplier is negative); these are exact.
3. The confidence interval is a Monte Carlo simulation, not a formula: each repetition draws
   every quantile's value from Normal(value, se) (on the log or logit scale for rates and
   proportions), refits the line, and the limits are the sorted slopes at positions
   round(reps × (1 − c)/2) and round(reps × (1 + c)/2). The standard error, when not given, is
   (upper − lower) / qnorm(0.975) / 2 from 95% limits on that scale.
4. With ``transform=True`` the simulated slope interval on the log/logit scale is centred on
   the fitted value at the midpoint and turned back into the indicator's units.

The random draws are R's own (``set.seed``, Mersenne-Twister, Inversion; see ``rrandom``), so
``seed=s`` gives the limits R gives after ``set.seed(s)`` to about 1e-12. Without a seed the
draws come from a fresh random seed and the limits vary from run to run by Monte Carlo error.

Departures from PHEindicatormethods, all deliberate:

* a missing indicator value raises a ValueError (R would return missing results);
* with ``transform=True`` the limits of a rate's SII swap only for a negative multiplier, as
  for proportions; R swaps them for any multiplier below 1 (so 0 < multiplier < 1 returned
  lower > upper there);
* the limit columns are always named like ``sii_lower95_0cl`` (R drops the "cl" when
  ``transform=True``), and there are no metadata columns (R's ``type = "full"``).
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._common import FloatArray
from .rrandom import RNormal

VALUE_TYPES = {0: "normal", 1: "rate", 2: "proportion"}
#: Largest number of simulated values held at once (groups × repetitions × quantiles).
_CHUNK_CELLS = 4_000_000


class SiiWarning(UserWarning):
    """Records were dropped, or many quantiles make the SII unstable (R's warnings)."""


def phe_sii(
    frame: pd.DataFrame,
    *,
    quantile: str,
    population: str,
    value: str | None = None,
    x: str | None = None,
    value_type: int = 0,
    lower_cl: str | None = None,
    upper_cl: str | None = None,
    se: str | None = None,
    group_by: str | Sequence[str] | None = None,
    multiplier: float = 1.0,
    repetitions: int = 100_000,
    confidence: float | Sequence[float] = 0.95,
    rii: bool = False,
    intercept: bool = False,
    transform: bool = False,
    reliability_stat: bool = False,
    seed: int | None = None,
) -> pd.DataFrame:
    """Return the SII (and RII, intercept) with simulated confidence limits per group (R phe_sii).

    ``frame`` has one row per group and quantile. ``value_type`` is 0 (normal), 1 (rate) or
    2 (proportion: ``value`` or ``x`` / population). Give ``se`` or 95% ``lower_cl`` and
    ``upper_cl``. ``confidence`` is one level or several (0.95, 0.998 or 95, 99.8).
    Columns as R: the group keys, ``sii``, ``sii_lower95_0cl``, ``sii_upper95_0cl`` (per level),
    then the same for ``rii`` when asked, ``sii_mad95_0`` (and ``rii_mad95_0``) with
    ``reliability_stat`` (the mean absolute difference of the limits of nine further runs from
    the first), and ``intercept`` when asked.
    """
    keys = [] if group_by is None else [group_by] if isinstance(group_by, str) else list(group_by)
    levels = _confidence_levels(confidence)
    _check_arguments(value_type, value, x, se, lower_cl, upper_cl, repetitions, transform)
    data = _prepared(
        frame, keys, quantile, population, value, x, value_type, lower_cl, upper_cl, se
    )
    data, n_quantiles = _complete_groups(data, keys, quantile)
    if data.empty:
        return pd.DataFrame(columns=[*keys, "sii"])

    # One row per group: the quantiles' values in label order, as (groups × quantiles) arrays.
    data = data.sort_values([*keys, quantile], kind="stable")
    groups = data[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    shape = (len(groups), n_quantiles)
    pop = data[population].to_numpy(np.float64).reshape(shape)
    values = data["_value"].to_numpy(np.float64).reshape(shape)
    errors = data["_se"].to_numpy(np.float64).reshape(shape)

    share = pop / pop.sum(axis=1, keepdims=True)
    rank = share / 2 + np.cumsum(share, axis=1) - share  # FindXValues: midpoint of each range
    sqrt_a = np.sqrt(share)
    b_sqrt_a = rank * sqrt_a
    design = np.stack([sqrt_a, b_sqrt_a], axis=1)  # (groups, 2, quantiles): R's matrix m
    projector = np.linalg.solve(design @ design.transpose(0, 2, 1), design)

    shown = values if transform else _back(values, value_type)
    coefficients = np.einsum("gpk,gk->gp", projector, sqrt_a * shown)
    point = _point_estimates(coefficients, value_type, multiplier, transform)

    stream = RNormal(secrets.randbits(31) if seed is None else seed)
    reps_total = repetitions * (10 if reliability_stat else 1)
    limits = _simulate(
        stream, values, errors, sqrt_a, projector, value_type, transform, multiplier,
        repetitions, reps_total, levels, point,
    )  # fmt: skip

    result = groups.reset_index(drop=True).copy() if keys else pd.DataFrame(index=[0])
    result["sii"] = point["sii"]
    if rii:
        result["rii"] = point["rii"]
    for column, array in limits.items():
        if rii or not column.startswith("rii"):
            result[column] = array
    if not reliability_stat:
        result = result.drop(columns=[c for c in result.columns if "_mad" in c])
    if intercept:
        result["intercept"] = point["intercept"]
    return result


# --- inputs --------------------------------------------------------------------------------------


def _confidence_levels(confidence: float | Sequence[float]) -> list[float]:
    """Return confidence levels as fractions; 90-100 are percentages, as in R."""
    raw = [confidence] if np.isscalar(confidence) else list(confidence)  # type: ignore[list-item]
    levels = []
    for level in raw:
        level = float(level)
        if level < 0.9 or 1 < level < 90 or level > 100:
            raise ValueError(
                "all confidence levels must be between 90 and 100 or between 0.9 and 1"
            )
        levels.append(level / 100 if level >= 90 else level)
    return levels


def _check_arguments(
    value_type: int,
    value: str | None,
    x: str | None,
    se: str | None,
    lower_cl: str | None,
    upper_cl: str | None,
    repetitions: int,
    transform: bool,
) -> None:
    """Raise the ValueErrors R's phe_sii raises for missing or inconsistent arguments."""
    if value_type not in VALUE_TYPES:
        raise ValueError("value_type should be 0, 1 or 2")
    if value is None and (x is None or value_type != 2):
        raise ValueError("phe_sii requires value, or x for a proportion of the population")
    if se is None and (lower_cl is None or upper_cl is None):
        raise ValueError("phe_sii requires either lower_cl and upper_cl, or se")
    if repetitions < 1000:
        raise ValueError("number of repetitions must be 1000 or greater")
    if transform and value_type == 0:
        raise ValueError("value_type should be 1 or 2 when transform is true")
    if transform and se is not None:
        raise ValueError("phe_sii requires se to be missing when transform is true")


def _prepared(
    frame: pd.DataFrame,
    keys: list[str],
    quantile: str,
    population: str,
    value: str | None,
    x: str | None,
    value_type: int,
    lower_cl: str | None,
    upper_cl: str | None,
    se: str | None,
) -> pd.DataFrame:
    """Return the rows with ``_value`` (log or logit for rates and proportions) and ``_se``."""
    pop = frame[population].to_numpy(np.float64)
    if np.any(~(pop > 0)):
        raise ValueError("some groups have a zero, negative or missing population")
    if value is not None:
        y = frame[value].to_numpy(np.float64)
    else:
        counts = frame[x].to_numpy(np.float64)
        if np.any(counts <= 0):
            raise ValueError("some groups have a zero or negative count x")
        y = counts / pop
    if np.any(np.isnan(y)):
        raise ValueError("indicator values must all be present")
    if value_type == 2 and np.any((y < 0) | (y > 1)):
        raise ValueError("value proportions are not all between 0 and 1")
    if se is not None:
        errors = frame[se].to_numpy(np.float64)
        if np.any(~(errors >= 0)):
            raise ValueError("negative or missing standard errors in input dataset")
    else:
        low = frame[lower_cl].to_numpy(np.float64)
        high = frame[upper_cl].to_numpy(np.float64)
        if np.any(np.isnan(low) | np.isnan(high)):
            raise ValueError("missing lower or upper confidence limits in input dataset")
        if value_type == 2 and np.any((low < 0) | (low > 1) | (high < 0) | (high > 1)):
            raise ValueError("confidence limit proportions are not all between 0 and 1")
        z = stats.norm.ppf(0.975)  # R hard-codes 95% limits here
        errors = (_scale(high, value_type) - _scale(low, value_type)) / z / 2
    columns = {k: frame[k].to_numpy() for k in keys}
    columns |= {quantile: frame[quantile].to_numpy(), population: pop}
    return pd.DataFrame(columns | {"_value": _scale(y, value_type), "_se": errors})


def _complete_groups(
    data: pd.DataFrame, keys: list[str], quantile: str
) -> tuple[pd.DataFrame, int]:
    """Keep the groups that have every quantile label found in the data (R's valid_areas)."""
    n_quantiles = data[quantile].nunique()
    if n_quantiles < 5 or n_quantiles > 100:
        raise ValueError("Number of quantiles must be between 5 and 100")
    if n_quantiles > 10:
        warnings.warn(
            "Small values can make SII unstable when using a large number of quantiles",
            SiiWarning,
            stacklevel=3,
        )
    if not keys:
        complete = data if len(data) == n_quantiles else data.iloc[0:0]
    else:
        counts = data.groupby(keys, dropna=False)[quantile].transform("nunique")
        sizes = data.groupby(keys, dropna=False)[quantile].transform("size")
        complete = data[(counts == n_quantiles) & (sizes == n_quantiles)]
    if len(complete) != len(data):
        warnings.warn(
            "some records have been removed due to incomplete or invalid data",
            SiiWarning,
            stacklevel=3,
        )
    return complete, n_quantiles


def _scale(values: FloatArray, value_type: int) -> FloatArray:
    """Log for rates, logit for proportions, identity otherwise (R's transformation)."""
    with np.errstate(divide="ignore"):
        if value_type == 1:
            return np.log(values)
        if value_type == 2:
            return np.log(values / (1 - values))
    return values


def _back(values: FloatArray, value_type: int) -> FloatArray:
    """exp for rates, exp/(1 + exp) for proportions, identity otherwise (R's formulas)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if value_type == 1:
            return np.exp(values)
        if value_type == 2:
            return np.exp(values) / (1 + np.exp(values))
    return values


# --- estimates -----------------------------------------------------------------------------------


def _point_estimates(
    coefficients: FloatArray, value_type: int, multiplier: float, transform: bool
) -> dict[str, FloatArray]:
    """Return sii, rii, intercept and (with transform) the fitted value at the midpoint."""
    a, b = coefficients[:, 0], coefficients[:, 1]
    if not transform:
        ratio = (a + b) / a
        return {
            "sii": multiplier * b,
            "rii": 1 / ratio if multiplier < 0 else ratio,
            "intercept": a,
            "midpoint": (a + (a + b)) / 2,
        }
    at_one = a + b
    low, high = _back(a, value_type), _back(at_one, value_type)
    ratio = high / low
    return {
        "sii": (high - low) * multiplier,
        "rii": 1 / ratio if multiplier < 0 else ratio,
        "intercept": low * abs(multiplier),
        "midpoint": (a + at_one) / 2,
    }


def _simulate(
    stream: RNormal,
    values: FloatArray,
    errors: FloatArray,
    sqrt_a: FloatArray,
    projector: FloatArray,
    value_type: int,
    transform: bool,
    multiplier: float,
    repetitions: int,
    reps_total: int,
    levels: list[float],
    point: dict[str, FloatArray],
) -> dict[str, FloatArray]:
    """Return the simulated limits (and mean absolute differences) per group, as R's SimulationFunc.

    Groups are simulated in order, each drawing rnorm(reps × quantiles, value, se) from the one
    stream, so the draws are R's; groups are taken in chunks to bound memory.
    """
    n_groups, n_quantiles = values.shape
    per_group = max(1, _CHUNK_CELLS // (reps_total * n_quantiles))
    # Positions of the limits in the sorted repetitions (1-based in R), per level.
    positions = []
    for level in levels:
        upper_value = level + ((1 - level) / 2)
        positions.append(
            (int(np.rint(repetitions * (1 - upper_value))), int(np.rint(repetitions * upper_value)))
        )
    names = [f"{level * 100:.1f}".replace(".", "_") for level in levels]
    out: dict[str, list[FloatArray]] = {}
    for start in range(0, n_groups, per_group):
        chunk = slice(start, min(start + per_group, n_groups))
        g = chunk.stop - chunk.start
        means = np.broadcast_to(values[chunk, None, :], (g, reps_total, n_quantiles))
        sds = np.broadcast_to(errors[chunk, None, :], (g, reps_total, n_quantiles))
        draws = stream.rnorm(means.reshape(-1), sds.reshape(-1), means.size)
        draws = draws.reshape(g, reps_total, n_quantiles)
        shown = draws if transform else _back(draws, value_type)
        fitted = np.einsum("gpk,grk->grp", projector[chunk], shown * sqrt_a[chunk, None, :])
        a, b = fitted[..., 0], fitted[..., 1]
        # (groups, blocks, repetitions): R's matrix(params, ncol = 10) for reliability stats.
        sii = b.reshape(g, -1, repetitions)
        ratio = ((b + a) / a).reshape(g, -1, repetitions)
        if not transform:
            sii = sii * multiplier
            if multiplier < 0:
                ratio = 1 / ratio
        sii, ratio = np.sort(sii, axis=2), np.sort(ratio, axis=2)
        midpoint = point["midpoint"][chunk, None]
        for name, (low_pos, high_pos) in zip(names, positions, strict=True):
            sii_low, sii_high = sii[:, :, low_pos - 1], sii[:, :, high_pos - 1]
            rii_low, rii_high = ratio[:, :, low_pos - 1], ratio[:, :, high_pos - 1]
            if transform:
                sii_low, sii_high, rii_low, rii_high = _back_transform_limits(
                    sii_low, sii_high, midpoint, value_type, multiplier
                )
            for stat, low, high in (("sii", sii_low, sii_high), ("rii", rii_low, rii_high)):
                out.setdefault(f"{stat}_lower{name}cl", []).append(low[:, 0])
                out.setdefault(f"{stat}_upper{name}cl", []).append(high[:, 0])
                # Reliability: |limit of runs 2-10 − limit of run 1|, lower and upper together.
                spread = np.abs(
                    np.concatenate([low[:, 1:] - low[:, :1], high[:, 1:] - high[:, :1]], 1)
                )
                mad = spread.mean(axis=1) if spread.size else np.full(g, np.nan)
                out.setdefault(f"{stat}_mad{name}", []).append(mad)
    ordered = [c for n in names for c in (f"sii_lower{n}cl", f"sii_upper{n}cl")]
    ordered += [c for n in names for c in (f"rii_lower{n}cl", f"rii_upper{n}cl")]
    ordered += [f"sii_mad{n}" for n in names] + [f"rii_mad{n}" for n in names]
    return {column: np.concatenate(out[column]) for column in ordered}


def _back_transform_limits(
    sii_low: FloatArray,
    sii_high: FloatArray,
    midpoint: FloatArray,
    value_type: int,
    multiplier: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Turn log/logit-scale slope limits into SII and RII limits in the indicator's units.

    The line through the fitted midpoint with the limiting slope runs from
    midpoint − slope/2 (x = 0) to midpoint + slope/2 (x = 1); SII is the difference of the two
    back-transformed ends times the multiplier, RII their ratio. A negative multiplier swaps
    the limits (and inverts the RII).
    """
    zero_low, zero_high = midpoint - sii_low / 2, midpoint - sii_high / 2
    one_low, one_high = midpoint + sii_low / 2, midpoint + sii_high / 2
    end_low = (_back(one_low, value_type), _back(zero_low, value_type))
    end_high = (_back(one_high, value_type), _back(zero_high, value_type))
    if multiplier < 0:
        return (
            (end_high[0] - end_high[1]) * multiplier,
            (end_low[0] - end_low[1]) * multiplier,
            1 / (end_high[0] / end_high[1]),
            1 / (end_low[0] / end_low[1]),
        )
    return (
        (end_low[0] - end_low[1]) * multiplier,
        (end_high[0] - end_high[1]) * multiplier,
        end_low[0] / end_low[1],
        end_high[0] / end_high[1],
    )
