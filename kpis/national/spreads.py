"""How a KPI's values spread over every area of a type in one national publication: the lowest,
25th percentile, median, 75th percentile and highest values a Fingertips spine chart draws.

Pure module: the import's figures frame in (one row per catalogue figure), plain frames out; no
ORM. The import computes spreads before it drops the areas that are not places, whose values it
keeps nowhere else.

Which rows count, for each KPI, period and area type (as the publisher names it):

- whole-population rows only (breakdown dimension "all", which for a cohort KPI such as the
  65-and-over one is its cohort's rows), with a value: suppressed and missing values are not
  counted, so ``areas`` is the number of areas with a value;
- not England's own row (ENGLAND_CODE), which is kept as ``england`` beside the spread;
- not rows that stand for no area (a blank code, or MHSDS' "UNKNOWN" sub-ICB);
- each area once, should a file repeat it (its first row);
- and only groups of at least MIN_AREAS (4) areas: fewer have no quartiles. Fingertips gives
  no percentiles to fewer than four values (ValueCategoriesCalculator
  ``AreEnoughValuesToCalculatePercentiles``: Count > 3), and PHEindicatormethods' phe_quantile
  assigns no quartiles to a group with fewer values than quantiles (n < 4).

The percentiles are those Fingertips shows on its spine charts: ``CalculatePercentile`` of
ukhsa-collaboration/fingertips-open PholioVisualisationWS/Analysis/ValueCategoriesCalculator.cs,
which IndicatorStatsCalculator uses for the chart's Percentile25 and Percentile75 (its tests,
AnalysisTest/IndicatorStatsCalculatorTest.cs, give 52.5 and 57.5 for 50 to 60, 25.75 and 75.25
for 1 to 100, 5 and 13 for 1 to 17). UKHSA's fingertipscharts draws the same cut points (R's
``quantile()``, type 7, in R/spine_chart_utils.R ``spine_rescaler``):

1. Sort the group's n values: x[1] <= x[2] <= ... <= x[n].
2. For the fraction p (0.25, 0.5, 0.75) take h = (n - 1) * p + 1.
3. The percentile is x[k] + (h - k) * (x[k + 1] - x[k]) with k = floor(h): linear interpolation
   between the two values around position h (Hyndman and Fan's type 7, Excel's
   PERCENTILE.INC). Tied values need no rule of their own: they sit side by side.
4. It is rounded to 10 decimal places, as Fingertips rounds it, so that 30.8 is not stored as
   30.800000000000004.

PHEindicatormethods' phe_quantile (reproduced in kpis/stats/quantiles.py) answers another
question: which quarter each area falls in, from its rank. It gives no cut points, so it cannot
be the spread's definition; for distinct values the two agree, the 25th percentile lying between
phe_quantile's lowest quarter and the next and the 75th between its highest quarter and the one
below (the tests check this for 4 to 60 areas).

A spread is over the areas the file gives: a Fingertips download for one region's areas gives
that region's spread, and ``areas`` says how many there were. NHS Talking Therapies annual
reports are read with every organisation's whole-population rows (kpis.national
.talking_therapies), so they give spreads too, except for a cohort KPI, whose cohort rows are
read for places only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .base import ENGLAND_CODE

#: Fewer areas than this have no quartiles (Fingertips: more than 3 values; phe_quantile: n >= 4).
MIN_AREAS = 4
#: The cut points of the spread, by column name.
FRACTIONS = {"q25": 0.25, "median": 0.5, "q75": 0.75}
#: Area codes that stand for no area: records whose area is not known.
NO_AREA = r"(?i)\s*(?:unknown)?\s*"
#: Fingertips rounds each percentile to 10 decimal places to take away floating-point residue.
PLACES = 10

KEYS = ["kpi_code", "period_label", "area_type"]
PERIOD_COLUMNS = ["period_type", "period_start", "period_end"]
SPREAD_COLUMNS = [
    *KEYS,
    *PERIOD_COLUMNS,
    "areas",
    "lowest",
    "q25",
    "median",
    "q75",
    "highest",
    "england",
]


@dataclass(frozen=True)
class Spreads:
    """The spreads of a publication and which figures each was made from.

    ``table`` has SPREAD_COLUMNS, one row per KPI, period and area type (positions 0, 1, ...);
    ``members`` gives, for each figure counted (by the figures frame's index), the position of
    its spread in ``table``.
    """

    table: pd.DataFrame
    members: pd.Series


def percentile(values: pd.Series | np.ndarray | list[float], fraction: float) -> float:
    """One percentile of some values as Fingertips computes it (steps 1 to 4 above)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    if ordered.size == 0:
        return float("nan")
    position = (ordered.size - 1) * fraction  # h - 1: positions counted from 0
    below = int(np.floor(position))
    above = min(below + 1, ordered.size - 1)
    value = ordered[below] + (position - below) * (ordered[above] - ordered[below])
    return round(float(value), PLACES)


def value_spread(values: pd.Series | np.ndarray | list[float]) -> dict[str, float] | None:
    """The spread of some values (missing ones left out), or None for fewer than MIN_AREAS:
    for a spread over the areas of ours where no publication gives one over every area."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if array.size < MIN_AREAS:
        return None
    return {
        "areas": int(array.size),
        "lowest": float(array.min()),
        **{name: percentile(array, fraction) for name, fraction in FRACTIONS.items()},
        "highest": float(array.max()),
    }


def area_spreads(figures: pd.DataFrame) -> Spreads:
    """The spread of each KPI, period and area type over the figures' whole-population rows.

    ``figures`` needs kpi_code, period_label, the PERIOD_COLUMNS, area_code, area_type, value and
    breakdown_dimension; any other columns are ignored.
    """
    if figures.empty:
        return Spreads(pd.DataFrame(columns=SPREAD_COLUMNS), pd.Series(dtype=np.int64))
    values = pd.to_numeric(figures["value"], errors="coerce").astype("float64")
    codes = figures["area_code"].fillna("").astype(str).str.strip().str.upper()
    total = figures["breakdown_dimension"].eq("all") & np.isfinite(values)
    is_england = codes.eq(ENGLAND_CODE)
    counted = figures.loc[
        total & ~is_england & ~codes.str.fullmatch(NO_AREA), [*KEYS, *PERIOD_COLUMNS]
    ].assign(value=values, code=codes)
    counted = counted.drop_duplicates([*KEYS, "code"])
    if counted.empty:
        return Spreads(pd.DataFrame(columns=SPREAD_COLUMNS), pd.Series(dtype=np.int64))
    grouped = counted.groupby(KEYS, sort=True)
    table = grouped["value"].agg(areas="count", lowest="min", highest="max")
    for name, fraction in FRACTIONS.items():
        # pandas' linear interpolation is Fingertips' step 3; step 4 is the rounding.
        table[name] = grouped["value"].quantile(fraction).round(PLACES)
    table = table.join(grouped[PERIOD_COLUMNS].first())
    table["group"] = np.arange(len(table))
    table = table[table["areas"].ge(MIN_AREAS)].reset_index()

    england = (
        figures.loc[total & is_england, ["kpi_code", "period_label"]]
        .assign(england=values)
        .drop_duplicates(["kpi_code", "period_label"])
    )
    table = table.merge(england, on=["kpi_code", "period_label"], how="left")

    position = pd.Series(np.arange(len(table)), index=table["group"].to_numpy())
    members = grouped.ngroup().map(position).dropna().astype(np.int64)
    table["areas"] = table["areas"].astype(np.int64)
    return Spreads(table[SPREAD_COLUMNS], members)
