"""Deriving quarters and years from each time structure, and choosing the baseline.

Pure module: pandas in and out, vectorised over many series at once. A frame holds one row per
series and period with columns ``series``, ``period_start``, ``period_end`` (datetime64),
``numerator``, ``denominator`` and ``value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from . import periods

SUMMED = "discrete"
CUMULATIVE = "ytd"
PERIOD_END = ("rolling_3m", "rolling_12m", "snapshot")
POOLED = ("pooled_2y", "pooled_3y")


class NotDerivable(ValueError):
    """The time structure has no rule for the requested period."""


def _fy_first_year(ends: pd.Series) -> pd.Series:
    return ends.dt.year.where(ends.dt.month >= 4, ends.dt.year - 1)


def _quarter_number(ends: pd.Series) -> pd.Series:
    return ((ends.dt.month - 4) % 12) // 3 + 1


def _target_keys(frame: pd.DataFrame, to: str) -> pd.DataFrame:
    ends = frame["period_end"]
    keys = pd.DataFrame({"fy": _fy_first_year(ends)}, index=frame.index)
    if to == periods.QUARTER:
        keys["q"] = _quarter_number(ends)
    elif to != periods.FINANCIAL_YEAR:
        raise NotDerivable(f"Cannot derive {to}: only quarters and financial years are derived.")
    return keys


def _label(keys: pd.DataFrame, to: str) -> pd.Series:
    fy = keys["fy"].astype(int)
    text = fy.astype(str) + "-" + ((fy + 1) % 100).astype(str).str.zfill(2)
    if to == periods.QUARTER:
        text = text + " Q" + keys["q"].astype(int).astype(str)
    return text


def _recompute_value(result: pd.DataFrame, multiplier: float) -> pd.DataFrame:
    has_denominator = result["denominator"].notna() & (result["denominator"] != 0)
    ratio = result["numerator"] / result["denominator"].where(has_denominator) * multiplier
    result["value"] = ratio.where(has_denominator, result["value"])
    return result


def derive(
    frame: pd.DataFrame, *, time_structure: str, to: str, multiplier: float = 1.0
) -> pd.DataFrame:
    """Quarter or financial-year rows for every series, by the time structure's own rule.

    1. discrete: the sum of the periods inside (numerators, denominators and counts), only
       when every period inside is present; rates and proportions recomputed from the sums.
    2. year-to-date: a quarter is Qn minus Qn-1 of the same year (Q1 as it stands); a year is
       the Q4 (March) value.
    3. rolling and snapshot: the value at the period's end, never a sum.
    4. pooled: refused.
    """
    if time_structure in POOLED:
        raise NotDerivable("Pooled multi-year values are not split into quarters or years.")
    frame = frame.sort_values(["series", "period_end"])
    keys = _target_keys(frame, to)
    group_cols = ["series", *keys.columns]
    data = pd.concat([frame[["series", "numerator", "denominator", "value"]], keys], axis=1)
    if time_structure == SUMMED:
        months = (
            (frame["period_end"].dt.year - frame["period_start"].dt.year) * 12
            + frame["period_end"].dt.month
            - frame["period_start"].dt.month
            + 1
        )
        data["months"] = months.to_numpy()
        grouped = data.groupby(group_cols, sort=True)
        result = grouped[["numerator", "denominator", "value"]].sum(min_count=1)
        covered = grouped["months"].sum()
        needed = 3 if to == periods.QUARTER else 12
        result = result[covered == needed].reset_index()
        result = _recompute_value(result, multiplier)
    elif time_structure == CUMULATIVE:
        data["q"] = _quarter_number(frame["period_end"])
        month_in_quarter = frame["period_end"].dt.month.isin([6, 9, 12, 3])
        data = data[month_in_quarter.to_numpy()]
        if to == periods.FINANCIAL_YEAR:
            result = data[data["q"] == 4].drop(columns="q").reset_index(drop=True)
        else:
            data = data.sort_values(["series", "fy", "q"])
            previous = data.groupby(["series", "fy"])[["numerator", "denominator", "value"]]
            shifted = previous.shift(1)
            consecutive = data.groupby(["series", "fy"])["q"].diff().fillna(data["q"]) == 1
            first = data["q"] == 1
            result = data.copy()
            for column in ("numerator", "denominator", "value"):
                result[column] = np.where(
                    first, data[column], (data[column] - shifted[column]).where(consecutive)
                )
            result = result[first | consecutive].reset_index(drop=True)
            result = _recompute_value(result, multiplier)
    elif time_structure in PERIOD_END:
        ends = frame["period_end"]
        if to == periods.QUARTER:
            at_end = ends.dt.month.isin([6, 9, 12, 3])
        else:
            at_end = ends.dt.month == 3
        at_end &= ends.dt.is_month_end
        result = data[at_end.to_numpy()].reset_index(drop=True)
    else:
        raise NotDerivable(f"Unknown time structure {time_structure!r}.")
    result["label"] = _label(result, to).to_numpy()
    return result.reset_index(drop=True)


@dataclass(frozen=True)
class Baseline:
    label: str
    value: float | None
    numerator: float | None
    denominator: float | None
    rule: str
    first_available: bool
    pandemic_affected: bool
    reason: str = ""


def _segment_start(breaks: list[date], as_of: date) -> date | None:
    before = [b for b in breaks if b <= as_of]
    return max(before) if before else None


def baseline(
    frame: pd.DataFrame,
    *,
    rule: str,
    time_structure: str,
    period_label: str,
    breaks: list[date],
    as_of: date,
    multiplier: float = 1.0,
) -> Baseline | None:
    """The baseline of one series for values up to ``as_of``, never across a series break.

    ``frame`` holds the series' rows with an extra ``label`` column (canonical period label).
    Returns None when the series has no rows in the segment at all.
    """
    start = _segment_start(breaks, as_of)
    rows = frame.sort_values("period_end")
    if start is not None:
        rows = rows[rows["period_start"] >= pd.Timestamp(start)]
    if rows.empty:
        return None
    wanted = _baseline_by_rule(rows, rule, time_structure, period_label, multiplier)
    if wanted is not None:
        label, value, numerator, denominator = wanted
        return Baseline(
            label=label,
            value=value,
            numerator=numerator,
            denominator=denominator,
            rule=rule,
            first_available=False,
            pandemic_affected=periods.pandemic_affected(periods.parse_period(label)),
        )
    first = rows.iloc[0]
    reason = "series break after the baseline period" if start else "no baseline-period value"
    return Baseline(
        label=str(first["label"]),
        value=_float(first["value"]),
        numerator=_float(first["numerator"]),
        denominator=_float(first["denominator"]),
        rule=rule,
        first_available=True,
        pandemic_affected=periods.pandemic_affected(periods.parse_period(str(first["label"]))),
        reason=reason,
    )


def _float(value) -> float | None:
    return None if pd.isna(value) else float(value)


def _baseline_by_rule(rows, rule, time_structure, period_label, multiplier):
    if rule == "financial_year_2020_21":
        exact = rows[rows["label"] == "2020-21"]
        if exact.empty and time_structure in (SUMMED, CUMULATIVE, *PERIOD_END):
            derived = derive(
                rows.assign(series=0),
                time_structure=time_structure,
                to=periods.FINANCIAL_YEAR,
                multiplier=multiplier,
            )
            exact = derived[derived["label"] == "2020-21"]
        return _pick(exact, "2020-21")
    if rule == "twelve_months_to_march_2021":
        return _pick(rows[rows["label"] == "12 months to Mar 2021"], "12 months to Mar 2021")
    if rule == "pooled_period":
        try:
            label = periods.parse_period(period_label).label
        except periods.PeriodParseError:
            return None
        return _pick(rows[rows["label"] == label], label)
    return None


def _pick(rows: pd.DataFrame, label: str):
    if rows.empty:
        return None
    row = rows.iloc[-1]
    return label, _float(row["value"]), _float(row["numerator"]), _float(row["denominator"])
