"""The internal KPI and place pages' figures, from a frame of stored assessments (pure: no ORM).

The assessments frame (``kpis.selectors.dashboards``) has one row per place and period with the
columns named in ``ASSESSMENT_COLUMNS``. Nothing here computes a statistic the assessment engine
has not stored, except the funnel limits (kpis.stats.funnels) and the spine chart's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .stats.funnels import assign_funnel_significance, calculate_funnel_limits

ASSESSMENT_COLUMNS = [
    "kpi_id",
    "place_id",
    "place",
    "place_name",
    "place_kind",
    "place_basis",
    "place_position",
    "within_set",
    "period_id",
    "label",
    "period_type",
    "period_end",
    "scope",
    "status",
    "value",
    "numerator",
    "denominator",
    "lower95",
    "upper95",
    "public_suppressed",
    "baseline_label",
    "change_category",
    "change_reason",
    "benchmark_england",
    "mean",
    "lower_limit",
    "upper_limit",
    "point_type",
    "spc_reason",
    "assurance",
    "target_kind",
    "target_value",
    "planned",
    "verdict",
    "verdict_reason",
]

ENGLAND = "england"

#: Fewest places a funnel plot is drawn for: with fewer, a table says more.
FUNNEL_MIN_PLACES = 3


def series_frame(assessments: pd.DataFrame, *, place: str, period_type: str) -> pd.DataFrame:
    """One place's assessments of one period type, oldest first (its trend and SPC chart)."""
    rows = assessments[assessments["place"].eq(place) & assessments["period_type"].eq(period_type)]
    return rows.sort_values("period_end", ignore_index=True)


def latest_label(assessments: pd.DataFrame, *, period_type: str, places) -> str | None:
    """The latest period of this type at which any of these places has a value."""
    rows = assessments[
        assessments["period_type"].eq(period_type)
        & assessments["place"].isin(list(places))
        & assessments["value"].notna()
    ]
    if rows.empty:
        return None
    return rows.loc[rows["period_end"].idxmax(), "label"]


def caterpillar_frame(assessments: pd.DataFrame, *, label: str, exclude=()) -> pd.DataFrame:
    """Every place with a value for the period, lowest value first (drawn bottom to top)."""
    rows = assessments[
        assessments["label"].eq(label)
        & assessments["value"].notna()
        & ~assessments["place"].isin(list(exclude))
    ]
    return rows.sort_values(["value", "place_name"], ignore_index=True)


@dataclass(frozen=True)
class Funnel:
    """A funnel plot's points and limits, or the reason there is none."""

    points: pd.DataFrame | None = None
    limits: pd.DataFrame | None = None
    average: float | None = None
    reason: str = ""


def funnel(
    assessments: pd.DataFrame,
    *,
    label: str,
    statistic: str,
    multiplier: float,
    whole_place: str,
) -> Funnel:
    """The funnel plot of one period's places, around the whole system's own figure.

    Drawn for proportions only, over the places of the kind most of them share (the six
    alliances, the sub-ICB locations), each with its numerator and denominator. The average is
    the whole place's numerator over its denominator, not the places' pooled counts: the
    places may overlap, and a record must not count twice in the average. Limits and outlier
    levels are PHEindicatormethods' (kpis.stats.funnels).
    """
    if statistic != "proportion":
        return Funnel(reason="A funnel plot is drawn for proportions only.")
    rows = assessments[
        assessments["label"].eq(label)
        & assessments["numerator"].notna()
        & assessments["denominator"].gt(0)
    ]
    whole = rows[rows["place"].eq(whole_place)]
    parts = rows[rows["place"].ne(whole_place) & rows["place"].ne(ENGLAND)]
    if whole.empty:
        return Funnel(reason="The whole system has no numerator and denominator this period.")
    if parts.empty:
        return Funnel(reason="No place has a numerator and denominator this period.")
    kind = parts["place_kind"].value_counts().index[0]
    parts = parts[parts["place_kind"].eq(kind)].sort_values("place_name", ignore_index=True)
    if len(parts) < FUNNEL_MIN_PLACES:
        return Funnel(
            reason=f"Fewer than {FUNNEL_MIN_PLACES} places have a numerator and denominator."
        )
    average = float(whole["numerator"].iloc[0] / whole["denominator"].iloc[0])
    limits = calculate_funnel_limits(
        parts["numerator"],
        parts["denominator"],
        statistic="proportion",
        multiplier=multiplier,
        average=average,
    ).rename(
        columns={
            "Population": "x",
            "lower_2s_limit": "lower_2s",
            "upper_2s_limit": "upper_2s",
            "lower_3s_limit": "lower_3s",
            "upper_3s_limit": "upper_3s",
        }
    )
    significance = assign_funnel_significance(
        parts["numerator"], parts["denominator"], statistic="proportion", average=average
    )
    points = parts[["place", "place_name", "numerator", "denominator", "value"]].assign(
        significance=np.asarray(significance, dtype=object)
    )
    return Funnel(points=points, limits=limits, average=average * multiplier)


def spine_positions(
    *,
    value: float | None,
    england: float | None,
    lowest: float,
    q25: float,
    q75: float,
    highest: float,
    direction: str,
) -> dict[str, float | None]:
    """A KPI's row of a spine chart on a 0-1 scale, better to the right, as Fingertips draws it.

    England sits at 0.5 and the half-width is the larger distance from England to the lowest
    or highest area, so every area fits; with no England value the median of the spread (the
    middle of q25 and q75) takes its place. For "lower is better" the scale is mirrored, so the
    best area is always on the right; "neither" keeps higher to the right.
    """
    centre = england if england is not None else (q25 + q75) / 2
    half = max(abs(highest - centre), abs(lowest - centre), abs((value or centre) - centre))
    sign = -1.0 if direction == "lower_is_better" else 1.0

    def place(x: float | None) -> float | None:
        if x is None or half == 0:
            return None if x is None else 0.5
        return 0.5 + sign * (x - centre) / (2 * half)

    ends = sorted([place(lowest), place(highest)])
    quartiles = sorted([place(q25), place(q75)])
    return {
        "worst": ends[0],
        "best": ends[1],
        "q25": quartiles[0],
        "q75": quartiles[1],
        "value": place(value),
    }


def equal_footprint_rows(latest: pd.DataFrame, candidates: list, *, basis: dict) -> pd.DataFrame:
    """Each KPI's latest row at the first equal-footprint place of the KPI's own geography
    basis valid in that period, the place itself first, as the board chooses.

    ``candidates`` are the places with exactly one place's areas, in order of preference, each
    with ``place_id``, ``basis`` and ``valid_on(day)`` (kpis.selectors.board.Candidate);
    ``basis`` maps a KPI id to its geography basis.
    """
    if latest.empty:
        return latest
    rank = {c.place_id: n for n, c in enumerate(candidates)}
    by_id = {c.place_id: c for c in candidates}
    rows = latest[latest["place_id"].isin(list(by_id))]
    same_basis = rows["place_id"].map(lambda pk: by_id[pk].basis) == rows["kpi_id"].map(basis)
    rows = rows[same_basis]
    valid = [
        by_id[pk].valid_on(end.date())
        for pk, end in zip(rows["place_id"], rows["period_end"], strict=True)
    ]
    rows = rows[valid]
    rows = rows.assign(rank=rows["place_id"].map(rank))
    return rows.sort_values(["kpi_id", "rank"]).drop_duplicates("kpi_id", ignore_index=True)
