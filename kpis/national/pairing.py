"""Joining separately published numerator, denominator and value measures into one row each.

NHS England's MHSDS and Talking Therapies files publish a proportion's parts as separate
measures (MHSDS EIP23i = EIP23b / EIP23a). pair_measures() lines them up by publisher, area,
period, breakdown and status into rows with numerator, denominator and value filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import OUTPUT_COLUMNS, coerce_columns

PAIR_KEYS: tuple[str, ...] = (
    "publisher",
    "area_code",
    "area_type",
    "period_label",
    "period_type",
    "period_start",
    "period_end",
    "period_raw",
    "sex",
    "age",
    "category_type",
    "category",
    "status",
)
_CARRIED = (
    "indicator_name",
    "area_name",
    "value",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "ci_method",
    "suppressed",
    "marker",
    "note",
    "source_row",
)


def _part(frame: pd.DataFrame, measure_id: str, role: str) -> pd.DataFrame:
    rows = frame[frame["indicator_id"].eq(measure_id)]
    repeated = rows.duplicated(subset=list(PAIR_KEYS))
    if repeated.any():
        raise ValueError(
            f"Measure {measure_id} has {int(repeated.sum())} rows sharing area, period, breakdown "
            "and status with another; pair one publication's rows at a time."
        )
    part = rows[list(PAIR_KEYS) + list(_CARRIED)].rename(
        columns={c: f"{c}_{role}" for c in _CARRIED}
    )
    part[f"present_{role}"] = True
    return part


def _first_filled(merged: pd.DataFrame, column: str, roles: list[str], blank: object) -> pd.Series:
    """Per row, the column's value from the first role having the measure and a non-blank value."""
    result = pd.Series(blank, index=merged.index, dtype=object)
    for role in reversed(roles):
        candidate = merged[f"{column}_{role}"]
        present = merged[f"present_{role}"].fillna(False).astype(bool)
        usable = present & candidate.notna() & candidate.astype(str).ne("")
        result = result.where(~usable, candidate)
    return result


def pair_measures(
    frame: pd.DataFrame,
    numerator_id: str,
    denominator_id: str,
    value_id: str | None = None,
    *,
    multiplier: float = 100.0,
) -> pd.DataFrame:
    """Rows with numerator (numerator_id's value), denominator (denominator_id's) and value.

    value is value_id's published value when given (MHSDS computes proportions before
    rounding its counts, so its published proportion is the better figure); otherwise
    numerator / denominator * multiplier (a percentage by default), NaN when the denominator is
    not positive. Rows are matched on publisher, area, period, breakdown and status; a part that
    is missing leaves its column NaN and is named in note. suppressed is true when any present
    part is suppressed; marker is the first present part's marker (value, then numerator, then
    denominator). indicator_id is value_id, or "numerator_id/denominator_id".
    """
    missing = [c for c in OUTPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"pair_measures needs the parsed frame; it lacks {', '.join(missing)}.")
    roles = {"numerator": numerator_id, "denominator": denominator_id}
    if value_id is not None:
        roles = {"value": value_id, **roles}
    parts = [_part(frame, measure, role) for role, measure in roles.items()]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on=list(PAIR_KEYS), how="outer", sort=False)
    order = list(roles)
    for role in order:
        merged[f"present_{role}"] = merged[f"present_{role}"].astype("boolean").fillna(False)

    out = merged[list(PAIR_KEYS)].copy()
    out["indicator_id"] = value_id if value_id is not None else f"{numerator_id}/{denominator_id}"
    if value_id is not None:
        names = merged["indicator_name_value"]
    else:
        names = pd.Series(np.nan, index=merged.index, dtype=object)
    fallback = (
        merged["indicator_name_numerator"].fillna(numerator_id).astype(str)
        + " / "
        + merged["indicator_name_denominator"].fillna(denominator_id).astype(str)
    )
    out["indicator_name"] = names.where(names.notna() & names.astype(str).ne(""), fallback)
    out["area_name"] = _first_filled(merged, "area_name", order, "")
    out["numerator"] = merged["value_numerator"].astype("float64")
    out["denominator"] = merged["value_denominator"].astype("float64")
    if value_id is not None:
        out["value"] = merged["value_value"].astype("float64")
        for bound in ("lower95", "upper95", "lower998", "upper998"):
            out[bound] = merged[f"{bound}_value"].astype("float64")
        out["ci_method"] = merged["ci_method_value"].fillna("").astype(str)
    else:
        denominator = out["denominator"].where(out["denominator"] > 0)
        out["value"] = out["numerator"] / denominator * multiplier
        for bound in ("lower95", "upper95", "lower998", "upper998"):
            out[bound] = np.nan
        out["ci_method"] = ""
    suppressed = pd.Series(False, index=merged.index)
    for role in order:
        flag = merged[f"suppressed_{role}"].astype("boolean").fillna(False).astype(bool)
        suppressed = suppressed | flag
    out["suppressed"] = suppressed
    out["marker"] = _first_filled(merged, "marker", order, "").astype(str)
    notes = pd.Series("", index=merged.index, dtype=object)
    for role, measure in roles.items():
        absent = ~merged[f"present_{role}"].astype(bool)
        message = f"{role} {measure} not published"
        notes = notes.where(~absent, np.where(notes.eq(""), message, notes + "; " + message))
    existing = _first_filled(merged, "note", order, "").astype(str)
    out["note"] = np.where(
        existing.eq(""), notes, np.where(notes.eq(""), existing, existing + "; " + notes)
    )
    out["source_row"] = _first_filled(merged, "source_row", order, -1).astype(np.int64)
    out = coerce_columns(out)
    return out.sort_values("source_row", kind="stable").reset_index(drop=True)
