"""Combining places: only exact partitions of one geography basis, by the KPI's own rule.

Pure module. Counts are summed; proportions and crude rates are recomputed from summed
numerators and denominators (never averaged); indirectly standardised ratios from summed
observed and expected counts; directly standardised rates only from age-band counts; medians,
survey estimates, gaps and scores never.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd


class NotCombinable(ValueError):
    """These values cannot be combined into the requested place; the message says why."""


def exact_partition(
    target: frozenset[str], parts: Mapping[str, frozenset[str]]
) -> list[str] | None:
    """The parts lying inside ``target`` when they cover it exactly without overlap, else None.

    Parts that reach outside the target are ignored (a county is not part of one district).
    """
    inside = sorted(code for code, areas in parts.items() if areas and areas <= target)
    covered: set[str] = set()
    for code in inside:
        if covered & parts[code]:
            return None
        covered |= parts[code]
    return inside if covered == target and inside else None


def check_partition(
    target_areas: frozenset[str],
    part_areas: Mapping[str, frozenset[str]],
    *,
    target_basis: str,
    part_bases: Mapping[str, str],
) -> None:
    """Raise unless the parts are an exact partition of the target on the target's basis."""
    mixed = {code: basis for code, basis in part_bases.items() if basis != target_basis}
    if mixed:
        raise NotCombinable(
            f"Parts on another geography basis ({sorted(set(mixed.values()))}) do not combine "
            f"into a {target_basis} place."
        )
    union: set[str] = set()
    for code, areas in part_areas.items():
        if not areas:
            raise NotCombinable(f"{code} reaches beyond the areas it can be built from.")
        if union & areas:
            raise NotCombinable(f"{code} overlaps another part: the parts double-count.")
        union |= areas
    if union != target_areas:
        missing = sorted(target_areas - union)
        extra = sorted(union - target_areas)
        raise NotCombinable(
            f"The parts do not cover the place exactly (missing {missing}, outside {extra})."
        )


ADDITIVE = {"sum", "ratio_of_sums", "isr_sums"}


def combine(
    frame: pd.DataFrame,
    *,
    combinability: str,
    multiplier: float = 1.0,
    keys: tuple[str, ...] = ("target", "period"),
) -> pd.DataFrame:
    """Combine rows of parts into their targets, vectorised over targets and periods.

    ``frame`` has the ``keys`` columns, ``numerator``, ``denominator``, ``value``, and
    ``rounded`` / ``suppressed`` flags from the source. For ``isr_sums`` the numerator is the
    observed and the denominator the expected count.
    """
    if combinability not in ADDITIVE:
        raise NotCombinable(f"Values combined by '{combinability}' cannot be summed across places.")
    if frame.get("rounded", pd.Series(dtype=bool)).fillna(False).any():
        raise NotCombinable("Rounded inputs cannot be combined: sums of rounded counts drift.")
    if frame.get("suppressed", pd.Series(dtype=bool)).fillna(False).any():
        raise NotCombinable("A part is suppressed, so the combined value would be incomplete.")
    grouped = frame.groupby(list(keys), sort=True)
    if combinability == "sum":
        result = grouped[["value"]].sum(min_count=1)
        result[["numerator", "denominator"]] = grouped[["numerator", "denominator"]].sum(
            min_count=1
        )
    else:
        result = grouped[["numerator", "denominator"]].sum(min_count=1)
        result["value"] = result["numerator"] / result["denominator"] * multiplier
    result["parts"] = grouped.size()
    return result.reset_index()


# The smallest places a KPI is published for, by its geography basis and lowest level.
BLOCK_KINDS = {
    ("resident", "district"): {"district", "council"},
    ("resident", "council"): {"council"},
    ("gp_registered", None): {"sub_icb", "ccg"},
    ("provider", None): {"provider"},
    ("police_force_area", None): {"police_force"},
}


@dataclass(frozen=True)
class PlaceInfo:
    code: str
    kind: str
    basis: str
    areas: frozenset[str]
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_at(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def block_places(kpi, places: list[PlaceInfo]) -> list[PlaceInfo]:
    """The smallest places the KPI is published for: single council or district areas, etc."""
    level = kpi.lowest_level if kpi.basis == "resident" else None
    kinds = BLOCK_KINDS.get((kpi.basis, level), set())
    blocks = [p for p in places if p.basis == kpi.basis and p.kind in kinds]
    if kpi.basis == "resident" and level == "district":
        # Single-area places only: the districts and the two unitary councils.
        blocks = [p for p in blocks if len(p.areas) == 1]
    return blocks
