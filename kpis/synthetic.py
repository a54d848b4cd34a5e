"""Synthetic demo data: plausible series at building-block places, combined upward.

Pure module. Everything here is made up and is flagged as synthetic wherever it is stored.
Counts are drawn month by month for the smallest places a KPI is published for, then summed
into the KPI's own periods (quarters, years, rolling windows, pooled years) and combined into
the larger places that those blocks partition exactly, so a larger place is never smaller than
a place inside it. Non-additive statistics (medians, survey estimates, scores, gaps) are drawn
for each place separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import periods
from .combine import PlaceInfo, block_places, combine, exact_partition

START_MONTH = pd.Timestamp("2016-01-01")  # early enough for pooled years ending in 2019
FIRST_PERIOD_START = date(2019, 4, 1)  # demo periods run from 2019-20
ADDITIVE = {"proportion", "count", "crude_rate", "dsr", "isr"}


@dataclass(frozen=True)
class KpiInfo:
    code: str
    statistic: str
    multiplier: float
    time_structure: str
    period_type: str
    basis: str
    lowest_level: str
    combinability: str
    locally_supplied: bool = False
    target: float | None = None
    break_from: date | None = None
    valid_max: float | None = None
    extra: dict = field(default_factory=dict)


def combined_places(
    kpi: KpiInfo, places: list[PlaceInfo], blocks: list[PlaceInfo], day: date
) -> dict[str, list[str]]:
    """Larger places on the same basis that the blocks valid at ``day`` partition exactly."""
    live = {b.code: b.areas for b in blocks if b.valid_at(day)}
    block_codes = {b.code for b in blocks}
    result = {}
    for place in places:
        if place.basis != kpi.basis or place.code in block_codes or not place.areas:
            continue
        if not place.valid_at(day):
            continue
        parts = exact_partition(place.areas, live)
        if parts and len(parts) > 1:
            result[place.code] = parts
    return result


def period_specs(period_type: str, as_of: date) -> list[periods.PeriodSpec]:
    """Every period of a type from 2019-20 (pooled: ending 2019 or later) to ``as_of``."""
    months = pd.date_range(FIRST_PERIOD_START, as_of, freq="MS")
    specs: list[periods.PeriodSpec] = []
    if period_type == periods.MONTH:
        specs = [periods.month(m.year, m.month) for m in months]
    elif period_type == periods.QUARTER:
        specs = [periods.quarter_of(m.date()) for m in months if m.month in (4, 7, 10, 1)]
    elif period_type == periods.FINANCIAL_YEAR:
        specs = [periods.financial_year(m.year) for m in months if m.month == 4]
    elif period_type == periods.CALENDAR_YEAR:
        specs = [periods.calendar_year(y) for y in range(2019, as_of.year + 1)]
    elif period_type == periods.POOLED:
        specs = [periods.pooled_years(y - 2, y) for y in range(2019, as_of.year + 1)]
    elif period_type == periods.ROLLING_12M:
        specs = [periods.rolling(12, m.year, m.month) for m in months]
    elif period_type == periods.ROLLING_3M:
        specs = [periods.rolling(3, m.year, m.month) for m in months]
    return [s for s in specs if s.end <= as_of]


def _monthly_draws(kpi: KpiInfo, block: PlaceInfo, months: pd.DatetimeIndex, rng) -> pd.DataFrame:
    """Monthly numerators and denominators for one block, with a gentle trend and noise."""
    n = len(months)
    t = np.arange(n) / 12.0
    size = len(block.areas) * rng.uniform(0.7, 1.3)
    shift = np.ones(n)
    if kpi.break_from is not None:
        shift[months >= pd.Timestamp(kpi.break_from)] = 1.15
    if kpi.statistic == "proportion":
        centre = (kpi.target / kpi.multiplier) if kpi.target else rng.uniform(0.3, 0.8)
        p = np.clip(centre + rng.normal(0, 0.05) + 0.01 * t + rng.normal(0, 0.03, n), 0.02, 0.99)
        denominator = rng.poisson(kpi.extra.get("monthly_denominator", 4) * size, n)
        numerator = rng.binomial(denominator, np.clip(p * shift, 0, 1))
    elif kpi.statistic == "count":
        if "flat_monthly_count" in kpi.extra:  # rare events, whatever the place's size
            rate = kpi.extra["flat_monthly_count"] * shift
        else:
            rate = kpi.extra.get("monthly_count", 20) * size * shift * np.exp(-0.02 * t)
        numerator = rng.poisson(rate)
        denominator = np.full(n, np.nan)
    elif kpi.statistic == "isr":
        expected = rng.uniform(4, 6) * size * np.ones(n)
        numerator = rng.poisson(expected * rng.uniform(2.5, 4.0) * shift)
        denominator = expected
    else:  # crude and standardised rates: events over person-years
        population = rng.uniform(80_000, 160_000) * size
        per_person_year = kpi.extra.get("rate", 10) / kpi.multiplier
        numerator = rng.poisson(population / 12 * per_person_year * shift)
        denominator = np.full(n, population / 12)
    return pd.DataFrame(
        {"month": months, "numerator": numerator.astype(float), "denominator": denominator}
    )


def _into_periods(monthly: pd.DataFrame, kpi: KpiInfo, specs) -> pd.DataFrame:
    """Sum (or, for snapshots, take the end of) the months inside each period."""
    rows = []
    by_month = monthly.set_index("month")
    ytd = kpi.time_structure == "ytd"
    for spec in specs:
        start = pd.Timestamp(spec.start)
        if ytd:
            start = pd.Timestamp(periods.financial_year(periods.financial_year_of(spec.end)).start)
        window = by_month.loc[start : pd.Timestamp(spec.end)]
        if kpi.time_structure == "snapshot":
            window = window.tail(1)
        rows.append(
            {
                "label": spec.label,
                "numerator": window["numerator"].sum(min_count=1),
                "denominator": window["denominator"].sum(min_count=1),
            }
        )
    return pd.DataFrame.from_records(rows, columns=["label", "numerator", "denominator"])


def _value(frame: pd.DataFrame, kpi: KpiInfo) -> pd.Series:
    if kpi.statistic == "count":
        return frame["numerator"]
    return frame["numerator"] / frame["denominator"] * kpi.multiplier


def _non_additive(kpi, place_codes, specs, rng) -> pd.DataFrame:
    records = []
    centre = {"median": 12.0, "survey_estimate": 9.0, "score": 7.0, "pp_gap": 65.0}.get(
        kpi.statistic, 50.0
    )
    for code in place_codes:
        level = centre * rng.uniform(0.8, 1.2)
        for i, spec in enumerate(specs):
            value = max(0.0, level + rng.normal(0, centre * 0.05) - 0.01 * i)
            if kpi.valid_max is not None:
                value = min(value, kpi.valid_max)
            respondents = rng.integers(180, 600) if kpi.statistic == "survey_estimate" else None
            records.append(
                {
                    "place": code,
                    "label": spec.label,
                    "numerator": np.nan,
                    "denominator": float(respondents) if respondents else np.nan,
                    "value": round(value, 2),
                }
            )
    return pd.DataFrame.from_records(records)


def demo_frame(kpi: KpiInfo, places: list[PlaceInfo], *, as_of: date, seed: int) -> pd.DataFrame:
    """One KPI's synthetic observations for every place it applies to, up to ``as_of``."""
    rng = np.random.default_rng([seed, *map(ord, kpi.code)])
    specs = period_specs(kpi.period_type, as_of)
    if not specs:
        return pd.DataFrame(columns=["place", "label", "numerator", "denominator", "value"])
    blocks = block_places(kpi, places)
    if not blocks:
        return pd.DataFrame(columns=["place", "label", "numerator", "denominator", "value"])
    ends = {spec.label: spec.end for spec in specs}
    if kpi.statistic not in ADDITIVE or kpi.combinability == "not_combinable":
        codes = [b.code for b in blocks]
        frame = _non_additive(kpi, codes, specs, rng)
        return _keep_valid(frame, blocks, ends)
    months = pd.date_range(START_MONTH, as_of, freq="MS")
    parts = []
    for block in blocks:
        per_period = _into_periods(_monthly_draws(kpi, block, months, rng), kpi, specs)
        per_period["place"] = block.code
        parts.append(per_period)
    frame = _keep_valid(pd.concat(parts, ignore_index=True), blocks, ends)
    frame = _edge_cases(frame, kpi)
    frame["value"] = _value(frame, kpi)
    if kpi.combinability not in ("sum", "ratio_of_sums", "isr_sums"):
        return frame  # e.g. standardised rates: never combined without age-band counts
    combined = _combine_upward(frame, kpi, places, blocks, specs)
    return pd.concat([frame, combined], ignore_index=True)


def _edge_cases(frame: pd.DataFrame, kpi: KpiInfo) -> pd.DataFrame:
    """Deliberate awkward values, made before combining so every place stays consistent.

    A proportion whose numerator equals its denominator; for a locally supplied KPI, one
    missing return (so the places it is part of have no value for that period either).
    """
    if frame.empty:
        return frame
    if kpi.statistic == "proportion":
        first = frame.index[0]
        frame.loc[first, "numerator"] = frame.loc[first, "denominator"]
    if kpi.locally_supplied:
        last = frame["label"].iloc[-1]
        frame = frame.drop(index=frame.index[frame["label"] == last][:1])
    return frame.reset_index(drop=True)


def _keep_valid(frame: pd.DataFrame, blocks: list[PlaceInfo], ends: dict) -> pd.DataFrame:
    """Drop rows of places that did not exist at the period's end (CCGs after July 2022)."""
    period_end = pd.to_datetime(frame["label"].map(ends))
    valid_from = pd.to_datetime(frame["place"].map({b.code: b.valid_from for b in blocks}))
    valid_to = pd.to_datetime(frame["place"].map({b.code: b.valid_to for b in blocks}))
    valid = (valid_from.isna() | (valid_from <= period_end)) & (
        valid_to.isna() | (period_end <= valid_to)
    )
    return frame[valid.to_numpy()].reset_index(drop=True)


def _combine_upward(frame, kpi, places, blocks, specs) -> pd.DataFrame:
    pieces = []
    for spec in specs:
        for target, members in combined_places(kpi, places, blocks, spec.end).items():
            rows = frame[(frame["label"] == spec.label) & frame["place"].isin(members)]
            if len(rows) != len(members):
                continue
            pieces.append(rows.assign(target=target, period=spec.label))
    if not pieces:
        return pd.DataFrame(columns=frame.columns)
    stacked = pd.concat(pieces, ignore_index=True)
    result = combine(stacked, combinability=kpi.combinability, multiplier=kpi.multiplier)
    return result.rename(columns={"target": "place", "period": "label"})[
        ["place", "label", "numerator", "denominator", "value"]
    ]
