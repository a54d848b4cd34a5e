"""Assigning areas to quantiles (e.g. deprivation deciles) as PHEindicatormethods does.

Reproduces ``phe_quantile`` of PHEindicatormethods 2.0 (R/Quantiles.R of
ukhsa-collaboration/PHEindicatormethods, unchanged in 2.1), the method of the OHID technical
guide "Assigning deprivation categories". It is not R's ``quantile()`` (no ``type`` 1-9 applies):
no cut points are interpolated. Each value gets a quantile from its rank:

1. Within each group, n is the number of non-missing values.
2. With ``invert`` (the default), values are reversed as max(values) − value, so the highest
   value ranks first and falls in quantile 1; without it the lowest value does.
3. Ranks are ``rank(ties.method = "min")``: tied values share the lowest rank.
4. quantile = floor((q + 1) − ceiling(((n + 1) − rank) / (n / q))), and 0 becomes 1.
5. A group with fewer than q values gets no quantiles (and a warning), as does a missing value.

The formula is evaluated in the same floating-point order as R, since n / q is rarely exact.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import ArrayLike, FloatArray, as_float


class TooFewValuesForQuantilesWarning(UserWarning):
    """A group had fewer values than quantiles requested, so its quantiles are missing."""


def phe_quantile(
    values: ArrayLike,
    nquantiles: int = 10,
    invert: bool | ArrayLike = True,
    groups: ArrayLike | Sequence[ArrayLike] | pd.DataFrame | None = None,
) -> FloatArray:
    """Return each value's quantile, 1 to nquantiles, within its group (R phe_quantile).

    ``invert`` is one flag for all values or one per value, constant within each group (R's
    ``inverttype = "field"``); True puts the highest values in quantile 1. ``groups`` is one
    array of labels, several arrays, or a frame of key columns; missing labels form a group.
    Missing values, and every value of a group with fewer than ``nquantiles`` values, get NaN.
    """
    x = as_float(values)
    if int(nquantiles) != nquantiles or nquantiles < 1:
        raise ValueError(f"nquantiles must be a positive whole number, got {nquantiles!r}")
    flags = _invert_flags(invert, x.shape[0])
    keys = _group_keys(groups, x.shape[0])
    grouped = pd.DataFrame({"value": x, "invert": flags}).groupby(keys, sort=False, dropna=False)
    if grouped["invert"].nunique().gt(1).any():
        raise ValueError(
            "invert field values must take the same logical value for each data grouping set"
        )
    count = grouped["value"].transform("count").to_numpy(np.float64)
    largest = grouped["value"].transform("max").to_numpy(np.float64)
    adjusted = np.where(flags, largest - x, x)
    rank = (
        pd.Series(adjusted)
        .groupby(keys, sort=False, dropna=False)
        .rank(method="min", na_option="keep")
        .to_numpy(np.float64)
    )
    q = float(nquantiles)
    with np.errstate(divide="ignore", invalid="ignore"):
        quantile = np.floor((q + 1) - np.ceil(((count + 1) - rank) / (count / q)))
    quantile = np.where(count < q, np.nan, quantile)
    quantile = np.where(quantile == 0, 1.0, quantile)
    if np.any(np.isfinite(x) & np.isnan(quantile)):
        warnings.warn(
            "One or more groups had too few small areas to allow quantiles to be assigned",
            TooFewValuesForQuantilesWarning,
            stacklevel=2,
        )
    return quantile


def _invert_flags(invert: bool | ArrayLike, size: int) -> np.ndarray:
    """Return one boolean per value from a single flag or an array of flags."""
    if isinstance(invert, bool | np.bool_):
        return np.full(size, bool(invert))
    flags = np.asarray(invert)
    if flags.shape != (size,) or not np.isin(flags, [True, False]).all():
        raise ValueError("invert must be True, False or one True/False per value")
    return flags.astype(bool)


def _group_keys(groups: object, size: int) -> list[np.ndarray]:
    """Return the grouping key arrays (one constant key when there are no groups)."""
    if groups is None:
        return [np.zeros(size, dtype=np.int8)]
    if isinstance(groups, pd.DataFrame):
        arrays = [groups[column].to_numpy() for column in groups.columns]
    elif isinstance(groups, pd.Series | np.ndarray) or (
        isinstance(groups, Sequence) and not any(_is_array(item) for item in groups)
    ):
        arrays = [np.asarray(groups)]
    else:
        arrays = [np.asarray(item) for item in groups]
    if any(array.shape != (size,) for array in arrays):
        raise ValueError(f"groups must have one label per value ({size})")
    return arrays


def _is_array(item: object) -> bool:
    """True for array-like items (a list of key arrays), False for scalar labels."""
    return isinstance(item, pd.Series | np.ndarray | list | tuple)
