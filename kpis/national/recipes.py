"""How a publisher's measures make a catalogue KPI: counts kept, the source's own value beside.

NHS England publishes a proportion's parts as separate measures (monthly and quarterly files)
or columns (annual report): Talking Therapies recovery is Count_Recovery (M191) over
Count_FinishedCourseTreatment (M076) minus Count_NotAtCaseness (M179), published as
Percentage_Recovery (M192). A Recipe names those measures; ``recipe_rows`` lines the parts up by
area, period and breakdown and gives one row per figure with:

- numerator and denominator from the counts (so intervals, comparison and combining work);
- source_value, the figure the publisher printed, which is also the value kept;
- source_value_differs where the printed figure lies outside what the counts allow, after the
  source's rounding of the counts (nearest ``rounding_base``) and of the printed figure (half a
  unit of its last decimal place).

Recipes come from data (fixtures/kpis/national_measures.yaml) through ``recipes_from``.
Pure module: pandas in, pandas out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .base import ENGLAND_CODE, header_key
from .pairing import PAIR_KEYS


@dataclass(frozen=True)
class Measure:
    """A publisher's measure: its ID (M191) and the names files give it (Count_Recovery)."""

    id: str = ""
    names: tuple[str, ...] = ()
    sign: int = 1

    def keys(self) -> frozenset[str]:
        return frozenset(header_key(n) for n in (self.id, *self.names) if n)

    def label(self) -> str:
        return self.id or (self.names[0] if self.names else "?")


@dataclass(frozen=True)
class Recipe:
    """A KPI made from a publisher's measures; ``cohort`` is the breakdown the KPI itself is
    (the 65-and-over KPI takes the "65+" rows as its whole population)."""

    kpi: str
    publisher: str
    numerator: tuple[Measure, ...]
    denominator: tuple[Measure, ...] = ()
    published: Measure | None = None
    cohort: tuple[str, str] | None = None

    def measures(self) -> tuple[Measure, ...]:
        extra = (self.published,) if self.published else ()
        return (*self.numerator, *self.denominator, *extra)

    def measure_names(self) -> set[str]:
        return {name for m in self.measures() for name in (m.id, *m.names) if name}


def _measure(spec: Mapping | str, sign: int = 1) -> Measure:
    if isinstance(spec, str):
        return Measure(id=spec, sign=sign)
    names = spec.get("names") or ([spec["name"]] if spec.get("name") else [])
    return Measure(
        id=str(spec.get("id") or ""), names=tuple(names), sign=int(spec.get("sign", sign))
    )


def recipes_from(data: Mapping) -> list[Recipe]:
    """Recipes from the national measures data (a dict read from YAML)."""
    recipes = []
    for entry in data.get("recipes", []):
        cohort = entry.get("cohort")
        recipes.append(
            Recipe(
                kpi=entry["kpi"],
                publisher=entry["publisher"],
                numerator=tuple(_measure(m) for m in entry["numerator"]),
                denominator=tuple(_measure(m) for m in entry.get("denominator") or ()),
                published=_measure(entry["published_value"])
                if entry.get("published_value")
                else None,
                cohort=(cohort["dimension"], str(cohort["category"])) if cohort else None,
            )
        )
    return recipes


def measure_mask(frame: pd.DataFrame, measure: Measure) -> pd.Series:
    """Rows of a normalised frame that are this measure (by ID or by name, however spelt)."""
    keys = measure.keys()
    ids = frame["indicator_id"].astype(str)
    names = frame["indicator_name"].astype(str)
    distinct = pd.unique(pd.concat([ids, names]))
    matching = {value for value in distinct if header_key(value) in keys}
    return ids.isin(matching) | names.isin(matching)


def _decimals(values: np.ndarray) -> np.ndarray:
    """Decimal places each printed value shows (0 to 4), read from the value itself."""
    places = np.full(values.shape, 4.0)
    for d in range(3, -1, -1):
        scaled = values * 10**d
        places = np.where(np.abs(scaled - np.round(scaled)) < 1e-6, d, places)
    return places


def recipe_rows(
    frame: pd.DataFrame,
    recipe: Recipe,
    *,
    multiplier: float,
    rounding_base: float | None,
    issues: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per area, period and breakdown with the recipe's figure, and its provenance.

    Both frames are empty when the publication has none of the recipe's measures.

    Returns (rows, sources): rows has PAIR_KEYS, numerator, denominator, value, source_value,
    source_value_differs, rounded, suppressed, marker, note and source_row (the first part's);
    sources maps each row (``row``) to every source_row that went into it.
    """
    slots: list[tuple[str, Measure]] = [(f"n{i}", m) for i, m in enumerate(recipe.numerator)]
    slots += [(f"d{i}", m) for i, m in enumerate(recipe.denominator)]
    if recipe.published:
        slots.append(("p", recipe.published))
    dated = frame[frame["period_label"].ne("")]
    parts = []
    for slot, measure in slots:
        rows = dated[measure_mask(dated, measure)]
        parts.append(rows.assign(slot=slot))
    parts_frame = pd.concat(parts, ignore_index=True) if parts else dated.iloc[0:0]
    if parts_frame.empty:
        return pd.DataFrame(), pd.DataFrame(columns=["row", "source_row"])
    keys = list(PAIR_KEYS)
    repeated = parts_frame.duplicated(subset=[*keys, "slot"])
    if repeated.any():
        issues.append(
            f"{recipe.kpi}: {int(repeated.sum())} rows repeat a measure for the same area, period "
            "and breakdown; the first of each is used."
        )
        parts_frame = parts_frame[~repeated]
    parts_frame = parts_frame.assign(_key=parts_frame.groupby(keys, dropna=False).ngroup())
    wide = _spread(parts_frame, "value")
    flags = _spread(parts_frame, "suppressed").fillna(False)
    markers = _spread(parts_frame, "marker").fillna("")
    firsts = parts_frame.sort_values("source_row").drop_duplicates("_key").set_index("_key")
    out = firsts[[*keys, "indicator_name", "area_name", "note", "source_row"]].copy()
    out = out.loc[wide.index]

    def total(prefix: str, measures: tuple[Measure, ...]) -> pd.Series:
        columns = [f"{prefix}{i}" for i in range(len(measures))]
        present = wide.reindex(columns=columns)
        signs = np.array([m.sign for m in measures], dtype=float)
        # Every part is needed: a missing or suppressed part leaves the total unknown.
        return pd.Series((present.to_numpy(float) * signs).sum(axis=1), index=wide.index).where(
            present.notna().all(axis=1)
        )

    numerator = total("n", recipe.numerator)
    denominator = total("d", recipe.denominator) if recipe.denominator else None
    published = wide["p"] if "p" in wide else pd.Series(np.nan, index=wide.index)
    if denominator is None:
        computed = numerator
        out["denominator"] = np.nan
    else:
        computed = (numerator / denominator.where(denominator > 0)) * multiplier
        out["denominator"] = denominator
    out["numerator"] = numerator
    out["source_value"] = published
    out["value"] = published.where(published.notna(), computed)

    england = out["area_code"].eq(ENGLAND_CODE)
    rounded = pd.Series(bool(rounding_base), index=out.index) & ~england
    out["rounded"] = rounded
    out["source_value_differs"] = _differs(
        published, numerator, denominator, recipe, multiplier, rounding_base, rounded
    )
    any_suppressed = flags.astype(bool).any(axis=1)
    out["suppressed"] = any_suppressed & out["value"].isna()
    marker_order = ["p", *[s for s, _ in slots if s != "p"]]
    out["marker"] = ""
    for slot in reversed(marker_order):
        if slot in markers:
            out["marker"] = markers[slot].where(markers[slot].ne(""), out["marker"])
    out["indicator_id"] = recipe.kpi
    out = out.reset_index(names="row")
    sources = parts_frame[["_key", "source_row"]].rename(columns={"_key": "row"})
    return out, sources


def _spread(parts: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column per slot (n0, d0, d1, p ...) of one row per area, period and breakdown."""
    return parts.pivot_table(
        index="_key", columns="slot", values=column, aggfunc="first", dropna=False
    )


def _differs(
    published: pd.Series,
    numerator: pd.Series,
    denominator: pd.Series | None,
    recipe: Recipe,
    multiplier: float,
    rounding_base: float | None,
    rounded: pd.Series,
) -> pd.Series:
    """Whether the printed figure lies outside what the (possibly rounded) counts allow."""
    half_step = np.where(rounded, (rounding_base or 0) / 2.0, 0.0)
    n = numerator.to_numpy(float)
    spread_n = half_step * len(recipe.numerator)
    if denominator is None:
        low, high = n - spread_n, n + spread_n
    else:
        d = denominator.to_numpy(float)
        spread_d = half_step * len(recipe.denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            low = multiplier * np.maximum(n - spread_n, 0) / (d + spread_d)
            high = np.where(d - spread_d > 0, multiplier * (n + spread_n) / (d - spread_d), np.inf)
    p = published.to_numpy(float)
    printed = 0.5 * 10.0 ** -_decimals(np.nan_to_num(p))
    known = ~np.isnan(p) & ~np.isnan(low)
    outside = (p < low - printed - 1e-9) | (p > high + printed + 1e-9)
    return pd.Series(known & outside, index=published.index)


def recipe_measure_names(recipes: Iterable[Recipe]) -> set[str]:
    return {name for recipe in recipes for name in recipe.measure_names()}
